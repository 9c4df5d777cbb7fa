"""Reading landing-zone files: ``landing/<source>/date=YYYY-MM-DD/*.csv[.gz]`` (contracts 3.1, 3.2).

File-level faults (not gzip, not UTF-8, not CSV, a quote never closed, a required column missing from the
header or a column named twice) raise :class:`LandingFileError`, naming the file and the fault: the caller
fails that partition and writes nothing of it. Row-level faults are not judged here; every value is
returned as the file's text (blanks and surrounding whitespace included:
:func:`alatau_pipeline.core.rules.apply_rules` cleans them), with the lineage columns ``_source_file`` and
``_line`` (1-based line of the record in its file).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from alatau_pipeline.core.storage import LANDING_ZONE, PartitionedParquetStore

LANDING_SUFFIXES = (".csv", ".csv.gz")
_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"


class LandingFileError(Exception):
    """A landing file that cannot be read at all; the message names the file and the fault."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


@dataclass
class LandingBatch:
    """All rows of one partition's landing files, as strings, plus what was seen on the way."""

    rows: pl.DataFrame
    files: list[str]
    extra_columns: dict[str, list[str]] = field(default_factory=dict)  # file -> columns ignored


def landing_files(store: PartitionedParquetStore, source: str, date: str) -> list[str]:
    """Landing files of one daily partition, in name order (so re-runs read them in the same order)."""
    folder = (LANDING_ZONE, source, f"date={date}")
    return [f for f in store.list_files(*folder) if f.endswith(LANDING_SUFFIXES)]


def landing_bytes(store: PartitionedParquetStore, source: str, date: str) -> int:
    """Uncompressed size of one partition's landing files, to size batches before reading them.

    A gzip file's last four bytes hold its uncompressed size (mod 2**32, of its last member): an
    estimate good enough for batching, read without decompressing anything.
    """
    total = 0
    for file in landing_files(store, source, date):
        size = os.path.getsize(file) if store.is_local else store.fs.size(file)
        if file.endswith(".gz") and size >= 4:
            with store.fs.open(file, "rb") as handle:
                handle.seek(size - 4)
                size = int.from_bytes(handle.read(4), "little")
        total += size
    return total


class GzipError(ValueError):
    """Bytes that are not a complete, intact gzip stream."""


def gunzip(data: bytes) -> bytes:
    """Decompress gzip bytes of one or more members, like :func:`gzip.decompress`, with ISA-L.

    ISA-L decompresses about three times faster than Python's zlib, and small files faster than Polars'
    CSV reader does (whose decompression, with a fixed cost per file, was a third of the CPU of reading a
    year of daily files; see benchmarks/README.md, fix 40). Raises :class:`GzipError` naming the fault
    (not gzip, truncated, corrupt).
    """
    from isal import igzip_lib

    members: list[bytes] = []
    while data:
        if not data.startswith(_GZIP_MAGIC):
            raise GzipError(f"{'trailing bytes after the gzip data are' if members else 'the data is'} not gzip")
        decompressor = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
        try:
            members.append(decompressor.decompress(data))
        except igzip_lib.IsalError as exc:
            raise GzipError(str(exc)) from exc
        if not decompressor.eof:
            raise GzipError("the compressed data ends before its end-of-stream marker")
        # Like gzip.decompress, accept zero bytes padding the end (tape and block devices write them).
        data = decompressor.unused_data.lstrip(b"\x00")
    return members[0] if len(members) == 1 else b"".join(members)


def decode_landing_bytes(name: str, raw: bytes) -> bytes:
    """Decompress (``.gz``), check UTF-8 and strip a byte-order mark; raise naming the file otherwise."""
    if name.endswith(".gz"):
        try:
            raw = gunzip(raw)
        except GzipError as exc:
            raise LandingFileError(name, f"cannot be decompressed as gzip ({exc})") from exc
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LandingFileError(
            name, f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line})"
        ) from exc
    if not raw.strip():
        raise LandingFileError(name, "is empty: no header row")
    return raw


