"""The alert webhook: JSON POSTed to a server on loopback; an unreachable webhook is reported, not raised."""

from __future__ import annotations

import json
import socket

from pytest_httpserver import HTTPServer

from alatau_pipeline.forecasting.alerts import post_alert


def test_alert_is_posted_as_json(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    assert post_alert({"asset": "forecast_accuracy", "failed_checks": []}, url=httpserver.url_for("/hook"))
    (request, _), = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {"asset": "forecast_accuracy", "failed_checks": []}


def test_unreachable_or_failing_webhook_returns_false(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    assert not post_alert({"x": 1}, url=httpserver.url_for("/hook"))
    with socket.socket() as sock:  # a port nobody listens on: bound, never accepting
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert not post_alert({"x": 1}, url=f"http://127.0.0.1:{port}/hook", timeout=2)
