"""Alerts: a JSON POST to ``ALATAU_ALERT_WEBHOOK`` when a monitor fails (nothing when it is unset)."""

from __future__ import annotations

import os
from typing import Any

ALERT_WEBHOOK_ENV = "ALATAU_ALERT_WEBHOOK"


def alert_webhook() -> str | None:
    return (os.environ.get(ALERT_WEBHOOK_ENV) or "").strip() or None


def post_alert(payload: dict[str, Any], url: str | None = None, timeout: float = 10.0) -> bool:
    """POST ``payload`` as JSON; returns whether it was delivered. A failing webhook must not fail the
    run that detected the problem, so errors are returned as False (the caller logs them)."""
    import requests

    url = url or alert_webhook()
    if not url:
        return False
    try:
        response = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException:
        return False
    return response.ok
