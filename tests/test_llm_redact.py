"""Redaction of keys and tokens, secret file names, and the log filter."""

from __future__ import annotations

import logging

import pytest

from mira_ls.llm.redact import MASK, RedactingFilter, is_secret_path, redact


@pytest.mark.parametrize("secret", [
    "sk-proj-" + "A1b2" * 10, "sk-" + "x" * 40, "ghp_" + "a" * 36, "github_pat_" + "b" * 40,
    "AKIAABCDEFGHIJKLMNOP", "xoxb-123456789012-abcdefghij", "AIza" + "c" * 35,
    "sk_live_" + "d" * 24, "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0NTY3.SflKxwRJSMeKKF2QT4fw",
])  # fmt: skip
def test_token_shapes_are_masked(secret: str) -> None:
    out = redact(f"before {secret} after")
    assert secret not in out and out == f"before {MASK} after"


def test_assignments_urls_bearer_and_private_keys() -> None:
    text = (
        "password = \"hunter2hunter2\"\nAPI_KEY: 'abcdef123456'\nexport DB_PASSWORD=s3cr3tpass\n"
        "url = https://user:pa55word@example.com/x\n"
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz\n"
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
    )
    out = redact(text)
    for leaked in (
        "hunter2hunter2",
        "abcdef123456",
        "s3cr3tpass",
        "pa55word",
        "abcdefghijklmnopqrstuvwxyz",
        "MIIEow",
    ):
        assert leaked not in out
    assert 'password = "[REDACTED]"' in out and "https://user:[REDACTED]@example.com" in out
    assert redact("def password_ok(x): return x") == "def password_ok(x): return x"


def test_given_secrets_are_masked_verbatim() -> None:
    assert redact("key=plainvalue99 here", ["plainvalue99"]) == f"key={MASK} here"
    assert redact("short abc", ["abc"]) == "short abc"  # too short to be a secret


def test_secret_file_names() -> None:
    for rel in (
        ".env",
        ".env.production",
        "deploy/prod.key",
        "certs/a.pem",
        "id_rsa",
        ".ssh/id_ed25519",
        "credentials.json",
        "store.p12",
        ".netrc",
    ):
        assert is_secret_path(rel), rel
    for rel in ("src/env.py", "keys.py", "docs/credits.md", "README.md"):
        assert not is_secret_path(rel), rel


def test_log_filter_scrubs_messages_and_exception_text() -> None:
    f = RedactingFilter(["my-secret-key-123"])
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s", ("my-secret-key-123",), None)
    assert f.filter(rec) and rec.getMessage() == f"got {MASK}"
    try:
        raise ValueError("boom my-secret-key-123")
    except ValueError:
        import sys

        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert f.filter(rec) and rec.exc_info is None and "details redacted" in rec.getMessage()
