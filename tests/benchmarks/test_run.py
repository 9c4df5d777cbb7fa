"""`benchmarks/run.py` end to end on a small landing set: its JSON keys, the rounds and their folders.

The timings themselves are not tested (see benchmarks/README.md); what is tested is that every engine
ran once a round, each round wrote into folders of its own, the figures are the medians of the rounds
(the peak their highest), and a rerun in a kept folder clears the rounds without touching the landing
files they share.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import polars as pl
import pytest

from benchmarks import run
from benchmarks.compare import read_output

KEYS = {
    "items", "polars_s", "duckdb_s", "pandas_s", "copy_limit_s", "polars_peak_mb", "single_run_backfill_s",
    "per_partition_run_s", "daily_run_s",
}


def test_rounds_run_every_engine_into_fresh_folders_and_report_medians(tmp_path: Path, capsys) -> None:
    work, out = tmp_path / "work", tmp_path / "bench.json"
    status = run.main([
        "--items", "3000", "--skip-dagster", "--engines", "polars,copy_limit", "--repeat", "2",
        "--keep", str(work), "--json", str(out),
    ])
    assert status == 0
    figures = json.loads(out.read_text())
    assert figures.keys() >= KEYS
    details = figures["details"]
    assert details["rounds"] == 2
    per_round = details["seconds_per_round"]
    assert set(per_round) == {"polars", "copy_limit"}
    for engine, seconds in per_round.items():
        assert len(seconds) == 2
        assert figures[f"{engine}_s"] == statistics.median(seconds)
    assert figures["duckdb_s"] is None and figures["pandas_s"] is None
    assert details["polars_copy_limit_ratio_per_round"] == [
        round(p / c, 3) for p, c in zip(per_round["polars"], per_round["copy_limit"], strict=True)
    ]
    assert "polars/limit by round (2)" in capsys.readouterr().out

    # Round 1 wrote the benchmark's own lake, round 2 a lake of its own over the same landing files.
    items = read_output(str(work / "data"), "marts/customs_items")
    assert items.height > 0
    lake = work / "rounds" / "1" / "polars"
    assert (lake / "landing").is_symlink()
    assert read_output(str(lake), "marts/customs_items").equals(items)
    copies = (work / "copy_limit", work / "rounds" / "1" / "copy_limit")
    first, second = (pl.read_parquet(folder / "copy.parquet") for folder in copies)
    assert first.height == second.height > items.height


def test_a_kept_folder_starts_from_clean_rounds_and_keeps_the_landing_files(tmp_path: Path) -> None:
    work, data = tmp_path / "work", tmp_path / "work" / "data"
    landing_file = data / "landing" / "customs_declarations" / "date=2025-01-01" / "declarations.csv"
    landing_file.parent.mkdir(parents=True)
    landing_file.write_text("declaration_id\n")
    lake, out = run.engine_folders(work, str(data), "polars", 1)
    assert lake == out == str(work / "rounds" / "1" / "polars")
    assert Path(lake, "landing", "customs_declarations", "date=2025-01-01", "declarations.csv").exists()
    (Path(lake) / "marts").mkdir()

    run.clear_outputs(work)
    assert not (work / "rounds").exists()
    assert landing_file.read_text() == "declaration_id\n"  # the symlink went, not what it points to


def test_an_engines_figures_are_the_medians_of_its_rounds_and_its_highest_peak() -> None:
    rounds = [
        {"seconds": 1.0, "cpu_s": 9.0, "process_s": 3.0, "peak_mb": 100.0},
        {"seconds": 5.0, "cpu_s": 2.0, "process_s": 4.0, "peak_mb": 300.0},
        {"seconds": 2.0, "cpu_s": 1.0, "process_s": 8.0, "peak_mb": 200.0},
    ]
    assert run.median_run(rounds) == {"seconds": 2.0, "cpu_s": 2.0, "process_s": 4.0, "peak_mb": 300.0}
    assert run.paired_ratios({"polars": rounds, "copy_limit": rounds[::-1]}, "polars", "copy_limit") == [0.5, 1.0, 2.0]
    assert run.paired_ratios({"polars": rounds}, "polars", "copy_limit") == []


def test_zero_rounds_are_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        run.main(["--repeat", "0", "--skip-dagster"])
    assert "--repeat must be at least 1" in capsys.readouterr().err
