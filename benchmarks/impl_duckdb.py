"""The customs chain in DuckDB SQL: the same contract rules, quarantine, versions and duplicates.

The SQL for the row rules is generated from ``customs.contract.COLUMN_RULES`` so both engines judge
rows by the same rules; the chain's semantics (contracts 3.1) are restated in SQL below.
"""

from __future__ import annotations

import glob
import gzip
from pathlib import Path

import duckdb

from alatau_pipeline.core.partitions import ALMATY_TZ
from alatau_pipeline.core.rules import ColumnRule
from alatau_pipeline.customs.contract import COLUMN_RULES, COLUMNS, SOURCE
from benchmarks.rules_text import number, shape_pattern

_DECIMALS = [r.name for r in COLUMN_RULES if r.kind == "decimal"]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed(rule: ColumnRule) -> str:
    col = f'"{rule.name}"'
    shape = shape_pattern(rule)
    shaped = f"regexp_full_match({col}, {_quote(shape)})" if shape else "TRUE"
    match rule.kind:
        case "int":
            return f"CASE WHEN {shaped} THEN TRY_CAST({col} AS BIGINT) END"
        case "decimal":
            return f"CASE WHEN isfinite(TRY_CAST({col} AS DOUBLE)) THEN TRY_CAST({col} AS DOUBLE) END"
        case "timestamp":
            return f"CASE WHEN {shaped} THEN TRY_CAST({col} AS TIMESTAMPTZ) END"
        case _:
            return col


def _reasons(rule: ColumnRule) -> list[str]:
    col = f'"{rule.name}"'
    typed = _typed(rule)
    out = []
    if rule.required:
        out.append(f"CASE WHEN {col} IS NULL THEN 'missing_{rule.name}' END")
    invalid = [f"{typed} IS NULL"] if rule.kind != "string" else []
    if rule.pattern is not None:
        invalid.append(f"NOT regexp_full_match({col}, {_quote(rule.pattern)})")
    if rule.allowed is not None:
        invalid.append(f"{col} NOT IN ({', '.join(_quote(v) for v in sorted(rule.allowed))})")
    if invalid:
        out.append(f"CASE WHEN {col} IS NOT NULL AND ({' OR '.join(invalid)}) THEN 'invalid_{rule.name}' END")
    if rule.minimum is not None:
        out.append(f"CASE WHEN {typed} < {rule.minimum} THEN '{rule.name}_below_{number(rule.minimum)}' END")
    return out


