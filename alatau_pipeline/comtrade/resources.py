"""The Comtrade client: a Dagster resource over ``requests`` (live) or the synthetic source (demo).

Live calls follow contracts 3.4: ``GET {base}/data/v1/get/C/M/HS`` with the key in the
``Ocp-Apim-Subscription-Key`` header only, so it never appears in a URL, a stored file, a log line or a
Dagster event. 429, 5xx, timeouts and dropped connections are retried with exponential backoff and
jitter, never sooner than ``Retry-After``, within a bounded total wait; 401/403 stop at once. Calls are
spaced to the free tier's rate (about one a second) and counted against a daily budget.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Callable, Mapping

import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field, PrivateAttr

from alatau_pipeline import settings

DATA_PATH = "/data/v1/get/C/M/HS"
HS_REFERENCE_PATH = "/files/v1/app/reference/HS.json"
KEY_HEADER = "Ocp-Apim-Subscription-Key"


def is_retryable(status: int) -> bool:
    """Contracts 3.4: HTTP 429 and every 5xx are retried (with backoff, honouring ``Retry-After``)."""
    return status == 429 or 500 <= status <= 599


class ComtradeError(Exception):
    """A Comtrade call that could not be completed; the message never contains the key.

    ``retryable`` is False where trying again later cannot help (an answer the API will give again, a
    setting to change): the step is then not retried.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ComtradeKeyRefused(ComtradeError):
    """HTTP 401/403: the API refused the subscription key (wrong, expired, or over its plan)."""


class ComtradeBudgetExhausted(ComtradeError):
    """The day's call budget (free tier: 500 calls a day) is used up."""


def _env_base_url() -> str:
    return (os.environ.get("COMTRADE_BASE_URL") or settings.DEFAULT_COMTRADE_BASE_URL).rstrip("/")


def _env_max_records() -> int:
    return int(os.environ.get("COMTRADE_MAX_RECORDS") or settings.DEFAULT_COMTRADE_MAX_RECORDS)


def describe(params: Mapping[str, str]) -> str:
    """A request as log lines and errors show it: its parameters (the key is a header, never here)."""
    return "&".join(f"{k}={v if len(v) <= 40 else v[:37] + '...'}" for k, v in params.items())


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (fractions accepted) or an HTTP date; None if absent/bad."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (now if now is not None else time.time()), 0.0)


