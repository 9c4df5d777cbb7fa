"""The Comtrade domain's Dagster definitions: its assets and the ``comtrade`` client resource."""

from dagster import Definitions, EnvVar

from alatau_pipeline import settings
from alatau_pipeline.comtrade.assets import comtrade_raw, mirror_trade_monthly, trade_flows_monthly
from alatau_pipeline.comtrade.resources import ComtradeClient


def comtrade_client() -> ComtradeClient:
    """The client for ALATAU_SOURCE: live mode reads the key through EnvVar, so Dagster resolves it at run
    time and records only the variable's name; demo mode needs no key (and must not fail without one)."""
    if settings.source() == "live":
        return ComtradeClient(source="live", api_key=EnvVar("COMTRADE_API_KEY"))
    return ComtradeClient(source="demo")


defs = Definitions(
    assets=[comtrade_raw, trade_flows_monthly, mirror_trade_monthly],
    resources={"comtrade": comtrade_client()},
)
