"""The storage layer: atomic, idempotent, range-aware partition writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import polars as pl
import pytest

from alatau_pipeline.core.storage import PartitionedParquetStore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_range_write_replaces_every_partition_of_the_range(tmp_path):
    store = PartitionedParquetStore(tmp_path)
    first = pl.DataFrame({"date": ["2026-01-01", "2026-01-02"], "x": [1, 2]})
    store.write_partitions("marts", "m", "date", first, ["2026-01-01", "2026-01-02"])
    # The second run has no rows for 01-02: its partition must be emptied, not left stale.
    second = pl.DataFrame({"date": ["2026-01-01", "2026-01-01"], "x": [10, 11]})
    writes = store.write_partitions("marts", "m", "date", second, ["2026-01-01", "2026-01-02"])
    assert [(w.value, w.rows) for w in writes] == [("2026-01-01", 2), ("2026-01-02", 0)]
    table = pl.read_parquet(tmp_path / "marts" / "m" / "**" / "*.parquet", hive_partitioning=True)
    assert table.sort("x")["x"].to_list() == [10, 11]
    assert "date" not in pl.read_parquet_schema(tmp_path / "marts/m/date=2026-01-01/part-0.parquet")


def test_rows_outside_the_range_are_refused(tmp_path):
    store = PartitionedParquetStore(tmp_path)
    frame = pl.DataFrame({"date": ["2026-01-01", "2026-01-03"], "x": [1, 2]})
    with pytest.raises(ValueError, match="2026-01-03"):
        store.write_partitions("marts", "m", "date", frame, ["2026-01-01"])
    assert not (tmp_path / "marts").exists()


def test_fsspec_url_root_works_like_a_path(tmp_path):
    store = PartitionedParquetStore(f"file://{tmp_path}")
    store.write_partition("marts", "m", "date", "2026-01-01", pl.DataFrame({"x": [1]}))
    assert store.read_partitions("marts", "m", "date", ["2026-01-01"])["x"].to_list() == [1]
    assert store.url("marts", "m").startswith("file://")


KILLED_WRITER = textwrap.dedent(
    """
    import sys, polars as pl
    from alatau_pipeline.core import storage

    def write_half_then_hang(files):
        # The temp files are written; keep only their first half on disk, as a writer killed part way
        # through leaves them, then tell the parent and wait to die before anything is renamed.
        for file in files:
            with open(file, "rb+") as handle:
                size = handle.seek(0, 2)
                handle.truncate(size // 2)
        print("WRITING", flush=True)
        sys.stdin.read()

    storage._flush_to_disk = write_half_then_hang
    store = storage.PartitionedParquetStore(sys.argv[1])
    store.write_partition("marts", "m", "date", "2026-01-01", pl.DataFrame({"x": list(range(100_000))}))
    """
)


def test_write_killed_part_way_leaves_previous_version_and_next_run_repairs(tmp_path):
    store = PartitionedParquetStore(tmp_path)
    store.write_partition("marts", "m", "date", "2026-01-01", pl.DataFrame({"x": [1, 2, 3]}))

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "WRITING"  # blocks until the write is under way
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    partition = tmp_path / "marts" / "m" / "date=2026-01-01"
    leftovers = [p.name for p in partition.iterdir() if p.name != "part-0.parquet"]
    assert leftovers and all(name.startswith(".") for name in leftovers)  # the half-written temp file
    # Readers see the previous version whole, through every analyst path.
    assert pl.read_parquet(tmp_path / "marts/m/**/*.parquet", hive_partitioning=True)["x"].to_list() == [1, 2, 3]
    import pandas as pd

    assert pd.read_parquet(tmp_path / "marts" / "m")["x"].tolist() == [1, 2, 3]

    store.write_partition("marts", "m", "date", "2026-01-01", pl.DataFrame({"x": [7]}))
    assert [p.name for p in partition.iterdir()] == ["part-0.parquet"]
    assert store.read_partition("marts", "m", "date", "2026-01-01")["x"].to_list() == [7]


def test_background_writes_write_what_the_store_writes_and_in_order(tmp_path):
    from alatau_pipeline.core.storage import BackgroundWrites

    store = PartitionedParquetStore(tmp_path)
    days = [f"2026-01-0{d}" for d in range(1, 7)]
    with BackgroundWrites(store) as background:
        for first in range(0, 6, 2):
            batch = days[first : first + 2]
            background.write_partitions("marts", "m", "date", pl.DataFrame({"date": batch, "x": [first, first]}), batch)
            background.write_partitions("quarantine", "q", "date", pl.DataFrame({"date": batch[:1], "y": [1]}), batch)
    assert [w.value for w in background.writes["m"]] == days
    assert [w.rows for w in background.writes["q"]] == [1, 0] * 3
    table = pl.read_parquet(tmp_path / "marts" / "m" / "**" / "*.parquet", hive_partitioning=True)
    assert sorted(table["x"].to_list()) == [0, 0, 2, 2, 4, 4]


def test_background_writes_of_one_dataset_land_in_the_order_they_were_asked_for(tmp_path):
    """Two writer threads: a later write of a partition must never be overwritten by an earlier one."""
    import threading

    from alatau_pipeline.core.storage import BackgroundWrites

    second_started = threading.Event()
    overtaken: list[bool] = []

    class Store(PartitionedParquetStore):
        def write_partitions(self, zone, dataset, column, df, values):
            if df["x"][0] == 1:
                # The first write gives the second every chance to start before it ends: with the order
                # kept, the second cannot start at all, and this wait runs out.
                overtaken.append(second_started.wait(timeout=0.5))
            else:
                second_started.set()
            return super().write_partitions(zone, dataset, column, df, values)

    store = Store(tmp_path)
    day = ["2026-01-01"]
    with BackgroundWrites(store) as background:
        background.write_partitions("marts", "m", "date", pl.DataFrame({"date": day, "x": [1]}), day)
        background.write_partitions("marts", "m", "date", pl.DataFrame({"date": day, "x": [2]}), day)
    assert overtaken == [False]
    assert store.read_partition("marts", "m", "date", day[0])["x"].to_list() == [2]


def test_background_write_failure_is_raised_after_every_other_write_finished(tmp_path):
    from alatau_pipeline.core.storage import BackgroundWrites

    store = PartitionedParquetStore(tmp_path)
    with pytest.raises(ValueError, match="rows outside the partitions"), BackgroundWrites(store) as background:
        bad = pl.DataFrame({"date": ["2026-02-01"], "x": [1]})
        background.write_partitions("marts", "m", "date", bad, ["2026-01-01"])  # fails: row outside range
        good = pl.DataFrame({"date": ["2026-01-02"], "x": [2]})
        background.write_partitions("marts", "m", "date", good, ["2026-01-02"])
    assert pl.read_parquet(tmp_path / "marts/m/date=2026-01-02/part-0.parquet")["x"].to_list() == [2]


def test_an_error_in_the_step_is_not_hidden_by_background_writes(tmp_path):
    from alatau_pipeline.core.storage import BackgroundWrites

    store = PartitionedParquetStore(tmp_path)
    day = pl.DataFrame({"date": ["2026-01-01"], "x": [1]})
    with pytest.raises(RuntimeError, match="the step's own error"), BackgroundWrites(store) as background:
        background.write_partitions("marts", "m", "date", day, ["2026-01-01"])
        raise RuntimeError("the step's own error")
    # What was handed over before the error is written whole.
    assert pl.read_parquet(tmp_path / "marts/m/date=2026-01-01/part-0.parquet")["x"].to_list() == [1]


def test_an_interrupt_while_waiting_for_writes_wins_over_their_errors(tmp_path):
    """A cancelled run interrupts the step while it waits for its writes: the interrupt must come out, even
    when a write failed or the step is already raising, or the run would go on after the cancel."""
    from alatau_pipeline.core.storage import BackgroundWrites

    class Store(PartitionedParquetStore):
        def write_partitions(self, zone, dataset, column, df, values):
            if dataset == "interrupted":
                raise KeyboardInterrupt  # what the wait for this write meets
            return super().write_partitions(zone, dataset, column, df, values)

    store = Store(tmp_path)
    day = pl.DataFrame({"date": ["2026-01-01"], "x": [1]})
    bad = pl.DataFrame({"date": ["2026-02-01"], "x": [1]})
    with pytest.raises(KeyboardInterrupt), BackgroundWrites(store) as background:
        background.write_partitions("marts", "m", "date", bad, ["2026-01-01"])  # fails: row outside range
        background.write_partitions("marts", "interrupted", "date", day, ["2026-01-01"])
    with pytest.raises(KeyboardInterrupt), BackgroundWrites(store) as background:
        background.write_partitions("marts", "interrupted", "date", day, ["2026-01-01"])
        raise RuntimeError("the step's own error")


def test_partition_rows_are_the_same_whichever_reader_counts_the_footers(tmp_path, monkeypatch):
    import pyarrow.parquet  # noqa: F401  (loaded: the pyarrow path)

    store = PartitionedParquetStore(tmp_path)
    frame = pl.DataFrame({"date": ["2026-01-01"] * 3 + ["2026-01-03"], "x": [1, 2, 3, 4]})
    store.write_partitions("marts", "m", "date", frame, ["2026-01-01", "2026-01-02", "2026-01-03"])
    days = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]  # 01-02 empty, 01-04 missing
    expected = {"2026-01-01": 3, "2026-01-02": 0, "2026-01-03": 1}

    assert store.partition_rows("marts", "m", "date", days) == expected
    monkeypatch.delitem(sys.modules, "pyarrow")  # not loaded: the Polars path
    assert store.partition_rows("marts", "m", "date", days) == expected
    assert store.count_rows("marts", "m", "date", days) == 4


def test_partitions_are_snappy_compressed_parquet(tmp_path):
    import pyarrow.parquet as pq

    store = PartitionedParquetStore(tmp_path)
    days = ["2026-01-01", "2026-01-02"]
    writes = store.write_partitions("marts", "m", "date", pl.DataFrame({"date": days, "x": [1, 2]}), days)
    writes.append(store.write_partition("marts", "m", "date", "2026-01-03", pl.DataFrame({"x": [3]})))
    assert {pq.ParquetFile(w.path).metadata.row_group(0).column(0).compression for w in writes} == {"SNAPPY"}


MANY_PARTITIONS = textwrap.dedent(
    """
    import resource, sys, polars as pl
    from alatau_pipeline.core.storage import PartitionedParquetStore

    # Fewer file descriptors than partitions: a write that kept each partition's file open until the
    # whole range was written would run out of them.
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    days = [f"2020-01-01+{i}" for i in range(600)]
    frame = pl.DataFrame({"date": days, "x": list(range(600))})
    writes = PartitionedParquetStore(sys.argv[1]).write_partitions("marts", "m", "date", frame, days)
    print(len(writes))
    """
)


def test_a_run_of_more_partitions_than_open_files_allowed_is_written(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", MANY_PARTITIONS, str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "600"
    table = pl.read_parquet(tmp_path / "marts" / "m" / "**" / "*.parquet")
    assert sorted(table["x"].to_list()) == list(range(600))


def test_a_partition_named_twice_is_written_once_and_reported_for_each_name(tmp_path):
    store = PartitionedParquetStore(tmp_path)
    days = ["2026-01-01", "2026-01-02", "2026-01-01"]
    writes = store.write_partitions("marts", "m", "date", pl.DataFrame({"date": days[:2], "x": [1, 2]}), days)
    assert [(w.value, w.rows) for w in writes] == [("2026-01-01", 1), ("2026-01-02", 1), ("2026-01-01", 1)]


def test_files_are_fsynced_one_by_one_where_syncfs_cannot_be_used(tmp_path, monkeypatch):
    import ctypes

    from alatau_pipeline.core import storage

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    monkeypatch.setattr(ctypes, "CDLL", lambda *args, **kwargs: object())  # a C library without syncfs
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]
    PartitionedParquetStore(tmp_path).write_partitions("marts", "m", "date", pl.DataFrame({"date": days}), days)
    assert len(synced) == 3

    synced.clear()
    monkeypatch.setattr(storage, "_syncfs_reports_errors", lambda: False)  # not Linux, or before 5.8
    PartitionedParquetStore(tmp_path).write_partitions("marts", "m", "date", pl.DataFrame({"date": days}), days)
    assert len(synced) == 3


def test_a_write_that_fails_before_its_renames_leaves_the_previous_versions_and_no_temp_files(tmp_path, monkeypatch):
    from alatau_pipeline.core import storage

    store = PartitionedParquetStore(tmp_path)
    days = ["2026-01-01", "2026-01-02"]
    store.write_partitions("marts", "m", "date", pl.DataFrame({"date": days, "x": [1, 2]}), days)

    def disk_full(files: list[str]) -> None:
        assert len(files) == 2 and all(os.path.getsize(file) for file in files)  # both temp files written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage, "_flush_to_disk", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.write_partitions("marts", "m", "date", pl.DataFrame({"date": days, "x": [10, 20]}), days)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [f"marts/m/date={day}/part-0.parquet" for day in days]
    assert sorted(store.read_partitions("marts", "m", "date", days)["x"].to_list()) == [1, 2]


def test_a_rename_that_fails_leaves_each_partition_whole_and_no_temp_files(tmp_path, monkeypatch):
    store = PartitionedParquetStore(tmp_path)
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]
    store.write_partitions("marts", "m", "date", pl.DataFrame({"date": days, "x": [1, 2, 3]}), days)

    real_replace = os.replace
    renames: list[str] = []

    def replace_until_the_second(source: str, target: str) -> None:
        renames.append(target)
        if len(renames) == 2:
            raise PermissionError(13, "Permission denied", target)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_until_the_second)
    with pytest.raises(PermissionError):
        store.write_partitions("marts", "m", "date", pl.DataFrame({"date": days, "x": [10, 20, 30]}), days)
    monkeypatch.undo()
    # The first partition was replaced, the others keep their previous version; no temp file is left.
    assert [store.read_partition("marts", "m", "date", day)["x"].to_list() for day in days] == [[10], [2], [3]]
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]
