"""alatau_pipeline: Kazakhstan–China trade and border-crossing data for the Alatau City logistics zone.

The Dagster code location is :mod:`alatau_pipeline.definitions` (attribute ``defs``).
"""

__version__ = "0.1.0"

import warnings as _warnings

# backfill_policy and a few other Dagster APIs the pipeline relies on deliberately are marked beta or
# preview; their warnings would repeat on every import of the code location. Matched by message so that
# importing the package does not have to import Dagster.
_warnings.filterwarnings("ignore", message=r".*(is|are) currently in (beta|preview)")
