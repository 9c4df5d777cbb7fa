"""A fake UN Comtrade API for pytest-httpserver: answers in the API's format, misbehaves on request.

It serves ``/data/v1/get/C/M/HS`` (key checked in the ``Ocp-Apim-Subscription-Key`` header, records filtered
by reporter, partner, period, flows and explicit HS6 lists, capped at ``maxRecords`` like the real API) and
``/files/v1/app/reference/HS.json``. ``faults`` is a queue of responses served instead of the next data
calls: 429 with Retry-After, 5xx, a truncated body, a 401; ``hs_faults`` the same for the HS reference.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

DATA_PATH = "/data/v1/get/C/M/HS"
HS_PATH = "/files/v1/app/reference/HS.json"
ISO = {398: "KAZ", 156: "CHN"}


def record(
    period: str, reporter: int, partner: int, flow: str, hs6: str, *, cif: float | None = None,
    fob: float | None = None, primary: float, net: float = 100.0, mot: int = 0, customs: str = "C00",
    partner2: int = 0,
) -> dict[str, Any]:
    """One record with Comtrade's field names (descriptions null, as the API answers without includeDesc)."""
    return {
        "typeCode": "C", "freqCode": "M", "refYear": int(period[:4]), "refMonth": int(period[4:]),
        "period": period, "reporterCode": reporter, "reporterISO": ISO[reporter], "reporterDesc": None,
        "flowCode": flow, "partnerCode": partner, "partnerISO": ISO[partner], "partner2Code": partner2,
        "partner2ISO": "W00" if partner2 == 0 else ISO[partner2], "classificationCode": "H6", "cmdCode": hs6,
        "aggrLevel": 6, "isLeaf": True, "customsCode": customs, "mosCode": "0", "motCode": mot,
        "qtyUnitCode": 8, "qtyUnitAbbr": "kg", "qty": net, "netWgt": net, "grossWgt": net * 1.1,
        "cifvalue": cif, "fobvalue": fob, "primaryValue": primary, "isReported": True, "isAggregate": False,
    }


@dataclass
class Seen:
    path: str
    args: dict[str, str]
    key: str | None
    at: float


@dataclass
class FakeComtrade:
    key: str
    records: list[dict[str, Any]]
    hs_codes: list[tuple[str, str]]
    faults: list[Response] = field(default_factory=list)
    hs_faults: list[Response] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, server: HTTPServer) -> None:
        server.expect_request(DATA_PATH).respond_with_handler(self._data)
        server.expect_request(HS_PATH).respond_with_handler(self._hs)

    def data_calls(self) -> list[Seen]:
        return [s for s in self.seen if s.path == DATA_PATH]

    def _note(self, request: Request) -> None:
        with self._lock:
            self.seen.append(
                Seen(request.path, dict(request.args), request.headers.get("Ocp-Apim-Subscription-Key"),
                     time.monotonic())
            )

    def _hs(self, request: Request) -> Response:
        self._note(request)
        with self._lock:
            fault = self.hs_faults.pop(0) if self.hs_faults else None
        if fault is not None:
            return fault
        results = [{"id": "TOTAL", "text": "All", "parent": "#", "isLeaf": "0", "aggrLevel": 0}]
        results += [
            {"id": code, "text": f"{code} - {text}", "parent": code[:4], "isLeaf": "1", "aggrLevel": 6}
            for code, text in self.hs_codes
        ]
        return Response(json.dumps({"results": results}), content_type="application/json")

    def _data(self, request: Request) -> Response:
        self._note(request)
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return Response('{"statusCode": 401, "message": "Access denied"}', status=401)
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return fault
        args = request.args
        cmd = args["cmdCode"]
        wanted = None if cmd == "AG6" else set(cmd.split(","))
        assert all(len(c) == 6 for c in wanted or ()), "explicit lists must be HS6 codes"
        rows = [
            r for r in self.records
            if str(r["reporterCode"]) == args["reporterCode"]
            and str(r["partnerCode"]) == args["partnerCode"]
            and r["period"] == args["period"]
            and r["flowCode"] in args["flowCode"].split(",")
            and (wanted is None or r["cmdCode"] in wanted)
        ][: int(args.get("maxRecords", 100000))]
        body = {"elapsedTime": "0.1 secs", "count": len(rows), "data": rows, "error": ""}
        return Response(json.dumps(body), content_type="application/json")


def too_many(retry_after: str) -> Response:
    return Response('{"statusCode": 429, "message": "Rate limit is exceeded"}', status=429,
                    headers={"Retry-After": retry_after})


def server_error(status: int = 500) -> Response:
    return Response("<html><body>Internal Server Error</body></html>", status=status, content_type="text/html")


TRUNCATED_BODY = '{"elapsedTime": "0.1 secs", "count": 3, "data": [{"typeCode": "C", "period": "2'


def truncated(body: str = TRUNCATED_BODY) -> Response:
    """A 200 whose body stops mid-record (a proxy or gateway cut it)."""
    return Response(body, content_type="application/json")
