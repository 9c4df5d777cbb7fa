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

# Monthly: Comtrade raw answers and the trade marts. A scheduled run should cover the trailing revision
# window (alatau_pipeline.comtrade.revisions.revision_window_tags), since Comtrade revises past months.
comtrade_job = define_asset_job(
    "comtrade_job",
    selection=AssetSelection.groups(*MONTHLY_GROUPS),
    description="Every monthly-partitioned asset (Comtrade raw answers, trade_flows_monthly, mirror_trade_monthly).",
)
