"""The project's own code: the customs step, invoked directly over the whole partition range.

This is the code a single-run backfill executes (landing → quarantine + customs_items + customs_daily,
through ``core`` and ``customs.transform``), without a Dagster run around it.
"""

from __future__ import annotations

from dagster import AssetsDefinition, DagsterInstance, PartitionKeyRange, build_asset_context

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.customs.assets import customs_marts

CHAIN: tuple[AssetsDefinition, ...] = (customs_marts,)


def prepare(landing_root: str, out_dir: str) -> DagsterInstance:
    """An ephemeral instance, made before the clock starts (Dagster's own start-up is not the chain)."""
    return DagsterInstance.ephemeral()


def run(
    landing_root: str, out_dir: str, instance: DagsterInstance | None = None, *, lake: DataLake | None = None
) -> None:
    lake = lake or DataLake(data_dir=landing_root)
    instance = instance or DagsterInstance.ephemeral()
    dates = sorted(p.name.removeprefix("date=") for p in _landing_days(landing_root))
    for asset in CHAIN:
        context = build_asset_context(partition_key_range=PartitionKeyRange(dates[0], dates[-1]), instance=instance)
        with context:
            for _ in asset(context, lake=lake):  # a multi-asset's results come as they are done
                pass


def _landing_days(landing_root: str):
    from pathlib import Path

    from alatau_pipeline.customs.contract import SOURCE

    return Path(landing_root, "landing", SOURCE).glob("date=*")
