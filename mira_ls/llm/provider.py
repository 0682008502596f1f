"""One streamed Chat Completions call through the openai SDK, against any compatible endpoint.

The SDK does the HTTP retries (429 with retry-after, 5xx, timeouts, refused connections,
bounded by ``llm.maxRetries``); this module adds what the SDK leaves to callers: the
endpoint and key from settings and environment, reasoning-effort rules per model family,
assembly of streamed text and tool-call deltas, token usage from the last chunk,
cancellation that closes the stream at once, and errors turned into sentences.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mira_ls.config import LlmSettings
from mira_ls.llm.errors import KEY_HELP, CallInfo, LlmError, from_openai

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
KEY_VARS = ("MIRA_OPENAI_API_KEY", "OPENAI_API_KEY")
NO_KEY_PLACEHOLDER = "no-key-needed"  # local servers (Ollama, vLLM) ignore the key
GPT51_EFFORTS = ("none", "low", "medium", "high")
GPT5_EFFORTS = ("minimal", "low", "medium", "high")
O_SERIES_EFFORTS = ("low", "medium", "high")
CANCEL_POLL_S = 0.05


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str | None = field(repr=False)
    key_source: str  # the env var the key came from, "" when none
    timeout_s: float
    max_retries: int

    @property
    def is_openai(self) -> bool:
        host = (urlparse(self.base_url).hostname or "").lower()
        return host == "api.openai.com" or host.endswith(".openai.com")


def endpoint_from(settings: LlmSettings, env: Mapping[str, str] | None = None) -> Endpoint:
    """Base URL: llm.baseUrl, else OPENAI_BASE_URL, else OpenAI. Key: only the environment."""
    env = os.environ if env is None else env
    base = (settings.base_url or env.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
    key, source = None, ""
    for name in KEY_VARS:
        value = (env.get(name) or "").strip()
        if value:
            key, source = value, name
            break
    return Endpoint(base, key, source, float(settings.timeout_seconds), int(settings.max_retries))


# -- model families ---------------------------------------------------------------------


def _family(model: str) -> str:
    m = model.lower().split("/")[-1]
    if m.startswith("gpt-5.") or m.startswith("gpt-5-1") or re.match(r"gpt-5\.\d", m):
        return "gpt-5.1"
    if m.startswith("gpt-5"):
        return "gpt-5"
    if re.match(r"o[1-9](\b|-|$)", m):
        return "o"
    return "other"


def supports_reasoning_effort(model: str) -> bool:
    return _family(model) != "other"


def normalize_effort(model: str, effort: str) -> str | None:
    """The effort this model accepts closest to the one asked for; None: do not send one.

    GPT-5.1 takes none/low/medium/high, GPT-5 minimal/low/medium/high (``minimal`` and
    ``none`` map onto each other), the o-series low/medium/high.
    """
    fam = _family(model)
    effort = (effort or "medium").lower()
    if fam == "gpt-5.1":
        return "none" if effort == "minimal" else (effort if effort in GPT51_EFFORTS else "medium")
    if fam == "gpt-5":
        return "minimal" if effort == "none" else (effort if effort in GPT5_EFFORTS else "medium")
    if fam == "o":
        return effort if effort in O_SERIES_EFFORTS else "low"
    return None


def effort_order(model: str) -> tuple[str, ...]:
    """Highest to lowest: the downgrade path for this model's family."""
    fam = _family(model)
    if fam == "gpt-5":
        return ("high", "medium", "low", "minimal")
    if fam == "o":
        return ("high", "medium", "low")
    return ("high", "medium", "low", "none")


