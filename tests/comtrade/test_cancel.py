"""A cancelled run's ``comtrade_raw`` stops for good; any other interrupt keeps Dagster's retry.

Dagster retries an interrupted step that has a RetryPolicy, and ``comtrade_raw`` has one. In process,
through ``materialize``: the client interrupts the run the way Dagster's termination does (the run
reported CANCELING, then SIGINT to the worker) while it is inside its first data call.
(``tests/ops/test_cancel_running_backfill.py`` does the same through the real webserver and daemon.)
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import ClassVar

import pytest
from dagster import DagsterEventType, DagsterInstance, RetryPolicy, materialize

from alatau_pipeline.comtrade.assets import comtrade_raw, mirror_trade_monthly, trade_flows_monthly
from alatau_pipeline.comtrade.resources import ComtradeClient


class InterruptingClient(ComtradeClient):
    """The demo source, interrupted during its first data call of the test."""

    instance: ClassVar[DagsterInstance | None] = None
    report_canceling: ClassVar[bool] = False
    interrupted: ClassVar[bool] = False

    def get_data(self, params: Mapping[str, str], before_call=None) -> bytes:
        cls = type(self)
        if not cls.interrupted and cls.instance is not None:
            cls.interrupted = True
            if cls.report_canceling:
                [run] = cls.instance.get_runs(limit=1)
                cls.instance.report_run_canceling(run)
            os.kill(os.getpid(), signal.SIGINT)  # delivered to this (the main) thread before the next line
        return super().get_data(params, before_call)


@pytest.fixture
def interrupting(monkeypatch):
    instance = DagsterInstance.ephemeral()
    monkeypatch.setattr(InterruptingClient, "instance", instance)
    monkeypatch.setattr(InterruptingClient, "interrupted", False)
    # Retries at once rather than after the policy's 30 s.
    monkeypatch.setattr(RetryPolicy, "calculate_delay", lambda self, attempt_num: 0)
    return instance


def _run(instance: DagsterInstance, lake):
    return materialize(
        [comtrade_raw, trade_flows_monthly, mirror_trade_monthly],
        resources={"lake": lake, "comtrade": InterruptingClient(source="demo")},
        partition_key="2025-03-01", instance=instance, raise_on_error=False,
    )


def _steps(result) -> list[tuple[DagsterEventType, str | None]]:
    return [(event.event_type, event.step_key) for event in result.all_events]


def test_a_cancelled_run_is_not_retried(interrupting, lake, data_dir, monkeypatch):
    monkeypatch.setattr(InterruptingClient, "report_canceling", True)

    result = _run(interrupting, lake)

    assert InterruptingClient.interrupted
    steps = _steps(result)
    assert (DagsterEventType.STEP_FAILURE, "comtrade_raw") in steps
    assert (DagsterEventType.STEP_UP_FOR_RETRY, "comtrade_raw") not in steps
    assert (DagsterEventType.STEP_START, "trade_flows_monthly") not in steps
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    assert "run was cancelled" in failure.event_specific_data.user_failure_data.description
    assert not (data_dir / "marts").exists()


def test_another_interrupt_keeps_dagsters_retry(interrupting, lake, data_dir):
    result = _run(interrupting, lake)

    assert InterruptingClient.interrupted
    steps = _steps(result)
    assert (DagsterEventType.STEP_UP_FOR_RETRY, "comtrade_raw") in steps
    assert (DagsterEventType.STEP_RESTARTED, "comtrade_raw") in steps
    assert result.success
    assert (data_dir / "marts" / "trade_flows_monthly" / "period=2025-03" / "part-0.parquet").exists()
