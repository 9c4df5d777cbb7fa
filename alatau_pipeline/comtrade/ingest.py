"""Pulling one reporter-month from Comtrade into ``raw/comtrade/``, splitting answers cut at ``maxRecords``.

Layout (no key anywhere: it travels in a header and is never written):

    raw/comtrade/reference/HS.json                                   the HS classification, cached
    raw/comtrade/reference/HS.fetched.json                           when it was fetched (its age)
    raw/comtrade/reference/HS.retired.json                           codes earlier copies listed, the current not
    raw/comtrade/reference/hs_classification.parquet                 the same as a dimension table (names)
    raw/comtrade/calls/date=YYYY-MM-DD.json                          live calls made that day (the budget)
    raw/comtrade/period=YYYY-MM/reporter=398/pull=<id>/<part>.json   every answer of one pull, as received
    raw/comtrade/period=YYYY-MM/reporter=398/manifest.json           the latest complete pull: its answers

Every answer is stored before it is parsed. The manifest is written last, so a pull that fails half-way
leaves the previous manifest (and so the previous complete set of answers) in force; earlier pulls stay
as the history of Comtrade's revisions. Parsing reads only what the manifest lists: no network.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import polars as pl

from alatau_pipeline.comtrade import hs
from alatau_pipeline.comtrade.parse import parse_answer
from alatau_pipeline.comtrade.resources import ComtradeBudgetExhausted, ComtradeClient, ComtradeError
from alatau_pipeline.core.storage import RAW_ZONE, PartitionedParquetStore

RAW = (RAW_ZONE, "comtrade")
HS_REFERENCE_FILE = (*RAW, "reference", "HS.json")
# When HS.json was fetched, as {"fetched_at": ISO 8601}: a cache older than the client's
# hs_reference_max_age_days is fetched again.
HS_REFERENCE_FETCHED_FILE = (*RAW, "reference", "HS.fetched.json")
# HS6 codes that an earlier copy of HS.json listed and a refreshed one no longer does (an HS revision
# retires codes), in HS.json's shape: older months reported under them are still split by them.
HS_RETIRED_FILE = (*RAW, "reference", "HS.retired.json")
# A refresh can fall back on the cached copy, so it does not wait through the client's full retries.
HS_REFRESH_ATTEMPTS = 2
# A stamp this far in the future (a clock set back, a hand edit) does not count as fresh.
_CLOCK_SKEW = dt.timedelta(hours=1)
# The HS dimension as one table (every HS6 code with chapter and section names) for analysts' joins.
HS_DIMENSION_FILE = (*RAW, "reference", "hs_classification.parquet")
KAZAKHSTAN, CHINA = 398, 156
REPORTERS = ((KAZAKHSTAN, CHINA), (CHINA, KAZAKHSTAN))  # (reporter, partner): each side of the same trade
# Contracts 3.4: explicit HS6 lists in cmdCode, kept short enough for a URL of about 4,000 characters.
MAX_CMD_CODE_CHARS = 3_400


@dataclass
class PullReport:
    period: str
    reporter: int
    answers: list[str] = field(default_factory=list)  # files the manifest lists
    cut_answers: list[str] = field(default_factory=list)  # stored, but replaced by their splits
    records: int = 0


def month_folder(period: str, reporter: int) -> tuple[str, ...]:
    return (*RAW, f"period={period}", f"reporter={reporter}")


def base_params(reporter: int, partner: int, period: str, max_records: int) -> dict[str, str]:
    """The query of contracts 3.4 for one reporter-month (``period`` as ``YYYY-MM``)."""
    return {
        "reporterCode": str(reporter),
        "partnerCode": str(partner),
        "period": period.replace("-", ""),
        "cmdCode": "AG6",
        "flowCode": "M,X",
        "maxRecords": str(max_records),
    }


def ensure_hs_reference(
    client: ComtradeClient,
    store: PartitionedParquetStore,
    *,
    now: dt.datetime | None = None,
    warn: Callable[[str], None] = lambda _: None,
) -> pl.DataFrame:
    """The HS6 codes to split capped answers by: those of the cached reference file, fetched (without key)
    when it is missing or older than ``client.hs_reference_max_age_days``, plus the codes earlier copies
    listed and a refresh retired.

    Answers cut at ``maxRecords`` are split into explicit lists of these codes (plus the codes the cut
    answer itself shows, see ``_split``), so a code missing from both is never asked for and its records
    would be missing without a word. Hence the refresh (an HS revision adds codes) and the retired codes
    (older months were reported under them). A refresh that fails, or that answers a file without HS6
    codes, keeps the cached copy and says so through ``warn``, trying the API only ``HS_REFRESH_ATTEMPTS``
    times; with no cached copy the error is raised. A file that is not the documented JSON is never cached.
    """
    now = now or dt.datetime.now(dt.UTC)
    cached = store.exists(*HS_REFERENCE_FILE)
    fetched_at = _hs_reference_fetched_at(store) if cached else None
    max_age = dt.timedelta(days=client.hs_reference_max_age_days)
    if cached and fetched_at is not None and -_CLOCK_SKEW <= now - fetched_at < max_age:
        return _known_codes(store)
    try:
        body = client.get_hs_reference(attempts=HS_REFRESH_ATTEMPTS if cached else None)
        codes = hs.parse_reference(body)
        if codes.is_empty():
            raise hs.HsReferenceError("HS reference lists no HS6 codes")
    except (ComtradeError, hs.HsReferenceError) as exc:
        if not cached:
            raise
        when = f"on {fetched_at.date().isoformat()}" if fetched_at else "at an unknown date"
        warn(f"HS reference not refreshed ({exc}); splitting cut answers by the copy fetched {when}")
        return _known_codes(store)
    known = codes
    if cached:
        retired = _known_codes(store).join(codes, on="hs6", how="anti")
        if not retired.is_empty() or store.exists(*HS_RETIRED_FILE):
            store.write_bytes(hs.reference_json(retired), *HS_RETIRED_FILE)
        known = _with_retired(codes, retired)
    store.write_bytes(body, *HS_REFERENCE_FILE)
    buffer = io.BytesIO()
    hs.dimension(known).write_parquet(buffer)
    store.write_bytes(buffer.getvalue(), *HS_DIMENSION_FILE)
    # Written last: a refresh interrupted before this point is simply done again by the next run.
    stamp = {"fetched_at": now.isoformat(timespec="seconds")}
    store.write_bytes(json.dumps(stamp).encode(), *HS_REFERENCE_FETCHED_FILE)
    return known


def _hs_reference_fetched_at(store: PartitionedParquetStore) -> dt.datetime | None:
    """When the cached HS reference was fetched; None for a cache without the stamp (or an unreadable one)."""
    if not store.exists(*HS_REFERENCE_FETCHED_FILE):
        return None
    try:
        fetched_at = dt.datetime.fromisoformat(json.loads(store.read_bytes(*HS_REFERENCE_FETCHED_FILE))["fetched_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=dt.UTC)


def cached_hs_reference(store: PartitionedParquetStore) -> pl.DataFrame | None:
    """The cached HS6 codes with their texts (the current copy's, then the retired ones'), or None if the
    reference was never fetched (parsing needs no network)."""
    return _known_codes(store) if store.exists(*HS_REFERENCE_FILE) else None


def _known_codes(store: PartitionedParquetStore) -> pl.DataFrame:
    codes = hs.parse_reference(store.read_bytes(*HS_REFERENCE_FILE))
    if store.exists(*HS_RETIRED_FILE):
        codes = _with_retired(codes, hs.parse_reference(store.read_bytes(*HS_RETIRED_FILE)))
    return codes


def _with_retired(current: pl.DataFrame, retired: pl.DataFrame) -> pl.DataFrame:
    """The current copy's codes and texts, then the retired codes it no longer lists."""
    return pl.concat([current, retired]).unique("hs6", keep="first", maintain_order=True)