def chain_sql(landing_glob: str, union_by_name: bool) -> str:
    cleaned = ", ".join(f"NULLIF(trim(\"{c}\"), '') AS \"{c}\"" for c in COLUMNS)
    reasons = [r for rule in COLUMN_RULES for r in _reasons(rule)]
    typed = ", ".join(f"{_typed(rule)} AS \"{rule.name}\"" for rule in COLUMN_RULES)
    cross = [
        "CASE WHEN net_kg > gross_kg THEN 'net_kg_exceeds_gross_kg' END",
        f"CASE WHEN CAST(timezone('{ALMATY_TZ}', registered_at) AS DATE) <> CAST(date AS DATE) "
        "THEN 'registered_at_not_on_partition_date' END",
    ]
    key = "date, declaration_id, version, item_no"
    return f"""
CREATE TEMP TABLE raw AS
  SELECT {cleaned}, filename AS _source_file, date
  FROM read_csv({_quote(landing_glob)}, all_varchar = true, header = true,
                delim = ',', quote = '"', escape = '"', union_by_name = {str(union_by_name).lower()},
                filename = true, hive_partitioning = true, hive_types = {{'date': 'VARCHAR'}});
CREATE TEMP TABLE judged AS
  SELECT *, NULLIF(concat_ws('; ', {", ".join(reasons)}), '') AS _column_reason FROM raw;
CREATE TEMP TABLE typed AS
  SELECT * EXCLUDE (_column_reason),
         NULLIF(concat_ws('; ', _column_reason, {", ".join(cross)}), '') AS _reason
  FROM (SELECT date, _source_file, _column_reason, {typed},
               {", ".join(f'"{c}" AS "_raw_{c}"' for c in COLUMNS)} FROM judged);
-- Two deliveries of one (declaration, version, item) that disagree on any value are both quarantined.
CREATE TEMP TABLE conflicts AS
  SELECT {key} FROM (SELECT DISTINCT date, {", ".join(COLUMNS)} FROM typed WHERE _reason IS NULL)
  GROUP BY ALL HAVING count(*) > 1;
CREATE TEMP TABLE quarantined AS
  SELECT {", ".join(f'"_raw_{c}" AS "{c}"' for c in COLUMNS)}, _reason, _source_file, date
  FROM typed WHERE _reason IS NOT NULL
  UNION ALL
  SELECT {", ".join(f't."_raw_{c}" AS "{c}"' for c in COLUMNS)}, 'conflicting_duplicate', t._source_file, t.date
  FROM typed t SEMI JOIN conflicts c USING ({key}) WHERE t._reason IS NULL;
-- Highest version per declaration over every row whose id and version parse, rejected rows included.
CREATE TEMP TABLE current_versions AS
  SELECT date, declaration_id, max(v) AS current_version
  FROM (SELECT date, declaration_id,
               CASE WHEN regexp_full_match(version, {_quote(shape_pattern(COLUMN_RULES[1]) or "")})
                    THEN TRY_CAST(version AS BIGINT) END AS v
        FROM raw WHERE regexp_full_match(declaration_id, {_quote(COLUMN_RULES[0].pattern or "")}))
  WHERE v >= 1 GROUP BY ALL;
CREATE TEMP TABLE current_rows AS
  SELECT DISTINCT ON ({key}) t.* EXCLUDE (_reason)
  FROM typed t ANTI JOIN conflicts c USING ({key})
  JOIN current_versions cv ON cv.date = t.date AND cv.declaration_id = t.declaration_id
                          AND cv.current_version = t.version
  WHERE t._reason IS NULL;
CREATE TEMP TABLE items AS
  SELECT date, declaration_id, item_no, version, registered_at, direction, procedure, tnved,
         tnved[1:6] AS hs6, tnved[1:4] AS hs4, tnved[1:2] AS hs2, origin_country, partner_country,
         crossing_code, transport_mode, {", ".join(_DECIMALS)}
  FROM current_rows
  QUALIFY NOT bool_or(status = 'cancelled') OVER (PARTITION BY date, declaration_id);
CREATE TEMP TABLE daily AS
  SELECT date, direction, crossing_code, hs2, count(DISTINCT declaration_id) AS declarations,
         count(*) AS items, {", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in _DECIMALS if c != "gross_kg")},
         coalesce(sum(gross_kg), 0) AS gross_kg
  FROM items GROUP BY ALL;
"""


def _headers_differ(files: list[str]) -> bool:
    """Whether the files' header rows differ; DuckDB's union_by_name handles that but costs ~5x."""
    headers = set()
    for file in files:
        with (gzip.open if file.endswith(".gz") else open)(file, "rb") as handle:
            headers.add(handle.readline().removeprefix(b"\xef\xbb\xbf").strip())
    return len(headers) > 1


def run(landing_root: str, out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    landing_glob = f"{landing_root}/landing/{SOURCE}/*/*.csv*"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(chain_sql(landing_glob, _headers_differ(sorted(glob.glob(landing_glob)))))
    for table, target in (("quarantined", f"quarantine/{SOURCE}"), ("items", "marts/customs_items"),
                          ("daily", "marts/customs_daily")):
        (out / target).parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY {table} TO {_quote(str(out / target))} "
            "(FORMAT parquet, PARTITION_BY (date), OVERWRITE_OR_IGNORE true)"
        )
    con.close()
