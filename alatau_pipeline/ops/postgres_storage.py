"""The production instance's PostgreSQL storage, with a range run's planned materializations written at once.

Separate from ``instance_storage.py`` (the local SQLite instance) because importing ``dagster-postgres``
costs ~0.5 s, which no local Dagster process should pay. Like that module, it subclasses Dagster's storage
classes (``dagster._core``, ``dagster_postgres``): a Dagster upgrade may move them, and
``tests/ops/test_postgres.py`` compares what a range run records with ``dagster-postgres``' own storage.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.config import PostgresStorageConfig
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._serdes import ConfigurableClassData
from dagster_postgres.auth import PgTokenProvider
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.storage import DagsterPostgresStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from alatau_pipeline.ops.instance_storage import store_in_runs


def _is_planned_materialization(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED


class BatchingPostgresEventLogStorage(PostgresEventLogStorage):
    """``dagster-postgres``' event log; a run's planned materializations are written at once.

    ``dagster-postgres`` stores a batch of reported materializations (or observations) with one insert,
    but the batch of planned materializations that creating a range run records (one per asset and
    partition) event by event: an insert, then an index transaction, for each. On a test server that was
    12 of the 24 s a year's backfill of the customs marts took (``benchmarks/README.md``, fix 20). Here
    such a run of planned events is one insert and one index transaction, doing for each event what
    ``PostgresEventLogStorage.store_event`` does (the asset's tags and its row in the asset index), in
    order. Everything else goes to ``dagster-postgres``' own ``store_event_batch``. If the index write
    fails, the inserted rows are deleted again (unless that fails too: the events are then stored twice,
    once without their index rows) and the events stored one by one.
    """

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        store_in_runs(
            events,
            at_once=_is_planned_materialization,
            store_at_once=self._store_planned_materializations,
            store_others=super().store_event_batch,
            store_one=self.store_event,
        )

    def _store_planned_materializations(self, events: list[EventLogEntry]) -> None:
        with self._connect() as conn:
            inserted = conn.execute(self.prepare_insert_event_batch(events).returning(SqlEventLogStorageTable.c.id))
            # One statement's rows take their ids in the order of its values.
            event_ids = sorted(int(row[0]) for row in inserted.fetchall())
        try:
            if len(event_ids) != len(events):
                raise DagsterInvariantViolationError(f"{len(events)} events stored, {len(event_ids)} ids returned")
            with self.index_transaction() as conn:
                self._store_asset_event_tags(conn, events, event_ids)
                for event, event_id in zip(events, event_ids, strict=True):
                    self._store_asset_event(conn, event, event_id)
        except Exception:
            with self._connect() as conn:
                conn.execute(SqlEventLogStorageTable.delete().where(SqlEventLogStorageTable.c.id.in_(event_ids)))
            raise


class AlatauPostgresStorage(DagsterPostgresStorage):
    """``dagster-postgres``' instance storage (the same configuration: ``postgres_db`` or ``postgres_url``)
    with :class:`BatchingPostgresEventLogStorage`; ``dagster_home/production/dagster.yaml`` selects it.
    Batching is on only where ``DAGSTER_EVENT_BATCH_SIZE`` is set, as the deployment guide says to."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: PgTokenProvider | None = None,
    ) -> None:
        # DagsterPostgresStorage.__init__, with the batching event log in place of Dagster's.
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        self._run_storage = PostgresRunStorage(postgres_url, should_autocreate_tables, token_provider=token_provider)
        self._event_log_storage = BatchingPostgresEventLogStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        self._schedule_storage = PostgresScheduleStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: PostgresStorageConfig
    ) -> AlatauPostgresStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
