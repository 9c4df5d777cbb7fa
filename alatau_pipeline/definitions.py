"""The Dagster code location: every domain's definitions merged, plus the shared resources.

Load it with ``dagster dev`` (``workspace.yaml``) or ``-m alatau_pipeline.definitions``.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from alatau_pipeline.comtrade.definitions import defs as comtrade_defs
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.crossings.definitions import defs as crossings_defs
from alatau_pipeline.customs.definitions import defs as customs_defs
from alatau_pipeline.forecasting.definitions import defs as forecasting_defs
from alatau_pipeline.jobs import comtrade_job, daily_job
from alatau_pipeline.ops.definitions import defs as ops_defs
from alatau_pipeline.ops.freshness import apply_mart_freshness
from alatau_pipeline.validation.definitions import defs as validation_defs

# Steps of this pipeline are short Polars transforms; running them in one process means a run pays for
# importing the code location (and Great Expectations, where checks need it) once instead of per step.
shared_defs = Definitions(
    resources={"lake": DataLake()},
    jobs=[daily_job, comtrade_job],
    executor=in_process_executor,
)

defs = Definitions.merge(
    shared_defs, customs_defs, crossings_defs, forecasting_defs, ops_defs, comtrade_defs, validation_defs
)
# Every mart declares how fresh it must be (daily marts by 08:00 Almaty); see ops/freshness.py.
defs = apply_mart_freshness(defs)

# `dagster ... -m alatau_pipeline.definitions` without `-a` (contracts section 1) refuses a module holding
# more than one Definitions object; the per-domain parts are merged into `defs` above, so drop their names.
def _drop_merged_parts(namespace: dict[str, object]) -> None:
    for name in [n for n, value in namespace.items() if isinstance(value, Definitions) and n != "defs"]:
        del namespace[name]


_drop_merged_parts(globals())