class CallLedger:
    """Live calls made per UTC day, kept under raw/comtrade/calls/ so the daily budget holds across runs
    (the ``comtrade`` pool keeps two runs from counting at once)."""

    def __init__(self, store: PartitionedParquetStore, budget: int, today: Callable[[], dt.date] | None = None):
        self.store = store
        self.budget = budget
        self._today = today or (lambda: dt.datetime.now(dt.UTC).date())

    def _file(self) -> tuple[str, ...]:
        return (*RAW, "calls", f"date={self._today().isoformat()}.json")

    def used(self) -> int:
        file = self._file()
        return int(json.loads(self.store.read_bytes(*file))["calls"]) if self.store.exists(*file) else 0

    def take(self) -> None:
        used = self.used()
        if used >= self.budget:
            raise ComtradeBudgetExhausted(
                f"the daily budget of {self.budget} Comtrade calls is used up for {self._today()}; "
                "re-run tomorrow (months already pulled keep their answers)"
            )
        self.store.write_bytes(json.dumps({"calls": used + 1}).encode(), *self._file())


def cmd_code_chunks(codes: list[str], limit: int = MAX_CMD_CODE_CHARS) -> Iterator[list[str]]:
    """Consecutive runs of ``codes`` whose comma-joined, URL-encoded list stays within ``limit``."""
    chunk: list[str] = []
    for code in codes:
        if chunk and len(quote(",".join([*chunk, code]))) > limit:
            yield chunk
            chunk = []
        chunk.append(code)
    if chunk:
        yield chunk


