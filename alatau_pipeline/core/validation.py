"""The one bridge from Polars to Great Expectations 1.x.

GX validates pandas and Spark frames, not Polars: a frame crosses as an Arrow-backed pandas frame (no copy
of string columns into Python objects), into one ephemeral GX context per process with a pandas data
source and a whole-dataframe batch definition, fed through ``batch_parameters={"dataframe": df}``.

``great_expectations`` takes ~3 s to import (bytecode compiled), so it is imported only inside the
functions here, and the context is built once per process and cached: a run of the in-process executor
pays for it once.

A failure of the machinery itself (an expectation that raised, a column the suite names that the frame
lacks, an unknown expectation type) raises :class:`ValidationMachineryError`: it must never read as a
pass.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
    _memoize_gx_rebuilds()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("alatau_marts")
    asset = source.add_dataframe_asset("mart_frames")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
    # GX's import leaves ~270k long-lived objects tracked by the cyclic garbage collector; each full
    # collection walked them all, a ~200 ms pause now and then inside a validation (a day of items
    # validates in ~80 ms; 30 in a row had pauses up to ~290 ms, frozen up to ~110 ms). Frozen (with
    # everything else alive now), they are left out of every later collection; plain reference counting
    # still frees whatever they drop.
    gc.freeze()
    return batch_definition


def _skip_batch_fingerprint() -> None:
    """Stop GX hashing every cell of each batch (``pandas_data_fingerprint``, a batch marker we never use).

    The hash walks tz-aware timestamps one by one and runs twice per validation: on a month of customs
    items it cost more than every expectation together. GX skips it above ``HASH_THRESHOLD`` bytes, so a
    threshold of 0 skips it always; if a GX release drops the constant, validation still works, only slower.
    """
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0


# While one of our GX calls runs on this thread: (function, id(obj)) → (obj, obj's state, result); None
# outside. See _memoize_gx_rebuilds.
_MEMO = threading.local()


def _memoize_gx_rebuilds() -> None:
    """Stop GX rebuilding the same objects thousands of times per validation (measured: 60 % of its time).

    GX's ``Validator.graph_validate`` turns each expectation's configuration into a new pydantic
    ``Expectation`` (``ExpectationConfiguration.to_domain_obj``) once to collect its metrics, once
    more for every metric it depends on, and again to judge it; every access of
    ``Expectation.configuration`` (~10 per instance: per domain, success and runtime key, per metric,
    for the result) serializes the whole model, value sets included, into a new configuration; and
    every metric configuration it makes (~20 per expectation) hashes its kwargs, value sets included,
    as JSON (``IDDict.to_id``). A day of customs_items (42 expectations) made ~3,000 configurations.

    Each is a function of its object's current state, and GX does not change an object between two
    such calls while validating. So while :func:`_gx_call` is active (only around our own
    ``batch.validate`` calls, on the calling thread) the result is remembered as long as the object's
    state is the same: for an expectation, every field still holds the very object it held; for a
    configuration, every attribute, kwarg and meta entry; for an IDDict, the same keys holding the
    same plain values or lists (checked by identity at each call, with the objects held meanwhile so
    no id is reused; anything reassigned or added rebuilds). Outside that scope GX's code runs
    unchanged, and if a GX release renames or reshapes one of them, it is left alone: validation still
    works, only slower. ``tests/validation/test_machinery.py`` checks that results are identical with
    and without this, on clean and on broken data.
    """
    from great_expectations.core.id_dict import IDDict
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    configuration = Expectation.__dict__.get("configuration")
    if isinstance(configuration, property) and configuration.fget and not hasattr(configuration.fget, "_memo"):
        memo = _memoized(configuration.fget, lambda e: tuple(e.__dict__.values()))
        Expectation.configuration = property(memo, doc=configuration.__doc__)  # type: ignore[method-assign]
    to_domain_obj = ExpectationConfiguration.__dict__.get("to_domain_obj")
    if callable(to_domain_obj) and not hasattr(to_domain_obj, "_memo"):
        ExpectationConfiguration.to_domain_obj = _memoized(to_domain_obj, _configuration_state)  # type: ignore[method-assign]
    to_id = IDDict.__dict__.get("to_id")
    if callable(to_id) and not hasattr(to_id, "_memo"):
        IDDict.to_id = _memoized_to_id(to_id)  # type: ignore[method-assign]


def _configuration_state(config: Any) -> tuple[Any, ...]:
    kwargs, meta = config.kwargs, config.meta or {}
    return (*config.__dict__.values(), *kwargs.keys(), *kwargs.values(), *meta.keys(), *meta.values())


def _memoized(build: Any, state: Any) -> Any:
    """``build(obj)``, remembered per object (by identity) within :func:`_gx_call` while ``state(obj)``
    holds the same objects."""

    def memo(obj: Any) -> Any:
        cache: dict[tuple[Any, int], tuple[Any, tuple[Any, ...], Any]] | None = getattr(_MEMO, "cache", None)
        if cache is None:
            return build(obj)
        now = state(obj)
        known = cache.get((build, id(obj)))
        if known is not None and known[0] is obj and len(known[1]) == len(now) and all(
            a is b for a, b in zip(known[1], now, strict=True)
        ):
            return known[2]
        value = build(obj)
        cache[(build, id(obj))] = (obj, now, value)  # holds obj and its state: no id is reused meanwhile
        return value

    memo._memo = True  # type: ignore[attr-defined]
    memo.__doc__ = build.__doc__
    return memo


# Values an IDDict is remembered by (by identity): immutable ones, and lists GX only reads (value sets).
_ID_VALUE_TYPES = frozenset({type(None), bool, int, float, str, tuple, list})


def _length(value: Any) -> int:
    return len(value) if type(value) is list else -1


def _memoized_to_id(to_id: Any) -> Any:
    """``IDDict.to_id`` (an md5 of the dict as JSON, value sets included, computed for every metric
    configuration GX builds and at every hash of one), remembered within :func:`_gx_call` for dicts
    holding the very same objects under the same keys (plain values and lists only)."""

    def memo(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
        cache = getattr(_MEMO, "cache", None)
        if cache is None or id_keys is not None or id_ignore_keys is not None:
            return to_id(self, id_keys, id_ignore_keys)
        values = tuple(self.values())
        if not all(type(v) in _ID_VALUE_TYPES for v in values):  # e.g. a nested dict: computed each time
            return to_id(self)
        key = (to_id, type(self), tuple(self.keys()), tuple(map(id, values)), tuple(map(_length, values)))
        known = cache.get(key)
        if known is not None:  # its values are held below: their ids were not reused
            return known[1]
        result = to_id(self)
        cache[key] = (values, result)
        return result

    memo._memo = True  # type: ignore[attr-defined]
    memo.__doc__ = to_id.__doc__
    return memo


@contextmanager
def _gx_call() -> Iterator[None]:
    """Scope of :func:`_memoize_gx_rebuilds`' cache: one of our GX calls, on this thread."""
    if getattr(_MEMO, "cache", None) is not None:  # nested: the outer scope's cache serves
        yield
        return
    _MEMO.cache = {}
    try:
        yield
    finally:
        _MEMO.cache = None


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
    the ones that failed are run again, in a second call, for their counts and example values. Plain
    not-null expectations (a third to a half of every suite: the required columns) are judged in Polars
    instead, with the very counts, examples and partitions GX reports (:func:`_not_null_in_polars`).
    """
    missing = sorted({c for e in expectations for c in e.columns()} - set(frame.columns))
    if missing:
        raise ValidationMachineryError(f"{suite_name}: expectations reference column(s) not in the data: {missing}")
    # GX keeps one copy of identical expectations in a suite: send each once, map results back to all.
    keys = [_key(e) for e in expectations]
    distinct = {key: expectations[keys.index(key)] for key in dict.fromkeys(keys)}
    in_polars = {k: e for k, e in distinct.items() if _judged_in_polars(e, frame)}
    to_gx = [e for k, e in distinct.items() if k not in in_polars]
    results: dict[Any, Any] = {}
    if to_gx:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch = _batch_definition().get_batch(batch_parameters={"dataframe": to_pandas(frame)})
            verdicts = _validate(batch, to_gx, suite_name, "BOOLEAN_ONLY")
            failed = [e for e in to_gx if not verdicts[_key(e)].success]
            index = [partition_column] if partition_column in frame.columns else []
            details = _validate(batch, failed, suite_name, "SUMMARY", index) if failed else {}
        results = {**verdicts, **details}
    found = {k: (item.success, item.result) for k, item in results.items()}
    found.update(_not_null_in_polars(frame, in_polars, partition_column))
    outcomes = [
        _outcome(e, found[k][0], found[k][1], frame.height, partition_column)
        for e, k in zip(expectations, keys, strict=True)
    ]
    gx_result = {
        "suite": suite_name,
        "success": all(success for success, _ in found.values()),
        "rows": frame.height,
        "results": [
            results[k].to_json_dict() if k in results else _polars_result(distinct[k], *found[k]) for k in distinct
        ],
    }
    return BridgeResult(outcomes=outcomes, gx_result=gx_result)


def _judged_in_polars(expectation: Expect, frame: pl.DataFrame) -> bool:
    """A not-null expectation without options, on a column whose type :func:`_not_null_in_polars` covers."""
    if expectation.gx_type != "ExpectColumnValuesToNotBeNull" or set(expectation.kwargs) != {"column"}:
        return False
    dtype = frame.schema[expectation.kwargs["column"]]
    return dtype.is_integer() or dtype.is_float() or dtype in (pl.String, pl.Boolean, pl.Date) or isinstance(
        dtype, pl.Datetime
    )


def _not_null_in_polars(
    frame: pl.DataFrame, expectations: dict[Any, Expect], partition_column: str | None
) -> dict[Any, tuple[bool, dict[str, Any]]]:
    """``expect_column_values_to_not_be_null`` as GX judges the frame :func:`to_pandas` hands it: a null, or
    a NaN (numbers cross as numpy floats, nulls as NaN), is missing. Passed: no result (as BOOLEAN_ONLY);
    failed: GX's SUMMARY counts, its examples (the missing values: NaN for numbers, None otherwise) and
    the partitions of the first unexpected rows. Every column counted in one query."""

    def missing(column: str) -> pl.Expr:
        is_nan = pl.col(column).is_nan() if frame.schema[column].is_float() else False
        return pl.col(column).is_null() | is_nan

    columns = {key: e.kwargs["column"] for key, e in expectations.items()}
    if not columns:
        return {}
    counts = frame.select(missing(c).sum().alias(str(i)) for i, c in enumerate(columns.values())).row(0)
    found: dict[Any, tuple[bool, dict[str, Any]]] = {}
    for (key, column), count in zip(columns.items(), counts, strict=True):
        if not count:
            found[key] = (True, {})
            continue
        shown = float("nan") if frame.schema[column].is_numeric() else None
        result: dict[str, Any] = {
            "element_count": frame.height,
            "unexpected_count": int(count),
            "unexpected_percent": 100 * count / frame.height,
            "partial_unexpected_list": [shown] * min(count, EXAMPLES),
        }
        if partition_column in frame.columns:
            first = frame.filter(missing(column)).head(EXAMPLES).get_column(partition_column).to_list()
            result["unexpected_index_column_names"] = [partition_column]
            result["partial_unexpected_index_list"] = [{column: shown, partition_column: value} for value in first]
        found[key] = (False, result)
    return found


def _polars_result(expectation: Expect, success: bool, result: dict[str, Any]) -> dict[str, Any]:
    """The report entry of an expectation judged in Polars, shaped like GX's."""
    snake = expectation.label().split("(", 1)[0]
    return {
        "success": success,
        "expectation_config": {"type": snake, "kwargs": dict(expectation.kwargs), "meta": {"check": expectation.check}},
        "result": result,
        "judged_by": "polars (alatau_pipeline.core.validation._not_null_in_polars)",
    }


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
    with _gx_call():
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
