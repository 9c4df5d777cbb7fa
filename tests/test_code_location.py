"""The code location loads from workspace.yaml, as `dagster dev` and the daemon load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_validate_from_workspace(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ALATAU_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alatau_pipeline" in result.stdout + result.stderr


def test_every_mart_of_the_contract_built_so_far_is_an_asset():
    from alatau_pipeline.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"customs_items", "customs_daily"} <= keys
    assert defs.resolve_job_def("daily_job") is not None
