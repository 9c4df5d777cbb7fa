"""What validating a partition costs next to the transform that produced it (issue 5). See benchmarks/README.md.

    .venv/bin/python benchmarks/validation_cost.py [--json PATH] [--repeat N] [--keep DIR]

In a temporary data dir: seed eight weeks of demo landing data (``alatau_pipeline/demo/seed.py``, as
``alatau seed-demo`` does), materialize the daily chain over the whole range in one Dagster run
(``dagster.materialize`` with range tags, as the tests do; checks not selected), forecasts for a few
origins, and the accuracy of the last weeks. Then, warm (GX imported, its context built, every step run once
untimed), for ONE partition of each daily mart, the median of ``--repeat`` repetitions of (a) and (b),
run alternately (a, b, a, b, …) so both see the same load on a shared machine:

(a) transform: the mart asset's compute function for that partition, invoked directly with
    ``build_asset_context(partition_key=...)`` and the ``lake`` resource: it reads its inputs from
    storage, transforms and writes the partition (and its metadata), exactly what a run's asset step
    executes, without the run machinery (run/event-log bookkeeping) around it. The customs step is
    subset to the mart measured: ``customs_items`` from the landing files, ``customs_daily`` from the
    stored items.
(b) validation: what the mart's asset check op executes for that partition, i.e.
    ``checks.validate_mart(store, suite, [key])`` (monitors, schema and row counts from footers, the read,
    the GX call, the JSON and HTML reports) followed by ``checks.check_results`` (the AssetCheckResults).

And the same over a range of 30 partitions (``partition_key_range``; validation of the 30 keys) as one
line per mart. The JSON has ``partition``, ``range``, ``rows`` (mart → {a_ms, b_ms, ratio, rows}) and
``range_rows`` likewise, plus ``breakdown`` (where (b)'s time goes, one partition).
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: make `alatau_pipeline` importable

START = dt.date(2026, 8, 3)
END = dt.date(2026, 9, 27)  # eight weeks
PARTITION = "2026-09-23"  # a Wednesday, with 28 days of history behind it for the monitors
RANGE = ("2026-08-28", "2026-09-26")  # 30 partitions
FORECAST_ORIGINS = ("2026-09-02", "2026-09-09", "2026-09-16", "2026-09-22")


def forecast_config() -> Any:
    from alatau_pipeline.forecasting.config import ForecastConfig

    return ForecastConfig(horizon_days=14, backtest_windows=1)


def accuracy_config() -> Any:
    from alatau_pipeline.forecasting.config import AccuracyConfig

    return AccuracyConfig(min_scored=7)


def median_ms(step: Callable[[], Any], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        step()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), [round(t, 1) for t in times]


def paired_ms(a: Callable[[], Any], b: Callable[[], Any], repeat: int) -> tuple[float, float, list, list]:
    """Medians of ``a`` and ``b`` run alternately, so both see the same load on a shared machine."""
    a_times, b_times = [], []
    for _ in range(repeat):
        a_times.append(median_ms(a, 1)[0])
        b_times.append(median_ms(b, 1)[0])
    return (statistics.median(a_times), statistics.median(b_times),
            [round(t, 1) for t in a_times], [round(t, 1) for t in b_times])


def prepare(data_dir: str) -> None:
    """Seed and materialize everything the measured partitions read (one run per step, no checks)."""
    from dagster import materialize

    from alatau_pipeline.core.resources import DataLake
    from alatau_pipeline.crossings.assets import crossing_reports_staged, crossing_throughput_daily
    from alatau_pipeline.customs.assets import customs_marts
    from alatau_pipeline.demo.seed import seed_demo
    from alatau_pipeline.forecasting.assets import forecast_accuracy, throughput_forecast

    seed_demo(data_dir, START, END)
    lake = DataLake(data_dir=data_dir)
    tags = {"dagster/asset_partition_range_start": START.isoformat(),
            "dagster/asset_partition_range_end": END.isoformat()}
    chain = [customs_marts, crossing_reports_staged, crossing_throughput_daily]
    assert materialize(chain, resources={"lake": lake}, tags=tags).success
    config = {"ops": {"throughput_forecast": {"config": forecast_config().model_dump()}}}
    for origin in FORECAST_ORIGINS:
        assert materialize([throughput_forecast], resources={"lake": lake}, partition_key=origin,
                           run_config=config, selection=[throughput_forecast]).success
    tags = {"dagster/asset_partition_range_start": "2026-09-03", "dagster/asset_partition_range_end": END.isoformat()}
    accuracy = {"ops": {"forecast_accuracy": {"config": accuracy_config().model_dump()}}}
    assert materialize([forecast_accuracy], resources={"lake": lake}, tags=tags, run_config=accuracy).success


def transform_step(lake: Any, mart: str, keys: tuple[str, str] | str) -> Callable[[], Any]:
    """(a): the mart asset's compute function over one key or a (first, last) range, invoked directly.

    The customs step subset to one mart: ``customs_items`` from the landing files (rules, quarantine,
    versions), ``customs_daily`` from the stored items.
    """
    from dagster import PartitionKeyRange, build_asset_context

    from alatau_pipeline.crossings.assets import crossing_throughput_daily
    from alatau_pipeline.customs.assets import CUSTOMS_DAILY, CUSTOMS_ITEMS, customs_marts
    from alatau_pipeline.forecasting.assets import forecast_accuracy, throughput_forecast

    assets = {
        "customs_items": (customs_marts.subset_for({CUSTOMS_ITEMS}, selected_asset_check_keys=None), {}),
        "customs_daily": (customs_marts.subset_for({CUSTOMS_DAILY}, selected_asset_check_keys=None), {}),
        "crossing_throughput_daily": (crossing_throughput_daily, {}),
        "throughput_forecast": (throughput_forecast, {"config": forecast_config()}),
        "forecast_accuracy": (forecast_accuracy, {"config": accuracy_config()}),
    }
    asset_def, extra = assets[mart]
    where = {"partition_key": keys} if isinstance(keys, str) else {"partition_key_range": PartitionKeyRange(*keys)}

    def step() -> Any:
        with build_asset_context(**where) as context:
            result = asset_def(context, lake=lake, **extra)
            return list(result) if inspect.isgenerator(result) else result  # a multi-asset yields

    return step


def validation_step(lake: Any, suite: Any, keys: list[str]) -> Callable[[], Any]:
    """(b): what the mart's check op runs for these keys."""
    from alatau_pipeline.core.checks import check_results, validate_mart

    def step() -> Any:
        return list(check_results(validate_mart(lake.store, suite, keys)))

    return step


