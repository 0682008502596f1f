"""Token counts with o200k_base (GPT-4o/GPT-5 family) through bpe-openai, which works offline.

Counts drive the context budget and the worst-case cost estimate, so message counting adds
the chat format's per-message overhead the way OpenAI documents it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

ENCODING = "o200k_base"
TOKENS_PER_MESSAGE = 3  # <|start|>role ... <|end|>
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>


@functools.cache
def _encoding() -> Any:
    import bpe_openai  # imported on first use: it takes a second to load

    return bpe_openai.get_encoding(ENCODING)


def count(text: str) -> int:
    """Tokens of a plain text (special tokens are counted as ordinary text)."""
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))


@functools.lru_cache(maxsize=1024)
def count_repeated(text: str) -> int:
    """``count`` for a text that comes back unchanged across calls (cached per text)."""
    return count(text)


def truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens`` tokens, cut at a token boundary."""
    if max_tokens <= 0:
        return ""
    enc = _encoding()
    ids = enc.encode_ordinary(text)
    if len(ids) <= max_tokens:
        return text
    return enc.decode(ids[:max_tokens])


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return json.dumps(content, ensure_ascii=False)


def count_messages(messages: Iterable[Mapping[str, Any]], tools: list[Any] | None = None) -> int:
    """Prompt tokens of a Chat Completions request: messages, tool calls and tool schemas."""
    total = REPLY_PRIMING
    for m in messages:
        total += TOKENS_PER_MESSAGE + count(str(m.get("role", "")))
        total += count(_content_text(m.get("content")))
        if m.get("name"):
            total += TOKENS_PER_NAME + count(str(m["name"]))
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function", {})
            total += 3 + count(str(fn.get("name", ""))) + count(str(fn.get("arguments", "")))
        if m.get("tool_call_id"):
            total += count(str(m["tool_call_id"]))
    if tools:
        # Tool schemas are rendered into the system prompt in a compact form; the JSON text
        # is a slight overestimate, which is the safe side for a budget.
        total += count(json.dumps(tools, ensure_ascii=False, separators=(",", ":"))) + 8
    return total
