"""Retry policies for steps that talk to the outside world."""

from dagster import Backoff, Jitter, RetryPolicy

# Live ingestion (the Comtrade API) fails transiently: rate limits that outlast the client's own retries,
# gateway timeouts, a maintenance window. Exponential backoff (Dagster's (2**n - 1) × 30 s: 30, 90, 210,
# 450 s) with ± 30 s jitter spreads retries of parallel monthly steps so they do not hit the API again in
# lock-step. A cancelled run's step is not retried (comtrade/assets.py).
LIVE_INGESTION_RETRY = RetryPolicy(
    max_retries=4,
    delay=30,
    backoff=Backoff.EXPONENTIAL,
    jitter=Jitter.PLUS_MINUS,
)
