"""The customs chain in pandas: the same contract rules, quarantine, versions and duplicates.

Written as a competent pandas user would: vectorized string methods and group-bys, no row loops; the
row rules come from ``customs.contract.COLUMN_RULES``.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pandas as pd

from alatau_pipeline.core.partitions import ALMATY_TZ
from alatau_pipeline.core.rules import ColumnRule
from alatau_pipeline.customs.contract import COLUMN_RULES, COLUMNS, CUSTOMS_ITEMS_SCHEMA, SOURCE
from benchmarks.rules_text import number, shape_pattern

KEY = ["date", "declaration_id", "version", "item_no"]
_DECIMALS = [r.name for r in COLUMN_RULES if r.kind == "decimal"]


def read_landing(landing_root: str) -> pd.DataFrame:
    frames = []
    for file in sorted(glob.glob(f"{landing_root}/landing/{SOURCE}/date=*/*.csv*")):
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        frame.columns = [c.strip() for c in frame.columns]
        frame = frame[list(COLUMNS)]
        frame["_source_file"] = file
        frame["date"] = Path(file).parent.name.removeprefix("date=")
        frames.append(frame)
    raw = pd.concat(frames, ignore_index=True)
    for column in COLUMNS:
        raw[column] = raw[column].str.strip().replace("", None)
    return raw


def _typed(raw: pd.DataFrame, rule: ColumnRule) -> pd.Series:
    text = raw[rule.name]
    shape = shape_pattern(rule)
    shaped = text.str.fullmatch(shape).fillna(False).astype(bool) if shape else pd.Series(True, index=text.index)
    match rule.kind:
        case "int":
            return pd.to_numeric(text.where(shaped), errors="coerce").astype("Int64")
        case "decimal":
            value = pd.to_numeric(text, errors="coerce").astype("float64")
            return value.where(np.isfinite(value))
        case "timestamp":
            return pd.to_datetime(text.where(shaped), format="ISO8601", utc=True, errors="coerce")
        case _:
            return text


def _reasons(raw: pd.DataFrame, typed: dict[str, pd.Series]) -> pd.Series:
    reason = pd.Series("", index=raw.index, dtype=object)

    def add(mask: pd.Series, name: str) -> None:
        nonlocal reason
        mask = mask.fillna(False).astype(bool)
        reason = reason.mask(mask, reason + np.where(reason == "", "", "; ") + name)

    for rule in COLUMN_RULES:
        text, value = raw[rule.name], typed[rule.name]
        present = text.notna()
        if rule.required:
            add(~present, f"missing_{rule.name}")
        invalid = pd.Series(False, index=raw.index)
        if rule.kind != "string":
            invalid |= value.isna()
        if rule.pattern is not None:
            invalid |= ~text.str.fullmatch(rule.pattern).fillna(False).astype(bool)
        if rule.allowed is not None:
            invalid |= ~text.isin(rule.allowed)
        add(present & invalid, f"invalid_{rule.name}")
        if rule.minimum is not None:
            add(value < rule.minimum, f"{rule.name}_below_{number(rule.minimum)}")
    add(typed["net_kg"] > typed["gross_kg"], "net_kg_exceeds_gross_kg")
    local_day = typed["registered_at"].dt.tz_convert(ALMATY_TZ).dt.strftime("%Y-%m-%d")
    add(typed["registered_at"].notna() & (local_day != raw["date"]), "registered_at_not_on_partition_date")
    return reason


def chain(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Landing rows → (quarantined rows, customs_items, customs_daily), each with a ``date`` column."""
    typed_columns = {rule.name: _typed(raw, rule) for rule in COLUMN_RULES}
    reason = _reasons(raw, typed_columns)
    bad = reason != ""
    typed = pd.DataFrame(typed_columns).assign(date=raw["date"])[~bad]

    variants = typed.drop_duplicates().groupby(KEY, dropna=False).size()
    conflict_keys = variants[variants > 1].reset_index()[KEY]
    marked = typed.merge(conflict_keys.assign(_conflict=True), on=KEY, how="left")
    marked.index = typed.index
    conflict = marked["_conflict"].fillna(False).astype(bool)
    quarantined = pd.concat(
        [
            raw[bad].assign(_reason=reason[bad]),
            raw.loc[conflict[conflict].index].assign(_reason="conflicting_duplicate"),
        ]
    )

    version_text = raw["version"].where(raw["version"].str.fullmatch(shape_pattern(COLUMN_RULES[1])).fillna(False))
    versions = raw.assign(_v=pd.to_numeric(version_text, errors="coerce"))
    versions = versions[versions["declaration_id"].str.fullmatch(COLUMN_RULES[0].pattern).fillna(False).astype(bool)
                        & (versions["_v"] >= 1)]
    current_version = versions.groupby(["date", "declaration_id"])["_v"].max().rename("current_version")

    valid = typed[~conflict].drop_duplicates(KEY)
    valid = valid.join(current_version, on=["date", "declaration_id"])
    current = valid[valid["version"] == valid["current_version"]]
    is_cancelled = current["status"] == "cancelled"
    cancelled = is_cancelled.groupby([current["date"], current["declaration_id"]]).transform("any")
    kept = current[~cancelled]
    items = kept.assign(hs6=kept["tnved"].str[:6], hs4=kept["tnved"].str[:4], hs2=kept["tnved"].str[:2])
    items = items[["date", *CUSTOMS_ITEMS_SCHEMA]].sort_values(["date", "declaration_id", "item_no"])

    daily = (
        items.groupby(["date", "direction", "crossing_code", "hs2"])
        .agg(
            declarations=("declaration_id", "nunique"),
            items=("declaration_id", "size"),
            **{c: (c, "sum") for c in _DECIMALS},
        )
        .reset_index()
    )
    return quarantined, items, daily


def run(landing_root: str, out_dir: str) -> None:
    out = Path(out_dir)
    quarantined, items, daily = chain(read_landing(landing_root))
    for frame, target in ((quarantined, f"quarantine/{SOURCE}"), (items, "marts/customs_items"),
                          (daily, "marts/customs_daily")):
        (out / target).mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out / target, partition_cols=["date"], index=False)
