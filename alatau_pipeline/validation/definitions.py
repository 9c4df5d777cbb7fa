"""Asset checks of every mart, collected from the domains' ``expectations.py`` files.

A domain declares its marts' suites in ``alatau_pipeline/<domain>/expectations.py`` as ``SUITES``; this
module finds every such file, so adding a mart's suite is that one file and nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from dagster import Definitions

import alatau_pipeline
from alatau_pipeline.core.checks import validation_checks
from alatau_pipeline.core.suites import MartSuite

SUITES_MODULE = "expectations"


def discover_suites() -> list[MartSuite]:
    """Every ``SUITES`` of ``alatau_pipeline.<domain>.expectations``, in domain order; a mart at most once."""
    suites: dict[str, MartSuite] = {}
    for package in sorted(pkgutil.iter_modules(alatau_pipeline.__path__), key=lambda m: m.name):
        if not package.ispkg:
            continue
        name = f"{alatau_pipeline.__name__}.{package.name}.{SUITES_MODULE}"
        if importlib.util.find_spec(name) is None:
            continue
        for suite in importlib.import_module(name).SUITES:
            if suite.mart in suites:
                raise ValueError(f"two suites for mart {suite.mart} (second in {name})")
            suites[suite.mart] = suite
    return list(suites.values())


defs = Definitions(asset_checks=[validation_checks(suite) for suite in discover_suites()])
