"""The benchmarks drive Dagster as contracts section 1 says: `dagster ... -m alatau_pipeline.definitions`,
without `-a`; that only works while the module holds exactly one Definitions object."""

from __future__ import annotations

import importlib

from dagster._core.workspace.autodiscovery import loadable_targets_from_loaded_module


def test_the_module_alone_names_one_loadable_target() -> None:
    module = importlib.import_module("alatau_pipeline.definitions")
    targets = loadable_targets_from_loaded_module(module)
    assert [target.attribute for target in targets] == ["defs"]
