"""The daily job against a real PostgreSQL server, with the production instance configuration.

The server comes from ``.ci/run`` (Debian's postgresql, started on loopback) and reaches the test as
``ALATAU_TEST_PG_URL``. On CI (``CI=true``) or whenever that variable is set, an unreachable server fails
the test; a developer machine without the variable skips it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import polars as pl
import psycopg2
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.definitions import defs
from alatau_pipeline.demo.seed import seed_demo
from alatau_pipeline.settings import REPO_ROOT

PRODUCTION_YAML = REPO_ROOT / "dagster_home" / "production" / "dagster.yaml"
DAY = "2025-06-10"


def _server_url() -> str:
    url = os.environ.get("ALATAU_TEST_PG_URL")
    on_ci = os.environ.get("CI", "").lower() == "true"
    if not url:
        if on_ci:
            pytest.fail("CI=true but ALATAU_TEST_PG_URL is not set: .ci/run starts PostgreSQL and sets it")
        pytest.skip("ALATAU_TEST_PG_URL not set (run .ci/postgres.sh to start a local server)")
    return url


@pytest.fixture
def database() -> Iterator[dict[str, str]]:
    """A fresh database on the server, dropped afterwards; its settings as DAGSTER_PG_* variables."""
    url = urlparse(_server_url())
    try:
        admin = psycopg2.connect(url.geturl(), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {url.hostname}:{url.port} is unreachable: {exc}")
    admin.autocommit = True
    name = f"alatau_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "DAGSTER_PG_HOST": url.hostname or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_DB": name,
            "DAGSTER_PG_USER": url.username or "",
            "DAGSTER_PG_PASSWORD": url.password or "",
        }
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_daily_job_with_instance_storage_in_postgres(
    database: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in database.items():
        monkeypatch.setenv(key, value)
    # The production configuration as shipped: everything it needs comes from the environment.
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PRODUCTION_YAML, home / "dagster.yaml")
    assert database["DAGSTER_PG_PASSWORD"] not in PRODUCTION_YAML.read_text()
    data_dir = tmp_path / "data"
    day = dt.date.fromisoformat(DAY)
    seed_demo(str(data_dir), day, day, sources=["customs_declarations"])

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        job = defs.resolve_job_def("daily_job")
        result = job.execute_in_process(
            instance=instance,
            partition_key=DAY,
            resources={"lake": DataLake(data_dir=str(data_dir))},
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        materialized = instance.get_latest_materialization_event(AssetKey("customs_daily"))
        assert materialized is not None and materialized.run_id == result.run_id

    # The records are in PostgreSQL itself: no SQLite database beside DAGSTER_HOME (only compute logs).
    assert not list(home.rglob("*.db"))
    with psycopg2.connect(
        host=database["DAGSTER_PG_HOST"], port=database["DAGSTER_PG_PORT"], dbname=database["DAGSTER_PG_DB"],
        user=database["DAGSTER_PG_USER"], password=database["DAGSTER_PG_PASSWORD"], connect_timeout=5,
    ) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,))
        assert cursor.fetchone() == ("SUCCESS",)
        cursor.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (result.run_id,),
        )
        assert cursor.fetchone()[0] >= 3  # staged, customs_items, customs_daily
    connection.close()

    daily = pl.read_parquet(data_dir / "marts" / "customs_daily" / f"date={DAY}" / "part-0.parquet")
    assert daily.height > 0 and daily["stat_value_usd"].sum() > 0
