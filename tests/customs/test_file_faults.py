"""A landing file that cannot be read fails its partition, names the file and the fault, writes nothing of it."""

from __future__ import annotations

import gzip

import pytest
from dagster import AssetKey, AssetPartitionStatus, DagsterInstance, materialize

from alatau_pipeline.core.partitions import DAILY_PARTITIONS
from alatau_pipeline.customs.assets import customs_marts
from tests.conftest import range_tags, write_landing
from tests.customs.landing_set import DATE, HEADER, SOURCE, row, write_landing_set

CUSTOMS_ASSETS = [customs_marts]
BAD_FILES = {
    "missing_column.csv": (
        lambda: _csv([h for h in HEADER if h != "tnved"], [row("0000099")[:7] + row("0000099")[8:]]),
        "header lacks required column(s): tnved",
    ),
    "latin1.csv": (lambda: _csv(HEADER, [row("0000099")]).replace(b"CN", "Ç".encode("latin-1"), 1), "not valid UTF-8"),
    "broken.csv.gz": (lambda: gzip.compress(_csv(HEADER, [row("0000099")]))[:-12], "cannot be decompressed as gzip"),
    "not_csv.csv": (lambda: _csv(HEADER, [row("0000099")]) + b'"unterminated,quote\n1,2\n', "cannot be parsed as CSV"),
}


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    lines = [",".join(header), *(",".join("" if v is None else str(v) for v in r) for r in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _failure_message(result) -> str:
    failures = result.get_step_failure_events()
    assert failures, "the run should have failed"
    return "\n".join(str(event.event_specific_data.error.message) for event in failures)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_fails_partition_and_keeps_previous_marts(name, data_dir, lake):
    write_landing_set(data_dir)
    assert materialize(CUSTOMS_ASSETS, resources={"lake": lake}, partition_key=DATE).success
    marts = sorted((data_dir / "marts").rglob("*.parquet")) + sorted((data_dir / "quarantine").rglob("*.parquet"))
    before = {path: path.read_bytes() for path in marts}

    make, fault = BAD_FILES[name]
    bad = data_dir / "landing" / SOURCE / f"date={DATE}" / name
    bad.write_bytes(make())
    result = materialize(CUSTOMS_ASSETS, resources={"lake": lake}, partition_key=DATE, raise_on_error=False)

    assert not result.success
    message = _failure_message(result)
    assert f"landing/{SOURCE}/date={DATE}/{name}" in message
    assert fault in message
    assert {path: path.read_bytes() for path in marts} == before
    assert not result.get_asset_materialization_events()


def test_range_run_writes_good_partitions_and_fails_naming_the_bad_one(data_dir, lake):
    for date in ("2026-11-19", "2026-11-20", "2026-11-21"):
        ddmmyy = f"{date[8:10]}{date[5:7]}{date[2:4]}"
        write_landing(data_dir, SOURCE, date, "a.csv", HEADER, [
            row("0000001", declaration_id=f"55207/{ddmmyy}/0000001", registered_at=f"{date}T10:00:00+05:00")
        ])
    (data_dir / "landing" / SOURCE / "date=2026-11-20" / "z.csv").write_bytes(b"\xff\xfe garbage")
    instance = DagsterInstance.ephemeral()
    result = materialize(
        CUSTOMS_ASSETS,
        resources={"lake": lake},
        tags=range_tags("2026-11-19", "2026-11-21"),
        raise_on_error=False,
        instance=instance,
    )
    assert not result.success
    message = _failure_message(result)
    assert "2026-11-20" in message and "z.csv" in message and "not valid UTF-8" in message
    # The good days of the range are computed and written; nothing of the bad day is.
    for zone, dataset in [("marts", "customs_items"), ("marts", "customs_daily"), ("quarantine", SOURCE)]:
        written = sorted(p.parent.name for p in (data_dir / zone / dataset).rglob("*.parquet"))
        assert written == ["date=2026-11-19", "date=2026-11-21"], (zone, dataset)
    assert not (data_dir / "staging").exists()
    # … but Dagster records the whole range as failed: the good days' checks have not run, so the
    # re-execution after the fix recomputes and validates all of it.
    days = ["2026-11-19", "2026-11-20", "2026-11-21"]
    for asset in ("customs_items", "customs_daily"):
        assert instance.get_materialized_partitions(AssetKey(asset)) == set()
        status = instance.get_status_by_partition(AssetKey(asset), days, DAILY_PARTITIONS)
        assert status == dict.fromkeys(days, AssetPartitionStatus.FAILED)
