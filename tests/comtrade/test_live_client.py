"""The live Comtrade path against a real HTTP server on loopback that speaks the API's format and misbehaves.

Everything is real: requests over TCP, Dagster runs on an ephemeral instance, Parquet read back from a
temporary data lake. Retries are kept fast with a tiny backoff base; the only deliberate wait is the
server's own ``Retry-After: 0.2``, which the client must honour.
"""

from __future__ import annotations

import json
import math
import socket
import threading
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance, EnvVar, RetryPolicy, materialize
from dagster._serdes import serialize_value
from werkzeug import Response

from alatau_pipeline.comtrade.assets import comtrade_raw, mirror_trade_monthly, trade_flows_monthly
from alatau_pipeline.comtrade.resources import ComtradeClient, ComtradeError
from tests.comtrade.fake_api import FakeComtrade, record, server_error, too_many, truncated

KEY = "test-key-5f3a9c1e-do-not-leak"
ASSETS = [comtrade_raw, trade_flows_monthly, mirror_trade_monthly]
HS_CODES = [
    ("300490", "Medicaments; packaged for retail sale, n.e.c."),
    ("611020", "Jerseys, pullovers, cardigans; of cotton, knitted or crocheted"),
    ("740311", "Copper; refined, cathodes and sections of cathodes"),
    ("842952", "Mechanical shovels, excavators; with a 360 degree revolving superstructure"),
    ("847130", "Automatic data processing machines; portable"),
    ("850760", "Electric accumulators; lithium-ion"),
    ("851762", "Machines for the reception, conversion and transmission of data"),
]
KZ, CN = 398, 156


def march_records(cn_copper_cif: float = 2100.0) -> list[dict]:
    p = "202503"
    return [
        # Kazakhstan's reports: 12 records, so a cap of 6 cuts the answer.
        record(p, KZ, CN, "M", "842952", cif=300.0, primary=300.0),
        record(p, KZ, CN, "M", "842952", cif=200.0, primary=200.0, mot=3100),
        record(p, KZ, CN, "M", "842952", cif=100.0, primary=100.0, mot=3200),
        record(p, KZ, CN, "M", "847130", cif=500.0, primary=500.0),
        record(p, KZ, CN, "M", "847130", cif=250.0, primary=250.0, mot=3100),
        record(p, KZ, CN, "M", "847130", cif=250.0, primary=250.0, mot=3200),
        record(p, KZ, CN, "M", "850760", cif=1000.0, primary=1000.0, net=40.0),
        record(p, KZ, CN, "M", "850760", cif=600.0, primary=600.0, mot=3100),
        record(p, KZ, CN, "M", "850760", cif=400.0, primary=400.0, mot=3200),
        record(p, KZ, CN, "M", "850760", cif=1000.0, primary=1000.0, customs="C01"),
        record(p, KZ, CN, "M", "300490", cif=210.0, primary=210.0),
        record(p, KZ, CN, "X", "740311", fob=2000.0, primary=2000.0),
        # China's reports: 5 records, under the cap.
        record(p, CN, KZ, "X", "850760", fob=1300.0, primary=1300.0),
        record(p, CN, KZ, "X", "850760", fob=1300.0, primary=1300.0, partner2=KZ),
        record(p, CN, KZ, "X", "847130", fob=None, primary=640.0),
        record(p, CN, KZ, "X", "611020", fob=90.0, primary=90.0),
        record(p, CN, KZ, "M", "740311", cif=cn_copper_cif, primary=cn_copper_cif),
    ]


def client(server_url: str, **overrides) -> ComtradeClient:
    settings = dict(
        source="live", api_key=EnvVar("COMTRADE_API_KEY"), base_url=server_url, max_records=6,
        backoff_base_seconds=0.01, min_interval_seconds=0.0, max_attempts=4,
    )
    return ComtradeClient(**(settings | overrides))


def install_fake(httpserver, monkeypatch) -> FakeComtrade:
    """The fake API on the test's HTTP server, serving March's records; the key in the environment."""
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    fake = FakeComtrade(key=KEY, records=march_records(), hs_codes=HS_CODES)
    fake.install(httpserver)
    return fake


@pytest.fixture
def api(httpserver, monkeypatch):
    return install_fake(httpserver, monkeypatch)


def run(lake, comtrade, instance=None, partition_key="2025-03-01", tags=None):
    return materialize(
        ASSETS, resources={"lake": lake, "comtrade": comtrade}, partition_key=partition_key, tags=tags,
        instance=instance, raise_on_error=False,
    )


