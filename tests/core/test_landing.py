"""Reading landing files: the batch scan returns exactly what the file-by-file reading returns."""

from __future__ import annotations

import gzip

import polars as pl
from polars.testing import assert_frame_equal

from alatau_pipeline.core.landing import LandingRangeReader
from alatau_pipeline.core.storage import PartitionedParquetStore

COLUMNS = ("id", "amount", "code")
SOURCE = "things"


def _write(root, date: str, name: str, text: str) -> None:
    folder = root / "landing" / SOURCE / f"date={date}"
    folder.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    (folder / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)


def _odd_but_readable_landing(root) -> None:
    _write(root, "2026-01-01", "a.csv", "id,amount,code\n1, 10 ,X\n2,,Y\n3,   ,\n")
    # Byte-order mark, gzip, a quoted value spanning two lines.
    _write(root, "2026-01-01", "b.csv.gz", '\ufeffid,amount,code\n4,40,"Z\nZ"\n5,50,W\n')
    # Columns in another order, an extra column, a header padded with spaces.
    _write(root, "2026-01-02", "a.csv", "code, amount ,note,id\nV,60,hello,6\n")
    _write(root, "2026-01-02", "c.csv", "id,amount,code\n7,70,U\n")
    _write(root, "2026-01-03", "a.csv", "id,amount,code\n")  # a header and nothing else
    # 2026-01-04 has no files at all.


def test_batch_scan_equals_reading_file_by_file(tmp_path):
    _odd_but_readable_landing(tmp_path)
    reader = LandingRangeReader(PartitionedParquetStore(tmp_path), SOURCE, COLUMNS)
    batch = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]

    scanned = reader._scan_batch(batch)
    assert scanned is not None, "readable files must take the fast path"
    careful, readable = LandingRangeReader(PartitionedParquetStore(tmp_path), SOURCE, COLUMNS)._read_batch_file_by_file(
        batch
    )
    assert readable == batch
    assert_frame_equal(scanned, careful)
    # What the equality is about: file order, line numbers, the values as the files hold them (the rules
    # clean them: tests/core/test_rules.py), an empty field as null.
    assert scanned.select("id", "amount", "code", "_line", "date").rows() == [
        ("1", " 10 ", "X", 2, "2026-01-01"),
        ("2", None, "Y", 3, "2026-01-01"),
        ("3", "   ", None, 4, "2026-01-01"),
        ("4", "40", "Z\nZ", 2, "2026-01-01"),
        ("5", "50", "W", 3, "2026-01-01"),
        ("6", "60", "V", 2, "2026-01-02"),
        ("7", "70", "U", 2, "2026-01-02"),
    ]
    assert scanned["_source_file"].unique(maintain_order=True).to_list() == [
        f"landing/{SOURCE}/date=2026-01-01/a.csv",
        f"landing/{SOURCE}/date=2026-01-01/b.csv.gz",
        f"landing/{SOURCE}/date=2026-01-02/a.csv",
        f"landing/{SOURCE}/date=2026-01-02/c.csv",
    ]
    assert reader.extra_columns == {f"landing/{SOURCE}/date=2026-01-02/a.csv": ["note"]}
    assert reader.files_read == 5


def test_a_bad_file_sends_the_batch_to_the_careful_path(tmp_path):
    _odd_but_readable_landing(tmp_path)
    (tmp_path / "landing" / SOURCE / "date=2026-01-02" / "z.csv").write_bytes(b"id,amount,code\n8,\xff\xfe,T\n")
    reader = LandingRangeReader(PartitionedParquetStore(tmp_path), SOURCE, COLUMNS, log=lambda _: None)
    batch = ["2026-01-01", "2026-01-02", "2026-01-03"]

    assert reader._scan_batch(batch) is None
    rows, readable = reader.read_batch(batch)
    assert readable == ["2026-01-01", "2026-01-03"]
    assert set(rows["date"].to_list()) == {"2026-01-01"}
    assert "date=2026-01-02/z.csv" in reader.failures["2026-01-02"]
    assert "not valid UTF-8" in reader.failures["2026-01-02"]


def test_empty_batch_has_the_landing_columns(tmp_path):
    reader = LandingRangeReader(PartitionedParquetStore(tmp_path), SOURCE, COLUMNS)
    rows, readable = reader.read_batch(["2026-01-01"])
    assert readable == ["2026-01-01"]
    assert rows.height == 0
    assert rows.columns == ["_line", *COLUMNS, "_source_file", "date"]
    assert rows.schema["_line"] == pl.Int64