# -- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class ToolCallRequest:
    id: str
    name: str
    arguments: str  # JSON text as the model wrote it (may be invalid)

    def as_message_part(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class Completion:
    text: str
    tool_calls: list[ToolCallRequest]
    usage: Usage | None  # None: the endpoint sent no usage (or the stream was cut)
    finish_reason: str | None
    model: str
    chunks: int
    cancelled: bool = False


@dataclass(frozen=True)
class ChatCall:
    model: str
    messages: list[dict[str, Any]]
    reasoning_effort: str | None
    max_output_tokens: int
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | None = None  # "none" forces a final answer
    response_format: dict[str, Any] | None = None  # json_schema for answers that are data


# -- the provider -----------------------------------------------------------------------


class Provider:
    """A thread-safe wrapper around one ``openai.OpenAI`` client for one endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        import openai  # the SDK takes a second to import: not before an LLM is used

        self.endpoint = endpoint
        key = endpoint.api_key
        if key is None and not endpoint.is_openai:
            key = NO_KEY_PLACEHOLDER
        self._client: openai.OpenAI | None = None
        if key is not None:
            self._client = openai.OpenAI(
                api_key=key,
                base_url=endpoint.base_url,
                timeout=endpoint.timeout_s,
                max_retries=endpoint.max_retries,
                organization=None,
                project=None,
            )
        self._no_usage_option = False  # learned: the endpoint rejects stream_options

    def info(self, model: str) -> CallInfo:
        e = self.endpoint
        return CallInfo(e.base_url, model, e.timeout_s, e.max_retries, e.key_source, e.api_key)

    def _params(self, call: ChatCall) -> dict[str, Any]:
        p: dict[str, Any] = {"model": call.model, "messages": call.messages, "stream": True}
        if not self._no_usage_option:
            p["stream_options"] = {"include_usage": True}
        effort = (
            normalize_effort(call.model, call.reasoning_effort or "")
            if call.reasoning_effort
            else None
        )
        if effort is not None:
            p["reasoning_effort"] = effort
        # Reasoning models on OpenAI take max_completion_tokens (it includes reasoning);
        # Ollama, LM Studio and older servers know max_tokens.
        if supports_reasoning_effort(call.model) or self.endpoint.is_openai:
            p["max_completion_tokens"] = call.max_output_tokens
        else:
            p["max_tokens"] = call.max_output_tokens
        if call.response_format is not None:
            p["response_format"] = call.response_format
        if call.tools:
            p["tools"] = call.tools
            if call.tool_choice:
                p["tool_choice"] = call.tool_choice
        return p

    def stream(
        self,
        call: ChatCall,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Completion:
        """Run one streamed call; text deltas go to ``on_text`` as they arrive.

        Raises LlmError with a sentence on failure; ``partial_text`` holds what arrived.
        """
        if self._client is None:
            raise LlmError(
                "auth", f"No API key is set for {self.endpoint.base_url}. {KEY_HELP}", status=401
            )
        import openai

        params = self._params(call)
        try:
            stream = self._client.chat.completions.create(**params)
        except openai.BadRequestError as exc:
            if "stream_options" in str(exc) and "stream_options" in params:
                log.info("endpoint rejects stream_options; streaming without usage")
                self._no_usage_option = True
                return self.stream(call, on_text, cancelled)
            raise from_openai(exc, self.info(call.model)) from None
        except openai.OpenAIError as exc:
            raise from_openai(exc, self.info(call.model)) from None
        return self._consume(stream, call, on_text, cancelled)

    def _consume(
        self,
        stream: Any,
        call: ChatCall,
        on_text: Callable[[str], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> Completion:
        # Cyclomatic ~31, on purpose: one loop over the stream's chunks (text, tool-call
        # deltas, usage, finish) and the SDK's failure types, each turned into its sentence
        # with what had arrived; split apart, the pieces would all need the loop's state.
        import openai

        parts: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        usage: Usage | None = None
        finish: str | None = None
        model = call.model
        chunks = 0
        stop_watch = threading.Event()
        was_cancelled = threading.Event()

        def watch() -> None:  # closes the HTTP response the moment the user cancels
            while not stop_watch.wait(CANCEL_POLL_S):
                if cancelled is not None and cancelled():
                    was_cancelled.set()
                    try:
                        stream.close()
                    except Exception:  # closing an already closed stream
                        pass
                    return

        watcher = None
        if cancelled is not None:
            watcher = threading.Thread(target=watch, name="mira-llm-cancel", daemon=True)
            watcher.start()
        try:
            for chunk in stream:
                if was_cancelled.is_set() or (cancelled is not None and cancelled()):
                    was_cancelled.set()
                    break
                if getattr(chunk, "model", None):
                    model = chunk.model
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices or []:
                    delta = choice.delta
                    if choice.finish_reason:
                        finish = choice.finish_reason
                    if delta is None:
                        continue
                    if delta.content:
                        parts.append(delta.content)
                        chunks += 1
                        if on_text is not None:
                            on_text(delta.content)
                    for tc in delta.tool_calls or []:
                        slot = calls.setdefault(tc.index, {"id": "", "name": "", "args": []})
                        if tc.id:
                            slot["id"] = tc.id
                        if tc.function is not None:
                            if tc.function.name:
                                slot["name"] += tc.function.name
                            if tc.function.arguments:
                                slot["args"].append(tc.function.arguments)
        except openai.APITimeoutError:
            if not was_cancelled.is_set():
                raise LlmError(
                    "timeout",
                    f"The LLM endpoint {self.endpoint.base_url} stopped sending the answer for "
                    f"{self.endpoint.timeout_s:g} s after {chunks} chunks. Try again, or raise "
                    "mira.llm.timeoutSeconds.",
                    partial_text="".join(parts),
                    maybe_billed=True,
                ) from None
        except openai.APIConnectionError as exc:
            if not was_cancelled.is_set():
                log.debug("stream broke: %s", type(exc.__cause__ or exc).__name__)
                raise LlmError(
                    "connection",
                    f"The connection to the LLM endpoint {self.endpoint.base_url} broke after "
                    f"{chunks} chunks of the answer. Try again.",
                    partial_text="".join(parts),
                    maybe_billed=True,
                ) from None
        except openai.OpenAIError as exc:
            if not was_cancelled.is_set():
                err = from_openai(exc, self.info(call.model))
                err.partial_text = "".join(parts)
                err.maybe_billed = True
                raise err from None
        except Exception as exc:  # httpx errors after close() on cancellation
            if not was_cancelled.is_set():
                log.debug("stream failed: %s", type(exc).__name__)
                raise LlmError(
                    "connection",
                    f"The connection to the LLM endpoint {self.endpoint.base_url} broke while "
                    f"the answer was streaming ({type(exc).__name__}). Try again.",
                    partial_text="".join(parts),
                    maybe_billed=True,
                ) from None
        finally:
            stop_watch.set()
            if was_cancelled.is_set():
                try:
                    stream.close()
                except Exception:
                    pass
        text = "".join(parts)
        if not was_cancelled.is_set() and finish is None and not calls:
            err = LlmError(
                "connection",
                f"The answer from {self.endpoint.base_url} ended before it was complete "
                "(the stream stopped without a finish reason). Try again.",
                partial_text=text,
                maybe_billed=True,
            )
            raise err
        tool_calls = [
            ToolCallRequest(s["id"] or f"call_{i}", s["name"], "".join(s["args"]))
            for i, s in sorted(calls.items())
        ]
        return Completion(
            text, tool_calls, usage, finish, model, chunks, cancelled=was_cancelled.is_set()
        )


@dataclass
class EmbeddingBatch:
    vectors: list[list[float]]
    input_tokens: int | None  # None: the endpoint sent no usage
    model: str


def embed(
    provider: Provider, model: str, inputs: list[str], dimensions: int | None
) -> EmbeddingBatch:
    """One /v1/embeddings call (the SDK retries as for chat); vectors in input order.

    ``dimensions`` is sent only when given: text-embedding-3 models shorten their vectors
    to it, while other servers (Ollama, LM Studio) may reject the parameter."""
    client = provider._client
    if client is None:
        raise LlmError(
            "auth",
            f"No API key is set for {provider.endpoint.base_url}, so nothing can be embedded. "
            f"{KEY_HELP}",
            status=401,
        )
    import openai

    params: dict[str, Any] = {"model": model, "input": inputs, "encoding_format": "float"}
    if dimensions is not None:
        params["dimensions"] = dimensions
    try:
        resp = client.embeddings.create(**params)
    except openai.OpenAIError as exc:
        raise from_openai(exc, provider.info(model)) from None
    data = sorted(resp.data or [], key=lambda d: d.index)
    if len(data) != len(inputs):
        raise LlmError(
            "bad_response",
            f"The embedding endpoint {provider.endpoint.base_url} returned {len(data)} vectors "
            f"for {len(inputs)} texts. Check that mira.llm.embeddingModel ({model}) is an "
            "embedding model.",
            maybe_billed=True,
        )
    usage = getattr(resp, "usage", None)
    tokens = int(usage.prompt_tokens) if usage is not None and usage.prompt_tokens else None
    return EmbeddingBatch([list(d.embedding) for d in data], tokens, resp.model or model)


def _usage(u: Any) -> Usage:
    cached = 0
    reasoning = 0
    if getattr(u, "prompt_tokens_details", None) is not None:
        cached = int(u.prompt_tokens_details.cached_tokens or 0)
    if getattr(u, "completion_tokens_details", None) is not None:
        reasoning = int(u.completion_tokens_details.reasoning_tokens or 0)
    return Usage(int(u.prompt_tokens or 0), int(u.completion_tokens or 0), cached, reasoning)


def parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """A tool call's JSON arguments, or an error sentence the model can read and fix."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON ({exc.msg} at {exc.pos})"
    if not isinstance(value, dict):
        return None, "arguments must be a JSON object"
    return value, None
