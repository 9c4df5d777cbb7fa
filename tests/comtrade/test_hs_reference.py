"""The cached HS reference is refreshed when it is old, and no code is lost on the way: capped answers are
split into explicit lists of the reference's codes, so a code missing from the list is never asked for.

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

from alatau_pipeline.comtrade.ingest import (
    HS_REFERENCE_FETCHED_FILE,
    HS_REFRESH_ATTEMPTS,
    cached_hs_reference,
    ensure_hs_reference,
    month_folder,
    pull_month,
)
from alatau_pipeline.comtrade.resources import ComtradeError
from tests.comtrade.fake_api import record, server_error
from tests.comtrade.test_live_client import CN, HS_CODES, KEY, KZ, client, install_fake, march_records, mart, run

# A code an HS revision added after the cache was fetched, and Kazakhstan's import of it in March.
NEW_CODE = ("854231", "Electronic integrated circuits; processors and controllers")
NEW_RECORD = record("202503", KZ, CN, "M", NEW_CODE[0], cif=777.0, primary=777.0)
NOW = dt.datetime.now(dt.UTC)
OLD = dt.timedelta(days=45)


@pytest.fixture
def api(httpserver, monkeypatch):
    return install_fake(httpserver, monkeypatch)


def _client(httpserver, **overrides):
    return client(httpserver.url_for("").rstrip("/"), **overrides)


def _cache(data_dir: Path) -> Path:
    return data_dir / "raw" / "comtrade" / "reference"


def _cached_codes(data_dir: Path) -> set[str]:
    return {item["id"] for item in json.loads((_cache(data_dir) / "HS.json").read_text())["results"]}


def _hs_calls(api) -> int:
    return sum(1 for seen in api.seen if seen.path.endswith("HS.json"))


def _seed_cache(api, httpserver, lake, age: dt.timedelta) -> None:
    """The reference as the API served it ``age`` ago (without the new code), cached by the code itself;
    from now on the API lists the new code and has a record of it."""
    ensure_hs_reference(_client(httpserver), lake.store, now=NOW - age)
    api.hs_codes = [*HS_CODES, NEW_CODE]
    api.records = [*march_records(), NEW_RECORD]
    api.seen.clear()


def _warnings(instance: DagsterInstance, run_id: str) -> list[str]:
    return [
        entry.user_message for entry in instance.all_logs(run_id)
        if entry.level == 30 and "HS reference not refreshed" in entry.user_message
    ]


def test_an_old_cache_is_refreshed_and_records_of_a_new_code_are_pulled(api, httpserver, data_dir, lake):
    _seed_cache(api, httpserver, lake, age=OLD)
    assert NEW_CODE[0] not in _cached_codes(data_dir)

    # Kazakhstan's month is cut at the cap (6), so it is split by the reference's codes.
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = run(lake, _client(httpserver))
    assert result.success

    assert _hs_calls(api) == 1
    assert NEW_CODE[0] in _cached_codes(data_dir)
    stamp = json.loads(data_dir.joinpath(*HS_REFERENCE_FETCHED_FILE).read_text())
    assert before <= dt.datetime.fromisoformat(stamp["fetched_at"]) <= dt.datetime.now(dt.UTC)
    chip = mart(data_dir, "trade_flows_monthly").filter(pl.col("hs6") == NEW_CODE[0])
    assert chip.select("reporter_iso", "flow_code", "primary_value_usd").rows() == [("KAZ", "M", 777.0)]
    assert chip["hs6_name"].to_list() == [NEW_CODE[1]]


def test_a_recent_cache_is_used_without_a_call(api, httpserver, data_dir, lake):
    _seed_cache(api, httpserver, lake, age=dt.timedelta(days=3))

    codes = ensure_hs_reference(_client(httpserver), lake.store, now=NOW)

    assert _hs_calls(api) == 0
    assert set(codes["hs6"].to_list()) == {code for code, _ in HS_CODES}
    # The client's setting decides what "old" is.
    codes = ensure_hs_reference(_client(httpserver, hs_reference_max_age_days=2), lake.store, now=NOW)
    assert _hs_calls(api) == 1
    assert NEW_CODE[0] in set(codes["hs6"].to_list())


FUTURE_STAMP = json.dumps({"fetched_at": (NOW + dt.timedelta(days=9)).isoformat()})


@pytest.mark.parametrize("stamp", [None, "not json", FUTURE_STAMP], ids=["none", "unreadable", "future"])
def test_a_cache_of_unknown_age_is_refreshed(api, httpserver, data_dir, lake, stamp):
    # No stamp (a cache from before stamps existed), an unreadable one, or one from the future.
    _seed_cache(api, httpserver, lake, age=dt.timedelta(days=1))
    stamp_file = data_dir.joinpath(*HS_REFERENCE_FETCHED_FILE)
    if stamp is None:
        stamp_file.unlink()
    else:
        stamp_file.write_text(stamp)

    codes = ensure_hs_reference(_client(httpserver), lake.store, now=NOW)

    assert _hs_calls(api) == 1
    assert NEW_CODE[0] in set(codes["hs6"].to_list())


def test_codes_a_refresh_drops_are_still_split_by(api, httpserver, data_dir, lake):
    # The revision retires 300490; March (reported before it) still has a record of it, and the month is cut.
    _seed_cache(api, httpserver, lake, age=OLD)
    api.hs_codes = [(code, name) for code, name in api.hs_codes if code != "300490"]

    result = run(lake, _client(httpserver))
    assert result.success

    assert "300490" not in _cached_codes(data_dir)
    assert "300490" in set(cached_hs_reference(lake.store)["hs6"].to_list())
    requested = {code for call in api.data_calls() for code in call.args["cmdCode"].split(",")}
    assert "300490" in requested
    medicaments = mart(data_dir, "trade_flows_monthly").filter(pl.col("hs6") == "300490")
    assert medicaments.select("reporter_iso", "primary_value_usd").rows() == [("KAZ", 210.0)]
    assert medicaments["hs6_name"].to_list() == ["Medicaments; packaged for retail sale, n.e.c."]


@pytest.mark.parametrize(
    ("hs_codes", "faults", "reason"),
    [
        (None, [server_error(503)] * 6, "failed after 2 attempts; last: HTTP 503"),
        ([], [], "lists no HS6 codes"),
    ],
    ids=["unreachable", "no codes"],
)
def test_a_failed_refresh_keeps_the_cache_and_warns(api, httpserver, data_dir, lake, hs_codes, faults, reason):
    _seed_cache(api, httpserver, lake, age=OLD)
    before = (_cache(data_dir) / "HS.json").read_bytes()
    stamp_before = data_dir.joinpath(*HS_REFERENCE_FETCHED_FILE).read_bytes()
    if hs_codes is not None:
        api.hs_codes = hs_codes
    api.hs_faults = list(faults)

    instance = DagsterInstance.ephemeral()
    result = run(lake, _client(httpserver), instance=instance)

    assert result.success
    # A refresh can fall back on the cache, so it tries fewer times than a data call.
    assert _hs_calls(api) == (HS_REFRESH_ATTEMPTS if faults else 1)
    assert (_cache(data_dir) / "HS.json").read_bytes() == before
    assert data_dir.joinpath(*HS_REFERENCE_FETCHED_FILE).read_bytes() == stamp_before  # still old: next run retries
    [warning] = _warnings(instance, result.run_id)
    assert f"fetched on {(NOW - OLD).date().isoformat()}" in warning
    assert reason in warning
    # Kazakhstan's cut month was split by the cached codes: its records are all there.
    assert mart(data_dir, "trade_flows_monthly").filter(pl.col("reporter_iso") == "KAZ").height == 5


def test_without_a_cache_a_failed_fetch_is_an_error(api, httpserver, data_dir, lake):
    api.hs_faults = [server_error(503)] * 4

    with pytest.raises(ComtradeError, match=r"HS\.json failed after 4 attempts; last: HTTP 503"):
        ensure_hs_reference(_client(httpserver), lake.store, now=NOW)

    assert not _cache(data_dir).exists()


def test_a_cut_answer_with_no_codes_to_split_by_is_an_error_not_an_empty_month(api, httpserver, lake):
    empty = pl.DataFrame(schema={"hs6": pl.String, "hs6_name": pl.String})

    with pytest.raises(ComtradeError, match="no HS6 codes to split it by"):
        pull_month(_client(httpserver, api_key=KEY), lake.store, KZ, CN, "2025-03", lambda: empty)

    assert not lake.store.exists(*month_folder("2025-03", KZ), "manifest.json")


def test_a_code_the_reference_lacks_is_asked_for_when_the_cut_answer_shows_it(api, httpserver, data_dir, lake):
    # The cache is recent, so not refreshed, and lacks the new code; the cut answer (the first 6 records)
    # shows it, so the split asks for it too.
    _seed_cache(api, httpserver, lake, age=dt.timedelta(days=1))
    api.records = [NEW_RECORD, *march_records()]

    instance = DagsterInstance.ephemeral()
    result = run(lake, _client(httpserver), instance=instance)
    assert result.success

    assert _hs_calls(api) == 0
    chip = mart(data_dir, "trade_flows_monthly").filter(pl.col("hs6") == NEW_CODE[0])
    assert chip.select("reporter_iso", "primary_value_usd").rows() == [("KAZ", 777.0)]
    # Every KZ record of March is there: the 12 of the fixture (5 totals) and the new one.
    assert mart(data_dir, "trade_flows_monthly").filter(pl.col("reporter_iso") == "KAZ").height == 6
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("not in the HS reference; asked for as well: 854231" in message for message in messages)
