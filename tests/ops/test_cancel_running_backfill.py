"""Cancelling a backfill whose run is in the middle of a live Comtrade call, with the real webserver and
daemon: the run stops there, its step is not retried, no further call is made and no mart is written.

The Comtrade API is a server on loopback that answers the HS reference at once and holds every data
request open until the test lets it go, so the run is reliably inside a call when it is cancelled.
(`comtrade_raw` has a RetryPolicy, and Dagster retries an interrupted step that has one: before the fix
the cancelled pull went on in the same worker and wrote its marts after the run showed as cancelled.)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dagster import DagsterEventType

from alatau_pipeline.comtrade import demo_source
from tests.ops.backfills import BACKFILL_TIMEOUT, cancel_backfill, get_backfill, launch_backfill, wait_cancelled
from tests.ops.processes import DagsterProcesses, dagster_processes, open_instance, wait_for, write_instance_yaml

MONTHS = ["2025-01-01", "2025-02-01"]
ASSETS = ("comtrade_raw", "trade_flows_monthly")
DATA_PATH = "/data/v1/get/C/M/HS"


@dataclass
class HeldComtrade:
    """A Comtrade API whose data requests wait until ``release`` is set."""

    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    data_requests: list[float] = field(default_factory=list)  # when each arrived (epoch seconds)


@pytest.fixture(scope="module")
def comtrade() -> Iterator[HeldComtrade]:
    held = HeldComtrade()
    reference = demo_source.hs_reference()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith(DATA_PATH):
                held.data_requests.append(time.time())
                held.release.wait(timeout=BACKFILL_TIMEOUT)
                body = json.dumps({"elapsedTime": "0 secs", "count": 0, "data": [], "error": ""}).encode()
            else:
                body = reference
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the cancelled client has hung up

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    held.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield held
    finally:
        held.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory, comtrade: HeldComtrade) -> Iterator[DagsterProcesses]:
    root = tmp_path_factory.mktemp("cancel_running")
    home = root / "dagster_home"
    write_instance_yaml(home)
    env = {"ALATAU_SOURCE": "live", "COMTRADE_BASE_URL": comtrade.url, "COMTRADE_API_KEY": "test-key-not-real"}
    with dagster_processes(home, root / "data", env=env) as processes:
        yield processes


def test_cancelling_a_backfill_stops_its_running_comtrade_step_for_good(
    dagster: DagsterProcesses, comtrade: HeldComtrade
) -> None:
    backfill_id = launch_backfill(dagster, MONTHS, ASSETS)

    # The run has started and its comtrade_raw step is inside a data call.
    def in_a_call() -> dict | None:
        runs = get_backfill(dagster, backfill_id)["runs"]
        if runs and runs[0]["status"] in {"FAILURE", "CANCELED", "SUCCESS"}:
            raise AssertionError(f"the run ended before it was cancelled: {runs}\n{dagster.log_tail()}")
        started = runs and runs[0]["status"] == "STARTED"
        return runs[0] if started and comtrade.data_requests else None

    run = wait_for("the run inside a Comtrade call", in_a_call, timeout=BACKFILL_TIMEOUT, interval=1)
    cancel_backfill(dagster, backfill_id)

    backfill = wait_cancelled(dagster, backfill_id)
    assert backfill["status"] == "CANCELED", backfill
    assert [r["status"] for r in backfill["runs"]] == ["CANCELED"]

    with open_instance(dagster.home) as instance:
        records = [e for e in instance.all_logs(run["id"]) if e.dagster_event]
    kinds = [(e.dagster_event.event_type, e.dagster_event.step_key) for e in records]
    # The interrupted step failed once, saying why; it was neither retried nor restarted, and nothing after
    # it ran.
    [failure] = [e.dagster_event for e in records if e.dagster_event.event_type == DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "comtrade_raw"
    assert "run was cancelled" in failure.event_specific_data.user_failure_data.description
    assert not any(kind in (DagsterEventType.STEP_UP_FOR_RETRY, DagsterEventType.STEP_RESTARTED) for kind, _ in kinds)
    assert not any(kind == DagsterEventType.STEP_START and step != "comtrade_raw" for kind, step in kinds)
    assert not any(kind == DagsterEventType.ASSET_MATERIALIZATION for kind, _ in kinds)
    # No Comtrade call after the run was told to stop (one before it may be the client's own retry of a
    # held call that timed out on a slow machine).
    [canceling] = [e.timestamp for e in records if e.dagster_event.event_type == DagsterEventType.RUN_CANCELING]
    assert comtrade.data_requests and max(comtrade.data_requests) < canceling
    assert not Path(dagster.data_dir, "marts", "trade_flows_monthly").exists()
