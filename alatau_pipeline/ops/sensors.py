"""The landing-zone sensor: a new file in ``landing/<source>/date=D/`` runs the daily job for D.

Corrections and cancellations arrive later as additional files in the same folder (contracts 3.1), so
watching for new files, not new folders, is what brings them into the marts without anyone acting.

Once per file: the cursor is a high-water mark of file modification times (plus the names seen at that
exact instant, so two files written in the same second are both picked up); each run request also has a
run key made of its partition and files, so a tick that is retried cannot launch the same run twice.
The modification time is when the file arrived (a local write, an S3 PUT); a copy that back-dates it
(``cp -p``, ``rsync -t``) would fall behind the high-water mark and not be seen.
"""

import datetime as dt
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from alatau_pipeline import jobs
from alatau_pipeline.core.landing import LANDING_SUFFIXES, LANDING_ZONE
from alatau_pipeline.core.partitions import ALMATY_TZ, DAILY_PARTITIONS
from alatau_pipeline.core.resources import DataLake

TRIGGER_TAG = "alatau/trigger"
FILES_TAG = "alatau/landing_files"

# Seconds between evaluations. Landing files arrive a few times a day, so a minute is plenty; tests that
# drive the real daemon lower it through the environment.
INTERVAL_SECONDS = int(os.environ.get("ALATAU_LANDING_SENSOR_INTERVAL_SECONDS", "60"))

_LANDING_FILE = re.compile(r"(?:^|/)landing/(?P<source>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/[^/]+$")


@dataclass(frozen=True)
class LandingFile:
    path: str
    source: str
    date: str
    modified: float  # POSIX seconds


@dataclass(frozen=True)
class Cursor:
    """Files up to ``modified`` are handled; ``seen`` are the ones modified exactly at ``modified``."""

    modified: float
    seen: frozenset[str]

    @classmethod
    def parse(cls, raw: str | None) -> "Cursor | None":
        if not raw:
            return None
        data = json.loads(raw)
        return cls(modified=float(data["modified"]), seen=frozenset(data["seen"]))

    def dump(self) -> str:
        return json.dumps({"modified": self.modified, "seen": sorted(self.seen)})

    def is_new(self, file: LandingFile) -> bool:
        if file.modified != self.modified:
            return file.modified > self.modified
        return file.path not in self.seen

    def advance(self, files: list[LandingFile]) -> "Cursor":
        if not files:
            return self
        top = max(f.modified for f in files)
        if top < self.modified:
            return self
        at_top = {f.path for f in files if f.modified == top}
        return Cursor(modified=top, seen=frozenset(at_top | (self.seen if top == self.modified else set())))


def _modified(info: Mapping[str, Any]) -> float:
    """Modification time from an fsspec listing entry: ``mtime`` locally, ``LastModified`` on S3."""
    value = info.get("mtime", info.get("LastModified", info.get("last_modified", info.get("created"))))
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value or 0.0)


def list_landing_files(lake: DataLake) -> list[LandingFile]:
    """Every landing file of every source (``landing/<source>/date=D/*.csv[.gz]``)."""
    store = lake.store
    root = store.path(LANDING_ZONE)
    if not store.fs.exists(root):
        return []
    found = []
    for path, info in store.fs.find(root, detail=True).items():
        match = _LANDING_FILE.search(path)
        if match and path.endswith(LANDING_SUFFIXES):
            found.append(LandingFile(path, match["source"], match["date"], _modified(info)))
    return found


def landing_run_requests(
    new_files: list[LandingFile], now: dt.datetime
) -> tuple[list[RunRequest], list[LandingFile]]:
    """One run request per partition with new files; files of partitions that do not exist yet."""
    by_date: dict[str, list[LandingFile]] = defaultdict(list)
    not_yet: list[LandingFile] = []
    first = DAILY_PARTITIONS.start.date()
    last = now.astimezone(ZoneInfo(ALMATY_TZ)).date() - dt.timedelta(days=1)  # the last complete day
    for file in new_files:
        try:
            day = dt.date.fromisoformat(file.date)
        except ValueError:
            continue  # date=2026-13-40 is no partition of anything; nothing to run
        if first <= day <= last:
            by_date[file.date].append(file)
        elif day > last:
            not_yet.append(file)
    requests = []
    for date, files in sorted(by_date.items()):
        names = sorted(f"{f.source}/{os.path.basename(f.path)}" for f in files)
        digest = hashlib.sha1("\n".join(names).encode()).hexdigest()[:16]
        requests.append(
            RunRequest(
                run_key=f"landing-{date}-{digest}",
                partition_key=date,
                tags={TRIGGER_TAG: "landing_sensor", FILES_TAG: ", ".join(names)[:4000]},
            )
        )
    return requests, not_yet


@sensor(
    name="landing_zone_sensor",
    job=jobs.daily_job,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "A new file in any landing/<source>/date=D/ folder (late corrections included) runs the daily "
        "job for partition D, once per file."
    ),
)
def landing_zone_sensor(context: SensorEvaluationContext, lake: DataLake) -> SensorResult | SkipReason:
    files = list_landing_files(lake)
    cursor = Cursor.parse(context.cursor)
    if cursor is None:
        # First evaluation: what is already there is history, backfilled from the UI, not thousands of
        # runs requested at once. From here on every new file is a run.
        baseline = Cursor(modified=0.0, seen=frozenset()).advance(files)
        return SensorResult(
            skip_reason=f"baseline: {len(files)} landing file(s) already present; watching for new ones",
            cursor=baseline.dump(),
        )
    new_files = [f for f in files if cursor.is_new(f)]
    if not new_files:
        return SkipReason("no new landing files")
    requests, not_yet = landing_run_requests(new_files, dt.datetime.now(dt.UTC))
    for file in not_yet:
        # Today's (or a future) day is not a partition yet; the 06:00 schedule runs it once it is.
        context.log.info(f"{file.path}: partition {file.date} not complete yet, left to the daily schedule")
    return SensorResult(run_requests=requests, cursor=cursor.advance(new_files).dump())
