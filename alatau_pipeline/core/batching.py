"""Splitting a run's partition range into batches, so a years-long backfill runs in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

# About a month of daily partitions per batch: large enough that Polars' per-call overhead vanishes,
# small enough that a two-year backfill of thousands of items a day stays well under a gigabyte.
DEFAULT_BATCH = 31


def partition_batches(keys: Sequence[str], size: int = DEFAULT_BATCH) -> Iterator[list[str]]:
    # itertools.batched arrives only in Python 3.12; the project supports 3.11.
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])