def parse_landing_csv(name: str, raw: bytes, required_columns: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
    """Parse decoded CSV bytes into an all-string frame; returns it and the extra (ignored) columns."""
    try:
        df = pl.read_csv(
            io.BytesIO(raw),
            infer_schema=False,
            has_header=True,
            quote_char='"',
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, pl.exceptions.ShapeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LandingFileError(name, f"cannot be parsed as CSV ({first_line})") from exc
    if df.height != _record_count(raw):
        # Polars read a quote that is never closed (in the header, say) as a field running to the end of
        # the file: the records after it would vanish without an error.
        where = f"on line {line}" if (line := _unclosed_quote_line(raw)) else "somewhere"
        raise LandingFileError(name, f"cannot be parsed as CSV (a quote {where} is never closed)")
    names = [c.strip() for c in df.columns]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise LandingFileError(name, f"header names column(s) more than once: {', '.join(twice)}")
    if names != df.columns:
        df = df.rename(dict(zip(df.columns, names, strict=True)))
    missing = [c for c in required_columns if c not in df.columns]
    if missing:
        raise LandingFileError(name, f"header lacks required column(s): {', '.join(missing)}")
    extra = [c for c in df.columns if c not in required_columns]
    # One eager select: a year of daily files is hundreds of small frames, and separate steps (or a lazy
    # query's planning) per file cost more than the parsing itself.
    rows = df.select(
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_line"),
        *required_columns,
        pl.lit(name, dtype=pl.String).alias("_source_file"),
    )
    return rows, extra


def read_landing_partition(
    store: PartitionedParquetStore, source: str, date: str, required_columns: Sequence[str]
) -> LandingBatch:
    """Read every landing file of one partition. Raises :class:`LandingFileError` on the first bad file."""
    files = landing_files(store, source, date)
    frames: list[pl.DataFrame] = []
    extras: dict[str, list[str]] = {}
    for file in files:
        name = _relative_name(store, file)
        with store.fs.open(file, "rb") as handle:
            raw = handle.read()
        frame, extra = parse_landing_csv(name, decode_landing_bytes(name, raw), required_columns)
        frames.append(frame)
        if extra:
            extras[name] = extra
    rows = pl.concat(frames, how="vertical") if frames else empty_landing_frame(required_columns)
    return LandingBatch(rows=rows, files=[_relative_name(store, f) for f in files], extra_columns=extras)


def _read_decompressed(file: str) -> bytes | None:
    """A local landing file's bytes, decompressed when gzip; None when it cannot be read that far.

    The careful path then reads the file again and names the fault.
    """
    try:
        with open(file, "rb") as handle:
            data = handle.read()
        return gunzip(data) if file.endswith(".gz") else data
    except (OSError, GzipError):
        return None


def _header_of(data: bytes) -> list[str] | None:
    """Column names of a landing file's first line, or None when that line is not UTF-8 or is blank."""
    try:
        end = data.find(b"\n")
        line = (data if end < 0 else data[: end + 1]).decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not line.strip():
        return None
    try:
        return next(csv.reader([line]))
    except csv.Error:  # a carriage return inside the line, say: the careful path judges the file
        return None


def _record_count(data: bytes) -> int:
    """The number of CSV records after the header in a file's bytes: the rows Polars parses from it.

    Records end at line feeds outside quotes. Polars parses a file without an error only when each of its
    quote characters opens a field, closes one or is doubled inside one, or (in the header) opens a field
    that is never closed; so the quotes alternate in and out of quoted fields, and the line feeds inside
    quotes are those between the first and second quote, the third and fourth, and so on. A blank line
    is a record to Polars too (a row of nulls), and a lone carriage return is a field's content. The one
    difference, a quote never closed, gives fewer records than Polars' rows (which then swallow the rest
    of the file silently): callers compare the two and reject the file.
    """
    # numpy counts a buffer's line feeds about twice as fast as bytes.count.
    line_feeds = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")))
    for opening, closing in _quoted_stretches(data):
        line_feeds -= data.count(b"\n", opening, len(data) if closing is None else closing)
    unterminated_last = 0 if data.endswith(b"\n") else 1
    return line_feeds + unterminated_last - 1


def _quoted_stretches(data: bytes) -> Iterator[tuple[int, int | None]]:
    """Offsets of the quote characters in pairs: the first with the second, the third with the fourth.

    The last pair's closing offset is None when the count is odd. Found without copying ``data``.
    """
    opening = data.find(b'"')
    while opening >= 0:
        closing = data.find(b'"', opening + 1)
        yield opening, (closing if closing >= 0 else None)
        if closing < 0:
            return
        opening = data.find(b'"', closing + 1)


def _unclosed_quote_line(data: bytes) -> int | None:
    """The line of a quote that is never closed, if any."""
    for opening, closing in _quoted_stretches(data):
        if closing is None:
            return data.count(b"\n", 0, opening) + 1
    return None


def empty_landing_frame(required_columns: Sequence[str]) -> pl.DataFrame:
    """A partition without files: the same columns, in the same order, as a parsed file's frame."""
    schema = {"_line": pl.Int64} | {c: pl.String for c in required_columns} | {"_source_file": pl.String}
    return pl.DataFrame(schema=schema)


def _relative_name(store: PartitionedParquetStore, file: str) -> str:
    """File name relative to the data root (``landing/...``), as errors and lineage columns show it."""
    root = store.path()
    return file[len(root) + 1 :] if file.startswith(root + "/") else file


@dataclass
class LandingRangeReader:
    """Reads a run's landing partitions batch by batch for an asset that stages a landing source.

    A partition with a file that cannot be read is set aside (its error kept, nothing of it returned) so
    the rest of the range is still staged; :meth:`raise_for_unreadable` then fails the step naming every
    such file, and the marts keep their previous version of those partitions.
    """

    store: PartitionedParquetStore
    source: str
    columns: Sequence[str]
    log: Callable[[str], None] = print
    failures: dict[str, str] = field(default_factory=dict)  # partition key -> the file and its fault
    extra_columns: dict[str, list[str]] = field(default_factory=dict)  # file -> columns ignored
    files_read: int = 0

    def read_batch(self, batch: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
        """All rows (with a ``date`` column) of the batch's readable partitions, and those partitions.

        Local files are first read all at once: decompressed with ISA-L, then parsed by one Polars scan
        of all their bytes, in parallel (about 4x faster over a year of small daily files than one file
        at a time). Anything unusual, a file fault above all, sends the batch to the careful path, which reads
        file by file, sets aside the partitions with a bad file and names the file and its fault; both
        paths return the same rows.
        """
        scanned = self._scan_batch(batch) if self.store.is_local else None
        rows, readable = (scanned, list(batch)) if scanned is not None else self._read_batch_file_by_file(batch)
        # One contiguous buffer per column: the files' chunks (hundreds a batch) would make every
        # expression over the batch, the rules above all, cost twice as much.
        return rows.rechunk(), readable

    def _scan_batch(self, batch: Sequence[str]) -> pl.DataFrame | None:
        """The batch's rows through one multi-source scan, or None when the careful path must judge it.

        Each file is read whole here and a gzip file decompressed with ISA-L (:func:`gunzip`, cheaper
        than the decompression inside Polars' CSV reader for daily files); Polars then parses all of a
        batch's bytes in one scan. The lineage needs each file's row count, which an in-memory scan does
        not report: :func:`_record_count` counts the file's records, which equal the rows Polars parses
        from it but for a quote never closed (the counts are checked per header group; a mismatch sends
        the batch to the careful path, which names that quote).
        """
        partition_of = {file: key for key in batch for file in landing_files(self.store, self.source, key)}
        files = list(partition_of)
        if not files:
            return empty_landing_frame(self.columns).with_columns(pl.lit("").alias("date"))
        contents: dict[str, bytes] = {}
        headers: dict[str, list[str]] = {}
        for file in files:
            data = _read_decompressed(file)
            header = _header_of(data) if data is not None else None
            if data is None or header is None or not {name.strip() for name in header}.issuperset(self.columns):
                return None
            contents[file], headers[file] = data, header
        # Files sharing a header are scanned together; a header differing in order or extra columns
        # starts another scan, and the files' order (which decides the first delivery of a duplicate) is
        # restored when the rows are put together.
        groups: dict[tuple[str, ...], list[str]] = {}
        for file in files:
            groups.setdefault(tuple(headers[file]), []).append(file)
        # Every column is parsed, the extra ones too, as the careful path does: given only some columns,
        # Polars reads the others leniently (a ragged line, a stray quote in an ignored column) and would
        # accept a file the careful path rejects.
        scans = [
            pl.scan_csv([contents[file] for file in group], infer_schema=False, has_header=True, quote_char='"')
            for group in groups.values()
        ]
        try:
            # Collected before cleaning: the same expressions cost twice as much inside the scan.
            frames = [
                frame.rename({c: c.strip() for c in header if c != c.strip()}).select(self.columns)
                for header, frame in zip(groups, pl.collect_all(scans), strict=True)
            ]
        except (pl.exceptions.PolarsError, OSError):
            return None  # a file Polars cannot read: the careful path finds it and names its fault
        del scans
        lengths = {file: _record_count(contents[file]) for file in files}
        del contents
        for group, frame in zip(groups.values(), frames, strict=True):
            if frame.height != sum(lengths[file] for file in group) or min(lengths[file] for file in group) < 0:
                # Only a quote that is never closed does this (see _record_count): the careful path names it.
                return None
        if len(frames) == 1:
            rows = frames[0]
        else:
            # Each file's rows, sliced out of its group's frame (no copy), in the files' order.
            pieces: dict[str, pl.DataFrame] = {}
            for group, frame in zip(groups.values(), frames, strict=True):
                offset = 0
                for file in group:
                    pieces[file] = frame.slice(offset, lengths[file])
                    offset += lengths[file]
            rows = pl.concat([pieces[file] for file in files], how="vertical", rechunk=False)
        del frames
        root = self.store.path() + "/"
        self.files_read += len(files)
        for file, header in headers.items():
            extra = [c.strip() for c in header if c.strip() not in self.columns]
            if extra:
                self.extra_columns[file[len(root) :]] = extra
        counts = pl.Series([lengths[file] for file in files], dtype=pl.Int64)
        # Each row's file number; its file name and day are gathered from the files', which shares the
        # strings where repeating them copied a file name into every row.
        run = pl.select(pl.int_range(len(files), dtype=pl.UInt32).repeat_by(pl.lit(counts)).explode()).to_series()
        line = pl.select(pl.int_ranges(2, pl.lit(counts) + 2, dtype=pl.Int64).explode()).to_series()
        names = pl.Series([file[len(root) :] for file in files], dtype=pl.String)
        dates = pl.Series([partition_of[file] for file in files], dtype=pl.String)
        # read_batch makes the contract's columns contiguous; the lineage columns are built whole.
        return pl.concat(
            [
                line.alias("_line").to_frame(),
                rows,
                pl.DataFrame([names.gather(run).alias("_source_file"), dates.gather(run).alias("date")]),
            ],
            how="horizontal",
        )

    def _read_batch_file_by_file(self, batch: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
        frames: list[pl.DataFrame] = []
        readable: list[str] = []
        for key in batch:
            try:
                landing = read_landing_partition(self.store, self.source, key, self.columns)
            except LandingFileError as exc:
                self.failures[key] = str(exc)
                self.log(f"partition {key} not staged: {exc}")
                continue
            self.files_read += len(landing.files)
            self.extra_columns.update(landing.extra_columns)
            frames.append(landing.rows.with_columns(pl.lit(key).alias("date")))
            readable.append(key)
        rows = pl.concat(frames) if frames else empty_landing_frame(self.columns).with_columns(pl.lit("").alias("date"))
        return rows, readable

    def raise_for_unreadable(self) -> None:
        if not self.failures:
            return
        from dagster import Failure, MetadataValue

        raise Failure(
            description=(
                f"{len(self.failures)} partition(s) not staged because a landing file could not be read; "
                "their previous data is untouched: "
                + "; ".join(f"{key}: {error}" for key, error in sorted(self.failures.items()))
            ),
            metadata={"failed_partitions": MetadataValue.json(self.failures)},
        )
