"""Hive-partitioned Parquet storage under `ALATAU_DATA_DIR`, the pipeline's reliability layer.

Layout: ``<root>/<zone>/<dataset>/<column>=<value>/part-0.parquet``, one file per partition. The partition
column lives in the directory name only: a file that also carried it would break
``pandas.read_parquet(folder)`` ("Unable to merge: Field date has incompatible types").

Guarantees (contracts section 4):
- atomic: a partition is written to a temporary name beside its final file, flushed to disk, and renamed
  over it, so a killed or failed write leaves the previous version whole (a crash, too). Object stores
  (``s3://``) have no rename, but a single-object PUT is atomic there, so remote files are written in one
  put.
- idempotent: re-writing a partition replaces its one file; nothing is appended and no stale file can
  survive, because every partition has exactly one file name.
- range-aware: :meth:`PartitionedParquetStore.write_partitions` writes every partition of a range from one
  frame, which single-run backfills need; partitions of the range with no rows get an empty file with the
  schema, so stale rows of an earlier run are replaced too.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import fsspec
import polars as pl
from fsspec.implementations.local import LocalFileSystem

# The zones below ALATAU_DATA_DIR (contracts section 1, plus staging/ for typed, checked landing rows).
LANDING_ZONE = "landing"
RAW_ZONE = "raw"
STAGING_ZONE = "staging"
MARTS_ZONE = "marts"
QUARANTINE_ZONE = "quarantine"
REPORTS_ZONE = "reports"

PART_FILE = "part-0.parquet"
# Snappy, the default codec of pyarrow, Spark and DuckDB, which every Parquet reader has: a year of
# customs_items costs ~20 % less CPU to write than with Polars' default zstd (~0.4 CPU s less over the
# customs chain) and is faster to read, for files ~28 % larger (37 MB instead of 29 for 1M items).
COMPRESSION = "snappy"
# Temporary files never end in ".parquet", so readers globbing "**/*.parquet" do not see half-written data.
_TMP_SUFFIX = ".parquet.inprogress"
_WRITE_THREADS = 4
# Files encoded by one Polars query; their bytes are held in memory until the group is written.
_FILES_PER_QUERY = 64


class PartitionWriter(Protocol):
    """Where a step's partitions go: the store itself, or :class:`BackgroundWrites` in front of it."""

    def write_partitions(
        self, zone: str, dataset: str, column: str, df: pl.DataFrame, values: Sequence[str]
    ) -> Any: ...


@dataclass(frozen=True)
class PartitionWrite:
    """What one partition write did; used in materialization metadata."""

    value: str
    path: str
    rows: int


