"""``alatau``: the project's command line.

- ``alatau demo``: seed two years of demo landing data up to yesterday (Almaty), then materialize the
  whole chain through Dagster as real runs in ``DAGSTER_HOME`` (the UI shows them afterwards).
- ``alatau seed-demo --start D --end D``: only write demo landing files (never overwriting one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import warnings
from zoneinfo import ZoneInfo

from alatau_pipeline import settings
from alatau_pipeline.core.partitions import ALMATY_TZ


def yesterday_in_almaty() -> dt.date:
    return dt.datetime.now(ZoneInfo(ALMATY_TZ)).date() - dt.timedelta(days=1)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _say(message: str) -> None:
    print(f"[alatau] {message}", flush=True)


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from alatau_pipeline.demo.seed import seed_demo

    data_dir = args.data_dir or settings.data_dir()
    report = seed_demo(data_dir, args.start, args.end, progress=_say)
    _say(f"wrote {len(report.written)} landing files ({report.rows:,} rows) under {data_dir}/landing; "
         f"{len(report.skipped_existing)} existing files left untouched")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from alatau_pipeline.demo.seed import seed_demo

    settings.ensure_dagster_home()
    data_dir = args.data_dir or settings.data_dir()
    end = args.end or yesterday_in_almaty()
    start = args.start or end - dt.timedelta(days=round(365.25 * args.years) - 1)
    _say(f"data dir {data_dir}; Dagster instance {settings.dagster_home()}")
    _say(f"seeding demo landing data {start} … {end}")
    began = time.monotonic()
    report = seed_demo(data_dir, start, end, progress=_say)
    _say(f"{len(report.written)} landing files written, {len(report.skipped_existing)} already there "
         f"({time.monotonic() - began:.0f} s)")

    from alatau_pipeline.demo.run import run_demo_jobs, summarize

    ok = run_demo_jobs(data_dir, start, end, say=_say)
    summarize(data_dir, say=_say)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alatau", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="seed demo data and materialize the whole pipeline over it")
    demo.add_argument("--years", type=float, default=2.0, help="length of the demo history (default 2)")
    demo.add_argument("--start", type=_date, help="first day (default: END minus YEARS)")
    demo.add_argument("--end", type=_date, help="last day (default: yesterday in Asia/Almaty)")
    demo.add_argument("--data-dir", help="overrides ALATAU_DATA_DIR")
    demo.set_defaults(func=cmd_demo)

    seed = sub.add_parser("seed-demo", help="write demo landing files for a date range")
    seed.add_argument("--start", type=_date, required=True)
    seed.add_argument("--end", type=_date, required=True)
    seed.add_argument("--data-dir", help="overrides ALATAU_DATA_DIR")
    seed.set_defaults(func=cmd_seed_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
