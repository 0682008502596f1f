"""The provider against a real HTTP server on 127.0.0.1 speaking the OpenAI wire format."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from mira_ls.config import LlmSettings
from mira_ls.llm.errors import CallInfo, LlmError
from mira_ls.llm.provider import (
    ChatCall,
    Provider,
    endpoint_from,
    normalize_effort,
    parse_arguments,
)
from mira_ls.llm.redact import install_log_redaction
from tests.support.openai_server import Answer, Drop, Error, OpenAIServer, ToolCall

KEY = "sk-proj-provider-test-KEY-0123456789abcdefghijkl"
MSG = [{"role": "user", "content": "What does main do?"}]


@pytest.fixture
def srv() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def provider(
    srv: OpenAIServer, retries: int = 1, timeout: float = 5.0, key: str | None = KEY
) -> Provider:
    settings = LlmSettings(base_url=srv.base_url, max_retries=retries, timeout_seconds=timeout)
    env = {"MIRA_OPENAI_API_KEY": key} if key else {}
    return Provider(endpoint_from(settings, env))


def call(model: str = "gpt-5.1", effort: str | None = "medium", **kw: object) -> ChatCall:
    return ChatCall(model, MSG, effort, 500, **kw)  # type: ignore[arg-type]


def fail(p: Provider, c: ChatCall | None = None) -> LlmError:
    with pytest.raises(LlmError) as info:
        p.stream(c or call())
    return info.value


def test_streams_text_chunks_in_order_with_usage_from_the_last_chunk(srv: OpenAIServer) -> None:
    srv.script(
        Answer(
            text="It returns helper(21), i.e. 42.",
            prompt_tokens=120,
            completion_tokens=30,
            cached_tokens=100,
            reasoning_tokens=12,
        )
    )
    got: list[str] = []
    c = provider(srv).stream(call(), got.append)
    assert c.text == "It returns helper(21), i.e. 42." == "".join(got)
    assert len(got) == 5 and c.chunks == 5 and c.finish_reason == "stop"
    assert c.usage is not None
    assert (c.usage.input_tokens, c.usage.output_tokens) == (120, 30)
    assert (c.usage.cached_input_tokens, c.usage.reasoning_tokens) == (100, 12)
    body = srv.chat_requests()[-1].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["reasoning_effort"] == "medium" and body["max_completion_tokens"] == 500
    assert srv.chat_requests()[-1].headers["authorization"] == f"Bearer {KEY}"


def test_tool_call_deltas_are_assembled(srv: OpenAIServer) -> None:
    srv.script(
        Answer(
            text="",
            tool_calls=[
                ToolCall("get_symbol", {"name": "main", "path": "app.py"}, id="call_a"),
                ToolCall("callers", {"name": "helper"}, id="call_b"),
            ],
        )
    )
    c = provider(srv).stream(call(tools=[{"type": "function", "function": {"name": "x"}}]))
    assert c.finish_reason == "tool_calls" and c.text == ""
    assert [(t.id, t.name) for t in c.tool_calls] == [
        ("call_a", "get_symbol"),
        ("call_b", "callers"),
    ]
    assert json.loads(c.tool_calls[0].arguments) == {"name": "main", "path": "app.py"}
    assert srv.chat_requests()[-1].body["tools"][0]["function"]["name"] == "x"


@pytest.mark.parametrize(("model", "asked", "sent"), [
    ("gpt-5.1", "minimal", "none"), ("gpt-5.1", "none", "none"), ("gpt-5.1", "high", "high"),
    ("gpt-5", "none", "minimal"), ("gpt-5-mini", "minimal", "minimal"), ("o4-mini", "none", "low"),
    ("llama3.1", "high", None),
])  # fmt: skip
def test_reasoning_effort_follows_the_model_family(
    srv: OpenAIServer, model: str, asked: str, sent: str | None
) -> None:
    assert normalize_effort(model, asked) == sent
    provider(srv).stream(call(model, asked))
    body = srv.chat_requests()[-1].body
    assert body.get("reasoning_effort") == sent
    # local models get max_tokens (Ollama, LM Studio); reasoning models max_completion_tokens
    assert ("max_tokens" in body) == (sent is None)


def test_401_says_the_key_was_rejected_where_it_came_from_and_never_shows_it(
    srv: OpenAIServer,
) -> None:
    srv.script(Error(401, f"Incorrect API key provided: {KEY}", code="invalid_api_key"))
    e = fail(provider(srv))
    assert e.kind == "auth" and e.status == 401 and not e.maybe_billed
    assert "MIRA_OPENAI_API_KEY" in str(e) and "401" in str(e)
    assert KEY not in str(e) and KEY[:20] not in str(e)
    assert len(srv.chat_requests()) == 1  # not retried


def test_missing_key_for_openai_is_a_sentence_without_any_request() -> None:
    p = Provider(endpoint_from(LlmSettings(), {}))
    e = fail(p)
    assert e.kind == "auth" and "MIRA_OPENAI_API_KEY" in str(e) and "OPENAI_API_KEY" in str(e)


def test_local_endpoints_work_without_a_key(srv: OpenAIServer) -> None:
    c = provider(srv, key=None).stream(call("llama3.1", None))
    assert c.text.startswith("You asked:")


def test_403_and_404_name_the_problem(srv: OpenAIServer) -> None:
    srv.script(Error(403, "Project does not have access to model"))
    e = fail(provider(srv))
    assert e.kind == "permission" and "403" in str(e) and "gpt-5.1" in str(e)
    srv.script(Error(404, "The model `gpt-9` does not exist", code="model_not_found"))
    e = fail(provider(srv), call("gpt-9"))
    assert e.kind == "not_found" and "Model 'gpt-9' was not found" in str(e)
    assert "mira.llm.model" in str(e)


def test_429_honours_retry_after_then_succeeds(srv: OpenAIServer) -> None:
    srv.script(
        Error(429, "Rate limit reached", headers={"retry-after-ms": "400"}), Answer(text="fine now")
    )
    t0 = time.monotonic()
    c = provider(srv, retries=2).stream(call())
    assert c.text == "fine now" and time.monotonic() - t0 >= 0.4
    assert len(srv.chat_requests()) == 2


def test_429_retries_are_bounded_and_the_message_says_to_wait(srv: OpenAIServer) -> None:
    srv.script(*[Error(429, "Rate limit reached", headers={"retry-after": "1"})] * 3)
    t0 = time.monotonic()
    e = fail(provider(srv, retries=2))
    assert len(srv.chat_requests()) == 3  # one try + two retries
    assert time.monotonic() - t0 >= 2  # each retry waited the 1 s asked for
    assert e.kind == "rate_limit" and e.retry_after_s == 1
    assert "429" in str(e) and "2 retries" in str(e) and "wait 1 s" in str(e)


def test_429_quota_is_its_own_message(srv: OpenAIServer) -> None:
    srv.script(
        Error(
            429,
            "You exceeded your current quota",
            code="insufficient_quota",
            headers={"retry-after-ms": "1"},
        )
    )
    e = fail(provider(srv, retries=0))
    assert e.kind == "quota" and "quota" in str(e) and "billing" in str(e)


def test_500_is_retried_with_backoff_then_reported(srv: OpenAIServer) -> None:
    srv.script(Error(500, "boom"), Answer(text="recovered"))
    t0 = time.monotonic()
    assert provider(srv, retries=1).stream(call()).text == "recovered"
    assert time.monotonic() - t0 >= 0.3  # the SDK's backoff, no retry-after given
    srv.script(
        Error(503, "overloaded", headers={"retry-after-ms": "1"}),
        Error(503, "overloaded", headers={"retry-after-ms": "1"}),
    )
    e = fail(provider(srv, retries=1))
    assert e.kind == "server" and "503" in str(e) and "1 retry" in str(e)


def test_slow_answer_times_out_with_a_sentence(srv: OpenAIServer) -> None:
    srv.script(Answer(delay_s=2.0), Answer(delay_s=2.0))
    t0 = time.monotonic()
    e = fail(provider(srv, retries=0, timeout=0.5))
    assert time.monotonic() - t0 < 1.9
    assert e.kind == "timeout" and "0.5 s" in str(e) and "mira.llm.timeoutSeconds" in str(e)
    assert e.maybe_billed


def test_dropped_connection_is_retried_and_a_cut_stream_keeps_its_text(
    srv: OpenAIServer,
) -> None:
    srv.script(Drop(), Answer(text="second try"))
    assert provider(srv, retries=1).stream(call()).text == "second try"
    srv.script(Answer(text="one two three four five six", drop_after_chunks=3))
    got: list[str] = []
    with pytest.raises(LlmError) as info:
        provider(srv, retries=1).stream(call(), got.append)
    assert info.value.kind == "connection" and "after 3 chunks" in str(info.value)
    assert info.value.partial_text == "one two three " == "".join(got)
    assert info.value.maybe_billed


def test_connection_refused_names_the_url() -> None:
    settings = LlmSettings(base_url="http://127.0.0.1:9/v1", max_retries=0)
    e = fail(Provider(endpoint_from(settings, {"OPENAI_API_KEY": KEY})))
    assert e.kind == "connection" and "http://127.0.0.1:9/v1" in str(e)
    assert "connection refused" in str(e) and not e.maybe_billed


def test_base_url_comes_from_settings_then_openai_base_url() -> None:
    env = {
        "OPENAI_BASE_URL": "http://127.0.0.1:1234/v1/",
        "OPENAI_API_KEY": "k" * 20,
        "MIRA_OPENAI_API_KEY": "m" * 20,
    }
    e = endpoint_from(LlmSettings(), env)
    assert e.base_url == "http://127.0.0.1:1234/v1" and e.key_source == "MIRA_OPENAI_API_KEY"
    assert e.api_key == "m" * 20 and "m" * 20 not in repr(e)
    e = endpoint_from(LlmSettings(base_url="http://127.0.0.1:5/v1"), env)
    assert e.base_url == "http://127.0.0.1:5/v1"


def test_call_info_repr_leaves_the_key_out() -> None:
    info = CallInfo("http://127.0.0.1:5/v1", "gpt-5.1", 5.0, 0, "OPENAI_API_KEY", KEY)
    assert info.api_key == KEY
    assert KEY not in repr(info) and KEY not in str(info) and "gpt-5.1" in repr(info)


def test_cancellation_closes_the_stream_at_once(srv: OpenAIServer) -> None:
    srv.script(Answer(text="a b c d e f g h i j", chunk_delay_s=0.3))
    flag = threading.Event()
    got: list[str] = []

    def on_text(t: str) -> None:
        got.append(t)
        flag.set()

    t0 = time.monotonic()
    c = provider(srv).stream(call(), on_text, flag.is_set)
    assert c.cancelled and c.usage is None and time.monotonic() - t0 < 1.5
    assert c.text == "".join(got) and len(got) <= 2


def test_bad_tool_arguments_become_sentences_for_the_model() -> None:
    args, problem = parse_arguments('{"name": ')
    assert args is None and problem is not None and "not valid JSON" in problem
    assert parse_arguments("") == ({}, None)
    assert parse_arguments("[1]")[1] == "arguments must be a JSON object"


def test_the_key_never_reaches_a_log_line(
    srv: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        install_log_redaction([KEY])
        caplog.set_level(logging.DEBUG)
        caplog.handler.addFilter(handler.filters[0])
        logging.getLogger("mira_ls.test").warning("leaked %s in a message", KEY)
        srv.script(Error(401, f"Incorrect API key provided: {KEY}"))
        fail(provider(srv, retries=0))
        assert caplog.records and KEY not in caplog.text
        assert "[REDACTED]" in caplog.text
    finally:
        logging.getLogger().removeHandler(handler)