class PartitionedParquetStore:
    """Reads and writes partitioned Parquet datasets below one root (local path or fsspec URL)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = str(root).rstrip("/")
        self.fs, self._root_path = fsspec.core.url_to_fs(self.root)
        self.is_local = isinstance(self.fs, LocalFileSystem)

    # ---- paths -------------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        """Filesystem path (without protocol) of a location below the root."""
        return "/".join([self._root_path.rstrip("/"), *[p.strip("/") for p in parts if p]])

    def url(self, *parts: str) -> str:
        """Location below the root as the user spelled it (with ``s3://`` where remote)."""
        return "/".join([self.root, *[p.strip("/") for p in parts if p]])

    def dataset_path(self, zone: str, dataset: str) -> str:
        return self.path(zone, dataset)

    def partition_path(self, zone: str, dataset: str, column: str, value: str) -> str:
        return self.path(zone, dataset, f"{column}={value}")

    def partition_file(self, zone: str, dataset: str, column: str, value: str) -> str:
        return f"{self.partition_path(zone, dataset, column, value)}/{PART_FILE}"

    def glob_url(self, zone: str, dataset: str) -> str:
        """The glob an analyst passes to ``pl.scan_parquet(..., hive_partitioning=True)``."""
        return self.url(zone, dataset, "**", "*.parquet")

    # ---- writing -----------------------------------------------------------------------------------
    def write_partition(self, zone: str, dataset: str, column: str, value: str, df: pl.DataFrame) -> PartitionWrite:
        """Atomically replace one partition with ``df`` (the partition column, if present, is dropped)."""
        if column in df.columns:
            df = df.drop(column)
        directory = self.partition_path(zone, dataset, column, value)
        final = f"{directory}/{PART_FILE}"
        if self.is_local:
            self._replace_local_files({final: df})
        else:
            self.fs.makedirs(directory, exist_ok=True)
            with self.fs.open(final, "wb") as handle:
                df.write_parquet(handle, statistics=True, compression=COMPRESSION)
        return PartitionWrite(value=value, path=final, rows=df.height)

    def _replace_local_files(self, frames: dict[str, pl.DataFrame]) -> None:
        """Atomically replace each local file with its frame's Parquet: temp files, flushed to disk, renamed.

        A group of up to ``_FILES_PER_QUERY`` files is encoded by one Polars query (a ``sink_parquet``
        into a memory buffer each, run together by ``collect_all``): a batch of daily partitions is dozens
        of small files, and a query of its own per file (what ``write_parquet`` runs) costs ~0.5 ms of
        fixed CPU each. Each file's bytes then go to a temp file beside its final name in one write, and
        the group's temp files reach the disk before any of them is renamed, so a crash cannot leave a
        renamed but empty file behind (see :func:`_flush_to_disk`). (Sinking straight into the temp files
        cost ~0.1 ms more a file: Polars resolves each path and opens each file twice.)
        """
        finals = list(frames)
        for start in range(0, len(finals), _FILES_PER_QUERY):
            self._replace_local_group({final: frames[final] for final in finals[start : start + _FILES_PER_QUERY]})

    def _replace_local_group(self, frames: dict[str, pl.DataFrame]) -> None:
        encoded = [io.BytesIO() for _ in frames]
        pl.collect_all(
            [
                frame.lazy().sink_parquet(buffer, statistics=True, compression=COMPRESSION, lazy=True)
                for frame, buffer in zip(frames.values(), encoded, strict=True)
            ]
        )
        temps: dict[str, str] = {}  # final file -> its temp file, until renamed
        try:
            for final, buffer in zip(frames, encoded, strict=True):
                directory = final.rsplit("/", 1)[0]
                if not _made_directory(directory):
                    self._remove_stale_temp_files(directory)  # a new directory has none
                temps[final] = tmp = f"{directory}/.{uuid.uuid4().hex}{_TMP_SUFFIX}"
                with open(tmp, "wb") as handle:
                    handle.write(buffer.getbuffer())
                buffer.close()  # its bytes are in the temp file: free them now, not at the end of the group
            _flush_to_disk(list(temps.values()))
            for final, tmp in list(temps.items()):
                os.replace(tmp, final)
                del temps[final]
        finally:
            for tmp in temps.values():
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)

    @staticmethod
    def _remove_stale_temp_files(directory: str) -> None:
        """Temp files left by a writer that was killed before its rename; the next write clears them."""
        for name in os.listdir(directory):
            if name.startswith(".") and name.endswith(_TMP_SUFFIX):
                os.remove(os.path.join(directory, name))

    def write_partitions(
        self,
        zone: str,
        dataset: str,
        column: str,
        df: pl.DataFrame,
        values: Sequence[str],
    ) -> list[PartitionWrite]:
        """Write each partition in ``values`` from the rows of ``df`` whose ``column`` renders as that value.

        Every value of the range is written, an empty partition included; rows outside the range are an
        error, because writing them would touch partitions the run was not asked for.
        """
        keys = df.get_column(column).cast(pl.String) if column in df.columns else pl.Series([], dtype=pl.String)
        unexpected = sorted(set(keys.unique().drop_nulls().to_list()) - set(values))
        if unexpected or keys.null_count():
            raise ValueError(
                f"{zone}/{dataset}: rows outside the partitions being written "
                f"({unexpected[:5] or 'null partition value'})"
            )
        # The partition column goes once here, not once per partition file (a drop costs ~0.2 ms a call).
        rows = df.drop(column, strict=False)
        groups = _split_by(rows, keys)
        empty = rows.clear()

        def frame(value: str) -> pl.DataFrame:
            return groups.get(value, empty)

        if self.is_local:
            files = {value: self.partition_file(zone, dataset, column, value) for value in values}
            self._replace_local_files({file: frame(value) for value, file in files.items()})
            return [PartitionWrite(value=value, path=files[value], rows=frame(value).height) for value in values]

        def write(value: str) -> PartitionWrite:
            return self.write_partition(zone, dataset, column, value, frame(value))

        if len(values) < 2:
            return [write(value) for value in values]
        # Remote stores: each partition is one PUT; a few threads overlap their latency.
        with ThreadPoolExecutor(max_workers=_WRITE_THREADS) as pool:
            return list(pool.map(write, values))

    def write_bytes(self, data: bytes, *parts: str) -> str:
        """Atomically write a raw file (raw API answers, reports) below the root."""
        path = self.path(*parts)
        directory = path.rsplit("/", 1)[0]
        self.fs.makedirs(directory, exist_ok=True)
        if self.is_local:
            tmp = f"{path}.{uuid.uuid4().hex}.inprogress"
            try:
                with open(tmp, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        else:
            with self.fs.open(path, "wb") as handle:
                handle.write(data)
        return path

    # ---- reading -----------------------------------------------------------------------------------
    def has_partition(self, zone: str, dataset: str, column: str, value: str) -> bool:
        return self._file_exists(self.partition_file(zone, dataset, column, value))

    def read_partition(self, zone: str, dataset: str, column: str, value: str) -> pl.DataFrame:
        return self._read_file(self.partition_file(zone, dataset, column, value))

    def read_partitions(
        self,
        zone: str,
        dataset: str,
        column: str,
        values: Iterable[str],
        *,
        partition_dtype: Any = pl.String,
        missing_ok: bool = True,
    ) -> pl.DataFrame:
        """Read the given partitions into one frame with the partition column added back.

        A missing partition is skipped (``missing_ok``) or an error naming it.
        """
        files: dict[str, str] = {}
        for value in values:
            file = self.partition_file(zone, dataset, column, value)
            if not self._file_exists(file):
                if missing_ok:
                    continue
                raise FileNotFoundError(f"partition {column}={value} of {zone}/{dataset} does not exist: {file}")
            files[file] = value
        if not files:
            return pl.DataFrame()
        if self.is_local and len(files) > 1:
            try:
                # One multi-file scan reads a month of daily files about twice as fast as file by file.
                return (
                    pl.scan_parquet(list(files), include_file_paths="__file")
                    .with_columns(pl.col("__file").replace_strict(files, return_dtype=pl.String).alias(column))
                    .drop("__file")
                    .collect()
                    .with_columns(pl.col(column).cast(partition_dtype))
                )
            except pl.exceptions.SchemaError:
                pass  # partitions written with different schemas: stack them one by one, relaxing types
        frames = [
            self._read_file(file).with_columns(pl.lit(value).cast(partition_dtype).alias(column))
            for file, value in files.items()
        ]
        return pl.concat(frames, how="diagonal_relaxed")

    def count_rows(self, zone: str, dataset: str, column: str, values: Iterable[str]) -> int:
        """Rows in the given partitions (a missing one counts 0), from the Parquet footers alone."""
        return sum(self.partition_rows(zone, dataset, column, values).values())

    def partition_rows(self, zone: str, dataset: str, column: str, values: Iterable[str]) -> dict[str, int]:
        """Rows of each given partition that exists, from the Parquet footers alone (no data is read)."""
        files = {self.partition_file(zone, dataset, column, value): value for value in values}
        files = {file: value for file, value in files.items() if self._file_exists(file)}
        if not files:
            return {}
        if self.is_local and "pyarrow" not in sys.modules:
            # One Polars scan of the footers, rather than importing pyarrow (~0.25 s) into a step that has
            # no other use for it; where pyarrow is loaded already (checks: GX brings pandas), its
            # per-file footer reads are the faster (~0.1 ms a file).
            counts = pl.scan_parquet(list(files), include_file_paths="__file").group_by("__file").len().collect()
            rows = dict(zip(counts["__file"].to_list(), counts["len"].to_list(), strict=True))
            return {value: rows.get(file, 0) for file, value in files.items()}
        import pyarrow.parquet as pq

        found = {}
        for file, value in files.items():
            if self.is_local:
                found[value] = pq.read_metadata(file).num_rows
            else:
                with self.fs.open(file, "rb") as handle:
                    found[value] = pq.read_metadata(handle).num_rows
        return found

    def read_bytes(self, *parts: str) -> bytes:
        with self.fs.open(self.path(*parts), "rb") as handle:
            return handle.read()

    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self.path(*parts))

    def list_files(self, *parts: str) -> list[str]:
        """Files directly inside a folder below the root, sorted; an absent folder has none."""
        folder = self.path(*parts)
        if self.is_local:
            # A year's run lists 365 landing folders twice (batch sizing, then reading); os.scandir costs
            # a fifth of fsspec's ls + isdir.
            try:
                with os.scandir(folder) as entries:
                    return sorted(entry.path for entry in entries if entry.is_file())
            except (FileNotFoundError, NotADirectoryError):
                return []
        if not self.fs.isdir(folder):
            return []
        return sorted(entry["name"] for entry in self.fs.ls(folder, detail=True) if entry["type"] == "file")

    def _file_exists(self, file: str) -> bool:
        # A check asks this for ~90 footers (28 days of history of three datasets): os.stat directly costs a
        # fifth of fsspec's info() on local files.
        return os.path.isfile(file) if self.is_local else self.fs.exists(file)

    def _read_file(self, file: str) -> pl.DataFrame:
        if self.is_local:
            return pl.read_parquet(file)
        with self.fs.open(file, "rb") as handle:
            return pl.read_parquet(handle)


