"""A small customs landing set whose marts are worked out by hand in the tests.

Partition 2026-11-20 (Almaty). File ``a.csv`` is the day's export, ``b.csv`` a later delivery with
corrections (and an extra column the contract does not know).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_landing

DATE = "2026-11-20"
SOURCE = "customs_declarations"
HEADER = [
    "declaration_id", "version", "item_no", "registered_at", "status", "direction", "procedure", "tnved",
    "origin_country", "partner_country", "crossing_code", "transport_mode", "gross_kg", "net_kg",
    "stat_value_usd", "customs_value_kzt", "containers_teu",
]


def row(decl: str, version: object = 1, item: object = 1, **overrides: object) -> list[object]:
    base: dict[str, object] = {
        "declaration_id": f"55207/201126/{decl}",
        "version": version,
        "item_no": item,
        "registered_at": "2026-11-20T10:00:00+05:00",
        "status": "released",
        "direction": "IM",
        "procedure": "40",
        "tnved": "8471300000",
        "origin_country": "CN",
        "partner_country": "CN",
        "crossing_code": "NUR_ZHOLY_ROAD",
        "transport_mode": "30",
        "gross_kg": "1000",
        "net_kg": "900",
        "stat_value_usd": "5000",
        "customs_value_kzt": "2350000",
        "containers_teu": "1",
    }
    base.update(overrides)
    return [base[c] for c in HEADER]


D1_ITEM1 = row("0000001", 1, 1)
GOOD_ROWS = [
    D1_ITEM1,
    row("0000001", 1, 2, gross_kg="500", net_kg="450", stat_value_usd="2000", customs_value_kzt="940000",
        containers_teu=""),
    # 19:30 UTC on the 19th is 00:30 on the 20th in Almaty (UTC+5): it belongs to this partition.
    row("0000002", 1, 1, registered_at="2026-11-19T19:30:00Z", direction="EK", procedure="10",
        tnved="2603000000", origin_country="KZ", crossing_code="DOSTYK_RAIL", transport_mode="20",
        gross_kg="60000", net_kg="58000", stat_value_usd="110000", customs_value_kzt="51700000",
        containers_teu=""),
    row("0000003", 1, 1, tnved="8703800000", gross_kg="2000", net_kg="1800", stat_value_usd="30000"),
    row("0000004", 1, 1, tnved="8507600000", crossing_code="ALTYNKOL_RAIL", transport_mode="20",
        gross_kg="3000", net_kg="2800", stat_value_usd="50000"),
    row("0000004", 1, 2, tnved="8507600000", crossing_code="ALTYNKOL_RAIL", transport_mode="20",
        gross_kg="100", net_kg="90", stat_value_usd="1000"),
]
CONFLICTING = [row("0000005", 1, 1, gross_kg="1700"), row("0000005", 1, 1, gross_kg="1701")]
# One row per fault kind, with the reason the contract gives it.
FAULTS: list[tuple[list[object], str]] = [
    (row("0000006", tnved="847130000"), "invalid_tnved"),
    (row("0000007", origin_country="XX"), "invalid_origin_country"),
    (row("0000008", gross_kg="-5"), "gross_kg_below_0"),
    (row("0000009", net_kg="1200"), "net_kg_exceeds_gross_kg"),
    (row("0000010", registered_at="2026-11-20T19:30:00Z"), "registered_at_not_on_partition_date"),
    (row("0000011", crossing_code="KHORGOS"), "invalid_crossing_code"),
    (row("0000012", direction="IN"), "invalid_direction"),
    (row("0000013", status="pending"), "invalid_status"),
    (row("0000014", version="0"), "version_below_1"),
    (row("0000015", procedure="4"), "invalid_procedure"),
    (row("0000016", transport_mode="25"), "invalid_transport_mode"),
    (row("0000017", registered_at="2026-11-20T10:00:00"), "invalid_registered_at"),
    (row("0000018", stat_value_usd="12,5"), "invalid_stat_value_usd"),
    ([None, *row("0000019")[1:]], "missing_declaration_id"),
]
CORRECTIONS_HEADER = [*HEADER, "comment"]
CORRECTIONS = [
    [*D1_ITEM1, "re-sent"],  # exact duplicate of a row of a.csv
    [*row("0000003", 2, 1, status="cancelled", tnved="8703800000", gross_kg="2000", net_kg="1800",
          stat_value_usd="30000"), "cancelled"],
    # Version 2 of D4 restates the declaration with one item only, at a new value: item 2 is gone.
    [*row("0000004", 2, 1, tnved="8507600000", crossing_code="ALTYNKOL_RAIL", transport_mode="20",
          gross_kg="3000", net_kg="2800", stat_value_usd="55000"), "value corrected"],
]

ROWS_READ = len(GOOD_ROWS) + len(CONFLICTING) + len(FAULTS) + len(CORRECTIONS)


def write_landing_set(data_dir: Path, date: str = DATE) -> None:
    write_landing(data_dir, SOURCE, date, "a.csv", HEADER, [*GOOD_ROWS, *CONFLICTING, *(r for r, _ in FAULTS)])
    write_landing(data_dir, SOURCE, date, "b.csv", CORRECTIONS_HEADER, CORRECTIONS)
