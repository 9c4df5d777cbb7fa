"""Batches of a run's partition range: a month at most, fewer days when the days are large."""

from __future__ import annotations

import gzip
from pathlib import Path

from alatau_pipeline.core.batching import bounded_batches, partition_batches
from alatau_pipeline.core.landing import landing_bytes
from alatau_pipeline.core.storage import PartitionedParquetStore

KEYS = [f"2025-01-{d:02d}" for d in range(1, 32)] + [f"2025-02-{d:02d}" for d in range(1, 11)]


def test_small_partitions_batch_by_month_like_partition_batches() -> None:
    assert list(bounded_batches(KEYS, lambda _: 10, budget=1_000_000)) == list(partition_batches(KEYS))


def test_large_partitions_make_smaller_batches_and_an_oversized_one_stands_alone() -> None:
    sizes = {key: 100 for key in KEYS} | {"2025-01-05": 1_000}
    batches = list(bounded_batches(KEYS, sizes.__getitem__, budget=300))
    assert [k for batch in batches for k in batch] == KEYS  # every key once, in order
    assert ["2025-01-05"] in batches
    assert all(sum(sizes[k] for k in batch) <= 300 or len(batch) == 1 for batch in batches)


def test_landing_bytes_counts_gzip_files_uncompressed(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / "src" / "date=2025-01-01"
    folder.mkdir(parents=True)
    text = b"a,b\n" + b"1,2\n" * 10_000
    (folder / "day.csv.gz").write_bytes(gzip.compress(text))
    (folder / "later.csv").write_bytes(b"a,b\n3,4\n")
    store = PartitionedParquetStore(tmp_path)
    assert landing_bytes(store, "src", "2025-01-01") == len(text) + 8
    assert landing_bytes(store, "src", "2025-01-02") == 0
