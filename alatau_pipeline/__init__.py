"""alatau_pipeline: Kazakhstan–China trade and border-crossing data for the Alatau City logistics zone.

The Dagster code location is :mod:`alatau_pipeline.definitions` (attribute ``defs``).
"""

__version__ = "0.1.0"
