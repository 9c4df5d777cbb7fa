"""The local instance's SQLite storage, with the event batches of a single-run backfill written at once.

A run over a range of partitions records two events per asset and partition: one
``ASSET_MATERIALIZATION_PLANNED`` when the run is created and one ``ASSET_MATERIALIZATION`` when the step
reports its result. Dagster hands each of those groups to the event log as one batch
(``EventLogStorage.store_event_batch``) when ``DAGSTER_EVENT_BATCH_SIZE`` is set. Its SQLite storage then
still stores them one by one, each on two new connections with their own commits (the run's database
and the cross-run index): ~10 ms an event here, half of a 365-partition backfill of the customs marts
(1,460 events, ~15 s of ~30 s; see ``benchmarks/README.md``, fix 20).

:class:`BatchingSqliteEventLogStorage` writes such a batch with one transaction on each database: the
same rows, in the same order, with the same per-asset records and tags as one-by-one storage. Anything
else (run and step events, mixed batches) goes to Dagster's own code unchanged. :class:`AlatauSqliteStorage`
is Dagster's default SQLite storage (``history/`` and ``schedules/`` under ``DAGSTER_HOME``) with this event
log; ``dagster_home/dagster.yaml`` selects it, and it turns Dagster's batching on in every process that
opens the instance (webserver, daemon, run workers, CLI) unless ``DAGSTER_EVENT_BATCH_SIZE`` is already
set (``0`` turns it off).

It subclasses Dagster's SQLite storage classes (``dagster._core``): a Dagster upgrade may move them, and
``tests/ops/test_instance_storage.py`` compares what a range run records with Dagster's own storage.
PostgreSQL (production) has its own batch path in ``dagster-postgres``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData

# Dagster buffers at most this many events of one batch before handing them over; a range of 1,000
# partitions of one asset is one transaction.
EVENT_BATCH_SIZE = "1000"

# What Dagster batches (planned and reported materializations, planned checks) and this storage writes
# together: events mirrored in the index database.
_BATCHED_TYPES = ASSET_EVENTS | ASSET_CHECK_EVENTS


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log; a batch of asset events is one transaction per database."""

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if len(events) < 2 or len({event.run_id for event in events}) != 1 or not all(
            event.is_dagster_event and event.dagster_event_type in _BATCHED_TYPES for event in events
        ):
            super().store_event_batch(events)  # one by one, as Dagster stores them
            return
        # What SqliteEventLogStorage.store_event does for each of these events, once per database.
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            for statement in statements:
                conn.execute(statement)
        asset_events: list[EventLogEntry] = []
        asset_event_ids: list[int] = []
        check_events: list[tuple[EventLogEntry, int]] = []
        with self.index_transaction() as conn:
            for event, statement in zip(events, statements, strict=True):
                with db_result(conn, statement) as result:
                    event_id = result.inserted_primary_key[0]
                if event.dagster_event_type in ASSET_EVENTS:
                    self._store_asset_event(conn, event, event_id)
                    asset_events.append(event)
                    asset_event_ids.append(event_id)
                else:
                    check_events.append((event, event_id))
            self._store_asset_event_tags(conn, asset_events, asset_event_ids)
        # Check records are written on connections of their own, so only after the index is committed.
        for event, event_id in check_events:
            self.store_asset_check_event(event, event_id)


class AlatauSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite instance storage with :class:`BatchingSqliteEventLogStorage`.

    Configured in ``dagster.yaml`` as ``storage: custom:`` with ``base_dir`` (the instance folder, the
    layout Dagster's default storage uses there).
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Dagster's batching is read from the environment whenever an event is stored.
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, str]
    ) -> AlatauSqliteStorage:
        return cls(inst_data=inst_data, **config_value)
