"""A real git repository indexed into a real database, with a loopback OpenAI server: the
world LLM tests ask questions in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mira_ls.config import Settings
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.index import indexer
from mira_ls.llm.context import Where, assemble
from mira_ls.llm.service import LlmService, Question
from mira_ls.store import Store
from tests.support.openai_server import OpenAIServer
from tests.support.repo import Repo

KEY = "sk-proj-fixture-KEY-abcdefghijklmnopqrstuvwxyz012345"

APP = '''"""App."""


def helper(x):
    """Double a value."""
    return x * 2


def main():
    return helper(21)


class Greeter:
    def greet(self, name):
        return "hi " + name
'''


@dataclass
class World:
    root: Path
    repo: Repo
    store: Store
    settings: Settings
    srv: OpenAIServer
    project_id: int

    def service(self) -> LlmService:
        return LlmService(self.store, self.settings, {"MIRA_OPENAI_API_KEY": KEY})

    def session(self) -> Session:
        return Session(self.store, self.settings, [ProjectRoot(self.project_id, self.root)])

    def where(self, needle: str, rel: str = "app.py") -> Where:
        text = (self.root / rel).read_text()
        idx = text.index(needle)
        line = text[:idx].count("\n") + 1
        col = idx - (text.rfind("\n", 0, idx) + 1)
        return Where(self.project_id, self.root, rel, text, line, col)

    def question(self, needle: str, ask: str = "What does this do?", **kw: object) -> Question:
        where = self.where(needle)
        fx = self.session().parse(where.rel_path, where.text)
        bundle = assemble(self.store, where, fx, budget=self.settings.llm.context_tokens)
        return Question(ask, ask, "chat", bundle, self.project_id, self.root, **kw)  # type: ignore[arg-type]

    def reindex(self, rel: str = "app.py") -> None:
        indexer.update_file(self.store, self.project_id, self.root, rel)
