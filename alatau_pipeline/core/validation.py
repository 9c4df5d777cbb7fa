"""The one bridge from Polars to Great Expectations 1.x.

GX validates pandas and Spark frames, not Polars: a frame crosses as an Arrow-backed pandas frame (no copy
of string columns into Python objects), into one ephemeral GX context per process with a pandas data
source and a whole-dataframe batch definition, fed through ``batch_parameters={"dataframe": df}``.

``great_expectations`` takes ~12 s to import, so it is imported only inside the functions here, and the
context is built once per process and cached: a run of the in-process executor pays for it once.

A failure of the machinery itself (an expectation that raised, a column the suite names that the frame
lacks, an unknown expectation type) raises :class:`ValidationMachineryError`: it must never read as a
pass.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import polars as pl

from alatau_pipeline.core.suites import Expect

EXAMPLES = 5  # example values kept per failed expectation


class ValidationMachineryError(RuntimeError):
    """Validation could not judge the data (not: the data is bad). Fails the check step loudly."""


@dataclass
class ExpectationOutcome:
    """What one expectation found over the validated rows (GX-backed or computed in Polars)."""

    check: str
    expectation: str  # e.g. "expect_column_values_to_be_in_set(crossing_code)"
    success: bool
    element_count: int = 0
    unexpected_count: int = 0
    examples: list[Any] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # partitions of some unexpected rows (partial)
    observed: Any = None
    note: str = ""

    def summary(self) -> str:
        if self.success:
            return f"{self.expectation}: ok"
        parts = [f"{self.expectation}: {self.unexpected_count} unexpected"]
        if self.element_count:
            parts[0] += f" of {self.element_count}"
        if self.examples:
            parts.append(f"e.g. {self.examples[:EXAMPLES]}")
        if self.partitions:
            parts.append(f"in partition(s) {self.partitions[:EXAMPLES]}")
        if self.observed is not None:
            parts.append(f"observed {self.observed}")
        if self.note:
            parts.append(self.note)
        return ", ".join(parts)


@dataclass
class BridgeResult:
    outcomes: list[ExpectationOutcome]
    gx_result: dict[str, Any]  # the full GX validation result, as JSON


@cache
def _batch_definition() -> Any:
    """The process's ephemeral GX context, reduced to the one batch definition every validation uses."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no usage-statistics calls from the pipeline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX logs every metric batch at INFO and warns about pandas internals; neither belongs in run logs.
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    _skip_batch_fingerprint()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("alatau_marts")
    asset = source.add_dataframe_asset("mart_frames")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def _skip_batch_fingerprint() -> None:
    """Stop GX hashing every cell of each batch (``pandas_data_fingerprint``, a batch marker we never use).

    The hash walks tz-aware timestamps one by one and runs twice per validation: on a month of customs
    items it cost more than every expectation together. GX skips it above ``HASH_THRESHOLD`` bytes, so a
    threshold of 0 skips it always; if a GX release drops the constant, validation still works, only slower.
    """
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0


def warm_up() -> None:
    """Import GX and build the context now (e.g. before timing a validation)."""
    _batch_definition()


def to_pandas(frame: pl.DataFrame) -> Any:
    """Arrow-backed pandas frame, numbers excepted: strings and timestamps stay Arrow (no copy into
    Python objects, nulls stay nulls), while numeric columns become plain numpy columns, because GX's
    pandas engine has vectorized paths only for numpy dtypes and maps Arrow numbers value by value in
    Python (10-20x slower on a month of customs items). Nulls in numeric columns become NaN, which GX
    treats as missing, as it does nulls (so a NaN the data itself held is judged as a missing value:
    a not-null expectation catches it, a range expectation skips it).
    """
    import pandas as pd

    numeric = [name for name, dtype in frame.schema.items() if dtype.is_numeric()]
    arrow = frame.drop(numeric).to_pandas(use_pyarrow_extension_array=True)
    if not numeric:
        return arrow
    numbers = frame.select(numeric).to_pandas()
    return pd.concat([arrow, numbers], axis=1)[frame.columns]


