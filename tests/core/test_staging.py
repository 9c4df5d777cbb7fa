"""stage_landing's read-ahead: batches come in order, the next one is read while this one is staged."""

from __future__ import annotations

import threading

import polars as pl
import pytest

from alatau_pipeline.core.staging import _read_ahead


class RecordingReader:
    def __init__(self, fail_on: str | None = None) -> None:
        self.started: dict[str, threading.Event] = {}
        self.fail_on = fail_on

    def read_batch(self, batch: list[str]) -> tuple[pl.DataFrame, list[str]]:
        self.started.setdefault(batch[0], threading.Event()).set()
        if batch[0] == self.fail_on:
            raise OSError(f"cannot read {batch[0]}")
        return pl.DataFrame({"date": batch}), batch


def test_batches_come_in_order_and_the_next_is_read_meanwhile() -> None:
    reader = RecordingReader()
    batches = [["2026-01-01", "2026-01-02"], ["2026-01-03"], ["2026-01-04"]]
    seen = []
    for raw, keys in _read_ahead(reader, batches):  # type: ignore[arg-type]
        seen.append(keys)
        following = len(seen)
        if following < len(batches):
            # While this batch is handed out, the next one is being read (or already has been).
            started = reader.started.setdefault(batches[following][0], threading.Event())
            assert started.wait(timeout=10)
        assert raw["date"].to_list() == keys
    assert seen == batches


def test_a_read_error_reaches_the_consumer_at_its_batch() -> None:
    reader = RecordingReader(fail_on="2026-01-03")
    reading = _read_ahead(reader, [["2026-01-01"], ["2026-01-03"], ["2026-01-04"]])  # type: ignore[arg-type]
    assert next(reading)[1] == ["2026-01-01"]
    with pytest.raises(OSError, match="cannot read 2026-01-03"):
        next(reading)
