"""Keep secrets away from the model, the logs, the database and the client.

Two guards: files whose names say they hold secrets are never read for the model, and any
text that goes out (context, tool results, log lines, error messages) has key- and
token-looking strings replaced by ``[REDACTED]``, plus the configured API key verbatim.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

import pathspec

MASK = "[REDACTED]"

# Conventions name the first six; ssh key variants and credential rc files are the same kind.
SECRET_FILE_PATTERNS = (
    ".env*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "credentials*",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".git-credentials",
)

_TOKEN_PATTERNS = [
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    r"\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,}",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bglpat-[A-Za-z0-9_\-]{20,}",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    r"\bAIza[0-9A-Za-z_\-]{35}",
    r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}",
    r"\bhf_[A-Za-z0-9]{30,}",
    r"\bnpm_[A-Za-z0-9]{36}",
    r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",
]
_TOKENS = re.compile("|".join(f"(?:{p})" for p in _TOKEN_PATTERNS))
_BEARER = re.compile(r"(?i)\b(bearer|token|basic)(\s+)([A-Za-z0-9._~+/\-]{20,}=*)")
# name = "value" where the name says it is a secret; the name stays readable.
_ASSIGN = re.compile(
    r"""(?ix)
    (\b[\w.\-]*(?:api[_\-]?key|apikey|secret|passw(?:or)?d|passwd|token|access[_\-]?key
        |private[_\-]?key|client[_\-]?secret|auth[_\-]?key)[\w.\-]*
     ["']?\s*[:=]\s*)
    (["'])([^"'\n]{6,})(["'])
    """
)
_ENV_ASSIGN = re.compile(
    r"(?im)^(\s*(?:export\s+)?[A-Z0-9_]*(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD)[A-Z0-9_]*\s*=\s*)"
    r"([^\s\"'#][^\s#]{5,})"
)
_URL_CREDS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^@\s/]+)(@)")


@functools.cache
def _secret_spec() -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(SECRET_FILE_PATTERNS)


def is_secret_path(rel_path: str) -> bool:
    """True for files that conventionally hold credentials, wherever they sit in the tree."""
    rel = PurePosixPath(rel_path.replace("\\", "/"))
    return _secret_spec().match_file(rel.name) or _secret_spec().match_file(str(rel))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace key- and token-looking strings and the given secrets with ``[REDACTED]``."""
    if not text:
        return text
    text = replace_secrets(text, secrets)
    text = _TOKENS.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _ASSIGN.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(4)}", text)
    text = _ENV_ASSIGN.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _URL_CREDS.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    return text


def replace_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Only the given secrets (the configured API key), verbatim: for a text whose parts
    went through ``redact`` when they were stored."""
    for s in secrets:
        if s and len(s) >= 8 and s in text:
            text = text.replace(s, MASK)
    return text


@functools.lru_cache(maxsize=1024)
def redact_repeated(text: str) -> str:
    """``redact`` (no secrets given) cached per text: for stored texts read again and again
    that were stored before they were redacted on the way in."""
    return redact(text)


class RedactingFilter(logging.Filter):
    """A handler filter: the formatted message of every record passes through ``redact``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("mira-redact")
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a broken log call must not break logging
            return True
        clean = redact(msg, self.secrets)
        if clean != msg:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if redact(text, self.secrets) != text:
                # The traceback would print the secret; keep the type, drop the text.
                record.msg = f"{clean} ({type(record.exc_info[1]).__name__}, details redacted)"
                record.args, record.exc_info, record.exc_text = None, None, None
        return True


def install_log_redaction(secrets: Iterable[str] = ()) -> None:
    """Put (or refresh) the filter on every handler of the root logger."""
    secrets = tuple(s for s in secrets if s)
    for handler in logging.getLogger().handlers:
        existing = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        if existing:
            existing[0].secrets = tuple(dict.fromkeys((*existing[0].secrets, *secrets)))
        else:
            handler.addFilter(RedactingFilter(secrets))
