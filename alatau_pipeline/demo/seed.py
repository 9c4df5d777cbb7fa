"""Write demo landing files for a date range, never overwriting a file that already exists."""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from alatau_pipeline.core.landing import LANDING_ZONE
from alatau_pipeline.core.storage import PartitionedParquetStore
from alatau_pipeline.demo import crossings as demo_crossings
from alatau_pipeline.demo import customs as demo_customs

# A day generator returns the landing files of one day: file name → rows (all strings).
DayGenerator = Callable[[dt.date, int], dict[str, pl.DataFrame]]


def _customs_files(day: dt.date, seed: int) -> dict[str, pl.DataFrame]:
    return demo_customs.generate_day(day, seed).files


# landing source → generator; each domain with landing files registers its demo generator here.
GENERATORS: dict[str, DayGenerator] = {
    "customs_declarations": _customs_files,
    "crossing_reports": demo_crossings.generate_day,
}

DEFAULT_SEED = 20261125


@dataclass
class SeedReport:
    written: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    rows: int = 0


def csv_bytes(name: str, rows: pl.DataFrame) -> bytes:
    data = rows.write_csv().encode("utf-8")
    # Level 1: the demo writes years of files; compressing harder buys little and costs seconds.
    return gzip.compress(data, compresslevel=1, mtime=0) if name.endswith(".gz") else data


def seed_demo(
    data_dir: str,
    start: dt.date,
    end: dt.date,
    *,
    seed: int = DEFAULT_SEED,
    sources: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Write every demo landing file of ``start``..``end`` (inclusive) that does not exist yet."""
    store = PartitionedParquetStore(data_dir)
    report = SeedReport()
    chosen = {name: gen for name, gen in GENERATORS.items() if sources is None or name in sources}
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    for index, day in enumerate(days):
        for source, generate in chosen.items():
            folder = (LANDING_ZONE, source, f"date={day.isoformat()}")
            for name, rows in generate(day, seed).items():
                if store.exists(*folder, name):
                    report.skipped_existing.append(store.path(*folder, name))
                    continue
                report.written.append(store.write_bytes(csv_bytes(name, rows), *folder, name))
                report.rows += rows.height
        if progress and (index + 1) % 60 == 0:
            progress(f"demo data: {index + 1}/{len(days)} days written")
    return report
