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
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import polars as pl
import psycopg2
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, materialize
from dagster._core.events import DagsterEventType
from dagster._core.instance.ref import InstanceRef

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.customs.assets import CUSTOMS_DAILY, CUSTOMS_ITEMS, customs_marts
from alatau_pipeline.definitions import defs
from alatau_pipeline.demo.seed import seed_demo
from alatau_pipeline.ops.postgres_storage import BatchingPostgresEventLogStorage
from alatau_pipeline.settings import REPO_ROOT
from tests.conftest import range_tags
from tests.ops.test_instance_storage import DAYS as STORAGE_DAYS
from tests.ops.test_instance_storage import items_written
from tests.ops.test_instance_storage import write_days as write_storage_days

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
def new_database() -> Iterator[Callable[[], dict[str, str]]]:
    """Makes fresh databases on the server, dropped afterwards; each one's settings as DAGSTER_PG_* variables."""
    url = urlparse(_server_url())
    try:
        admin = psycopg2.connect(url.geturl(), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {url.hostname}:{url.port} is unreachable: {exc}")
    admin.autocommit = True
    names: list[str] = []

    def create() -> dict[str, str]:
        name = f"alatau_test_{uuid.uuid4().hex[:12]}"
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return {
            "DAGSTER_PG_HOST": url.hostname or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_DB": name,
            "DAGSTER_PG_USER": url.username or "",
            "DAGSTER_PG_PASSWORD": url.password or "",
        }

    try:
        yield create
    finally:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def database(new_database: Callable[[], dict[str, str]]) -> dict[str, str]:
    return new_database()


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
        assert type(instance.event_log_storage) is BatchingPostgresEventLogStorage
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


# ---- the production storage records a range run as dagster-postgres' own storage does ----------------------


def _pg_instance(home: Path, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, *, ours: bool):
    """An instance on ``settings``' database: the production configuration as shipped, or ``storage:
    postgres:`` (dagster-postgres' own storage) with the same server."""
    for key, value in settings.items():
        monkeypatch.setenv(key, value)  # read when the instance is made
    home.mkdir()
    if ours:
        shutil.copy(PRODUCTION_YAML, home / "dagster.yaml")
    else:
        url = (f"postgresql+psycopg2://{settings['DAGSTER_PG_USER']}:{settings['DAGSTER_PG_PASSWORD']}"
               f"@{settings['DAGSTER_PG_HOST']}:{settings['DAGSTER_PG_PORT']}/{settings['DAGSTER_PG_DB']}")
        (home / "dagster.yaml").write_text(
            f"storage:\n  postgres:\n    postgres_url: '{url}'\ntelemetry:\n  enabled: false\n"
        )
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def _pg_query(settings: dict[str, str], query: str, *args: object) -> list[tuple]:
    with psycopg2.connect(
        host=settings["DAGSTER_PG_HOST"], port=settings["DAGSTER_PG_PORT"], dbname=settings["DAGSTER_PG_DB"],
        user=settings["DAGSTER_PG_USER"], password=settings["DAGSTER_PG_PASSWORD"], connect_timeout=5,
    ) as connection, connection.cursor() as cursor:
        cursor.execute(query, args)
        rows = cursor.fetchall()
    connection.close()
    return rows


def _asset_index(settings: dict[str, str], run_id: str) -> list[tuple]:
    """The asset index as the UI reads it (which run last touched each asset, whether it exists)."""
    return _pg_query(settings, "SELECT asset_key, last_run_id = %s, last_materialization_timestamp IS NOT NULL "
                     "FROM asset_keys ORDER BY 1", run_id)


def _watch_planned_batches(storage, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The asset index right after each batch holding planned materializations was stored (mid-run state)."""
    seen: list[object] = []
    original = storage.store_event_batch

    def store_event_batch(events):
        original(events)
        if any(event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED for event in events):
            seen.append(_asset_index(settings, events[0].run_id))

    monkeypatch.setattr(storage, "store_event_batch", store_event_batch)
    return seen


def _pg_recorded(instance: DagsterInstance, settings: dict[str, str], run_id: str) -> dict[str, object]:
    """What a range run left in the instance: its events in order, the index's rows, per-partition state."""
    def rows(query: str, *args: object) -> list[tuple]:
        return _pg_query(settings, query, *args)

    recorded = {
        "run_events": [record.dagster_event.event_type_value for record in instance.all_logs(run_id)
                       if record.dagster_event],
        "events": rows("SELECT dagster_event_type, asset_key, partition, count(*) FROM event_logs "
                       "WHERE asset_key IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
        "planned_in_order": rows("SELECT asset_key, partition FROM event_logs "
                                 "WHERE dagster_event_type = 'ASSET_MATERIALIZATION_PLANNED' ORDER BY id"),
        "tags": rows("SELECT key, value = %s, count(*) FROM asset_event_tags GROUP BY 1, 2 ORDER BY 1, 2",
                     run_id),
        "asset_records": _asset_index(settings, run_id),
        "check_executions": rows("SELECT asset_key, check_name, execution_status, count(*) "
                                 "FROM asset_check_executions GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
    }
    for key in (CUSTOMS_ITEMS, CUSTOMS_DAILY):
        recorded[f"materialized {key.to_user_string()}"] = sorted(instance.get_materialized_partitions(key))
        recorded[f"planned {key.to_user_string()}"] = [
            (info.run_id == run_id) if (info := instance.event_log_storage.get_latest_planned_materialization_info(
                key, day)) else None
            for day in STORAGE_DAYS
        ]
    return recorded


def _pg_range_run(instance: DagsterInstance, data_dir: Path) -> str:
    result = materialize(
        [customs_marts, items_written],
        resources={"lake": DataLake(data_dir=str(data_dir))},
        instance=instance,
        tags=range_tags(STORAGE_DAYS[0], STORAGE_DAYS[-1]),
    )
    assert result.success
    return result.run_id


@pytest.mark.parametrize("index_write_fails", [False, True], ids=["batched", "index-write-fails"])
def test_range_run_is_recorded_as_dagster_postgres_records_it(
    new_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_write_fails: bool
) -> None:
    """The planned materializations reach the storage as one batch and are written at once; the instance
    then holds what dagster-postgres' own storage holds after the same run. When the batch's index write
    fails, its rows are taken back and the events stored one by one: again the same, nothing twice."""
    data_dir = tmp_path / "data"
    write_storage_days(data_dir, STORAGE_DAYS)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")  # as the deployment guide sets it

    ours_db = new_database()
    with _pg_instance(tmp_path / "ours", ours_db, monkeypatch, ours=True) as instance:
        storage = instance.event_log_storage
        assert type(storage) is BatchingPostgresEventLogStorage
        written_at_once: list[int] = []
        store_at_once = storage._store_planned_materializations

        def record(events):
            written_at_once.append(len(events))
            if index_write_fails and len(written_at_once) == 1:
                original = storage._store_asset_event_tags

                def fail(conn, events, event_ids):
                    monkeypatch.setattr(storage, "_store_asset_event_tags", original)
                    raise RuntimeError("connection reset")

                monkeypatch.setattr(storage, "_store_asset_event_tags", fail)
            return store_at_once(events)

        monkeypatch.setattr(storage, "_store_planned_materializations", record)
        ours_mid_run = _watch_planned_batches(storage, ours_db, monkeypatch)
        ours = _pg_recorded(instance, ours_db, _pg_range_run(instance, data_dir))

    theirs_db = new_database()
    with _pg_instance(tmp_path / "theirs", theirs_db, monkeypatch, ours=False) as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        theirs_mid_run = _watch_planned_batches(instance.event_log_storage, theirs_db, monkeypatch)
        theirs = _pg_recorded(instance, theirs_db, _pg_range_run(instance, data_dir))

    assert written_at_once == [2 * len(STORAGE_DAYS)]  # both assets' planned materializations, in one go
    # Once the run is planned, before any step: both assets are the run's (the UI shows them in progress).
    assert ours_mid_run == theirs_mid_run
    assert ours_mid_run[0] == [('["customs_daily"]', True, True), ('["customs_items"]', True, True)]
    assert ours == theirs
    assert ours["materialized customs_items"] == STORAGE_DAYS
    assert ours["planned customs_daily"] == [True] * len(STORAGE_DAYS)
    assert len(ours["planned_in_order"]) == 2 * len(STORAGE_DAYS)
