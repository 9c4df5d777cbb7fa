"""The HS classification as a dimension: sections and chapters shipped with the package, HS6 texts from
Comtrade's reference file (contracts 3.4: ``files/v1/app/reference/HS.json``), cached under raw/comtrade/.

The shipped sections and chapters keep names available offline (demo mode, or before the reference file was
ever fetched); the reference file adds the text of every HS6 code and drives the splitting of capped answers.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import polars as pl

HS_DIMENSION_SCHEMA: dict[str, pl.DataType] = {
    "hs6": pl.String(),
    "hs6_name": pl.String(),
    "hs4": pl.String(),
    "hs2": pl.String(),
    "hs2_name": pl.String(),
    "hs_section": pl.String(),
    "hs_section_name": pl.String(),
}


class HsReferenceError(Exception):
    """Comtrade's HS reference file is not the documented ``{"results": [...]}``."""


@cache
def chapters() -> pl.DataFrame:
    """HS chapters (hs2) with their English names and their section (roman numeral and name)."""
    package = resources.files(__package__)
    chapter_rows = pl.read_csv(package.joinpath("hs_chapters.csv").read_bytes(), schema_overrides={"hs2": pl.String})
    sections = pl.read_csv(
        package.joinpath("hs_sections.csv").read_bytes(),
        schema_overrides={"first_hs2": pl.String, "last_hs2": pl.String},
    )
    # Sections are ranges of chapters; a chapter outside every range (99) has no section.
    with_section = chapter_rows.join_where(
        sections, pl.col("hs2") >= pl.col("first_hs2"), pl.col("hs2") <= pl.col("last_hs2")
    ).select("hs2", pl.col("section").alias("hs_section"), pl.col("section_name").alias("hs_section_name"))
    return chapter_rows.join(with_section, on="hs2", how="left").sort("hs2")


def parse_reference(body: bytes) -> pl.DataFrame:
    """HS6 codes of Comtrade's HS.json as (hs6, hs6_name); texts lose their leading "850760 - " code."""
    try:
        document = json.loads(body)
        results = document["results"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HsReferenceError(f"HS reference is not the documented JSON with 'results' ({exc})") from exc
    if not isinstance(results, list):
        raise HsReferenceError("HS reference: 'results' is not a list")
    codes = [
        (str(item["id"]), _strip_code(str(item["id"]), str(item.get("text") or "")))
        for item in results
        if isinstance(item, dict) and len(str(item.get("id", ""))) == 6 and str(item.get("id", "")).isdigit()
    ]
    return pl.DataFrame(codes, schema={"hs6": pl.String, "hs6_name": pl.String}, orient="row").unique(
        "hs6", keep="first", maintain_order=True
    )


def _strip_code(code: str, text: str) -> str:
    prefix = f"{code} - "
    return text[len(prefix) :] if text.startswith(prefix) else text


def codes_by_chapter(hs6: pl.DataFrame) -> dict[str, list[str]]:
    """HS6 codes grouped by chapter, in code order (the order requests are split in)."""
    grouped: dict[str, list[str]] = {}
    for code in sorted(hs6.get_column("hs6").to_list()):
        grouped.setdefault(code[:2], []).append(code)
    return grouped


def dimension(hs6: pl.DataFrame | None = None) -> pl.DataFrame:
    """The HS dimension the marts join to: one row per known HS6 code with chapter and section names."""
    codes = hs6 if hs6 is not None else pl.DataFrame(schema={"hs6": pl.String, "hs6_name": pl.String})
    return (
        codes.with_columns(pl.col("hs6").str.slice(0, 4).alias("hs4"), pl.col("hs6").str.slice(0, 2).alias("hs2"))
        .join(chapters(), on="hs2", how="left")
        .select(list(HS_DIMENSION_SCHEMA))
        .cast(HS_DIMENSION_SCHEMA)  # type: ignore[arg-type]
    )


def attach_names(flows: pl.DataFrame, hs6: pl.DataFrame | None) -> pl.DataFrame:
    """Join HS names onto rows carrying ``hs6``: the HS6 text where the reference knows the code, chapter
    and section names from the shipped list for every code (so nothing depends on the reference file)."""
    empty = pl.DataFrame(schema={"hs6": pl.String, "hs6_name": pl.String})
    texts = hs6.select("hs6", "hs6_name") if hs6 is not None else empty
    return (
        flows.with_columns(pl.col("hs6").str.slice(0, 4).alias("hs4"), pl.col("hs6").str.slice(0, 2).alias("hs2"))
        .join(texts, on="hs6", how="left")
        .join(chapters(), on="hs2", how="left")
    )


def reference_json(hs6: pl.DataFrame) -> bytes:
    """Render HS6 codes (with the shipped chapters) in the shape of Comtrade's HS.json (the demo source)."""
    results: list[dict[str, object]] = [
        {"id": "TOTAL", "text": "Total of all HS commodities", "parent": "#", "isLeaf": "0", "aggrLevel": 0}
    ]
    for row in chapters().iter_rows(named=True):
        results.append(
            {"id": row["hs2"], "text": f"{row['hs2']} - {row['hs2_name']}", "parent": "TOTAL", "isLeaf": "0",
             "aggrLevel": 2}
        )
    for code, name in hs6.select("hs6", "hs6_name").iter_rows():
        results.append({"id": code, "text": f"{code} - {name}", "parent": code[:4], "isLeaf": "1", "aggrLevel": 6})
    return json.dumps({"results": results}, ensure_ascii=False).encode("utf-8")
