"""The Dagster code location: every domain's definitions merged, plus the shared resources.

Load it with ``dagster dev`` (``workspace.yaml``) or ``-m alatau_pipeline.definitions``.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from alatau_pipeline.comtrade import definitions as comtrade_definitions
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.crossings import definitions as crossings_definitions
from alatau_pipeline.customs import definitions as customs_definitions
from alatau_pipeline.forecasting import definitions as forecasting_definitions
from alatau_pipeline.jobs import comtrade_job, daily_job
from alatau_pipeline.ops import definitions as ops_definitions
from alatau_pipeline.ops.freshness import apply_mart_freshness
from alatau_pipeline.validation import definitions as validation_definitions

# Only `defs` is a Definitions object at module level: `dagster ... -m alatau_pipeline.definitions`
# without `-a` (contracts section 1) refuses a module holding more than one, so the domains' parts are
# reached through their modules.
defs = Definitions.merge(
    Definitions(
        resources={"lake": DataLake()},
        jobs=[daily_job, comtrade_job],
        # Steps of this pipeline are short Polars transforms; running them in one process means a run pays
        # for importing the code location (and Great Expectations, where checks need it) once, not per step.
        executor=in_process_executor,
    ),
    customs_definitions.defs,
    crossings_definitions.defs,
    forecasting_definitions.defs,
    ops_definitions.defs,
    comtrade_definitions.defs,
    validation_definitions.defs,
)
# Every mart declares how fresh it must be (daily marts by 08:00 Almaty); see ops/freshness.py.
defs = apply_mart_freshness(defs)