def pull_month(
    client: ComtradeClient,
    store: PartitionedParquetStore,
    reporter: int,
    partner: int,
    period: str,
    hs_codes: Callable[[], pl.DataFrame],
    ledger: CallLedger | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> PullReport:
    """Pull every HS6 record of one reporter-month, splitting cut answers, and publish a manifest."""
    folder = month_folder(period, reporter)
    pull_id = f"{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"
    params = base_params(reporter, partner, period, client.max_records)
    report = PullReport(period=period, reporter=reporter)
    entries: list[dict[str, Any]] = []
    before_call = ledger.take if ledger is not None else None

    def fetch(cmd_codes: list[str] | None, name: str) -> None:
        query = params | ({"cmdCode": ",".join(cmd_codes)} if cmd_codes else {})
        body = client.get_data(query, before_call=before_call)
        stored = store.write_bytes(body, *folder, f"pull={pull_id}", f"{name}.json")
        records = parse_answer(body, where=_relative(store, stored))
        if len(records) >= client.max_records:
            report.cut_answers.append(f"pull={pull_id}/{name}.json")
            log(f"{period} reporter {reporter}: answer {name} has {len(records)} records, the cap: splitting")
            requests = list(_split(cmd_codes, hs_codes, seen=_hs6_codes(records), log=log))
            if not requests:
                # Never publish a month without its records: the previous manifest stays in force.
                raise ComtradeError(
                    f"{period} reporter {reporter}: answer {name} is cut at maxRecords={client.max_records} and "
                    "the HS reference has no HS6 codes to split it by",
                    retryable=False,
                )
            for part, codes in enumerate(requests):
                if codes == cmd_codes:
                    raise ComtradeError(
                        f"{period} reporter {reporter}: a request for the single code {codes[0]} is still cut "
                        f"at maxRecords={client.max_records}; raise COMTRADE_MAX_RECORDS",
                        retryable=False,
                    )
                fetch(codes, f"{name}-{part:03d}" if cmd_codes else f"hs{codes[0][:2]}-{part:03d}")
            return
        entries.append({"file": f"pull={pull_id}/{name}.json", "cmdCode": query["cmdCode"][:60],
                        "records": len(records)})
        report.answers.append(f"pull={pull_id}/{name}.json")
        report.records += len(records)

    fetch(None, "all")
    manifest = {
        "period": period,
        "reporter": reporter,
        "partner": partner,
        "source": client.source,
        "pull": pull_id,
        "pulled_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "request": {k: v for k, v in params.items() if k != "cmdCode"},
        "answers": entries,
        "cut_answers": report.cut_answers,
    }
    store.write_bytes(json.dumps(manifest, indent=1).encode(), *folder, "manifest.json")
    return report


def _split(
    cmd_codes: list[str] | None,
    hs_codes: Callable[[], pl.DataFrame],
    seen: AbstractSet[str] = frozenset(),
    log: Callable[[str], None] = lambda _: None,
) -> Iterator[list[str]]:
    """The requests a cut request becomes: every chapter's HS6 codes for the whole month (chunked for the
    URL), then halves of a code list that is still cut. A 2- or 4-digit cmdCode would return the
    chapter's aggregate, not its HS6 rows, so lists are always explicit HS6 codes.

    The whole month's codes are the HS reference's plus any code ``seen`` in the cut answer that the
    reference lacks (a reference that lags the data): asked for too, rather than lost without a word, in
    requests of their own, so that a code the API might refuse cannot fail a chapter's request.
    """
    if cmd_codes is None:
        known = hs_codes()
        if known.is_empty():
            return  # nothing to split by: the caller fails the pull rather than publish part of a month
        unknown = sorted(seen - set(known.get_column("hs6").to_list()))
        if unknown:
            log(f"{len(unknown)} HS6 code(s) in the cut answer are not in the HS reference; asked for as well: "
                f"{', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}")
        for _chapter, codes in sorted(hs.codes_by_chapter(known).items()):
            yield from cmd_code_chunks(codes)
        yield from cmd_code_chunks(unknown)
        return
    if len(cmd_codes) == 1:
        yield cmd_codes
        return
    middle = len(cmd_codes) // 2
    yield cmd_codes[:middle]
    yield cmd_codes[middle:]


def _hs6_codes(records: list[dict[str, Any]]) -> set[str]:
    """The six-digit commodity codes of an answer's records (others, such as aggregates, are not HS6)."""
    codes = {str(record.get("cmdCode")) for record in records}
    return {code for code in codes if len(code) == 6 and code.isascii() and code.isdigit()}


def read_month(store: PartitionedParquetStore, period: str, reporter: int) -> list[dict[str, Any]] | None:
    """Records of the latest complete pull of a reporter-month, from storage; None if never pulled."""
    folder = month_folder(period, reporter)
    if not store.exists(*folder, "manifest.json"):
        return None
    manifest = json.loads(store.read_bytes(*folder, "manifest.json"))
    records: list[dict[str, Any]] = []
    for entry in manifest["answers"]:
        body = store.read_bytes(*folder, entry["file"])
        records.extend(parse_answer(body, where="/".join([*folder, entry["file"]])))
    return records


def _relative(store: PartitionedParquetStore, path: str) -> str:
    root = store.path()
    return path[len(root) + 1 :] if path.startswith(root + "/") else path
