"""Backfills and the daily run through the Dagster CLI on a temporary instance, as an engineer runs them.

Each call is a fresh ``dagster`` process: it pays for loading the code location, launching the run and
recording it in the instance (SQLite in ``DAGSTER_HOME``), which is the cost a per-partition backfill pays
once per partition and a single-run backfill pays once per range.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MODULE = "alatau_pipeline.definitions"
CUSTOMS_CHAIN = "customs_items,customs_daily"


@dataclass(frozen=True)
class Timed:
    seconds: float
    ok: bool
    tail: str  # the end of the output, for the report when a run failed


def dagster_env(dagster_home: str, data_dir: str) -> dict[str, str]:
    """Environment of a temporary instance configured like the project's (``dagster_home/dagster.yaml``)."""
    Path(dagster_home).mkdir(parents=True, exist_ok=True)
    project_config = Path(__file__).resolve().parent.parent / "dagster_home" / "dagster.yaml"
    if project_config.exists():
        shutil.copyfile(project_config, Path(dagster_home) / "dagster.yaml")
    return os.environ | {"DAGSTER_HOME": dagster_home, "ALATAU_DATA_DIR": data_dir, "ALATAU_SOURCE": "demo"}


def prepare_instance(env: dict[str, str]) -> None:
    """Create the instance's storage before any timed call, so the first run measured does not also pay
    for creating and migrating the SQLite databases."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    subprocess.run([dagster, "instance", "migrate"], env=env, capture_output=True, check=True)


def _dagster(args: list[str], env: dict[str, str]) -> Timed:
    # Exactly the contract's form (contracts section 1): the module, no attribute.
    command = [str(Path(sys.executable).with_name("dagster")), *args, "-m", MODULE]
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    return Timed(seconds, done.returncode == 0, (done.stdout + done.stderr)[-2000:])


def materialize_range(first: str, last: str, env: dict[str, str], select: str = CUSTOMS_CHAIN) -> Timed:
    """One single-run backfill of ``first``..``last`` (the assets' BackfillPolicy.single_run())."""
    return _dagster(["asset", "materialize", "--select", select, "--partition-range", f"{first}...{last}"], env)


def materialize_partition(key: str, env: dict[str, str], select: str = CUSTOMS_CHAIN) -> Timed:
    """One run of one partition, what a multi-run backfill launches for every partition."""
    return _dagster(["asset", "materialize", "--select", select, "--partition", key], env)


def daily_run(key: str, env: dict[str, str]) -> Timed:
    """daily_job for one partition, tagged as the schedule's RunRequest tags it (ops/schedules.py)."""
    tags = json.dumps({"dagster/partition": key, "alatau/trigger": "schedule"})
    return _dagster(["job", "execute", "-j", "daily_job", "--tags", tags], env)


@dataclass(frozen=True)
class DemoTiming:
    """``alatau demo`` on a temporary instance: the whole command, and its runs as the instance recorded them."""

    seconds: float  # the whole command: seeding, every run, the summary
    ok: bool
    runs: dict[str, float]  # "<job> (<first partition> … <last>)" → seconds from run start to end
    daily_chain_s: float  # the daily_job runs: every daily asset and check over the demo's two years
    tail: str


def demo_backfill(dagster_home: str, data_dir: str, years: float = 2.0) -> DemoTiming:
    """The README's first command on a fresh instance, timed from the run records it leaves behind."""
    from dagster import DagsterInstance

    env = dagster_env(dagster_home, data_dir)
    prepare_instance(env)
    alatau = str(Path(sys.executable).with_name("alatau"))
    began = time.perf_counter()
    done = subprocess.run(
        [alatau, "demo", "--years", str(years), "--data-dir", data_dir], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - began
    runs: dict[str, float] = {}
    # The instance's storage takes its folder from DAGSTER_HOME (dagster_home/dagster.yaml).
    os.environ["DAGSTER_HOME"] = dagster_home
    with DagsterInstance.from_config(dagster_home) as instance:
        for record in reversed(instance.get_run_records()):
            run = record.dagster_run
            first, last = (run.tags.get(f"dagster/asset_partition_range_{end}") for end in ("start", "end"))
            span = f"{first} … {last}"
            if record.start_time and record.end_time:
                runs[f"{run.job_name} ({span})"] = record.end_time - record.start_time
    daily = sum(s for name, s in runs.items() if name.startswith("daily_job "))
    return DemoTiming(seconds, done.returncode == 0, runs, daily, (done.stdout + done.stderr)[-2000:])
