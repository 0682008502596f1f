"""LLM failures as sentences an editor can show: what happened and what to do about it.

Every message is passed through ``redact`` with the API key, so no exception text that
reaches the client, the log or the database can carry the key.
"""

from __future__ import annotations

import email.utils
import math
import time
from dataclasses import dataclass, field
from typing import Any

from mira_ls.llm.redact import redact

KEY_HELP = (
    "Set it in the environment of the process that starts mira-ls (MIRA_OPENAI_API_KEY, "
    "else OPENAI_API_KEY), e.g. in the editor's secret storage or your shell profile; "
    "never in a settings file."
)


class LlmError(Exception):
    """``str(exc)`` is the sentence for the user; ``kind`` is for code and tests."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        partial_text: str = "",
        maybe_billed: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.partial_text = partial_text
        # True when the endpoint may have done (and billed) work: a timeout or a stream cut
        # after it started. HTTP error answers and refused connections are not billed.
        self.maybe_billed = maybe_billed


@dataclass(frozen=True)
class CallInfo:
    """What the message needs to know about the call that failed."""

    base_url: str
    model: str
    timeout_s: float
    max_retries: int
    key_source: str  # name of the env var the key came from, or "" when none
    # only used to scrub messages; kept out of repr so a logged CallInfo cannot leak it
    api_key: str | None = field(default=None, repr=False)


def _server_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    msg = None
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message")
        elif isinstance(err, str):
            msg = err
    text = str(msg or getattr(exc, "message", "") or "").strip()
    return text[:300]


def retry_after_seconds(headers: Any) -> float | None:
    if headers is None:
        return None
    for name, div in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        v = headers.get(name)
        if v is None:
            continue
        try:
            f = float(v) / div
            if math.isfinite(f):
                return max(0.0, f)
        except ValueError:
            parsed = email.utils.parsedate_tz(v)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


def retry_when(wait_s: float | None, now: float) -> str:
    """'Try again after 17:42 UTC (in 60 min).' from a Retry-After; 'in a moment' without one."""
    if wait_s is None or wait_s < 1:
        return "Try again in a moment."
    if wait_s < 60:
        return f"The endpoint asks to wait {math.ceil(wait_s)} s; try again after that."
    at = math.ceil((now + wait_s) / 60) * 60  # "after" a whole minute that has passed the wait
    minutes = round(wait_s / 60)
    span = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
    same_day = time.gmtime(at)[:3] == time.gmtime(now)[:3]
    clock = time.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return f"The endpoint asks to wait: try again after {clock} (in {span})."


def _tries(info: CallInfo) -> str:
    n = info.max_retries
    return "no retry configured" if n == 0 else f"after {n} {'retry' if n == 1 else 'retries'}"


def _refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if (
            isinstance(cur, ConnectionRefusedError)
            or "connection refused" in str(cur).lower()
            or "errno 111" in str(cur).lower()
        ):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def from_openai(exc: BaseException, info: CallInfo) -> LlmError:
    """Translate an SDK exception into an LlmError with an actionable sentence."""
    import openai

    url = info.base_url
    secrets = [info.api_key] if info.api_key else []

    def make(kind: str, text: str, **kw: Any) -> LlmError:
        return LlmError(kind, redact(text, secrets), **kw)

    if isinstance(exc, openai.APITimeoutError):
        return make(
            "timeout",
            f"The LLM endpoint {url} did not answer within {info.timeout_s:g} s "
            f"({_tries(info)}). Try again, or raise mira.llm.timeoutSeconds "
            "(MIRA_LLM_TIMEOUT_SECONDS).",
            maybe_billed=True,
        )
    if isinstance(exc, openai.APIConnectionError):
        if _refused(exc):
            return make(
                "connection",
                f"Could not connect to the LLM endpoint {url}: connection refused "
                f"({_tries(info)}). Is the server running? Check mira.llm.baseUrl "
                "(MIRA_LLM_BASE_URL) or OPENAI_BASE_URL.",
            )
        return make(
            "connection",
            f"The connection to the LLM endpoint {url} failed or was dropped "
            f"({_tries(info)}). Check the network and mira.llm.baseUrl, then try again.",
            maybe_billed=True,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        said = _server_text(exc)
        said_part = f" The server said: {said}" if said else ""
        if status == 401:
            if info.key_source:
                text = (
                    f"The LLM endpoint {url} rejected the API key from {info.key_source} "
                    f"(401 Unauthorized): it is wrong, revoked or for another "
                    f"organization. {KEY_HELP}"
                )
            else:
                text = f"The LLM endpoint {url} needs an API key and none is set (401). " + KEY_HELP
            return make("auth", text, status=401)
        if status == 403:
            return make(
                "permission",
                f"The LLM endpoint {url} refused access (403 Forbidden): the key has no "
                f"permission for model '{info.model}', or the project or region is "
                f"restricted. Check the key's project permissions or choose another "
                f"model with mira.llm.model.{said_part}",
                status=403,
            )
        if status == 404:
            return make(
                "not_found",
                f"Model '{info.model}' was not found at {url} (404). Check "
                "mira.llm.model (MIRA_LLM_MODEL): use a model name the endpoint lists "
                f"(for Ollama, `ollama list`).{said_part}",
                status=404,
            )
        if status == 429:
            wait = retry_after_seconds(getattr(exc, "response", None) and exc.response.headers)
            code = (getattr(exc, "code", None) or "").lower()
            if code == "insufficient_quota" or "quota" in said.lower():
                return make(
                    "quota",
                    f"The API account behind the key has no quota left (429 "
                    f"insufficient_quota). Add credit or raise the usage limit in the "
                    f"provider's billing settings, then try again.{said_part}",
                    status=429,
                )
            return make(
                "rate_limit",
                f"The LLM endpoint {url} is rate-limiting requests (429 Too Many "
                f"Requests, {_tries(info)}). {retry_when(wait, time.time())}",
                status=429,
                retry_after_s=wait,
            )
        if status >= 500:
            return make(
                "server",
                f"The LLM endpoint {url} had a server error ({status}, {_tries(info)}). "
                f"This is on the provider's side; try again later.{said_part}",
                status=status,
            )
        if status == 400 or status == 422:
            return make(
                "bad_request",
                f"The LLM endpoint {url} rejected the request ({status}) for model "
                f"'{info.model}'.{said_part}",
                status=status,
            )
        return make("http", f"The LLM endpoint {url} answered {status}.{said_part}", status=status)
    if isinstance(exc, openai.OpenAIError):
        text = str(exc)
        if "api_key" in text.lower() or "api key" in text.lower():
            return make("auth", "No API key is set for the LLM endpoint. " + KEY_HELP)
        return make("other", f"The LLM call failed: {text}")
    return make("other", f"The LLM call failed: {type(exc).__name__}: {exc}")
