"""Smoke test of the benchmark suite: its three implementations of the customs chain agree on a small
landing set (the timings are not tested; `benchmarks/run.py` measures them)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from benchmarks import (
    chain_without_writes,
    copy_limit,
    copy_limit_marts_codec,
    impl_duckdb,
    impl_pandas,
    impl_polars,
    partitioned_limit,
)
from benchmarks.compare import differences, read_output
from benchmarks.data import day_range, write_landing


def test_polars_duckdb_and_pandas_produce_the_same_marts_and_quarantine(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    landing = write_landing(data, 4_000, day_range(days=6))
    assert landing.files >= 6

    impl_polars.run(data, data)
    impl_duckdb.run(data, str(tmp_path / "duckdb"))
    impl_pandas.run(data, str(tmp_path / "pandas"))

    # The comparison must have something to compare: kept items, daily totals and several kinds of faults.
    items = read_output(data, "marts/customs_items")
    quarantine = read_output(data, "quarantine/customs_declarations")
    assert items.height > 3_000
    assert read_output(data, "marts/customs_daily").height > 0
    assert quarantine.get_column("_reason").n_unique() >= 5
    assert differences(data, str(tmp_path / "duckdb")) == []
    assert differences(data, str(tmp_path / "pandas")) == []


def test_differences_notices_a_changed_mart(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    write_landing(data, 600, day_range(days=2))
    impl_duckdb.run(data, str(tmp_path / "a"))
    impl_duckdb.run(data, str(tmp_path / "b"))
    assert differences(str(tmp_path / "a"), str(tmp_path / "b")) == []

    part = next(Path(tmp_path / "b", "marts/customs_daily").glob("date=*/*.parquet"))
    frame = pl.read_parquet(part)
    frame.with_columns(pl.col("stat_value_usd") * 2).write_parquet(part)
    assert any("customs_daily" in problem for problem in differences(str(tmp_path / "a"), str(tmp_path / "b")))


def test_copy_limit_writes_every_landing_row(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    landing = write_landing(data, 600, day_range(days=2))
    copy_limit.run(data, str(tmp_path / "copy"))
    copy_limit_marts_codec.run(data, str(tmp_path / "snappy"))
    assert pl.read_parquet(tmp_path / "copy" / "copy.parquet").height == landing.items
    import pyarrow.parquet as pq

    files = {codec: tmp_path / folder / "copy.parquet" for codec, folder in (("ZSTD", "copy"), ("SNAPPY", "snappy"))}
    for codec, file in files.items():
        assert pq.ParquetFile(file).metadata.row_group(0).column(0).compression == codec
    assert pl.read_parquet(files["SNAPPY"]).equals(pl.read_parquet(files["ZSTD"]))


def test_partitioned_limit_writes_every_landing_row_into_its_day(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    landing = write_landing(data, 600, day_range(days=2))
    partitioned_limit.run(data, str(tmp_path / "copy"))
    rows = pl.read_parquet(tmp_path / "copy" / "copy" / "customs_declarations" / "**" / "*.parquet",
                           hive_partitioning=True)
    assert rows.height == landing.items
    assert sorted(rows["date"].cast(pl.String).unique().to_list()) == landing.dates


def test_chain_without_writes_hands_over_what_the_chain_writes_and_writes_nothing(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    write_landing(data, 2_000, day_range(days=4))

    discarded = chain_without_writes.run(data, str(tmp_path / "unused"))
    assert not (tmp_path / "data" / "marts").exists()
    assert not (tmp_path / "data" / "quarantine").exists()

    impl_polars.run(data, data)
    written = {
        path: read_output(data, path).height
        for path in ("quarantine/customs_declarations", "marts/customs_items", "marts/customs_daily")
    }
    assert all(written.values())
    assert discarded == written
