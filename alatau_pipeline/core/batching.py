"""Splitting a run's partition range into batches, so a years-long backfill runs in bounded memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

# About a month of daily partitions per batch: large enough that Polars' per-call overhead vanishes,
# small enough that a two-year backfill of thousands of items a day stays well under a gigabyte.
DEFAULT_BATCH = 31

# A batch also stops growing at about this many rows (or landing bytes), so that days ten times busier
# than the demo's do not make a month's batch ten times larger: a batch's peak memory is roughly 2 kB
# per landing row, so this keeps a run under ~1 GB whatever the daily volume.
DEFAULT_BATCH_ROWS = 250_000
DEFAULT_BATCH_LANDING_BYTES = 32 * 2**20  # ~140 bytes a customs landing row, uncompressed


def partition_batches(keys: Sequence[str], size: int = DEFAULT_BATCH) -> Iterator[list[str]]:
    # itertools.batched arrives only in Python 3.12; the project supports 3.11.
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def bounded_batches(
    keys: Sequence[str],
    size_of: Callable[[str], int],
    budget: int,
    max_keys: int = DEFAULT_BATCH,
) -> Iterator[list[str]]:
    """Consecutive keys, at most ``max_keys`` a batch, whose ``size_of`` adds up to at most ``budget``.

    A key that alone exceeds the budget is a batch of its own. With small partitions this gives exactly
    :func:`partition_batches`.
    """
    batch: list[str] = []
    total = 0
    for key in keys:
        size = size_of(key)
        if batch and (len(batch) >= max_keys or total + size > budget):
            yield batch
            batch, total = [], 0
        batch.append(key)
        total += size
    if batch:
        yield batch
