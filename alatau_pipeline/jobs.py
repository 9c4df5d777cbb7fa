"""Jobs over the asset graph. Checks of the selected assets run with them."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

# Asset groups by partitioning: every daily-partitioned asset lives in one of DAILY_GROUPS.
DAILY_GROUPS = ("customs", "crossings", "forecasting")
MONTHLY_GROUPS = ("comtrade",)

daily_job = define_asset_job(
    "daily_job",
    selection=AssetSelection.groups(*DAILY_GROUPS),
    description="Every daily-partitioned asset (Asia/Almaty day) and its checks.",
)
