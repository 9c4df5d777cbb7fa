"""Real Dagster processes for the tests: ``dagster-webserver`` and ``dagster-daemon`` on loopback.

Both run from the project's virtualenv against a temporary ``DAGSTER_HOME`` and ``ALATAU_DATA_DIR``; the
tests talk to the webserver's GraphQL API, the path the UI takes. Every wait is a bounded poll.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from alatau_pipeline.settings import REPO_ROOT

if TYPE_CHECKING:
    from dagster import DagsterInstance

BIN = Path(sys.executable).parent
LOCATION = "alatau_pipeline"
REPOSITORY = "__repository__"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Poll ``probe`` until it returns something other than None (or False); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value is not None and value is not False:
                return value
        except requests.RequestException as exc:  # the server is still starting
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})")


@dataclass
class DagsterProcesses:
    url: str
    home: Path
    data_dir: Path
    logs: Path

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def log_tail(self, lines: int = 40) -> str:
        """The end of both processes' logs, for assertion messages."""
        out = []
        for log in sorted(self.logs.glob("*.log")):
            out.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)


def write_instance_yaml(home: Path) -> None:
    """The repository's ``dagster.yaml`` as shipped (run retries, monitoring, run queue, freshness)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")


@contextmanager
def dagster_processes(home: Path, data_dir: Path, env: dict[str, str] | None = None) -> Iterator[DagsterProcesses]:
    port = free_port()
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # The demo Comtrade source, whatever the shell exports: a test never calls the real API with a real key.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COMTRADE_")} | {
        "DAGSTER_HOME": str(home),
        "ALATAU_DATA_DIR": str(data_dir),
        "ALATAU_SOURCE": "demo",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    workspace = str(REPO_ROOT / "workspace.yaml")
    _create_instance_storage(home)
    commands = {
        # Loopback only, as every local command of this project: Dagster OSS has no login.
        "webserver": [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", workspace],
        "daemon": [str(BIN / "dagster-daemon"), "run", "-w", workspace],
    }
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in commands.items():
            log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            # A session of its own, so teardown can stop the process and the run workers it started.
            started.append(
                subprocess.Popen(
                    command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        processes = DagsterProcesses(url=f"http://127.0.0.1:{port}", home=home, data_dir=data_dir, logs=logs)
        wait_for("the webserver", lambda: _location_loaded(processes, started), timeout=120)
        wait_for("the daemon", lambda: _daemons_healthy(processes, started), timeout=120)
        yield processes
    finally:
        for process in started:
            _stop(process)


@contextmanager
def open_instance(home: Path) -> Iterator[DagsterInstance]:
    """The instance at ``home``, opened in this process as the Dagster processes open it."""
    from unittest import mock

    from dagster import DagsterInstance

    # The instance's storage takes its folder from DAGSTER_HOME (dagster_home/dagster.yaml).
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(home)}), DagsterInstance.from_config(str(home)) as instance:
        yield instance


def _create_instance_storage(home: Path) -> None:
    """Create and stamp the instance's SQLite storage once, before the webserver, its code server and the
    daemon start: left to them, they race to create it and can stamp two alembic heads."""
    with open_instance(home) as instance:
        instance.get_runs(limit=1)
        instance.all_instigator_state()


def _check_alive(started: list[subprocess.Popen[bytes]]) -> None:
    for process in started:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")


def _location_loaded(processes: DagsterProcesses, started: list[subprocess.Popen[bytes]]) -> bool:
    _check_alive(started)
    data = processes.graphql(
        """{ workspaceOrError { ... on Workspace { locationEntries {
             name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    )
    entries = data["workspaceOrError"]["locationEntries"]
    for entry in entries:
        error = entry["locationOrLoadError"]
        if error and error["__typename"] == "PythonError":
            raise RuntimeError(f"code location failed to load: {error['message']}")
    return any(e["name"] == LOCATION and e["loadStatus"] == "LOADED" for e in entries)


def _daemons_healthy(processes: DagsterProcesses, started: list[subprocess.Popen[bytes]]) -> bool:
    _check_alive(started)
    data = processes.graphql(
        "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"
    )
    statuses = {s["daemonType"]: s["healthy"] for s in data["instance"]["daemonHealth"]["allDaemonStatuses"]}
    return all(statuses.get(d) for d in ("BACKFILL", "SENSOR", "QUEUED_RUN_COORDINATOR", "SCHEDULER"))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop one process we started and its session (its code server and run workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    else:
        # The leader is gone; its session may still hold children.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
