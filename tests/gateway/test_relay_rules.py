"""The SSE parser and the relays as pure functions: what passes untouched, what is rewritten, what is
counted — including the shapes a careless or hostile upstream sends."""

from __future__ import annotations

import orjson
import pytest

from covey.gateway.bridges import AnthropicToOpenAI
from covey.gateway.relay import AnthropicRelay, Converted, OpenAIRelay, openai_frame
from covey.gateway.sse import Event, MalformedEvent, Parser


def chunk(text: str | None = None, *, model: str = "gpt-4o", finish: str | None = None, **extra: object) -> bytes:
    delta = {} if text is None else {"content": text}
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model, **extra}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    return b"data: " + orjson.dumps(body) + b"\n\n"


def events(*frames: bytes) -> list[Event]:
    parser = Parser()
    return parser.feed(b"".join(frames))


def test_the_parser_keeps_each_events_bytes_across_reads() -> None:
    stream = chunk("Hel") + b": keep-alive\n\n" + chunk("lo") + b"data: [DONE]\n\n" + chunk("after done")
    parser = Parser()
    got: list[Event] = []
    for n in range(0, len(stream), 7):  # split anywhere, mid-line included
        got += parser.feed(stream[n : n + 7])
    assert [e.frame for e in got] == [chunk("Hel"), chunk("lo")]
    assert parser.done and got[1].data["choices"][0]["delta"] == {"content": "lo"}


def test_the_parser_reads_crlf_multiline_data_named_events_and_an_unclosed_last_event() -> None:
    parser = Parser()
    got = parser.feed(b'event: ping\r\ndata: {"type":\r\ndata: "ping"}\r\n\r\ndata: {"a": 1}')
    assert [e.data for e in got] == [{"type": "ping"}]
    assert got[0].frame == b'event: ping\ndata: {"type":\ndata: "ping"}\n\n'
    assert [e.data for e in parser.close()] == [{"a": 1}]


@pytest.mark.parametrize(
    ("frame", "data"),
    [
        (b'event: message_stop\ndata: {"type": "message_stop"}', {"type": "message_stop"}),  # Anthropic's shape
        (b'event: x\ndata:{"a": 1}', {"a": 1}),  # no space after the colon
        (b'event: x\nid: 7\ndata: {"a": 2}', {"a": 2}),  # a field between
        (b'event: x\ndata: {"a":\ndata: 3}', {"a": 3}),  # data over two lines
        (b'data: {"a": 4}\nevent: late', {"a": 4}),  # the name after the data
        (b': comment\ndata: {"a": 5}', {"a": 5}),
    ],
)
def test_named_events_in_every_shape_read_the_same(frame: bytes, data: dict[str, int]) -> None:
    got = Parser().feed(frame + b"\n\n")
    assert [e.data for e in got] == [data] and got[0].frame == frame + b"\n\n"
    assert Parser().feed(b"event: ping\n\n") == []  # a name without data is no event


@pytest.mark.parametrize("payload", [b"data: {not json\n\n", b"data: [1, 2]\n\n", b'data: "text"\n\n'])
def test_the_parser_refuses_data_that_is_not_a_json_object(payload: bytes) -> None:
    with pytest.raises(MalformedEvent):
        Parser().feed(payload)


def test_openai_chunks_pass_as_sent_with_the_model_renamed() -> None:
    relay = OpenAIRelay("up/gpt-4o")
    first, second = events(chunk('Héllo \\ "x"'), chunk(None, finish="stop", usage=None))
    assert relay.feed(first) == first.frame.replace(b'"model":"gpt-4o"', b'"model":"up/gpt-4o"')
    # "usage":null (an upstream asked for usage says so in every chunk) passes as sent.
    assert relay.feed(second) == second.frame.replace(b'"model":"gpt-4o"', b'"model":"up/gpt-4o"')
    assert relay.streamed == len('Héllo \\ "x"'.encode()) and relay.last_id == "c1"


def test_an_upstream_that_names_the_model_as_covey_does_is_relayed_as_is() -> None:
    relay = OpenAIRelay("gpt-4o")
    (event,) = events(chunk("hi"))
    assert relay.feed(event) is event.frame


def test_openai_chunks_that_cannot_be_renamed_in_place_are_rewritten() -> None:
    relay = OpenAIRelay("up/m")
    spaced = b'data: {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "a"}}]}\n\n'
    (event,) = events(spaced)
    out = orjson.loads(relay.feed(event)[6:])
    assert out["model"] == "up/m" and out["choices"][0]["delta"] == {"content": "a"}
    (nameless,) = events(b'data: {"choices": [{"delta": {"content": "b"}}]}\n\n')
    assert orjson.loads(relay.feed(nameless)[6:])["model"] == "up/m"


def test_usage_is_read_and_held_back_for_covey_to_report() -> None:
    relay = OpenAIRelay("up/gpt-4o")
    usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    last = b'data: {"choices": [], "usage": {"completion_tokens": 4}}\n\n'
    with_text, usage_only = events(chunk("x", usage=usage), last)
    out = orjson.loads(relay.feed(with_text)[6:])
    assert "usage" not in out and out["choices"][0]["delta"] == {"content": "x"}
    assert (relay.tokens.input, relay.tokens.output) == (7, 3)
    assert relay.feed(usage_only) == b"" and relay.tokens.output == 4  # the last report counts


@pytest.mark.parametrize(
    "frame",
    [
        b'data: {"choices": "many"}\n\n',
        b'data: {"choices": [1, null, {"delta": 5}], "usage": {}}\n\n',
        b'data: {"choices": [{"delta": {"content": 3, "tool_calls": [{"function": {"arguments": "{}"}}]}}]}\n\n',
    ],
)
def test_odd_openai_chunks_never_raise(frame: bytes) -> None:
    relay = OpenAIRelay("up/m")
    (event,) = events(frame)
    relay.feed(event)
    assert relay.tokens.output == 0


def test_anthropic_events_pass_as_sent_but_message_start() -> None:
    relay = AnthropicRelay("claude/c")
    frames = [
        b'event: message_start\ndata: {"type":"message_start","message":{"model":"c","usage":{"input_tokens":9}}}\n\n',
        b'event: content_block_delta\ndata: {"type":"content_block_delta",'
        b'"delta":{"type":"text_delta","text":"hi"}}\n\n',
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        b'"usage":{"output_tokens":5}}\n\n',
    ]
    start, delta, end = events(*frames)
    assert orjson.loads(relay.feed(start).split(b"data: ")[1])["message"]["model"] == "claude/c"
    assert relay.feed(delta) is delta.frame and relay.feed(end) is end.frame
    assert (relay.tokens.input, relay.tokens.output, relay.streamed) == (9, 5, 2)


def test_a_converted_stream_counts_the_text_it_relays_and_the_block_left_open() -> None:
    relay = Converted(AnthropicToOpenAI("claude/c", {}), openai_frame)
    start, block, delta = events(
        b'data: {"type":"message_start","message":{"usage":{"input_tokens":3}}}\n\n',
        b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
        b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\\u00e9"}}\n\n',
    )
    relay.feed(start)
    relay.feed(block)
    out = relay.feed(delta)
    assert orjson.loads(out[6:])["choices"][0]["delta"] == {"content": "hé"}
    assert relay.streamed == len("hé".encode()) and relay.last_id is not None
