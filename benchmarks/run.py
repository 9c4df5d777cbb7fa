"""Benchmarks of the customs chain: Polars (the project's code) vs DuckDB, pandas and the I/O limit;
single-run vs per-partition backfills; the daily run. See benchmarks/README.md.

    .venv/bin/python benchmarks/run.py [--quick] [--items N] [--repeat N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: make `benchmarks` and `alatau_pipeline` importable

from benchmarks import dagster_runs  # noqa: E402
from benchmarks.compare import differences  # noqa: E402
from benchmarks.data import day_range, days_for, write_landing  # noqa: E402

ENGINES = (
    "copy_limit",
    "copy_limit_marts_codec",
    "partitioned_limit",
    "chain_without_writes",
    "polars",
    "duckdb",
    "pandas",
)
# Measured for information (benchmarks/README.md), not issue-7 keys: they show where the copy-limit ratio
# goes (the limit written with the marts' codec; the contract's layout; the chain before any write).
INFORMATION_ENGINES = ("copy_limit_marts_codec", "partitioned_limit", "chain_without_writes")


def run_worker(engine: str, landing_root: str, out_dir: str) -> dict:
    """One implementation in a fresh process; returns its seconds and peak MB (and the process wall)."""
    # The previous engine's output may still be on its way to disk: the project's code makes its files
    # durable (syncfs) and would wait for that writeback too. Each engine starts with nothing pending.
    os.sync()
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", engine, landing_root, out_dir],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{engine} failed (exit {done.returncode}):\n{done.stdout[-1000:]}{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - began
    return result


def clear_outputs(work: Path) -> None:
    """Remove what an earlier run left in a kept folder: every engine's output, the marts and quarantine,
    the Dagster instances and the demo's data. Left there, pandas would add its files beside the old ones,
    and the Dagster runs would meet an instance and marts that a fresh run does not have."""
    for name in (*ENGINES, "rounds", "dagster_home", "demo_home", "demo_data"):
        shutil.rmtree(work / name, ignore_errors=True)
    for zone in ("marts", "quarantine", "staging", "reports", "raw"):
        shutil.rmtree(work / "data" / zone, ignore_errors=True)
    # Writing a tree just deleted is slower than writing a new one: the chain took 27 % longer in runs
    # right after deleting its previous outputs, 14 % after a sync (benchmarks/README.md). The sync at
    # least settles the deletions before any clock starts; a fresh folder (the default) has none.
    os.sync()


def engine_folders(work: Path, data: str, engine: str, round_no: int) -> tuple[str, str]:
    """Where a run of ``engine`` reads its landing files and writes, always into folders no run wrote.

    The project's code writes into its data lake: the first round into the benchmark's own (which the
    comparison and the Dagster runs then use), later rounds into a lake of their own whose landing zone
    is the same files (a symlink). The other engines write into a folder per engine and round. No round
    overwrites or deletes an earlier one's files (see "writing a tree just deleted is slower" in
    benchmarks/README.md).
    """
    if round_no == 0:
        return data, data if engine == "polars" else str(work / engine)
    folder = work / "rounds" / str(round_no) / engine
    folder.mkdir(parents=True, exist_ok=True)
    if engine != "polars":
        return data, str(folder)
    (folder / "landing").symlink_to(Path(data, "landing").resolve(), target_is_directory=True)
    return str(folder), str(folder)


def median_run(engine_runs: list[dict]) -> dict:
    """One engine's figures over its rounds: the median of each timing, the highest peak."""
    return {
        **{key: statistics.median(r[key] for r in engine_runs) for key in ("seconds", "cpu_s", "process_s")},
        "peak_mb": max(r["peak_mb"] for r in engine_runs),
    }


def paired_ratios(runs: dict[str, list[dict]], engine: str, baseline: str) -> list[float]:
    """``engine``'s wall time over ``baseline``'s, round by round (empty unless both ran)."""
    pairs = zip(runs.get(engine, []), runs.get(baseline, []), strict=False)
    return [round(a["seconds"] / b["seconds"], 3) for a, b in pairs]


