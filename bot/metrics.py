"""Prometheus metrics of one Warta process, served at ``/metrics`` by the web app.

The metrics live in their own :class:`CollectorRegistry` (not the client's global default) so a
library that registers its own collectors cannot collide with ours, and tests read exactly
Warta's families. Call sites add one line each; everything here is cheap and never raises.

Derived figures are left to the query language, e.g. the 304 ratio is
``rate(warta_polls_total{result="not_modified"}[1h]) / rate(warta_polls_total[1h])``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter(
    "warta_polls",
    "Feed polls by result: fetched (a body), not_modified (HTTP 304) or failed.",
    ["result"],
    registry=REGISTRY,
)
FETCH_SECONDS = Histogram(
    "warta_fetch_seconds",
    "Time to fetch one feed (request to last byte), answered polls only.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
    registry=REGISTRY,
)
PARSE_FALLBACKS = Counter(
    "warta_parse_fallbacks",
    "Feed bodies the fast parser left to feedparser.",
    registry=REGISTRY,
)
STORIES_STORED = Counter(
    "warta_stories_stored",
    "New stories written to the store (baselines included; edits excluded).",
    registry=REGISTRY,
)
DIGESTS_COMPOSED = Counter(
    "warta_digests_composed",
    "Digests composed for chats (commands and scheduled deliveries).",
    ["lang"],
    registry=REGISTRY,
)
MESSAGES_SENT = Counter(
    "warta_messages_sent",
    "Chat messages posted by the outbox sender.",
    ["platform"],
    registry=REGISTRY,
)
# The adapters raise one RetryLater for a 429 (flood control) and for a transient failure
# (timeout, 5xx); both are counted here until they carry the reason.
RETRY_LATER = Counter(
    "warta_send_retry_later",
    "Sends a platform asked to retry later: 429 rate limits and transient errors.",
    ["platform"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "warta_outbox_depth",
    "Deliveries waiting to be sent (pending or sending), read from the store at scrape time.",
    registry=REGISTRY,
)
ADAPTER_UP = Gauge(
    "warta_adapter_up",
    "1 while a chat adapter is running, 0 once it failed to start or stopped.",
    ["adapter"],
    registry=REGISTRY,
)

_adapters: dict[str, bool] = {}


def set_adapter_up(name: str, up: bool) -> None:
    """Record an adapter's state for the gauge and for ``/readyz``."""
    _adapters[name] = up
    ADAPTER_UP.labels(adapter=name).set(1 if up else 0)


def adapters_down() -> list[str]:
    """Names of adapters that were started in this process and are not up now."""
    return sorted(name for name, up in _adapters.items() if not up)


def exposition() -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(REGISTRY)
