"""Retry policies for steps that talk to the outside world."""

from dagster import Backoff, Jitter, RetryPolicy

# Live ingestion (the Comtrade API) fails transiently: rate limits that outlast the client's own retries,
# gateway timeouts, a maintenance window. Exponential backoff (30 s, 60 s, 120 s, 240 s) with jitter
# spreads retries of parallel monthly steps so they do not hit the API again in lock-step.
LIVE_INGESTION_RETRY = RetryPolicy(
    max_retries=4,
    delay=30,
    backoff=Backoff.EXPONENTIAL,
    jitter=Jitter.PLUS_MINUS,
)
