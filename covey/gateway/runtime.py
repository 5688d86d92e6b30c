"""Everything the gateway holds for the life of the process: the HTTP client, providers, catalog,
compiled control plane and usage writer, with their background tasks. The app's lifespan starts and
stops it."""

from __future__ import annotations

import asyncio

from covey.budgets.guard import Guard
from covey.budgets.redis_counters import RedisCounters
from covey.config import Settings, load_gateway_config
from covey.gateway.catalog import Catalog
from covey.gateway.providers import ProviderContext, default_registry
from covey.gateway.service import Gateway
from covey.kit.db import Database
from covey.ops.metrics import Metrics, gauge
from covey.plane.runtime import ControlPlane
from covey.ratelimits.limiter import RateLimiter
from covey.ratelimits.redis_store import RedisRateLimits
from covey.ratelimits.store import MemoryRateLimits, RateLimitStore
from covey.reports import retention
from covey.reports.savings import PriceLookup, catalog_prices
from covey.response_store.store import ResponseStore
from covey.usage.batches import InProcess, InThread, Target
from covey.usage.writer import UsageWriter


def make_rate_limit_store(settings: Settings, budgets: Guard | None = None) -> RateLimitStore:
    if settings.redis_url:
        # With the budget counters' batch: a request's limits and reservation go in one round trip.
        counters = budgets.store if budgets is not None else None
        return RedisRateLimits(
            settings.redis_url,
            prefix=settings.redis_prefix,
            max_connections=settings.redis_max_connections,
            batch=counters.batch if isinstance(counters, RedisCounters) else None,
        )
    return MemoryRateLimits()


def batches_for(settings: Settings, db: Database, prices: PriceLookup, *, models: list[str]) -> InThread | InProcess:
    """Where the usage writer writes its batches: the writer process, unless it is off or the database
    lives only in this process's memory."""
    in_memory = db.engine.dialect.name == "sqlite" and db.engine.url.database in (None, "", ":memory:")
    if not settings.usage_writer_process or in_memory:
        return InThread(db, prices)
    return InProcess(
        Target(
            database_url=settings.database_url,
            prices={m: prices(m) for m in models},
            redis_url=settings.redis_url,
            redis_prefix=settings.redis_prefix,
        )
    )


class GatewayRuntime:
    def __init__(
        self,
        gateway: Gateway,
        context: ProviderContext,
        plane: ControlPlane,
        tasks: list[asyncio.Task[None]],
        stop: asyncio.Event,
    ) -> None:
        self.gateway = gateway
        self.context = context
        self.plane = plane
        self.tasks = tasks
        self._stop = stop

    @classmethod
    async def start(
        cls, settings: Settings, db: Database, *, metrics: Metrics, budgets: Guard | None = None
    ) -> GatewayRuntime:
        config = load_gateway_config(settings.config)
        context = ProviderContext()
        try:
            catalog = Catalog.build(config, default_registry(), context)
            plane = await ControlPlane.start(settings, db, catalog=catalog.models, guard=budgets)
        except BaseException:
            context.close()
            raise
        prices = catalog_prices({m.id: m.price for m in catalog.models.values()})
        batches = batches_for(settings, db, prices, models=list(catalog.models))
        await asyncio.to_thread(batches.start)
        writer = UsageWriter(
            db,
            flush_seconds=settings.usage_flush_seconds,
            metrics=metrics,
            prices=prices,
            behind_seconds=settings.usage_behind_seconds,
            batches=batches,
        )
        limiter = RateLimiter(
            store=make_rate_limit_store(settings, budgets),
            lease_seconds=settings.rate_limit_lease_seconds,
            on_refusal=metrics.rate_limited,
        )
        gateway = Gateway(
            settings=settings,
            limiter=limiter,
            config=config,
            catalog=catalog,
            plane=plane,
            writer=writer,
            metrics=metrics,
            budgets=budgets,
            stored=ResponseStore(db),
        )
        metrics.live(
            lambda: [
                gauge(
                    "covey_snapshot_revision",
                    "Control-plane revision this worker's gateway serves",
                    plane.current.revision,
                ),
                gauge(
                    "covey_usage_records_pending", "Usage records this worker holds for its next flush", writer.pending
                ),
                gauge(
                    "covey_plane_changes",
                    "Control-plane catch-ups this worker applied incrementally",
                    plane.stats.changes,
                ),
                gauge(
                    "covey_plane_rebuilds", "Full control-plane compiles (start-up and repairs)", plane.stats.rebuilds
                ),
                gauge(
                    "covey_plane_last_apply_seconds",
                    "How long this worker's last control-plane catch-up or rebuild took",
                    plane.stats.last_seconds,
                ),
            ]
        )
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(writer.run(stop), name="covey-usage-writer"),
        ]
        if settings.usage_retention_days is not None:
            prune = retention.run(db, days=settings.usage_retention_days, stop=stop)
            tasks.append(asyncio.create_task(prune, name="covey-usage-retention"))
        return cls(gateway, context, plane, tasks, stop)

    async def stop(self) -> None:
        """After the server stopped taking requests: let the loops finish, then write every record left."""
        self._stop.set()
        await asyncio.gather(*self.tasks)
        await self.plane.stop()
        await self.gateway.writer.stop()
        if self.gateway.limiter is not None:
            await self.gateway.limiter.store.close()
        self.context.close()