def _made_directory(directory: str) -> bool:
    """Create ``directory`` (and its parents) if it does not exist; True when it did not."""
    try:
        os.mkdir(directory)
    except FileExistsError:
        return False
    except FileNotFoundError:
        os.makedirs(directory, exist_ok=True)
    return True


def _split_by(rows: pl.DataFrame, keys: pl.Series) -> dict[str, pl.DataFrame]:
    """``rows`` split by ``keys`` (one per row), keeping their order within each part.

    A step's rows usually come grouped by partition already (landing files are read day by day): then
    each part is a slice of ``rows``, which copies nothing, where ``partition_by`` would gather every
    column of every row.
    """
    if not rows.height:
        return {}
    runs = keys.rle()
    values = runs.struct.field("value")
    if values.n_unique() == len(values):
        ends = runs.struct.field("len").cum_sum().to_list()
        return {
            str(value): rows.slice(end - length, length)
            for value, length, end in zip(values.to_list(), runs.struct.field("len").to_list(), ends, strict=True)
        }
    tagged = rows.with_columns(keys.alias("__partition"))
    parts = tagged.partition_by("__partition", maintain_order=True, include_key=False, as_dict=True)
    return {str(value): part for (value,), part in parts.items()}


def _flush_to_disk(files: Sequence[str]) -> None:
    """Make the written ``files`` durable before they are renamed into place.

    On Linux 5.8 or later, one ``syncfs`` of their filesystem flushes them all at once: a year of
    partitions is ~1,100 files, and an ``fsync`` each, one journal commit apiece, held a year's backfill
    ~0.3 s. (It also flushes whatever else is pending on that filesystem; before 5.8 it did not report
    write errors, which ``fsync`` does.) Elsewhere, or if ``syncfs`` fails, each file is fsynced.
    """
    if len(files) > 1 and _syncfs_reports_errors():
        import ctypes

        descriptor = os.open(files[0], os.O_RDONLY)
        try:
            if ctypes.CDLL(None, use_errno=True).syncfs(descriptor) == 0:
                return
        except AttributeError:
            pass  # a C library without syncfs
        finally:
            os.close(descriptor)
    for file in files:
        with open(file, "rb+") as handle:
            os.fsync(handle.fileno())