class ComtradeClient(ConfigurableResource):
    """UN Comtrade data API. ``source`` ``demo`` answers from the built-in synthetic source instead."""

    source: str = Field(default_factory=settings.source, description="'demo' or 'live' (ALATAU_SOURCE)")
    api_key: str | None = Field(default=None, description="subscription key; bind EnvVar('COMTRADE_API_KEY')")
    base_url: str = Field(default_factory=_env_base_url, description="COMTRADE_BASE_URL")
    max_records: int = Field(default_factory=_env_max_records, description="maxRecords per call")
    timeout_seconds: float = Field(default=120.0, description="connect/read timeout of one call")
    max_attempts: int = Field(default=6, description="attempts per call, the first included")
    backoff_base_seconds: float = Field(default=2.0, description="first backoff; doubles per attempt")
    backoff_max_seconds: float = Field(default=120.0, description="cap of one backoff")
    max_total_wait_seconds: float = Field(default=900.0, description="bound on all waiting for one call")
    min_interval_seconds: float = Field(default=1.1, description="spacing of calls (free tier: 1 call/s)")
    daily_call_budget: int = Field(default=500, description="calls a day (free tier: 500)")
    demo_seed: int = Field(default=20261125, description="seed of the synthetic source")
    hs_reference_max_age_days: float = Field(
        default=30.0, ge=0.0, le=3650.0,
        description="re-fetch the cached HS reference (raw/comtrade/reference/HS.json) when it is older than this",
    )

    _last_call: float = PrivateAttr(default=0.0)
    _calls: int = PrivateAttr(default=0)

    @property
    def calls_made(self) -> int:
        """HTTP requests sent by this resource instance (retries included)."""
        return self._calls

    # ---- public calls ----------------------------------------------------------------------------
    def get_data(self, params: Mapping[str, str], before_call: Callable[[], None] | None = None) -> bytes:
        """One data call; returns the body as received (parsing is the caller's job, after storing it)."""
        if self.source == "demo":
            from alatau_pipeline.comtrade import demo_source

            return demo_source.answer(params, seed=self.demo_seed)
        if not self.api_key:
            raise ComtradeError(
                "live mode needs COMTRADE_API_KEY (ALATAU_SOURCE=live); it is not set", retryable=False
            )
        return self._get(DATA_PATH, params, {KEY_HEADER: self.api_key}, before_call)

    def get_hs_reference(self, attempts: int | None = None) -> bytes:
        """Comtrade's HS classification file (no key needed, so none is sent); ``attempts`` caps the tries
        below ``max_attempts`` (a refresh that can fall back on a cached copy need not wait long)."""
        if self.source == "demo":
            from alatau_pipeline.comtrade import demo_source

            return demo_source.hs_reference()
        return self._get(HS_REFERENCE_PATH, {}, {}, None, attempts=attempts)

    # ---- HTTP with retries -----------------------------------------------------------------------
    def _get(
        self,
        path: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        before_call: Callable[[], None] | None,
        attempts: int | None = None,
    ) -> bytes:
        log = get_dagster_logger()
        max_attempts = min(attempts or self.max_attempts, self.max_attempts)
        url = f"{self.base_url.rstrip('/')}{path}"
        what = f"{path}?{describe(params)}" if params else path
        waited = 0.0
        with requests.Session() as session:
            for attempt in range(1, max_attempts + 1):
                self._space_calls()
                if before_call is not None:
                    before_call()
                self._calls += 1
                retry_after: float | None = None
                try:
                    # No redirects: a redirect would carry the key header to wherever it points.
                    response = session.get(
                        url, params=dict(params), headers=dict(headers), timeout=self.timeout_seconds,
                        allow_redirects=False,
                    )
                    status = response.status_code
                    body = response.content
                except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                    problem = f"{type(exc).__name__} (timeout or dropped connection)"
                else:
                    if status == 200:
                        return body
                    if status in (401, 403):
                        raise ComtradeKeyRefused(
                            f"Comtrade refused the API key (HTTP {status}) for {what}: check COMTRADE_API_KEY "
                            "(wrong, expired or not subscribed to this API)"
                        )
                    if not is_retryable(status):
                        raise ComtradeError(
                            f"Comtrade answered HTTP {status} for {what}: {body[:200]!r}", retryable=False
                        )
                    problem = f"HTTP {status}"
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if attempt == max_attempts:
                    raise ComtradeError(f"Comtrade call {what} failed after {attempt} attempts; last: {problem}")
                delay = self._backoff(attempt)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                if waited + delay > self.max_total_wait_seconds:
                    raise ComtradeError(
                        f"Comtrade call {what} still failing ({problem}) and waiting {delay:.1f} s more would "
                        f"exceed the bounded total wait of {self.max_total_wait_seconds:.0f} s"
                    )
                log.warning(f"Comtrade {what}: {problem}; attempt {attempt} of {max_attempts}, "
                            f"retrying in {delay:.2f} s")
                time.sleep(delay)
                waited += delay
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        # Equal jitter: at least half the exponential step, the rest random, so retries of several
        # clients spread out while each still backs off.
        ceiling = min(self.backoff_base_seconds * 2 ** (attempt - 1), self.backoff_max_seconds)
        return random.uniform(ceiling / 2, ceiling)

    def _space_calls(self) -> None:
        pause = self._last_call + self.min_interval_seconds - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self._last_call = time.monotonic()
