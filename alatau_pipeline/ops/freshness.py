"""How fresh each mart must be (Dagster's freshness policies), declared once for every mart.

The daily schedule runs at 06:00 Almaty for yesterday, so a daily mart that has not materialized between
06:00 and 08:00 Almaty is late: ``FreshnessPolicy.cron("0 8 * * *", lower_bound_delta=2h)``. The Comtrade
marts are re-pulled on the 10th of each month at 03:00 Almaty and are due by noon that day.

Dagster evaluates these policies in the daemon (``freshness: enabled: true`` in ``dagster.yaml``) and
shows the state (passing / failing) on each asset in the UI. The evaluation is asset-level: it looks at
the latest materialization of the asset, whatever partition it was.
"""

from collections.abc import Mapping
from datetime import timedelta

from dagster import AssetSpec, Definitions, FreshnessPolicy

from alatau_pipeline.core.partitions import ALMATY_TZ

DAILY_MART_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron="0 8 * * *", lower_bound_delta=timedelta(hours=2), timezone=ALMATY_TZ
)
MONTHLY_MART_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron="0 12 10 * *", lower_bound_delta=timedelta(hours=9), timezone=ALMATY_TZ
)

# The marts of contracts section 4 (asset key = mart name), and the outlook the daily run also writes.
MART_FRESHNESS: Mapping[str, FreshnessPolicy] = {
    "customs_items": DAILY_MART_FRESHNESS,
    "customs_daily": DAILY_MART_FRESHNESS,
    "crossing_throughput_daily": DAILY_MART_FRESHNESS,
    "throughput_forecast": DAILY_MART_FRESHNESS,
    "forecast_accuracy": DAILY_MART_FRESHNESS,
    "alatau_zone_outlook": DAILY_MART_FRESHNESS,
    "trade_flows_monthly": MONTHLY_MART_FRESHNESS,
    "mirror_trade_monthly": MONTHLY_MART_FRESHNESS,
}


def _with_mart_freshness(spec: AssetSpec) -> AssetSpec:
    policy = MART_FRESHNESS.get(spec.key.to_user_string())
    # A policy a domain declared itself wins over the default here.
    if policy is None or spec.freshness_policy is not None:
        return spec
    return spec.replace_attributes(freshness_policy=policy)


def apply_mart_freshness(defs: Definitions) -> Definitions:
    """The code location with every mart's freshness policy attached."""
    return defs.map_asset_specs(func=_with_mart_freshness)