def sample_keys(dates: list[str], count: int) -> list[str]:
    """Evenly spread partitions of the range (weekdays and weekends, early and late)."""
    step = max(1, len(dates) // count)
    return dates[step // 2 :: step][:count]


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} × {cpu}, {mem_gb:.0f} GB RAM, {platform.system()} {platform.release()}, " \
        f"Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200k items, a 30-partition backfill")
    parser.add_argument("--items", type=int, help="customs landing rows (default 1M, 200k with --quick)")
    parser.add_argument("--json", type=Path, help="write the figures here as one JSON object")
    parser.add_argument(
        "--keep", type=Path,
        help="work in this folder and keep what the run leaves there (default: a temporary one); a rerun "
        "starts from clean outputs and fresh instances",
    )
    parser.add_argument("--skip-dagster", action="store_true", help="only the transform comparison")
    parser.add_argument(
        "--demo", action="store_true",
        help="also time `alatau demo` (two years, the whole daily chain with its checks; ~2 min more)",
    )
    parser.add_argument(
        "--engines", default=",".join(ENGINES),
        help="comma-separated subset of the transform runs (e.g. polars,copy_limit for a 10M peak-memory run)",
    )
    parser.add_argument(
        "--repeat", type=int,
        help="rounds of the transform runs, every engine once a round; each figure is the median of its "
        "rounds (default 3, 1 with --quick)",
    )
    args = parser.parse_args(argv)
    items = args.items or (200_000 if args.quick else 1_000_000)
    rounds = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    if rounds < 1:
        parser.error("--repeat must be at least 1")
    backfill_partitions = 30 if args.quick else 365
    # Each per-partition run is a `dagster` CLI process (~12–20 s here): quick mode samples one to stay
    # within its time budget; the full run takes the median of three.
    samples = 1 if args.quick else 3

    work = args.keep or Path(tempfile.mkdtemp(prefix="alatau-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = str(work / "data")
    clear_outputs(work)
    try:
        say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
        began = time.perf_counter()
        landing = write_landing(data, items, day_range(days=days_for(items)))
        say(f"landing: {landing.items:,} rows in {landing.files} files over {len(landing.dates)} days "
            f"({time.perf_counter() - began:.1f} s)")

        engines = [e for e in ENGINES if e in args.engines.split(",")]
        runs: dict[str, list[dict]] = {engine: [] for engine in engines}
        for round_no in range(rounds):
            for engine in engines:
                landing_root, out_dir = engine_folders(work, data, engine, round_no)
                run = run_worker(engine, landing_root, out_dir)
                runs[engine].append(run)
                say(f"{engine}{f' (round {round_no + 1}/{rounds})' if rounds > 1 else ''}: "
                    f"{run['seconds']:.2f} s ({run['cpu_s']:.2f} s CPU), peak {run['peak_mb']:.0f} MB")
        results = {engine: median_run(engine_runs) for engine, engine_runs in runs.items()}
        peers = [p for p in ("duckdb", "pandas") if p in results and "polars" in results]
        disagreements = {peer: differences(data, str(work / peer)) for peer in peers}
        for peer, problems in disagreements.items():
            say(f"polars vs {peer}: " + ("same marts and quarantine" if not problems else "; ".join(problems)))

        figures: dict[str, object] = {
            "items": landing.items,
            **{f"{e}_s": results[e]["seconds"] if e in results else None
               for e in ("polars", "duckdb", "pandas", "copy_limit")},
            "polars_peak_mb": results["polars"]["peak_mb"] if "polars" in results else None,
            "single_run_backfill_s": None,
            "per_partition_run_s": None,
            "daily_run_s": None,
        }
        extra: dict[str, object] = {
            "peak_mb": {e: r["peak_mb"] for e, r in results.items()},
            "cpu_s": {e: r["cpu_s"] for e, r in results.items()},
            "process_s": {e: r["process_s"] for e, r in results.items()},
            # The limit written with the marts' codec, the limit in the marts' layout (one file per day), and
            # the chain with its writes discarded.
            **{f"{e}_s": results[e]["seconds"] if e in results else None for e in INFORMATION_ENGINES},
            "outputs_agree": {peer: not problems for peer, problems in disagreements.items()},
            "rounds": rounds,
            # Every run's wall seconds, round by round: the engines of one round ran within a minute or
            # so of each other, so the ratios of one round compare runs made under about the same load.
            "seconds_per_round": {e: [r["seconds"] for r in engine_runs] for e, engine_runs in runs.items()},
            "polars_copy_limit_ratio_per_round": paired_ratios(runs, "polars", "copy_limit"),
            "machine": machine(),
        }

        if not args.skip_dagster:
            env = dagster_runs.dagster_env(str(work / "dagster_home"), data)
            dagster_runs.prepare_instance(env)
            dates = landing.dates[:backfill_partitions]
            backfill = dagster_runs.materialize_range(dates[0], dates[-1], env)
            say(f"single-run backfill of {len(dates)} partitions: {backfill.seconds:.1f} s (ok={backfill.ok})")
            per_partition = [dagster_runs.materialize_partition(k, env) for k in sample_keys(dates, samples)]
            for run in per_partition:
                say(f"one-partition run: {run.seconds:.1f} s (ok={run.ok})")
            daily = dagster_runs.daily_run(landing.dates[-1], env)
            say(f"daily run of {landing.dates[-1]}: {daily.seconds:.1f} s (ok={daily.ok})")
            median = statistics.median(r.seconds for r in per_partition)
            figures |= {
                "single_run_backfill_s": backfill.seconds,
                "per_partition_run_s": median,
                "daily_run_s": daily.seconds,
            }
            extra |= {
                "backfill_partitions": len(dates),
                "per_partition_samples": [r.seconds for r in per_partition],
                # One run per partition for the whole range, extrapolated from the sampled median.
                "per_partition_backfill_extrapolated_s": median * len(dates),
                "runs_ok": {
                    "single_run_backfill": backfill.ok,
                    "per_partition": all(r.ok for r in per_partition),
                    "daily_run": daily.ok,
                },
            }
            for name, run in (("backfill", backfill), ("daily", daily), *(("partition", r) for r in per_partition)):
                if not run.ok:
                    say(f"--- {name} run failed; end of its output:\n{run.tail}")

        if args.demo:
            demo = dagster_runs.demo_backfill(str(work / "demo_home"), str(work / "demo_data"))
            say(f"alatau demo: {demo.seconds:.0f} s, daily chain {demo.daily_chain_s:.0f} s (ok={demo.ok})")
            figures["demo_daily_chain_s"] = demo.daily_chain_s
            extra |= {"demo_runs_s": demo.runs, "demo_command_s": demo.seconds, "demo_ok": demo.ok}
            if not demo.ok:
                say(f"--- alatau demo failed; end of its output:\n{demo.tail}")

        print_table(figures, extra)
        if args.json:
            args.json.write_text(json.dumps(figures | {"details": extra}, indent=2) + "\n")
        return 0 if all(extra["outputs_agree"].values()) else 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def print_table(figures: dict, extra: dict) -> None:
    def ratio(a: str, b: str) -> str:
        return f"{figures[a] / figures[b]:.2f}" if figures.get(a) and figures.get(b) else "-"

    def num(key: str, digits: int = 2) -> str:
        return "-" if figures.get(key) is None else f"{figures[key]:.{digits}f}"

    def extra_s(engine: str) -> str:
        return "-" if extra.get(f"{engine}_s") is None else f"{extra[f'{engine}_s']:.2f}"

    def ratio_to(engine: str) -> str:
        seconds, polars = extra.get(f"{engine}_s"), figures.get("polars_s")
        return f"{polars / seconds:.2f}" if seconds and polars else "-"

    def extra_ratio(engine: str) -> str:
        seconds, limit = extra.get(f"{engine}_s"), figures.get("copy_limit_s")
        return f"{seconds / limit:.2f}" if seconds and limit else "-"

    peak = "-" if figures["polars_peak_mb"] is None else f"{figures['polars_peak_mb']:.0f}"
    rows = [
        ("items (landing rows)", f"{figures['items']:,}", ""),
        ("polars (project) s", num("polars_s"), f"peak {peak} MB"),
        ("duckdb s", num("duckdb_s"), f"polars/duckdb {ratio('polars_s', 'duckdb_s')} (≤ 1.0)"),
        ("pandas s", num("pandas_s"), f"polars/pandas {ratio('polars_s', 'pandas_s')} (≤ 0.2)"),
        ("copy limit s", num("copy_limit_s"), f"polars/limit {ratio('polars_s', 'copy_limit_s')} (≤ 2.0)"),
        ("copy limit, marts' codec s", extra_s("copy_limit_marts_codec"),
         f"polars/it {ratio_to('copy_limit_marts_codec')}: Snappy, as the marts (information)"),
        ("partitioned limit s", extra_s("partitioned_limit"), "a file per day, atomically (information)"),
        ("chain without writes s", extra_s("chain_without_writes"),
         f"/limit {extra_ratio('chain_without_writes')}: the ratio's floor (information)"),
        ("CPU s polars/duckdb/pandas/limit",
         "/".join(f"{extra['cpu_s'][e]:.1f}" if e in extra["cpu_s"] else "-"
                  for e in ("polars", "duckdb", "pandas", "copy_limit")), ""),
    ]
    if figures["single_run_backfill_s"] is not None:
        n = extra["backfill_partitions"]
        speedup = figures["per_partition_run_s"] / (figures["single_run_backfill_s"] / n)
        rows += [
            (f"single-run backfill ({n}) s", f"{figures['single_run_backfill_s']:.1f}",
             f"{speedup:.0f}× faster per partition (≥ 100)"),
            ("one-partition run s", f"{figures['per_partition_run_s']:.1f}",
             f"× {n} ≈ {extra['per_partition_backfill_extrapolated_s']:.0f} s"),
            ("daily run s", f"{figures['daily_run_s']:.1f}", "(≤ 60)"),
        ]
    if figures.get("demo_daily_chain_s") is not None:
        rows.append(("demo 2-year daily chain s", f"{figures['demo_daily_chain_s']:.0f}", "(< 180)"))
    per_round = extra.get("polars_copy_limit_ratio_per_round") or []
    if len(per_round) > 1:
        rows.append((f"polars/limit by round ({len(per_round)})", ", ".join(f"{r:.2f}" for r in per_round),
                     f"median of the rounds' times: {ratio('polars_s', 'copy_limit_s')}"))
    rows.append(("outputs agree", ", ".join(f"{k}: {v}" for k, v in extra["outputs_agree"].items()), ""))
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")


if __name__ == "__main__":
    sys.exit(main())
