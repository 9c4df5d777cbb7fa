"""Configuration read from the environment (contracts section 1), with the documented defaults.

Values are read when asked for, not at import, so tests and the CLI can set the environment first.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATA_DIR = REPO_ROOT / "data"
DEFAULT_DAGSTER_HOME = REPO_ROOT / "dagster_home"
DEFAULT_COMTRADE_BASE_URL = "https://comtradeapi.un.org"
DEFAULT_COMTRADE_MAX_RECORDS = 100_000


def data_dir() -> str:
    """Root of all data (`ALATAU_DATA_DIR`): a local path or an fsspec URL such as ``s3://bucket/prefix``."""
    return os.environ.get("ALATAU_DATA_DIR") or str(DEFAULT_DATA_DIR)


def source() -> str:
    """`ALATAU_SOURCE`: ``demo`` (built-in synthetic Comtrade source) or ``live`` (the Comtrade API)."""
    value = (os.environ.get("ALATAU_SOURCE") or "demo").strip().lower()
    if value not in {"demo", "live"}:
        raise ValueError(f"ALATAU_SOURCE must be 'demo' or 'live', got {value!r}")
    return value


def dagster_home() -> str:
    return os.environ.get("DAGSTER_HOME") or str(DEFAULT_DAGSTER_HOME)


def ensure_dagster_home() -> str:
    """Point `DAGSTER_HOME` at the repository's instance unless the caller chose another one."""
    home = dagster_home()
    os.environ["DAGSTER_HOME"] = home
    Path(home).mkdir(parents=True, exist_ok=True)
    return home
