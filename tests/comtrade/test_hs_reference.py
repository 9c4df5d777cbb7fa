"""The cached HS reference is refreshed when it is old: capped answers are split into explicit lists of its
codes, so a code Comtrade added since the cache was fetched would otherwise never be asked for.

Against the fake Comtrade API on loopback; the cache is made by the code under test itself, with its
clock set back.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance

from alatau_pipeline.comtrade.ingest import HS_REFERENCE_FETCHED_FILE, ensure_hs_reference
from alatau_pipeline.comtrade.resources import ComtradeError
from tests.comtrade.fake_api import record, server_error
from tests.comtrade.test_live_client import CN, HS_CODES, KZ, client, install_fake, march_records, mart, run

# A code the HS revision added after the cache was fetched, and Kazakhstan's import of it in March.
NEW_CODE = ("854231", "Electronic integrated circuits; processors and controllers")
NEW_RECORD = record("202503", KZ, CN, "M", NEW_CODE[0], cif=777.0, primary=777.0)
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def api(httpserver, monkeypatch):
    return install_fake(httpserver, monkeypatch)


def _cache(data_dir: Path) -> Path:
    return data_dir / "raw" / "comtrade" / "reference"


def _cached_codes(data_dir: Path) -> set[str]:
    return {item["id"] for item in json.loads((_cache(data_dir) / "HS.json").read_text())["results"]}


def _hs_calls(api) -> int:
    return sum(1 for seen in api.seen if seen.path.endswith("HS.json"))


def _seed_cache(api, httpserver, lake, age: dt.timedelta) -> None:
    """The reference as the API served it ``age`` ago (without the new code), cached by the code itself."""
    ensure_hs_reference(client(httpserver.url_for("").rstrip("/")), lake.store, now=NOW - age)
    api.hs_codes = [*HS_CODES, NEW_CODE]
    api.records = [*march_records(), NEW_RECORD]
    api.seen.clear()


def test_an_old_cache_is_refreshed_and_records_of_a_new_code_are_pulled(api, httpserver, data_dir, lake):
    _seed_cache(api, httpserver, lake, age=dt.timedelta(days=45))
    assert NEW_CODE[0] not in _cached_codes(data_dir)

    # Kazakhstan's month is cut at the cap (6), so it is split by the reference's codes.
    result = run(lake, client(httpserver.url_for("").rstrip("/")))
    assert result.success

    assert _hs_calls(api) == 1
    assert NEW_CODE[0] in _cached_codes(data_dir)
    fetched_at = dt.datetime.fromisoformat(json.loads((data_dir.joinpath(*HS_REFERENCE_FETCHED_FILE)).read_text())[
        "fetched_at"
    ])
    assert NOW - dt.timedelta(minutes=5) < fetched_at <= dt.datetime.now(dt.UTC)
    chip = mart(data_dir, "trade_flows_monthly").filter(pl.col("hs6") == NEW_CODE[0])
    assert chip.select("reporter_iso", "flow_code", "primary_value_usd").rows() == [("KAZ", "M", 777.0)]
    assert chip["hs6_name"].to_list() == [NEW_CODE[1]]


def test_a_recent_cache_is_used_without_a_call(api, httpserver, data_dir, lake):
    _seed_cache(api, httpserver, lake, age=dt.timedelta(days=3))

    codes = ensure_hs_reference(client(httpserver.url_for("").rstrip("/")), lake.store, now=NOW)

    assert _hs_calls(api) == 0
    assert set(codes["hs6"].to_list()) == {code for code, _ in HS_CODES}
    # The client's setting decides what "old" is.
    codes = ensure_hs_reference(
        client(httpserver.url_for("").rstrip("/"), hs_reference_max_age_days=2), lake.store, now=NOW
    )
    assert _hs_calls(api) == 1
    assert NEW_CODE[0] in set(codes["hs6"].to_list())


def test_a_failed_refresh_keeps_the_cache_and_warns(api, httpserver, data_dir, lake):
    _seed_cache(api, httpserver, lake, age=dt.timedelta(days=45))
    before = (_cache(data_dir) / "HS.json").read_bytes()
    stamp_before = data_dir.joinpath(*HS_REFERENCE_FETCHED_FILE).read_bytes()
    api.hs_faults = [server_error(503)] * 4  # every attempt of the client (max_attempts=4 in these tests)

    instance = DagsterInstance.ephemeral()
    result = run(lake, client(httpserver.url_for("").rstrip("/")), instance=instance)

    assert result.success
    assert _hs_calls(api) == 4
    assert (_cache(data_dir) / "HS.json").read_bytes() == before
    assert data_dir.joinpath(*HS_REFERENCE_FETCHED_FILE).read_bytes() == stamp_before  # still old: next run retries
    warnings = [
        entry.user_message for entry in instance.all_logs(result.run_id)
        if entry.level == 30 and "HS reference not refreshed" in entry.user_message
    ]
    assert len(warnings) == 1
    assert f"fetched on {(NOW - dt.timedelta(days=45)).date().isoformat()}" in warnings[0]
    assert "503" in warnings[0]


def test_without_a_cache_a_failed_fetch_is_an_error(api, httpserver, data_dir, lake):
    api.hs_faults = [server_error(503)] * 4

    with pytest.raises(ComtradeError, match=r"HS\.json failed after 4 attempts; last: HTTP 503"):
        ensure_hs_reference(client(httpserver.url_for("").rstrip("/")), lake.store, now=NOW)

    assert not _cache(data_dir).exists()
