"""Backfills through the webserver's GraphQL API, the path the UI takes: launch, watch, cancel.

Every wait is a bounded poll; the backfill daemon works in 30-second iterations.
"""

from __future__ import annotations

from tests.ops.processes import DagsterProcesses, wait_for

BACKFILL_TIMEOUT = 240  # the backfill daemon iterates every 30 s; a run itself takes seconds

TERMINAL_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on Error { message }
  }
}"""

CANCEL_BACKFILL = """
mutation Cancel($id: String!) {
  cancelPartitionBackfill(backfillId: $id) {
    __typename
    ... on PythonError { message }
    ... on Error { message }
  }
}"""

BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      numPartitions
      runs { id status tags { key value } }
      error { message }
    }
    ... on PythonError { message }
  }
}"""

def cancel_backfill(dagster: DagsterProcesses, backfill_id: str) -> None:
    result = dagster.graphql(CANCEL_BACKFILL, id=backfill_id)["cancelPartitionBackfill"]
    assert result["__typename"] == "CancelBackfillSuccess", result


def wait_cancelled(dagster: DagsterProcesses, backfill_id: str) -> dict:
    """Wait for a cancelled backfill to end, cancelling it again if its status went back to REQUESTED.

    In Dagster 1.13 the daemon writes a backfill's progress by reading and then rewriting the whole
    backfill, and so does the cancel mutation: a cancel that lands between the daemon's read and write is
    overwritten. A user would click Cancel again; so does this (at most a few times).
    """
    resent = 0

    def done() -> dict | None:
        nonlocal resent
        backfill = get_backfill(dagster, backfill_id)
        if backfill["status"] == "REQUESTED" and resent < 3:
            resent += 1
            cancel_backfill(dagster, backfill_id)
        return backfill if backfill["status"] in TERMINAL_BACKFILL else None

    try:
        return wait_for(f"cancelled backfill {backfill_id}", done, timeout=BACKFILL_TIMEOUT, interval=1)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{get_backfill(dagster, backfill_id)}\n{dagster.log_tail()}") from exc


def run_tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def launch_backfill(dagster: DagsterProcesses, partitions: list[str], assets: tuple[str, ...]) -> str:
    result = dagster.graphql(
        LAUNCH_BACKFILL,
        params={"partitionNames": partitions, "assetSelection": [{"path": [a]} for a in assets]},
    )["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


def get_backfill(dagster: DagsterProcesses, backfill_id: str) -> dict:
    result = dagster.graphql(BACKFILL, id=backfill_id)["partitionBackfillOrError"]
    assert result["__typename"] == "PartitionBackfill", result
    return result


def wait_backfill_done(dagster: DagsterProcesses, backfill_id: str) -> dict:
    def done() -> dict | None:
        backfill = get_backfill(dagster, backfill_id)
        return backfill if backfill["status"] in TERMINAL_BACKFILL else None

    try:
        return wait_for(f"backfill {backfill_id}", done, timeout=BACKFILL_TIMEOUT, interval=1)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{get_backfill(dagster, backfill_id)}\n{dagster.log_tail()}") from exc


