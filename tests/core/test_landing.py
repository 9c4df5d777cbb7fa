"""Reading landing files: the batch scan returns exactly what the file-by-file reading returns."""

from __future__ import annotations

import gzip

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alatau_pipeline.core.landing import GzipError, LandingRangeReader, _record_count, gunzip
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


@pytest.mark.parametrize(
    ("text", "records"),
    [
        ("id,amount,code\n1,2,3\n4,5,6\n", 2),
        ("id,amount,code\n1,2,3\n4,5,6", 2),  # no line feed after the last record
        ("id,amount,code\r\n1,2,3\r\n4,5,6\r\n", 2),
        ("id,amount,code\n", 0),
        ("id,amount,code", 0),
        ('id,amount,code\n1,"a\nb",3\n4,"c\n\nd",6\n', 2),  # line feeds inside quotes
        ('id,amount,code\n1,"say ""x\ny""",3\n4,"""",6\n', 2),  # doubled quotes, one spanning lines
        ('id,"am\nount",code\n1,2,3\n', 1),  # a header field spanning lines
        ("id,amount,code\n1,2,3\n\n4,5,6\n\n", 4),  # blank lines are rows of nulls to Polars
        ("id,amount,code\n1,2\r,3\n", 1),  # a lone carriage return is a field's content
        ('id,amount,code\n1,"12,5",3\n', 1),
    ],
)
def test_record_count_is_the_number_of_rows_polars_parses(text, records):
    data = text.encode("utf-8")
    assert _record_count(data) == records
    assert pl.read_csv(data, infer_schema=False, has_header=True, quote_char='"').height == records


def test_gunzip_reads_every_member_and_names_each_fault():
    first, second = gzip.compress(b"id,amount,code\n1,2,3\n"), gzip.compress(b"4,5,6\n")
    assert gunzip(first + second) == b"id,amount,code\n1,2,3\n4,5,6\n"
    assert gunzip(first + b"\x00" * 16) == b"id,amount,code\n1,2,3\n"  # zero padding, as gzip.decompress
    assert gunzip(b"") == b""
    faults = {
        first[:-3]: "ends before its end-of-stream marker",
        first + b"junk": "trailing bytes after the gzip data are not gzip",
        b"id,amount,code\n": "the data is not gzip",
        first[:-8] + bytes([first[-8] ^ 0xFF]) + first[-7:]: "checksum",
    }
    for data, fault in faults.items():
        with pytest.raises(GzipError, match=fault):
            gunzip(data)


def test_batch_scan_gives_each_row_its_file_across_multiline_values_and_gzip_members(tmp_path):
    # Row counts per file come from counting records, not from Polars: values spanning lines, blank
    # lines and gzip files of several members must not shift a row into its neighbour's file or day.
    _write(tmp_path, "2026-01-01", "a.csv", 'id,amount,code\n1,"x\ny",A\n2,"""\n""",A\n')
    folder = tmp_path / "landing" / SOURCE / "date=2026-01-01"
    (folder / "b.csv.gz").write_bytes(gzip.compress(b"id,amount,code\r\n3,1,B\r\n") + gzip.compress(b"4,1,B\r\n"))
    _write(tmp_path, "2026-01-02", "a.csv", "id,amount,code\n5,1,C\n\n6,1,C")
    _write(tmp_path, "2026-01-03", "a.csv.gz", 'id,amount,code\n7,"1\n\n2",D\n')
    reader = LandingRangeReader(PartitionedParquetStore(tmp_path), SOURCE, COLUMNS)
    batch = ["2026-01-01", "2026-01-02", "2026-01-03"]

    scanned = reader._scan_batch(batch)
    assert scanned is not None, "readable files must take the fast path"
    careful, _ = LandingRangeReader(PartitionedParquetStore(tmp_path), SOURCE, COLUMNS)._read_batch_file_by_file(batch)
    assert_frame_equal(scanned, careful)
    landing = f"landing/{SOURCE}/date="
    assert scanned.select("id", "code", "_line", "_source_file", "date").rows() == [
        ("1", "A", 2, f"{landing}2026-01-01/a.csv", "2026-01-01"),
        ("2", "A", 3, f"{landing}2026-01-01/a.csv", "2026-01-01"),
        ("3", "B", 2, f"{landing}2026-01-01/b.csv.gz", "2026-01-01"),
        ("4", "B", 3, f"{landing}2026-01-01/b.csv.gz", "2026-01-01"),
        ("5", "C", 2, f"{landing}2026-01-02/a.csv", "2026-01-02"),
        (None, None, 3, f"{landing}2026-01-02/a.csv", "2026-01-02"),
        ("6", "C", 4, f"{landing}2026-01-02/a.csv", "2026-01-02"),
        ("7", "D", 2, f"{landing}2026-01-03/a.csv.gz", "2026-01-03"),
    ]


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        # Polars would read these leniently if it parsed only the contract's columns, or swallow rows.
        ("id,amount,code,note\n1,2,3,4,5\n", "cannot be parsed as CSV"),  # a ragged line
        ('id,amount,code,note\n1,2,3,x"y\n4,5,6,z\n7,8,9,x"y\n', "cannot be parsed as CSV"),  # stray quotes
        ('id,amount,code,"note\n1,2,3,4\n', "cannot be parsed as CSV (a quote on line 1 is never closed)"),
        ("id,amount,code, code\n1,2,3,4\n", "header names column(s) more than once: code"),
        ("id,amount,code,no\rte\n1,2,3,4\n", [("1", "2", "3")]),  # readable, by the careful path
    ],
)
def test_files_the_batch_scan_leaves_to_the_careful_path(tmp_path, text, outcome):
    _write(tmp_path, "2026-01-01", "a.csv", "id,amount,code\n0,0,A\n")
    _write(tmp_path, "2026-01-02", "odd.csv", text)
    reader = LandingRangeReader(PartitionedParquetStore(tmp_path), SOURCE, COLUMNS, log=lambda _: None)
    batch = ["2026-01-01", "2026-01-02"]

    assert reader._scan_batch(batch) is None
    rows, readable = reader.read_batch(batch)
    if isinstance(outcome, str):
        assert readable == ["2026-01-01"]
        assert f"date=2026-01-02/odd.csv: {outcome}" in reader.failures["2026-01-02"]
    else:
        assert readable == batch
        assert rows.filter(pl.col("date") == "2026-01-02").select(COLUMNS).rows() == outcome