def mart(data_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(data_dir / "marts" / name / "**" / "*.parquet", hive_partitioning=True)


def failure_text(result) -> str:
    return " ".join(
        serialize_value(event.event_specific_data) for event in result.all_events if event.is_step_failure
    )


def test_live_pull_retries_splits_drops_breakdowns_and_never_leaks_the_key(api, httpserver, data_dir, lake):
    api.faults = [too_many("0.2"), server_error(500), server_error(503)]
    instance = DagsterInstance.ephemeral()
    result = run(lake, client(httpserver.url_for("").rstrip("/")), instance=instance)
    assert result.success

    flows = mart(data_dir, "trade_flows_monthly")
    values = {
        (r, f, h): (v, cif, fob)
        for r, f, h, v, cif, fob in flows.select(
            "reporter_iso", "flow_code", "hs6", "primary_value_usd", "cif_usd", "fob_usd"
        ).iter_rows()
    }
    # Totals only: 850760 is 1000 (not 1000 + 600 + 400 + 1000), China's partner2 restatement dropped.
    assert values == {
        ("KAZ", "M", "842952"): (300.0, 300.0, None),
        ("KAZ", "M", "847130"): (500.0, 500.0, None),
        ("KAZ", "M", "850760"): (1000.0, 1000.0, None),
        ("KAZ", "M", "300490"): (210.0, 210.0, None),
        ("KAZ", "X", "740311"): (2000.0, None, 2000.0),
        ("CHN", "X", "850760"): (1300.0, None, 1300.0),
        ("CHN", "X", "847130"): (640.0, None, None),
        ("CHN", "X", "611020"): (90.0, None, 90.0),
        ("CHN", "M", "740311"): (2100.0, 2100.0, None),
    }
    assert flows["period"].unique().to_list() == ["2025-03"]
    battery = flows.filter(pl.col("hs6") == "850760", pl.col("reporter_iso") == "KAZ").row(0, named=True)
    assert (battery["net_kg"], battery["qty_unit"], battery["hs2"], battery["hs_section"]) == (40.0, "kg", "85", "XVI")
    assert battery["hs6_name"] == "Electric accumulators; lithium-ion"

    mirror = {r["hs6"]: r for r in mart(data_dir, "mirror_trade_monthly").iter_rows(named=True)}
    assert mirror["850760"]["gap_usd"] == pytest.approx(1300 - 1000 / 1.05)
    assert mirror["847130"]["export_fob_usd"] == 640.0  # fobvalue missing: primaryValue
    assert mirror["611020"]["coverage"] == "exporter_only"
    assert mirror["300490"]["coverage"] == "importer_only"
    assert mirror["740311"]["log_ratio"] == pytest.approx(0.0, abs=1e-12)

    # Calls: 3 failures retried, then Kazakhstan: whole month (cut) → 5 chapters, chapter 84 cut → 2 halves;
    # China: one uncut answer. The HS reference once, without the key.
    data_calls = api.data_calls()
    assert len(data_calls) == 3 + (1 + 5 + 2) + 1
    assert all(call.key == KEY for call in data_calls)
    assert [s.key for s in api.seen if s.path.endswith("HS.json")] == [None]
    assert data_calls[1].at - data_calls[0].at >= 0.2  # Retry-After honoured
    assert [c.args["cmdCode"] for c in data_calls[3:5]] == ["AG6", "300490"]
    assert {c.args["cmdCode"] for c in data_calls[7:10]} == {"842952,847130", "842952", "847130"}
    assert all(c.args["flowCode"] == "M,X" and c.args["period"] == "202503" for c in data_calls)

    manifest = json.loads((data_dir / "raw/comtrade/period=2025-03/reporter=398/manifest.json").read_text())
    assert len(manifest["answers"]) == 6 and len(manifest["cut_answers"]) == 2
    assert sum(a["records"] for a in manifest["answers"]) == 12

    # The key is nowhere on disk and nowhere in the run's events (logs, metadata, config).
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    records = instance.all_logs(result.run_id)
    assert len(records) > 10
    assert all(KEY not in serialize_value(entry) for entry in records)
    assert KEY not in serialize_value(instance.get_run_by_id(result.run_id))


def test_refused_key_fails_at_once_with_a_clear_message(api, httpserver, data_dir, lake, monkeypatch):
    monkeypatch.setenv("COMTRADE_API_KEY", "wrong-key-0000")
    result = run(lake, client(httpserver.url_for("").rstrip("/")))
    assert not result.success
    message = failure_text(result)
    assert "refused the API key" in message and "HTTP 401" in message
    assert "wrong-key-0000" not in message
    assert len(api.data_calls()) == 1  # no retries on 401
    assert not (data_dir / "marts").exists()


def test_truncated_body_is_an_error_not_an_empty_month(api, httpserver, data_dir, lake):
    comtrade = client(httpserver.url_for("").rstrip("/"), max_records=1000)
    assert run(lake, comtrade).success
    mart_file = data_dir / "marts/trade_flows_monthly/period=2025-03/part-0.parquet"
    before = mart_file.read_bytes()
    manifest = data_dir / "raw/comtrade/period=2025-03/reporter=398/manifest.json"
    manifest_before = manifest.read_bytes()

    api.faults = [truncated()]
    result = run(lake, comtrade)
    assert not result.success
    assert "is not JSON" in failure_text(result)
    # The broken answer was stored before parsing; the previous answers and marts stay in force.
    stored = [p for p in (data_dir / "raw/comtrade/period=2025-03/reporter=398").rglob("all.json")]
    assert any(p.read_bytes() == truncated().get_data() for p in stored)
    assert manifest.read_bytes() == manifest_before
    assert mart_file.read_bytes() == before


def test_revised_month_rewrites_only_that_partition(api, httpserver, data_dir, lake):
    february = [dict(r, period="202502", refMonth=2) for r in march_records()]
    api.records = february + march_records()
    comtrade = client(httpserver.url_for("").rstrip("/"), max_records=1000)
    tags = {"dagster/asset_partition_range_start": "2025-02-01", "dagster/asset_partition_range_end": "2025-03-01"}
    first = run(lake, comtrade, partition_key=None, tags=tags)
    assert first.success
    feb_file = data_dir / "marts/mirror_trade_monthly/period=2025-02/part-0.parquet"
    feb_mtime = feb_file.stat().st_mtime_ns

    api.records = february + march_records(cn_copper_cif=2310.0)  # China revises March
    second = run(lake, comtrade, partition_key=None, tags=tags)
    assert second.success
    metadata = {
        ev.asset_key.path[-1]: ev.materialization.metadata for ev in second.get_asset_materialization_events()
    }
    for name in ("trade_flows_monthly", "mirror_trade_monthly"):
        assert metadata[name]["partitions_rewritten"].value == ["2025-03"]
        assert metadata[name]["partitions_unchanged"].value == ["2025-02"]
    assert feb_file.stat().st_mtime_ns == feb_mtime
    copper = mart(data_dir, "mirror_trade_monthly").filter(pl.col("hs6") == "740311").sort("period")
    assert copper["import_cif_usd"].to_list() == [2100.0, 2310.0]
    assert copper["log_ratio"][1] == pytest.approx(math.log(2000 / 2200))
    assert "740311" in metadata["mirror_trade_monthly"]["largest_gaps"].value


@pytest.mark.parametrize("status", [502, 507])
def test_persistent_5xx_gives_up_after_max_attempts(api, httpserver, status):
    # Every 5xx is retried (contracts 3.4), the common gateway ones and the rarer ones alike.
    api.faults = [server_error(status)] * 10
    comtrade = client(httpserver.url_for("").rstrip("/"), max_attempts=3, api_key=KEY)
    with pytest.raises(ComtradeError, match=f"failed after 3 attempts; last: HTTP {status}"):
        comtrade.get_data({"reporterCode": "398", "partnerCode": "156", "period": "202503", "cmdCode": "AG6",
                           "flowCode": "M,X", "maxRecords": "6"})
    assert len(api.data_calls()) == 3


@pytest.mark.parametrize(("fault", "retried"), [(404, False), (503, True)], ids=["permanent 404", "transient 503"])
def test_only_faults_that_may_pass_retry_the_step(api, httpserver, lake, monkeypatch, fault, retried):
    monkeypatch.setattr(RetryPolicy, "calculate_delay", lambda self, attempt_num: 0)  # retry at once
    api.faults = [Response("not here", status=fault)] * 4  # every attempt of the client's first call
    result = run(lake, client(httpserver.url_for("").rstrip("/")))

    assert f"HTTP {fault}" in serialize_value(result.all_events)
    steps = [(event.event_type_value, event.step_key) for event in result.all_events]
    assert (("STEP_UP_FOR_RETRY", "comtrade_raw") in steps) is retried


def test_total_wait_is_bounded(api, httpserver):
    api.faults = [too_many("30")] * 3
    comtrade = client(httpserver.url_for("").rstrip("/"), max_total_wait_seconds=5, api_key=KEY)
    with pytest.raises(ComtradeError, match="bounded total wait"):
        comtrade.get_data({"reporterCode": "398", "partnerCode": "156", "period": "202503", "cmdCode": "AG6",
                           "flowCode": "M,X", "maxRecords": "6"})
    assert len(api.data_calls()) == 1  # it did not sit out a 30 s Retry-After


@pytest.mark.parametrize("misbehaviour", ["hang_up", "stall"])
def test_dropped_connection_or_timeout_is_retried(monkeypatch, misbehaviour):
    """A server that hangs up on the first request without answering (or stalls past the client's timeout),
    then answers properly."""
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    body = json.dumps({"elapsedTime": "0", "count": 0, "data": [], "error": ""}).encode()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served: list[str] = []

    def serve() -> None:
        for attempt in range(2):
            conn, _ = listener.accept()
            with conn:
                request = conn.recv(65536).decode("latin-1")
                served.append(request)
                if attempt == 0 and misbehaviour == "stall":
                    conn.settimeout(5)
                    conn.recv(1)  # returns when the client gives up and closes its end
                if attempt == 1:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    # Outside a run EnvVar is not resolved, so the key is given directly.
    comtrade = client(f"http://127.0.0.1:{port}", api_key=KEY, timeout_seconds=0.3)
    answer = comtrade.get_data({"reporterCode": "398", "partnerCode": "156", "period": "202503",
                                "cmdCode": "AG6", "flowCode": "M,X", "maxRecords": "6"})
    thread.join(timeout=5)
    listener.close()
    assert json.loads(answer)["count"] == 0
    assert len(served) == 2
    assert all(f"Ocp-Apim-Subscription-Key: {KEY}" in r for r in served)
    assert all(KEY not in r.split("\r\n")[0] for r in served)  # never in the request line (URL)