def _syncfs_reports_errors() -> bool:
    """True on Linux 5.8 or later, where ``syncfs`` returns the write errors of the files it flushes."""
    if sys.platform != "linux":
        return False
    version = tuple(int(part) for part in re.findall(r"\d+", os.uname().release)[:2])
    return version >= (5, 8)


class BackgroundWrites:
    """A step's partition writes, done in the background while the step computes its next batch.

    Writing a batch is hundreds of small files; computing the next one is mostly Polars work that releases
    the GIL, so the two overlap. Each dataset is written by a thread of its own, so its writes happen in
    the order they were asked for (a later write of a partition replaces an earlier one, never the other
    way round), while one dataset's write runs beside another's: that keeps both cores busy when the last
    batches' writes are all that is left. At most ``max_pending`` writes of each dataset wait or run at a
    time (a later :meth:`write_partitions` of that dataset blocks until the oldest pending write
    finishes), so memory stays bounded to about two batches of each dataset a step writes. (Counting all
    datasets together made a step that writes three datasets a batch wait for its own batch's writes.)
    Each partition is written exactly as :meth:`PartitionedParquetStore.write_partitions` writes it.
    Leaving the ``with`` block waits for every write and raises the first error any of them met.
    """

    def __init__(self, store: PartitionedParquetStore, max_pending: int = 2) -> None:
        self.store = store
        self.max_pending = max_pending
        self._threads: dict[str, ThreadPoolExecutor] = {}  # dataset -> the thread that writes it
        self._pending: list[tuple[str, Future[list[PartitionWrite]]]] = []
        self.writes: dict[str, list[PartitionWrite]] = {}  # dataset -> its partition writes, in order
        # dataset -> the last frame handed over: its schema (and, for one partition, its first rows) go
        # into the asset's metadata.
        self.last_frames: dict[str, pl.DataFrame] = {}

    def write_partitions(self, zone: str, dataset: str, column: str, df: pl.DataFrame, values: Sequence[str]) -> None:
        self.last_frames[dataset] = df
        while sum(1 for pending, _ in self._pending if pending == dataset) >= self.max_pending:
            self._finish_oldest()
        thread = self._threads.get(dataset)
        if thread is None:
            thread = self._threads[dataset] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="partition-writes")
        future = thread.submit(self.store.write_partitions, zone, dataset, column, df, list(values))
        self._pending.append((dataset, future))

    def _finish_oldest(self) -> None:
        dataset, future = self._pending.pop(0)
        self.writes.setdefault(dataset, []).extend(future.result())

    def __enter__(self) -> BackgroundWrites:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            first_error: BaseException | None = None
            interrupt: BaseException | None = None
            while self._pending:
                try:
                    self._finish_oldest()
                except Exception as error:  # every write is waited for before anything is raised
                    first_error = first_error or error
                except BaseException as error:  # an interrupt (a cancelled run) while waiting
                    interrupt = interrupt or error
            # An interrupt wins over any error: losing it would let a cancelled run go on.
            if interrupt is not None:
                raise interrupt
            if first_error is not None and exc_info[0] is None:
                raise first_error
        finally:
            for thread in self._threads.values():
                thread.shutdown(wait=True)
