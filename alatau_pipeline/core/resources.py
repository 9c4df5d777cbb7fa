"""The data-lake resource: where `ALATAU_DATA_DIR` points, as a Dagster resource."""

from __future__ import annotations

from functools import cached_property

from dagster import ConfigurableResource
from pydantic import Field

from alatau_pipeline import settings
from alatau_pipeline.core.storage import PartitionedParquetStore


class DataLake(ConfigurableResource):
    """Root of landing/, raw/, staging/, marts/, quarantine/ and reports/ (a local path or fsspec URL)."""

    data_dir: str = Field(
        default_factory=settings.data_dir,
        description="Local path or fsspec URL; defaults to ALATAU_DATA_DIR or data/ in the repository.",
    )

    @cached_property
    def store(self) -> PartitionedParquetStore:
        return PartitionedParquetStore(self.data_dir)
