"""OpenAI's Responses API (`POST /v1/responses`).

A Responses request is turned into the chat request it means as it is admitted, so access lists,
features, budgets, policies and metering treat it exactly as chat (`request`). An upstream that
serves the Responses API itself gets the caller's request (`native`); any other gets the chat form,
translated by the usual bridges, and its answer is turned back into a Response (`answer`) or its
stream into Responses events (`events`). Covey keeps the responses it answers with `store` on
(`covey.response_store`); a request naming `previous_response_id` gets that conversation before its
own input (`request.continued`) and goes on as any other (`conversations`, which the gateway's flow
calls).
"""

from covey.gateway.responses.answer import chat_to_response, stamp
from covey.gateway.responses.events import (
    ChatToResponsesStream,
    closing_response,
    generated_bytes,
    settle,
    stream_error,
)
from covey.gateway.responses.native import NativeRelay, answer_tokens, native_request
from covey.gateway.responses.request import Front, continued, input_items, request_to_chat

__all__ = [
    "ChatToResponsesStream",
    "Front",
    "NativeRelay",
    "answer_tokens",
    "chat_to_response",
    "closing_response",
    "continued",
    "generated_bytes",
    "input_items",
    "native_request",
    "request_to_chat",
    "settle",
    "stamp",
    "stream_error",
]
