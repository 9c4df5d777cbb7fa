"""Forecast charts: one PNG per crossing (tonnes, a panel per direction): history, forecast, 80/95 %
intervals, the actuals after the origin where they have arrived, and the previous stored forecast over the
history so the actuals that arrived since can be read against what was forecast."""

from __future__ import annotations

import base64
import datetime as dt
import io

import polars as pl

HISTORY_DAYS = 120


def crossing_chart(
    code: str, origin: dt.date, throughput: pl.DataFrame, forecasts: pl.DataFrame, previous: pl.DataFrame | None = None
) -> bytes:
    """PNG bytes. ``throughput``: the crossing's mart rows (any days); ``forecasts``: its tonnes forecasts;
    ``previous``: tonnes forecasts of an earlier origin (with ``origin``), drawn dashed."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    directions = sorted(set(forecasts.get_column("direction").to_list()) | set(throughput["direction"].to_list()))
    fig, axes = plt.subplots(len(directions), 1, figsize=(8, 2.6 * len(directions)), squeeze=False, dpi=80)
    start = origin - dt.timedelta(days=HISTORY_DAYS)
    for ax, direction in zip(axes[:, 0], directions, strict=True):
        rows = throughput.filter((pl.col("direction") == direction) & (pl.col("date") >= start)).sort("date")
        # Outage days are drawn as red marks on the axis, not as a line diving to zero.
        rows = rows.with_columns(pl.when(~pl.col("outage")).then(pl.col("tonnes")).alias("tonnes"))
        before = rows.filter(pl.col("date") <= origin)
        after = rows.filter(pl.col("date") > origin)
        ax.plot(before["date"].to_list(), before["tonnes"].to_list(), color="#333333", lw=1, label="reported")
        outages = rows.filter(pl.col("outage"))
        if outages.height:
            ax.scatter(outages["date"].to_list(), [0] * outages.height, color="#d62728", s=12, label="outage")
        fc = forecasts.filter(pl.col("direction") == direction).sort("target_date")
        if fc.height:
            days = fc["target_date"].to_list()
            ax.fill_between(days, fc["lo_95"].to_list(), fc["hi_95"].to_list(), color="#1f77b4", alpha=0.15,
                            label="95 %")
            ax.fill_between(days, fc["lo_80"].to_list(), fc["hi_80"].to_list(), color="#1f77b4", alpha=0.3,
                            label="80 %")
            ax.plot(days, fc["yhat"].to_list(), color="#1f77b4", lw=1.5, label=f"forecast ({fc['model'][0]})")
        earlier = previous.filter(pl.col("direction") == direction) if previous is not None else None
        if earlier is not None and earlier.height:
            earlier = earlier.sort("target_date")
            ax.plot(earlier["target_date"].to_list(), earlier["yhat"].to_list(), "--", color="#2ca02c", lw=1,
                    label=f"forecast of {earlier['origin'][0]}")
        if after.height:
            ax.plot(after["date"].to_list(), after["tonnes"].to_list(), "o", color="#ff7f0e", ms=3, label="actual")
        ax.axvline(origin, color="#999999", ls="--", lw=0.8)
        ax.set_title(f"{code} {direction}: tonnes/day, origin {origin}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="upper left", ncols=3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def markdown_images(charts: dict[str, bytes]) -> str:
    """Markdown the Dagster UI renders under the materialization, the PNGs inlined as data URIs."""
    return "\n\n".join(
        f"**{code}**\n\n![{code}](data:image/png;base64,{base64.b64encode(png).decode()})"
        for code, png in charts.items()
    )
