"""Project guideline files (CLAUDE.md, AGENTS.md, Copilot instructions) for every prompt.

They are read from the workspace root, and stored in project_guidelines with their
SHA-256, so an unchanged file is not re-counted; a deleted file drops its row.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from mira_ls.llm import tokens
from mira_ls.llm.redact import redact
from mira_ls.llm.workspace_files import FileRefused, read_text
from mira_ls.store import Store
from mira_ls.store import llm_queries as lq
from mira_ls.store.llm_queries import Guideline

FILES = ("CLAUDE.md", "AGENTS.md", ".github/copilot-instructions.md")
MAX_BYTES = 32_000


@dataclass(frozen=True)
class Loaded:
    guidelines: list[Guideline]
    reloaded: list[str]  # files whose content changed since they were stored


def load(store: Store, project_id: int, root: Path, secrets: tuple[str, ...] = ()) -> Loaded:
    """The project's guideline files, refreshed from disk when their hash changed."""
    stored = lq.guidelines(store.conn(), project_id)
    out: list[Guideline] = []
    changed: list[Guideline] = []
    gone: list[str] = []
    for rel in FILES:
        try:
            text, _ = read_text(root, rel, max_bytes=MAX_BYTES, secrets=secrets)
        except FileRefused:
            if rel in stored:
                gone.append(rel)
            continue
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        old = stored.get(rel)
        if old is not None and old.content_hash == digest:
            out.append(old)
            continue
        g = Guideline(rel, redact(text, secrets), digest, tokens.count(text))
        out.append(g)
        changed.append(g)
    if changed or gone:
        now = int(time.time())
        with store.write() as conn:
            for g in changed:
                lq.upsert_guideline(conn, project_id, g, now)
            for rel in gone:
                lq.delete_guideline(conn, project_id, rel)
    return Loaded(out, [g.file_path for g in changed])
