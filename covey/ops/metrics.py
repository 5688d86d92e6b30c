"""Prometheus metrics, served at `GET /metrics`.

The gateway counts each answer and times each metered request as it ends (a dict lookup and an
increment); tokens and spend are counted by the usage writer, off the hot path, once the records are
written. With several workers (`covey serve --workers N` sets `PROMETHEUS_MULTIPROC_DIR`) the
counters live in files that every worker's scrape adds up; the live figures (snapshot revision,
records waiting to be written) are those of the worker that answers the scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from covey.kit.money import NANOS_PER_DOLLAR
from covey.ratelimits.rules import Limit

# Seconds: from a refused or cached answer to a long generation.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TOKEN_KINDS = ("input", "output", "cached", "reasoning")


class Metrics:
    def __init__(self, *, shared: bool = False) -> None:
        # Each app has its own registry (tests run many apps in one process); with `shared`, values
        # go to the multiprocess files and `render` adds up every worker's.
        self.shared = shared
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "covey_gateway_requests", "Gateway answers, by endpoint and HTTP status", ["endpoint", "status"], registry=r
        )
        self.duration = Histogram(
            "covey_gateway_request_duration_seconds",
            "Metered gateway requests, from arrival until the answer is complete (a stream: its last chunk)",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "covey_gateway_tokens",
            "Tokens in written usage records, by provider and kind",
            ["provider", "kind"],
            registry=r,
        )
        self.spend = Counter(
            "covey_gateway_spend_dollars", "Spend in written usage records, by provider", ["provider"], registry=r
        )
        self.limited = Counter(
            "covey_gateway_rate_limited",
            "Requests refused by a rate limit, by the limit's owner (key, user, member, group, org) and kind",
            ["owner", "kind"],
            registry=r,
        )
        self.written = Counter("covey_usage_records_written", "Usage records written to the database", registry=r)
        self.write_failures = Counter(
            "covey_usage_write_failures",
            "Usage writer flushes that left records unwritten (kept and retried) or met an error",
            registry=r,
        )
        self.quarantined = Counter(
            "covey_usage_records_quarantined",
            "Usage records the database refused, kept in the usage_quarantine table with the reason",
            registry=r,
        )
        if not shared:  # a worker's own process figures would not add up across workers
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self._answered: dict[tuple[str, int], Any] = {}
        self._timed: dict[str, Any] = {}
        self._live: list[Callable[[], Iterable[GaugeMetricFamily]]] = []

    # ---- the hot path -----------------------------------------------------------------------------

    def answered(self, endpoint: str, status: int) -> None:
        child = self._answered.get((endpoint, status))
        if child is None:
            child = self._answered[endpoint, status] = self.requests.labels(endpoint, str(status))
        child.inc()

    def timed(self, endpoint: str, seconds: float) -> None:
        child = self._timed.get(endpoint)
        if child is None:
            child = self._timed[endpoint] = self.duration.labels(endpoint)
        child.observe(seconds)

    def rate_limited(self, limit: Limit) -> None:
        self.limited.labels(limit.scope.split(":", 1)[0], limit.kind).inc()

    # ---- the usage writer (a worker thread) -----------------------------------------------------------

    def records_written(self, records: list[dict[str, Any]]) -> None:
        tokens: dict[tuple[str, str], int] = {}
        spend: dict[str, int] = {}
        for r in records:
            provider = r["provider_used"] or ""
            for kind in TOKEN_KINDS:
                tokens[provider, kind] = tokens.get((provider, kind), 0) + r[f"{kind}_tokens"]
            spend[provider] = spend.get(provider, 0) + r["cost_nanos"]
        for (provider, kind), count in tokens.items():
            if count:
                self.tokens.labels(provider, kind).inc(count)
        for provider, nanos in spend.items():
            self.spend.labels(provider).inc(nanos / NANOS_PER_DOLLAR)
        self.written.inc(len(records))

    def write_failed(self) -> None:
        self.write_failures.inc()

    def records_quarantined(self, count: int) -> None:
        self.quarantined.inc(count)

    # ---- the scrape -----------------------------------------------------------------------------------

    def live(self, read: Callable[[], Iterable[GaugeMetricFamily]]) -> None:
        """Figures read at scrape time from this process's state."""
        self._live.append(read)

    def render(self) -> bytes:
        if not self.shared:
            return generate_latest(_WithLive(self.registry, self._live))
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(_WithLive(registry, self._live))


class _WithLive(Collector):
    def __init__(self, registry: CollectorRegistry, live: list[Callable[[], Iterable[GaugeMetricFamily]]]) -> None:
        self.registry = registry
        self.live_figures = live

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()
        for read in self.live_figures:
            yield from read()


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
