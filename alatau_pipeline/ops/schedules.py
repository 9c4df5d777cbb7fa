"""Schedules: the daily job every morning for yesterday, the Comtrade job monthly over a trailing window."""

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from alatau_pipeline import jobs
from alatau_pipeline.comtrade.revisions import RANGE_END_TAG, RANGE_START_TAG, revision_window_tags
from alatau_pipeline.core.partitions import ALMATY_TZ

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the name
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

TRIGGER_TAG = "alatau/trigger"
SOURCE_TAG = "alatau/source"

# Comtrade revises published months for a long while after first release; every monthly run re-pulls
# this many months so the marts pick the revisions up.
COMTRADE_TRAILING_MONTHS = 12


def _tick_date(context: ScheduleEvaluationContext) -> dt.date:
    """The calendar day of the tick in Almaty (the evaluation time when called outside the daemon)."""
    tick = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    return tick.astimezone(ZoneInfo(ALMATY_TZ)).date()


# Running by default: the deployment's point is that nobody has to switch the daily run on.
@schedule(
    name="daily_job_schedule",
    job=jobs.daily_job,
    cron_schedule="0 6 * * *",
    execution_timezone=ALMATY_TZ,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every daily asset for yesterday's partition (Asia/Almaty), at 06:00 Almaty.",
)
def daily_job_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = (_tick_date(context) - dt.timedelta(days=1)).isoformat()
    return RunRequest(run_key=f"daily-{day}", partition_key=day, tags={TRIGGER_TAG: "schedule"})


def build_comtrade_schedule(job: "UnresolvedAssetJobDefinition") -> ScheduleDefinition:
    @schedule(
        name="comtrade_monthly_schedule",
        job=job,
        # The 10th: Comtrade's monthly releases for the previous month trickle in over the first days.
        cron_schedule="0 3 10 * *",
        execution_timezone=ALMATY_TZ,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            f"The Comtrade job over the trailing {COMTRADE_TRAILING_MONTHS} complete months as one run "
            "(single-run backfill), so revisions of published months reach the marts."
        ),
    )
    def comtrade_monthly_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        window = revision_window_tags(COMTRADE_TRAILING_MONTHS, _tick_date(context))
        return RunRequest(
            run_key=f"comtrade-{window[RANGE_START_TAG]}-{window[RANGE_END_TAG]}",
            tags={
                **window,
                TRIGGER_TAG: "schedule",
                # dagster.yaml limits runs with this tag to one at a time (the API rate limit is per key).
                SOURCE_TAG: "comtrade",
            },
        )

    return comtrade_monthly_schedule


def all_schedules() -> list[ScheduleDefinition]:
    """The daily schedule, plus the Comtrade one whenever ``jobs.py`` defines the Comtrade job."""
    schedules = [daily_job_schedule]
    comtrade_job = getattr(jobs, "comtrade_job", None)
    if comtrade_job is not None:
        schedules.append(build_comtrade_schedule(comtrade_job))
    return schedules
