"""The gateway's request flow: admit → plan the route → call the provider (with fallback) → answer
→ meter → queue the usage record. One `Gateway` per process, built by the app's lifespan."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

import orjson
from starlette.types import Receive, Scope, Send

from covey.budgets.estimate import (
    MIN_OUTPUT_TOKENS,
    affordable_cap,
    choices,
    estimate_nanos,
    given_cap,
    prompt_tokens,
    token_estimate,
)
from covey.budgets.guard import Guard, Ticket
from covey.config import GatewayConfig, Settings
from covey.gateway import asgi, caching, lookups, responses, routing, vectors
from covey.gateway.admission import (
    Admitted,
    admit,
    cap_output,
    check_features,
    features_used,
)
from covey.gateway.bridges import Bridge, bridge
from covey.gateway.catalog import Catalog, CatalogModel
from covey.gateway.errors import (
    GatewayError,
    anthropic_error,
    anthropic_stream_error,
    openai_error,
    openai_stream_error,
)
from covey.gateway.outcome import Outcome, cut_short, dollars, usage_record
from covey.gateway.providers.base import ProviderError, ResponsesProvider
from covey.gateway.pump import WIRE, pump, relay_for
from covey.gateway.relay import anthropic_frame, openai_frame
from covey.gateway.responses.conversations import Conversations, native_request, served_natively
from covey.gateway.sse import Event
from covey.gateway.stream_endings import StreamCut, usage_chunk
from covey.gateway.validation import basics, validate
from covey.guardrails.masking import Blocked, Screen
from covey.kit.errors import CoveyError
from covey.ops.metrics import Metrics
from covey.plane.runtime import ControlPlane
from covey.pricing.tokens import Tokens, count
from covey.ratelimits.limiter import Pass, Pending, RateLimiter
from covey.response_store.store import ResponseStore
from covey.usage.writer import UsageWriter

Json = dict[str, Any]
T = TypeVar("T")
log = logging.getLogger("covey.gateway")
INTERNAL = "Internal error"
STREAM_BROKEN = "There was a problem with the provider stream"
_ERRORS = {"openai": openai_error, "anthropic": anthropic_error, "responses": openai_error}
_STREAM_ERRORS = {
    "openai": openai_stream_error,
    "anthropic": anthropic_stream_error,
    "responses": responses.stream_error,
}


class Gateway:
    def __init__(
        self,
        *,
        settings: Settings,
        config: GatewayConfig,
        catalog: Catalog,
        plane: ControlPlane,
        writer: UsageWriter,
        metrics: Metrics,
        budgets: Guard | None = None,
        limiter: RateLimiter | None = None,
        stored: ResponseStore | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.catalog = catalog
        self.plane = plane
        self.writer = writer
        self.metrics = metrics
        self.budgets = budgets
        self.limiter = limiter
        self.stored = stored  # None: no response is kept, `previous_response_id` is refused
        self.conversations = Conversations(stored, catalog=catalog, plane=plane)

    # ---- entry points ---------------------------------------------------------------------------------

    async def models(self, scope: Scope, receive: Receive, send: Send) -> None:
        await lookups.models(scope, send, plane=self.plane.current, catalog=self.catalog, metrics=self.metrics)

    async def count_tokens(self, scope: Scope, receive: Receive, send: Send) -> None:
        await lookups.count_tokens(
            scope,
            receive,
            send,
            plane=self.plane.current,
            catalog=self.catalog,
            metrics=self.metrics,
            max_body_bytes=self.settings.max_body_bytes,
        )

    async def chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(scope, receive, send, dialect="openai", endpoint="chat")

    async def messages(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(scope, receive, send, dialect="anthropic", endpoint="messages")

    async def responses(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(scope, receive, send, dialect="responses", endpoint="responses")

    async def stored_response(self, scope: Scope, receive: Receive, send: Send) -> None:
        await lookups.stored_response(scope, send, plane=self.plane.current, store=self.stored, metrics=self.metrics)

    async def embeddings(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve(scope, receive, send, dialect="openai", endpoint="embeddings")

    async def _failed(self, exc: Exception, outcome: Outcome, dialect: str, send: Send) -> None:
        """A bug met while serving: logged in full, recorded as a 500, answered in the path's envelope
        (or, once a stream began, as its error event)."""
        log.exception("gateway request failed", exc_info=exc)
        outcome.status, outcome.origin = 500, "router"
        outcome.error = f"{INTERNAL} ({type(exc).__name__})"
        if outcome.started:
            await asgi.end_body(send, _STREAM_ERRORS[dialect](500, INTERNAL, "router"))
        else:
            await asgi.send_json(send, 500, _ERRORS[dialect](500, INTERNAL, "router"), outcome.headers)

    # ---- the flow -------------------------------------------------------------------------------------

    async def _serve(self, scope: Scope, receive: Receive, send: Send, *, dialect: str, endpoint: str) -> None:
        plane = self.plane.current
        try:
            ad = await admit(scope, receive, plane, max_body_bytes=self.settings.max_body_bytes)
            if endpoint == "responses":
                basics(ad.body)
                ad.body, ad.front = await self.conversations.request(ad)
            validate(ad.body, endpoint=endpoint, dialect=WIRE[dialect])
            model: str = ad.body["model"]
            if endpoint == "embeddings":
                vectors.requested_encoding(ad.body)
            # Requesty's `requesty.auto_cache` decides; without it, the key's chain (`auto_caching` on).
            ad.caching = ad.auto_cache if ad.auto_cache is not None else ad.grant.auto_cache
            features = features_used(ad.body, endpoint=endpoint, auto_cache=ad.caching)
            check_features(ad.grant, features)
            guard = self._guard(ad, model, endpoint=endpoint, features=features)
            ad.prompt = prompt_tokens(ad.body)  # as masked: what every estimate below counts
            steps = routing.plan(
                model,
                catalog=self.catalog.models,
                allowed=ad.grant.allowed_models,
                policies=plane.policies.get(ad.grant.org_id, {}),
                trace_id=ad.trace_id,
            )
            # Last before the upstream call: a refused request holds nothing and records nothing. The rate
            # limits' admission travels with the budget reservation (one round trip in Redis), and the
            # reservation is made only when the limits admit the request.
            default_cap = self._default_cap(steps)
            pending = self._admit_rates(ad, endpoint, default_cap)
            try:
                ticket, default_cap = await self._reserve(ad, steps, endpoint, default_cap)
                passed, default_cap = await self._rates_admitted(ad, endpoint, pending, default_cap)
            except BaseException:
                if self.limiter is not None:
                    self.limiter.cancel(pending)
                raise
        except GatewayError as exc:
            self.metrics.answered(endpoint, exc.status)
            body = _ERRORS[dialect](exc.status, exc.message, exc.origin)
            await asgi.send_json(send, exc.status, body, exc.headers)
            return
        except CoveyError as exc:
            self.metrics.answered(endpoint, exc.status_code)
            await asgi.send_json(send, exc.status_code, _ERRORS[dialect](exc.status_code, exc.message))
            return
        except asgi.ClientGone:
            return
        except Exception as exc:  # a bug: logged in full, answered in the envelope
            log.exception("gateway request failed before it was sent", exc_info=exc)
            self.metrics.answered(endpoint, 500)
            await asgi.send_json(send, 500, _ERRORS[dialect](500, INTERNAL, "router"))
            return

        outcome = Outcome()
        outcome.headers = passed.headers if passed is not None else []
        outcome.guard = guard
        stream = endpoint != "embeddings" and bool(ad.body.get("stream"))
        if (ticket is not None and ticket.plan.checks) or (passed is not None and passed.counts_tokens):
            # Under a hard line or a tokens-per-minute limit the estimate held is a bound the upstream
            # is held to (docs/design.md §4).
            outcome.cap = cap_output(ad.body, endpoint=endpoint, default=default_cap)
        else:
            outcome.cap = given_cap(ad.body)
        if outcome.cap is not None:
            outcome.cap *= choices(ad.body)
        watch = asgi.DisconnectWatch(receive)
        answer: bytes | None = None
        try:
            with watch:
                try:
                    if stream:
                        await self._stream(ad, steps, outcome, dialect, send, watch)
                        return
                    answer = await self._answer(ad, steps, outcome, dialect, endpoint)
                except asyncio.CancelledError:
                    if not watch.gone:
                        raise
                    outcome.status, outcome.error = 499, "client closed the connection"
                    return
                except Exception as exc:  # noqa: BLE001 — handed to `_failed`, which logs it in full
                    await self._failed(exc, outcome, dialect, send)
                    return
        finally:
            cost = self._record(ad, model, outcome, endpoint=endpoint, stream=stream, features=features, ticket=ticket)
            self.metrics.answered(endpoint, outcome.status)
            self.metrics.timed(endpoint, time.perf_counter() - ad.started)
            if ticket is not None and self.budgets is not None:
                self.budgets.settle_later(ticket, cost)
            if self.limiter is not None:  # queued, like the settle: the answer does not wait for either
                self.limiter.finish(passed, tokens=outcome.tokens.input + outcome.tokens.output)
        if answer is None:
            assert outcome.error is not None
            body = _ERRORS[dialect](outcome.status, outcome.error, outcome.origin)
            await asgi.send_json(send, outcome.status, body, outcome.headers)
        else:
            await asgi.send_json(send, 200, answer, outcome.headers)

    def _guard(self, ad: Admitted, model: str, *, endpoint: str, features: list[str]) -> Screen | None:
        """Masks the request's text (in `ad.body`) when guardrails are on; a category in block mode
        refuses it with 400 naming the category, recorded with its hits."""
        if not ad.grant.guardrails:
            return None
        guard = Screen(ad.grant.guardrails)
        try:
            guard.request(ad.body)
        except Blocked as exc:
            outcome = Outcome()
            outcome.status, outcome.error, outcome.origin, outcome.guard = 400, exc.message, "router", guard
            self._record(ad, model, outcome, endpoint=endpoint, stream=bool(ad.body.get("stream")), features=features)
            raise GatewayError(400, exc.message) from None
        return guard

    def _admit_rates(self, ad: Admitted, endpoint: str, default: int) -> Pending | None:
        """Count the request on its rate limits (queued: see `_rates_admitted`), holding its token
        estimate (prompt bound and output cap) on its tokens-per-minute limits — for a request without
        a cap of its own, as much as the room left has, down to `MIN_OUTPUT_TOKENS` a choice."""
        if self.limiter is None:
            return None
        tokens = token_estimate(ad.body, endpoint=endpoint, default=default, prompt=ad.prompt)
        least = None
        if endpoint != "embeddings" and given_cap(ad.body) is None:
            least = token_estimate(ad.body, endpoint=endpoint, default=MIN_OUTPUT_TOKENS, prompt=ad.prompt)
        return self.limiter.admit(ad.grant.rate_limits, tokens=tokens, least=least)

    async def _rates_admitted(
        self, ad: Admitted, endpoint: str, pending: Pending | None, default: int
    ) -> tuple[Pass | None, int]:
        """The request's pass (or its 429), and the output cap of a request that set none: `default` (what
        its budget lines pay for), lowered to what its tokens-per-minute limits held (docs/design.md §4);
        what they hold beyond that cap's estimate is given back."""
        if self.limiter is None:
            return None, default
        passed = await self.limiter.admitted(pending)
        if passed is None or not passed.counts_tokens:
            return passed, default
        if passed.held < token_estimate(ad.body, endpoint=endpoint, default=default, prompt=ad.prompt):
            default = min(default, max(MIN_OUTPUT_TOKENS, (passed.held - ad.prompt) // choices(ad.body)))
        self.limiter.hold(passed, token_estimate(ad.body, endpoint=endpoint, default=default, prompt=ad.prompt))
        return passed, default

    def _default_cap(self, steps: list[routing.Step]) -> int:
        """The output cap of a request that set none: the configured default, within the output window
        of every model its route may use (docs/design.md §4)."""
        windows = [
            window
            for step in steps
            if step.model in self.catalog.models
            and (window := self.catalog.models[step.model].max_output_tokens) is not None
        ]
        return min([self.settings.budget_default_max_tokens, *windows])

    async def _reserve(
        self, ad: Admitted, steps: list[routing.Step], endpoint: str, default: int
    ) -> tuple[Ticket | None, int]:
        """Hold the most the request can cost (its dearest route) on its hard budget lines, or refuse it.
        Returns the ticket and the output cap of a request that set none: within the models' output
        window, and shrunk to what the room left on its tightest hard line pays for, down to
        `MIN_OUTPUT_TOKENS` a choice (docs/design.md §4). A cap the caller set is never shrunk."""
        if self.budgets is None:
            return None, default
        prices = [self.catalog.models[s.model].price for s in steps if s.model in self.catalog.models]
        estimate = estimate_nanos(
            ad.body, endpoint=endpoint, models=prices, default_max_tokens=default, prompt=ad.prompt
        )
        least = None
        if endpoint != "embeddings" and given_cap(ad.body) is None:
            least = estimate_nanos(
                ad.body, endpoint=endpoint, models=prices, default_max_tokens=MIN_OUTPUT_TOKENS, prompt=ad.prompt
            )
        grant = ad.grant
        ticket = await self.budgets.reserve(
            org_id=grant.org_id,
            key_id=grant.key_id,
            user_id=grant.owner_id,
            charged_groups=grant.charged_groups,
            estimate=estimate,
            least=least,
        )
        if ticket.estimate < estimate:
            default = affordable_cap(ad.body, amount=ticket.estimate, models=prices, most=default, prompt=ad.prompt)
        return ticket, default

    async def _with_fallback(
        self, steps: list[routing.Step], outcome: Outcome, call: Callable[[CatalogModel], Awaitable[T]]
    ) -> T:
        """Try each step, retrying retryable failures with exponential backoff; the first success wins."""
        last: ProviderError | None = None
        for step in steps:
            model = self.catalog.models[step.model]
            for attempt in range(step.retries + 1):
                outcome.attempts += 1
                try:
                    result = await call(model)
                except ProviderError as exc:
                    last = exc
                    if not exc.retryable:
                        break
                    if attempt < step.retries:
                        wait = self.config.retry_backoff_seconds * 2**attempt * random.uniform(0.9, 1.1)
                        await asyncio.sleep(wait)
                    continue
                outcome.model = model
                return result
        assert last is not None
        raise last

    async def _answer(
        self, ad: Admitted, steps: list[routing.Step], outcome: Outcome, dialect: str, endpoint: str
    ) -> bytes | None:
        async def call(model: CatalogModel) -> tuple[Json, Tokens]:
            if endpoint == "embeddings":
                resp = await model.provider.embed({**ad.body, "model": model.upstream_model})
                vectors.encode(resp, vectors.requested_encoding(ad.body))
                usage = resp.get("usage")
                return resp, Tokens.bounded(
                    input=count(usage.get("prompt_tokens") if isinstance(usage, dict) else 0), output=0
                )
            if served_natively(ad, model, outcome):
                body = native_request(ad, model, stream=False)
                resp = await cast(ResponsesProvider, model.provider).respond(body)
                assert ad.front is not None
                responses.stamp(resp, ad.front)
                return resp, responses.answer_tokens(resp)
            way = bridge(WIRE[dialect], model.provider.dialect)
            native = await model.provider.complete(_native(way, ad, model), _passed(ad, way))
            answer = way.response(native)
            if ad.front is not None:
                answer = responses.chat_to_response(answer, ad.front)
            return answer, way.tokens(native)

        try:
            resp, tokens = await self._with_fallback(steps, outcome, call)
        except ProviderError as exc:
            outcome.status, outcome.error, outcome.origin = exc.status, exc.message, exc.origin
            return None
        assert outcome.model is not None
        outcome.tokens = tokens
        self._check_overrun(ad, outcome)
        cost = outcome.cost = outcome.model.price.cost_nanos(tokens)
        resp["model"] = outcome.model.id
        usage = resp.get("usage")
        if not isinstance(usage, dict):
            usage = resp["usage"] = {}
        usage["cost"] = dollars(cost)
        if outcome.guard is not None:
            try:
                outcome.guard.answer(resp)
            except Blocked as exc:  # withheld, and charged: the upstream wrote it
                outcome.status, outcome.error, outcome.origin = 400, exc.message, "router"
                return None
        await self.conversations.keep(ad, resp)
        body = orjson.dumps(resp)
        if ad.grant.logging:
            outcome.response_body = body.decode()
        return body

    async def _stream(
        self,
        ad: Admitted,
        steps: list[routing.Step],
        outcome: Outcome,
        dialect: str,
        send: Send,
        watch: asgi.DisconnectWatch,
    ) -> None:
        async def open_stream(model: CatalogModel) -> tuple[Bridge | None, AsyncIterator[list[Event]], list[Event]]:
            way: Bridge | None = None
            if served_natively(ad, model, outcome):
                body = native_request(ad, model, stream=True)
                events = aiter(cast(ResponsesProvider, model.provider).stream_responses(body))
            else:
                way = bridge(WIRE[dialect], model.provider.dialect)
                native = _native(way, ad, model)
                native["stream"] = True
                if way.ask_stream_usage:
                    native["stream_options"] = {"include_usage": True}
                events = aiter(model.provider.stream(native, _passed(ad, way)))
            try:
                first = await anext(events)
            except StopAsyncIteration:
                raise ProviderError(424, "Provider returned an empty stream", retryable=True, origin="router") from None
            return way, events, first

        try:
            way, events, first = await self._with_fallback(steps, outcome, open_stream)
        except ProviderError as exc:
            outcome.status, outcome.error = exc.status, exc.message
            await asgi.send_json(
                send, exc.status, _ERRORS[dialect](exc.status, exc.message, exc.origin), outcome.headers
            )
            return
        assert outcome.model is not None
        relay = relay_for(way, ad, outcome, dialect)
        frame = openai_frame if dialect == "openai" else anthropic_frame
        logged: list[bytes] | None = [] if ad.grant.logging else None
        await asgi.start_sse(send, outcome.headers)
        outcome.started = True
        cut = StreamCut()
        try:
            last = await pump(first, events, relay, send, outcome, ad, logged, cut)
        except ProviderError as exc:
            outcome.tokens = cut_short(relay.tokens, ad.body, outcome.streamed, outcome.cap)
            outcome.status, outcome.error = 502, f"{STREAM_BROKEN}: {exc.message}"
            await asgi.end_body(send, _STREAM_ERRORS[dialect](502, STREAM_BROKEN, "router"))
            return
        except Blocked as exc:  # charged for what the upstream wrote, sent or withheld
            outcome.tokens = cut_short(relay.tokens, ad.body, outcome.streamed + exc.unsent, outcome.cap)
            await self._blocked(exc, events, outcome, dialect, send)
            return
        except asyncio.CancelledError:  # the caller left (or the server stops): charged for what was sent
            outcome.tokens = cut_short(relay.tokens, ad.body, outcome.streamed, outcome.cap)
            raise
        finally:
            if logged is not None:
                outcome.response_body = b"".join(logged).decode(errors="replace")
            close = getattr(events, "aclose", None)
            if close is not None:  # hang up on the upstream unless its answer was read whole
                await close()
        outcome.tokens = relay.tokens
        if cut.reached and outcome.cap is not None:
            # Ended at its paid cap: billed the cap (or what the upstream said, when it said more).
            outcome.tokens = cut_short(outcome.tokens, ad.body, outcome.streamed, outcome.cap)
            outcome.tokens = dataclasses.replace(outcome.tokens, output=max(outcome.tokens.output, outcome.cap))
            self._overran(ad, outcome, reported=None)
        elif not outcome.tokens.output:  # an upstream that never reported usage
            outcome.tokens = cut_short(outcome.tokens, ad.body, outcome.streamed, outcome.cap)
        else:
            self._check_overrun(ad, outcome)
        outcome.cost = outcome.model.price.cost_nanos(outcome.tokens)
        if cut.reached and ad.front is None:
            closing = cut.ending(dialect, relay, outcome.model.id, choices(ad.body), outcome.tokens)
        else:
            try:
                closing = relay.finish()
            except Blocked as exc:
                await self._blocked(exc, events, outcome, dialect, send)
                return
        if ad.front is not None:
            responses.settle(closing, outcome.tokens, dollars(outcome.cost), cut_at_cap=cut.reached)
            await self.conversations.keep(ad, responses.closing_response(closing))
        tail = [frame(e) for e in closing]
        if dialect == "openai":
            options = ad.body.get("stream_options")
            if isinstance(options, dict) and options.get("include_usage"):
                usage = {**outcome.tokens.to_openai(), "cost": dollars(outcome.cost)}
                tail.append(frame(usage_chunk(relay.last_id, outcome.model.id, usage)))
            tail.append(b"data: [DONE]\n\n")
        # The answer is complete: from here on a disconnect is no reason to cancel anything.
        watch.stop()
        data = b"".join(tail)
        if logged is not None:
            outcome.response_body = (outcome.response_body or "") + data.decode(errors="replace")
        await asgi.end_body(send, last + data)

    async def _blocked(
        self, exc: Blocked, events: AsyncIterator[list[Event]], outcome: Outcome, dialect: str, send: Send
    ) -> None:
        """A streamed answer holding a category in block mode: ended with an error event naming it
        before the value is sent; the upstream is hung up on."""
        outcome.status, outcome.error, outcome.origin = 400, exc.message, "router"
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
        await asgi.end_body(send, _STREAM_ERRORS[dialect](400, exc.message, "router"))

    # ---- metering -------------------------------------------------------------------------------------

    def _record(
        self,
        ad: Admitted,
        model_requested: str,
        outcome: Outcome,
        *,
        endpoint: str,
        stream: bool,
        features: list[str],
        ticket: Ticket | None = None,
    ) -> int:
        """Queues the usage record; returns the cost charged."""
        record, cost = usage_record(
            ad, model_requested, outcome, endpoint=endpoint, stream=stream, features=features, ticket=ticket
        )
        self.writer.add(record, ticket)
        return cost

    def _check_overrun(self, ad: Admitted, outcome: Outcome) -> None:
        if outcome.cap is not None and outcome.tokens.output > outcome.cap:
            self._overran(ad, outcome, reported=outcome.tokens.output)

    def _overran(self, ad: Admitted, outcome: Outcome, *, reported: int | None) -> None:
        """The upstream wrote past the cap it was sent: recorded as it billed, and an alert names it."""
        model = outcome.model
        assert model is not None and outcome.cap is not None
        log.warning(
            "provider %s wrote past its output cap on %s: %s tokens allowed, %s",
            model.provider_name,
            model.id,
            outcome.cap,
            f"{reported} billed" if reported is not None else "the stream was ended there",
        )
        alerts = self.budgets.alerts if self.budgets is not None else None
        if alerts is not None:
            alerts.overran(
                org_id=ad.grant.org_id,
                provider=model.provider_name,
                model=model.id,
                allowed=outcome.cap,
                reported=reported,
                key_id=ad.grant.key_id,
            )


def _native(way: Bridge, ad: Admitted, model: CatalogModel) -> Json:
    """The request in the provider's dialect. What that dialect cannot carry fails this route as a 400
    (not retried; a fallback in another dialect may still carry it)."""
    if ad.front is not None and ad.front.untranslatable is not None:
        raise ProviderError(400, ad.front.untranslatable, retryable=False, origin="router")
    try:
        native = way.request({**ad.body, "model": model.upstream_model})
    except GatewayError as exc:
        raise ProviderError(exc.status, exc.message, retryable=False, origin="router") from None
    if ad.caching and model.provider.dialect == "anthropic":
        caching.add_breakpoints(native)
    return native


def _passed(ad: Admitted, way: Bridge) -> dict[str, str] | None:
    """The caller's own dialect headers, for a provider of the same dialect only."""
    return ad.dialect_headers if way.passthrough and ad.dialect_headers else None
