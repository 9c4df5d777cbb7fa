"""Calendar effects shared by the demo generators: weekly rhythm, growth, Chinese New Year, Golden Week."""

from __future__ import annotations

import datetime as dt

import numpy as np

# Chinese New Year's day (first day of the lunar year), 2017–2030.
CHINESE_NEW_YEAR = {
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}

# Monday..Sunday activity of customs offices and road checkpoints.
WEEKDAY_FACTOR = np.array([1.08, 1.10, 1.08, 1.06, 1.04, 0.82, 0.62])


def holiday_factor(day: dt.date) -> float:
    """Slow-down of Chinese-side activity: the Spring Festival fortnight and the October Golden Week."""
    cny = CHINESE_NEW_YEAR.get(day.year)
    factor = 1.0
    if cny is not None:
        offset = (day - cny).days
        if -3 <= offset <= 7:
            factor = 0.35
        elif 8 <= offset <= 14:
            factor = 0.7
    if day.month == 10 and 1 <= day.day <= 7:
        factor = min(factor, 0.6)
    return factor


def growth_factor(day: dt.date, annual_growth: float = 0.12, base_year: int = 2024) -> float:
    """Corridor trade grows ~12 % a year (rail 28 Mt in 2023 → 32 Mt in 2024; vehicles doubling 2022–25)."""
    years = (day - dt.date(base_year, 1, 1)).days / 365.25
    return float((1 + annual_growth) ** years)


def day_rng(seed: int, stream: str, day: dt.date) -> np.random.Generator:
    """One independent random stream per (generator, day): any date range reproduces the same files."""
    stream_id = int.from_bytes(stream.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng([seed, stream_id, day.toordinal()])