def breakdown(lake: Any, suite: Any, key: str, repeat: int) -> dict[str, float]:
    """Where one partition's validation goes: monitors, footers, read, GX (both passes), reports."""
    from alatau_pipeline.core import checks, monitors, validation_reports
    from alatau_pipeline.core.partition_stats import existing_files, row_counts

    store = lake.store
    value = suite.partition_value(key)
    frame = store.read_partitions(suite.zone, suite.mart, suite.partition_column, [value])
    validation = checks.validate_mart(store, suite, [key])
    parts = {
        "monitors": lambda: [monitors.evaluate(m, store, suite, [key]) for m in suite.monitors]
        if not hasattr(monitors, "evaluate_all")  # the code before issue 5's changes, for a baseline
        else monitors.evaluate_all(suite.monitors, store, suite, [key]),
        "footers (counts, schema)": lambda: (
            checks.schema_outcomes(store, suite, existing_files(store, suite.zone, suite.mart, suite.partition_column,
                                                                [value])),
            row_counts(store, suite.zone, suite.mart, suite.partition_column, [value]),
        ),
        "read partition": lambda: store.read_partitions(suite.zone, suite.mart, suite.partition_column, [value]),
        "expectations (GX)": lambda: checks._validate_frame(suite, frame),
        "reports": lambda: validation_reports.write_reports(
            store, suite.mart, [value], validation.outcomes, validation.monitors, validation.gx_results,
            validation.rows,
        ),
    }
    return {name: round(median_ms(step, repeat)[0], 1) for name, step in parts.items()}