def run_expectations(
    frame: pl.DataFrame, expectations: Sequence[Expect], suite_name: str, partition_column: str | None = None
) -> BridgeResult:
    """Validate ``frame`` against ``expectations``; one outcome per expectation, in order.

    GX's cost is mostly per expectation, not per row, and most of it is building the counts and examples
    a failure needs. So every expectation is first judged pass/fail in one ``BOOLEAN_ONLY`` call, and only
    the ones that failed are run again, in a second call, for their counts and example values.
    """
    missing = sorted({c for e in expectations for c in e.columns()} - set(frame.columns))
    if missing:
        raise ValidationMachineryError(f"{suite_name}: expectations reference column(s) not in the data: {missing}")
    # GX keeps one copy of identical expectations in a suite: send each once, map results back to all.
    keys = [_key(e) for e in expectations]
    distinct = {key: expectations[keys.index(key)] for key in dict.fromkeys(keys)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": to_pandas(frame)})
        verdicts = _validate(batch, list(distinct.values()), suite_name, "BOOLEAN_ONLY")
        failed = [distinct[k] for k, item in verdicts.items() if not item.success]
        index = [partition_column] if partition_column in frame.columns else []
        details = _validate(batch, failed, suite_name, "SUMMARY", index) if failed else {}
    results = {**verdicts, **details}
    outcomes = [
        _outcome(e, results[k].success, results[k].result, frame.height, partition_column)
        for e, k in zip(expectations, keys, strict=True)
    ]
    gx_result = {
        "suite": suite_name,
        "success": all(item.success for item in verdicts.values()),
        "rows": frame.height,
        "results": [results[k].to_json_dict() for k in distinct],
    }
    return BridgeResult(outcomes=outcomes, gx_result=gx_result)


def _key(expectation: Expect) -> tuple[str, str]:
    return expectation.gx_type, repr(sorted(expectation.kwargs.items()))


def _validate(
    batch: Any, expectations: Sequence[Expect], suite_name: str, result_format: str, index: Sequence[str] = ()
) -> dict[Any, Any]:
    """One GX validation of ``batch``; result per expectation key. Raises if GX could not compute one.

    ``index`` columns (the partition column) are reported beside each unexpected row, so a failure in a
    range names the partitions it is in.
    """
    fmt: Any = result_format if result_format == "BOOLEAN_ONLY" else {
        "result_format": result_format, "partial_unexpected_count": EXAMPLES,
        **({"unexpected_index_column_names": list(index)} if index else {}),
    }
    result = batch.validate(_gx_suite(expectations, suite_name), result_format=fmt)
    found: dict[Any, Any] = {}
    for item in result.results:
        declared = expectations[int(item.expectation_config.meta["index"])]
        raised = _raised(item.exception_info)
        if raised:
            raise ValidationMachineryError(f"{suite_name}: {declared.label()} could not run: {raised}")
        found[_key(declared)] = item
    lost = [e.label() for e in expectations if _key(e) not in found]
    if lost:
        raise ValidationMachineryError(f"{suite_name}: GX returned no result for {lost}")
    return found


# Built GX suites by content: a mart's suite is the same on every run of a process, and building one
# (pydantic models for every expectation) costs about as much as validating a day of data.
_SUITES: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


def _gx_suite(expectations: Sequence[Expect], suite_name: str) -> Any:
    cache_key = (suite_name, tuple(_key(e) for e in expectations))
    if cache_key not in _SUITES:
        _SUITES[cache_key] = _build_suite(expectations, suite_name)
    return _SUITES[cache_key]


def _build_suite(expectations: Sequence[Expect], suite_name: str) -> Any:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=suite_name)
    for index, declared in enumerate(expectations):
        cls = getattr(gxe, declared.gx_type, None)
        if cls is None:
            raise ValidationMachineryError(f"{suite_name}: unknown expectation type {declared.gx_type!r}")
        try:
            expectation = cls(**declared.kwargs, meta={"index": index, "check": declared.check})
        except Exception as exc:  # pydantic refuses bad arguments: a suite bug, not bad data
            raise ValidationMachineryError(f"{suite_name}: {declared.label()} is malformed: {exc}") from exc
        suite.add_expectation(expectation)
    return suite


def _raised(exception_info: Any) -> str:
    """The message of an exception GX caught while computing an expectation, or ""."""
    if not exception_info:
        return ""
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message") or "unknown error")
    return ""


def _outcome(
    declared: Expect, success: bool | None, result: dict[str, Any], rows: int, partition_column: str | None
) -> ExpectationOutcome:
    examples = [_plain(v) for v in (result.get("partial_unexpected_list") or [])[:EXAMPLES]]
    observed = result.get("observed_value")
    indexed = result.get("partial_unexpected_index_list") or []
    partitions = sorted(
        {str(row[partition_column]) for row in indexed if isinstance(row, dict) and partition_column in row}
    )
    return ExpectationOutcome(
        check=declared.check,
        expectation=declared.label(),
        success=bool(success),
        # BOOLEAN_ONLY results carry no counts: every expectation here judges every row of the frame.
        element_count=int(result.get("element_count") or rows),
        unexpected_count=int(result.get("unexpected_count") or 0),
        examples=examples,
        partitions=partitions,
        observed=None if observed is None else _plain(observed),
    )


def _plain(value: Any) -> Any:
    """A JSON- and metadata-friendly version of a value GX reports (tuples of pairs, NA, numpy scalars)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or type(value) in (bool, int, float, str):  # not subclasses: numpy's float64 is one
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    text = str(value)
    return None if text in {"<NA>", "NaT", "nan"} else text
