"""Shared fixtures: a temporary data lake and helpers to drop landing files into it."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from pathlib import Path

import pytest

from alatau_pipeline.core.resources import DataLake

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover a partition range (a single-run backfill)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    return root


@pytest.fixture
def lake(data_dir: Path) -> DataLake:
    return DataLake(data_dir=str(data_dir))


def write_landing(
    data_dir: Path,
    source: str,
    date: str,
    name: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
) -> Path:
    """Write a landing CSV (gzip when the name ends in .gz) the way an upstream system would."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    data = buffer.getvalue().encode("utf-8")
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path = data_dir / "landing" / source / f"date={date}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
