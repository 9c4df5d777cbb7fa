"""The local instance's SQLite storage, with the event batches of a single-run backfill written at once.

A run over a range of partitions records two events per asset and partition: one
``ASSET_MATERIALIZATION_PLANNED`` when the run is created and one ``ASSET_MATERIALIZATION`` when the step
reports its result. Dagster hands each of those groups to the event log as one batch
(``EventLogStorage.store_event_batch``) when ``DAGSTER_EVENT_BATCH_SIZE`` is set. Its SQLite storage then
still stores them one by one, each on two new connections with their own commits (the run's database
and the cross-run index): ~10 ms an event here, half of a 365-partition backfill of the customs marts
(1,460 events, ~15 s of ~30 s; see ``benchmarks/README.md``, fix 20).

:class:`BatchingSqliteEventLogStorage` writes such a batch with one transaction on each database: the
same rows, in the same order, with the same per-asset records and tags as one-by-one storage. Everything
else (run and step events, the planned checks in a run's batch) is stored by Dagster's own code, one by
one. :class:`AlatauSqliteStorage`
is Dagster's default SQLite storage (``history/`` and ``schedules/`` under ``DAGSTER_HOME``) with this event
log; ``dagster_home/dagster.yaml`` selects it, and it turns Dagster's batching on in every process that
opens the instance (webserver, daemon, run workers, CLI) unless ``DAGSTER_EVENT_BATCH_SIZE`` is already
set (``0`` turns it off).

It subclasses Dagster's SQLite storage classes (``dagster._core``): a Dagster upgrade may move them, and
``tests/ops/test_instance_storage.py`` compares what a range run records with Dagster's own storage.
PostgreSQL (production) has its own batch path in ``dagster-postgres`` for reported materializations;
``ops/postgres_storage.py`` adds the planned ones.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from itertools import groupby

from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
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

# The asset events Dagster hands over in batches (a run's planned materializations, a step's reported
# ones) and this storage writes at once. Everything else in a batch (planned checks) is stored one by one.
_BATCHED_ASSET_EVENTS = frozenset(
    {
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.ASSET_OBSERVATION,
    }
)

# Dagster buffers at most this many events of one batch before handing them over; a range of 1,000
# partitions of one asset is one transaction.
EVENT_BATCH_SIZE = "1000"

logger = logging.getLogger(__name__)


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log; a batch of asset events is one transaction per database.

    A batch is stored in order, as consecutive runs of asset events (planned or reported
    materializations, observations), each written at once, and anything else between them (planned
    checks) stored one by one by Dagster's ``store_event``. A run of asset events whose index write fails
    leaves nothing behind (its rows in the run's database are deleted again, unless that fails too) and
    is then stored event by event, without storing any event twice. Only an error of Dagster's own
    ``store_event`` reaches the caller; Dagster then stores the whole batch again, one by one, as it does
    for a batch with any storage, and the events stored before the error may then appear twice.
    """

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, str]
    ) -> BatchingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        store_in_runs(
            events,
            at_once=_is_asset_event,
            store_at_once=self._store_asset_events,
            store_others=lambda others: [self.store_event(event) for event in others],
            store_one=self.store_event,
        )

    def _store_asset_events(self, events: list[EventLogEntry]) -> None:
        """What ``SqliteEventLogStorage.store_event`` does for each asset event, once per database."""
        run_id = events[0].run_id
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(run_id) as conn:
            run_event_ids = [conn.execute(statement).inserted_primary_key[0] for statement in statements]
        try:
            with self.index_transaction() as conn:
                event_ids = []
                for event, statement in zip(events, statements, strict=True):
                    with db_result(conn, statement) as result:
                        event_id = result.inserted_primary_key[0]
                    if event_id is None:
                        raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
                    self._store_asset_event(conn, event, event_id)
                    event_ids.append(event_id)
                self._store_asset_event_tags(conn, events, event_ids)
        except Exception:
            # The index transaction was rolled back; take the run's rows back too, so that storing the
            # events again does not store them twice.
            with self.run_connection(run_id) as conn:
                conn.execute(SqlEventLogStorageTable.delete().where(SqlEventLogStorageTable.c.id.in_(run_event_ids)))
            raise


def _is_asset_event(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type in _BATCHED_ASSET_EVENTS


def store_in_runs(
    events: Sequence[EventLogEntry],
    *,
    at_once: Callable[[EventLogEntry], bool],
    store_at_once: Callable[[list[EventLogEntry]], None],
    store_others: Callable[[list[EventLogEntry]], object],
    store_one: Callable[[EventLogEntry], None],
) -> None:
    """Store a batch in order, as consecutive runs of events: those ``at_once`` selects are written with
    ``store_at_once``, the others with ``store_others``. If ``store_at_once`` fails (having taken back
    what it wrote, as far as it could), the run is stored event by event with ``store_one``."""
    # Dagster's batches come from one run; grouping by run as well keeps that an assumption it can break.
    for (together, _run_id), run in groupby(events, key=lambda event: (at_once(event), event.run_id)):
        group = list(run)
        if not together or len(group) < 2:
            store_others(group)
            continue
        try:
            store_at_once(group)
        except Exception:
            logger.warning("Storing %d events at once failed; storing them one by one", len(group), exc_info=True)
            for event in group:
                store_one(event)


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