def measure(data_dir: str, repeat: int) -> dict[str, Any]:
    from alatau_pipeline.core import validation
    from alatau_pipeline.core.resources import DataLake
    from alatau_pipeline.crossings.expectations import CROSSING_THROUGHPUT_DAILY
    from alatau_pipeline.customs.expectations import CUSTOMS_DAILY, CUSTOMS_ITEMS
    from alatau_pipeline.forecasting.expectations import FORECAST_ACCURACY, THROUGHPUT_FORECAST

    lake = DataLake(data_dir=data_dir)
    validation.warm_up()
    suites = {s.mart: s for s in (CUSTOMS_ITEMS, CUSTOMS_DAILY, CROSSING_THROUGHPUT_DAILY, THROUGHPUT_FORECAST,
                                  FORECAST_ACCURACY)}
    first, last = RANGE
    range_keys = [(dt.date.fromisoformat(first) + dt.timedelta(days=i)).isoformat() for i in range(30)]
    assert range_keys[-1] == last
    rows, range_rows, details = {}, {}, {}
    for mart, suite in suites.items():
        transform = transform_step(lake, mart, PARTITION)
        validate = validation_step(lake, suite, [PARTITION])
        transform()
        validate()  # warm: the suite's GX objects built, files in the page cache
        a, b, a_runs, b_runs = paired_ms(transform, validate, repeat)
        height = lake.store.count_rows(suite.zone, mart, suite.partition_column, [PARTITION])
        rows[mart] = {"a_ms": round(a, 1), "b_ms": round(b, 1), "ratio": round(b / a, 2), "rows": height}
        details[mart] = {"a_runs": a_runs, "b_runs": b_runs}
        if mart == "throughput_forecast":
            continue  # a range of origins is 30 model fits: slow to measure, and validation is ~1 % of it
        range_a, range_b, _, _ = paired_ms(
            transform_step(lake, mart, RANGE), validation_step(lake, suite, range_keys), max(1, repeat // 2)
        )
        range_height = lake.store.count_rows(suite.zone, mart, suite.partition_column, range_keys)
        range_rows[mart] = {"a_ms": round(range_a, 1), "b_ms": round(range_b, 1), "ratio": round(range_b / range_a, 2),
                            "rows": range_height}
    parts = {mart: breakdown(lake, suites[mart], PARTITION, repeat) for mart in
             ("customs_items", "customs_daily", "crossing_throughput_daily")}
    return {"partition": PARTITION, "range": list(RANGE), "repeat": repeat, "rows": rows, "range_rows": range_rows,
            "breakdown": parts, "runs": details}


def print_table(result: dict[str, Any]) -> None:
    print(f"\none partition ({result['partition']}), median of {result['repeat']}, warm; ms")
    print(f"{'mart':<28}{'rows':>8}{'(a) transform':>15}{'(b) validation':>16}{'b/a':>7}  b <= a")
    for mart, row in result["rows"].items():
        print(f"{mart:<28}{row['rows']:>8}{row['a_ms']:>15.1f}{row['b_ms']:>16.1f}{row['ratio']:>7.2f}  "
              f"{'yes' if row['b_ms'] <= row['a_ms'] else 'NO'}")
    first, last = result["range"]
    print(f"\nacross a range ({first} … {last}, 30 partitions) as one run; ms")
    for mart, row in result["range_rows"].items():
        print(f"{mart:<28}{row['rows']:>8}{row['a_ms']:>15.1f}{row['b_ms']:>16.1f}{row['ratio']:>7.2f}  "
              f"{'yes' if row['b_ms'] <= row['a_ms'] else 'NO'}")
    print("\nwhere (b) goes, one partition; ms")
    for mart, parts in result["breakdown"].items():
        print(f"{mart:<28}" + ", ".join(f"{name} {ms}" for name, ms in parts.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per figure (median)")
    parser.add_argument("--keep", help="use this data dir and keep it (seeded and materialized only once)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("dagster").setLevel(logging.WARNING)  # the assets' progress lines, once per repetition
    data_dir = args.keep or tempfile.mkdtemp(prefix="alatau-validation-cost-")
    os.environ["ALATAU_DATA_DIR"] = data_dir
    began = time.perf_counter()
    try:
        if not (Path(data_dir) / "marts" / "forecast_accuracy").exists():
            prepare(data_dir)
        prepared = time.perf_counter() - began
        result = measure(data_dir, args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    result["prepare_s"] = round(prepared, 1)
    result["total_s"] = round(time.perf_counter() - began, 1)
    print_table(result)
    print(f"\nprepared in {result['prepare_s']} s, {result['total_s']} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
