"""Validation reports under ``reports/validation/<mart>/``: the full result as JSON and a readable page.

One pair of files per validated range, named after it (``2026-11-20`` or ``2026-10-01_to_2026-10-31``),
replaced atomically when the range is validated again.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from alatau_pipeline.core.monitors import MonitorOutcome
from alatau_pipeline.core.storage import REPORTS_ZONE, PartitionedParquetStore
from alatau_pipeline.core.validation import ExpectationOutcome

VALIDATION_FOLDER = "validation"


def report_name(keys: Sequence[str]) -> str:
    if not keys:
        return "no-partitions"
    return keys[0] if len(keys) == 1 else f"{keys[0]}_to_{keys[-1]}"


def write_reports(
    store: PartitionedParquetStore,
    mart: str,
    keys: Sequence[str],
    outcomes: Sequence[ExpectationOutcome],
    monitors: Sequence[MonitorOutcome],
    gx_results: Sequence[dict[str, Any]],
    rows: int,
) -> tuple[str, str]:
    """Write ``<name>.json`` and ``<name>.html``; returns their URLs."""
    name = report_name(keys)
    document = {
        "mart": mart,
        "validated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "partitions": {"first": keys[0] if keys else None, "last": keys[-1] if keys else None, "count": len(keys)},
        "rows": rows,
        "success": all(o.success for o in outcomes),
        "expectations": [asdict(o) for o in outcomes],
        "monitors": [asdict(m) for m in monitors],
        # One GX validation result per batch of partitions validated in one call.
        "great_expectations_results": list(gx_results),
    }
    folder = (REPORTS_ZONE, VALIDATION_FOLDER, mart)
    store.write_bytes(json.dumps(document, indent=1, default=str).encode("utf-8"), *folder, f"{name}.json")
    page = render_html(mart, keys, outcomes, monitors, rows)
    store.write_bytes(page.encode("utf-8"), *folder, f"{name}.html")
    return store.url(*folder, f"{name}.json"), store.url(*folder, f"{name}.html")


def render_html(
    mart: str,
    keys: Sequence[str],
    outcomes: Sequence[ExpectationOutcome],
    monitors: Sequence[MonitorOutcome],
    rows: int,
) -> str:
    esc = html.escape
    failed = sum(not o.success for o in outcomes)
    span = report_name(keys).replace("_to_", " … ")
    head = (
        f"<h1>{esc(mart)}: {esc(span)}</h1><p>{len(keys)} partition(s), {rows} row(s); "
        f"<b class='{'bad' if failed else 'ok'}'>{failed} of {len(outcomes)} expectation(s) failed</b>.</p>"
    )
    exp_rows = "".join(
        f"<tr class='{'ok' if o.success else 'bad'}'><td>{esc(o.check)}</td><td>{esc(o.expectation)}</td>"
        f"<td>{'pass' if o.success else 'FAIL'}</td><td>{o.unexpected_count}</td><td>{o.element_count}</td>"
        f"<td>{esc(json.dumps(o.examples, default=str))}</td><td>{esc(', '.join(o.partitions))}</td>"
        f"<td>{esc('' if o.observed is None else json.dumps(o.observed, default=str))} {esc(o.note)}</td></tr>"
        for o in outcomes
    )
    mon_rows = "".join(
        f"<tr class='{'ok' if m.passed else 'warn'}'><td>{esc(m.name)}</td><td>{'pass' if m.passed else 'WARN'}</td>"
        f"<td>{esc(m.description)}</td><td>{esc(json.dumps(m.metadata.get('examples', []), default=str))}</td></tr>"
        for m in monitors
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}"
        ".bad{background:#fdd}.warn{background:#ffe9b3}.ok{background:#efe}b.ok,b.bad{background:none}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(mart)} validation</title>"
        f"<style>{style}</style></head><body>{head}"
        "<h2>Expectations (blocking)</h2><table><tr><th>check</th><th>expectation</th><th>result</th>"
        f"<th>unexpected</th><th>rows</th><th>examples</th><th>in partitions</th><th>observed / note</th></tr>"
        f"{exp_rows}</table>"
        "<h2>Monitors (warn)</h2><table><tr><th>monitor</th><th>result</th><th>finding</th><th>examples</th></tr>"
        f"{mon_rows}</table></body></html>"
    )
