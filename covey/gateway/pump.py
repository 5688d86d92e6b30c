"""A stream's way from the provider to its caller: the relay a request gets (`relay_for`: the bytes
passed through, or a converter's events), and the pump that relays them at the provider's pace."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from starlette.types import Send

from covey.budgets.estimate import STREAM_BYTES_PER_TOKEN
from covey.gateway import asgi, responses
from covey.gateway.admission import Admitted
from covey.gateway.bridges import Bridge, StreamConverter
from covey.gateway.outcome import Outcome
from covey.gateway.relay import Converted, Relay, anthropic_frame, openai_frame
from covey.gateway.sse import Event
from covey.gateway.stream_endings import StreamCut
from covey.guardrails.masking import MaskedStream

# The chat dialect each caller speaks on the wire (a Responses request is carried as a chat request).
WIRE = {"openai": "openai", "anthropic": "anthropic", "responses": "openai"}


def relay_for(way: Bridge | None, ad: Admitted, outcome: Outcome, dialect: str) -> Relay:
    """The provider's bytes passed through when the caller speaks its dialect and nothing rewrites
    the text (`way` None: Responses events from an upstream that serves them); otherwise the
    bridge's converter, masked and turned into Responses events as asked."""
    assert outcome.model is not None
    if way is None:
        assert ad.front is not None
        return responses.NativeRelay(outcome.model.id, ad.front)
    if way.relay is not None and outcome.guard is None and ad.front is None:
        return way.relay(outcome.model.id)
    converter: StreamConverter = way.stream(outcome.model.id, ad.body)
    if outcome.guard is not None:  # masked in the chat dialect, before a Responses caller's events are made
        converter = MaskedStream(converter, outcome.guard, WIRE[dialect])
    frame = openai_frame if dialect == "openai" else anthropic_frame
    if ad.front is not None:
        converter = responses.ChatToResponsesStream(converter, model=outcome.model.id, front=ad.front)
        return Converted(converter, frame, responses.generated_bytes)
    return Converted(converter, frame)


async def pump(
    first: list[Event],
    events: AsyncIterator[list[Event]],
    relay: Relay,
    send: Send,
    outcome: Outcome,
    ad: Admitted,
    logged: list[bytes] | None,
    cut: StreamCut,
) -> bytes:
    """Relays the stream at the provider's pace, ending it once its text reaches the paid cap. The
    events that arrived together go out in one write, as soon as they arrived; each write waits until
    the caller's socket takes it, and nothing more is read from the provider meanwhile, so a slow
    caller slows only its own upstream. The last batch, when the upstream's answer came whole with it
    (`ended`), is returned instead, to go out in the stream's last write (not with a Responses caller,
    whose ending may wait for its answer to be stored)."""
    allowance = outcome.cap * STREAM_BYTES_PER_TOKEN if outcome.cap is not None else None
    batch = first
    while True:
        out: list[bytes] = []
        for event in batch:
            data = relay.feed(event)
            if data:
                out.append(data)
            if allowance is not None and relay.streamed >= allowance:
                cut.reached = True
                break
        outcome.streamed = relay.streamed
        if out:
            if outcome.ttft is None:
                outcome.ttft = time.perf_counter() - ad.started
            data = out[0] if len(out) == 1 else b"".join(out)
            if logged is not None:
                logged.append(data)
            if cut.reached or (ad.front is None and getattr(events, "ended", False)):
                return data
            await asgi.send_chunk(send, data)
        if cut.reached:
            return b""
        try:
            batch = await anext(events)
        except StopAsyncIteration:
            return b""
