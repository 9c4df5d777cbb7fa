"""Run one implementation in this (fresh) process and print its wall time and peak memory as JSON.

``python -m benchmarks.worker ENGINE LANDING_ROOT OUT_DIR``. The clock starts after the imports, so it
measures the work, not the interpreter's start; the peak is this process's maximum resident set size.
CPU seconds are reported too: on a machine shared with other work they vary far less than wall time.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import time
import warnings

ENGINES = {
    "polars": "benchmarks.impl_polars",
    "duckdb": "benchmarks.impl_duckdb",
    "pandas": "benchmarks.impl_pandas",
    "copy_limit": "benchmarks.copy_limit",
    "copy_limit_marts_codec": "benchmarks.copy_limit_marts_codec",
    "partitioned_limit": "benchmarks.partitioned_limit",
    "chain_without_writes": "benchmarks.chain_without_writes",
}


def main(engine: str, landing_root: str, out_dir: str) -> None:
    warnings.simplefilter("ignore")
    logging.disable(logging.INFO)  # the assets' progress lines are not part of the work measured
    module = importlib.import_module(ENGINES[engine])
    prepare = getattr(module, "prepare", None)
    state = prepare(landing_root, out_dir) if prepare else None
    began, cpu_began = time.perf_counter(), _cpu_seconds()
    if state is not None:
        module.run(landing_root, out_dir, state)
    else:
        module.run(landing_root, out_dir)
    seconds, cpu_s = time.perf_counter() - began, _cpu_seconds() - cpu_began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(json.dumps({"engine": engine, "seconds": seconds, "cpu_s": cpu_s, "peak_mb": peak_mb}), flush=True)
    # The interpreter's teardown is not part of the work, and a native library's threads can abort the
    # process there (one pandas run of 60 ended in "terminate called without an active exception"). The
    # work's files are closed by now; the Dagster instance's temporary folder is removed here.
    try:
        dispose = getattr(state, "dispose", None)
        if dispose is not None:
            dispose()
    finally:
        os._exit(0)


def _cpu_seconds() -> float:
    """User + system CPU of this process, all threads: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main(*sys.argv[1:4])
