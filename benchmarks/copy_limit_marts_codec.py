"""The I/O limit written with the marts' codec (information, not a target of issue 7).

``copy_limit`` writes with Polars' default codec (zstd), as issue 7 defines the limit; the marts are
Snappy-compressed (``core.storage.COMPRESSION``). This is the same copy written the marts' way, so the
chain's ratio can also be read against a limit that compresses as it does.
"""

from __future__ import annotations

from alatau_pipeline.core.storage import COMPRESSION
from benchmarks.copy_limit import copy


def run(landing_root: str, out_dir: str) -> None:
    copy(landing_root, out_dir, compression=COMPRESSION)
