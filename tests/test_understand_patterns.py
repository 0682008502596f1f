"""Design patterns: structural candidates found from the index of a real repository, then
validated by the LLM through the loopback server (several per call, schema-checked),
cached by the members' hashes: a re-run asks nothing, an edit of a member asks again; an
invalid answer twice leaves the candidates as they were; listed by the CLI and the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mira_ls.config import Settings
from mira_ls.features.hover import hover_markdown
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.index import indexer
from mira_ls.llm.service import LlmService
from mira_ls.llm.structured import StructuredInvalid
from mira_ls.report import data as report_data
from mira_ls.report import html as report_html
from mira_ls.store import Store
from mira_ls.store import design_patterns as dp
from mira_ls.understand import patterns
from tests.support.cli import run_cli
from tests.support.llm_world import KEY
from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import ALICE, T0, Repo

FILES = {
    "config.py": (
        "class Config:\n    _instance = None\n\n    @classmethod\n    def instance(cls):\n"
        "        if cls._instance is None:\n            cls._instance = cls()\n"
        "        return cls._instance\n"
    ),
    "shapes.py": (
        "class Shape:\n    def area(self):\n        raise NotImplementedError\n\n\n"
        "class Circle(Shape):\n    def __init__(self, r):\n        self.r = r\n\n"
        "    def area(self):\n        return 3.14 * self.r * self.r\n\n\n"
        "class Square(Shape):\n    def __init__(self, s):\n        self.s = s\n\n"
        "    def area(self):\n        return self.s * self.s\n\n\n"
        "def create_shape(kind, size):\n    if kind == 'circle':\n        return Circle(size)\n"
        "    return Square(size)\n"
    ),
    "events.py": (
        "class Bus:\n    def __init__(self):\n        self.handlers = []\n\n"
        "    def subscribe(self, fn):\n        self.handlers.append(fn)\n\n"
        "    def publish(self, event):\n        for h in self.handlers:\n            h(event)\n"
    ),
    "plain.py": "def add(a, b):\n    return a + b\n",
}


@pytest.fixture
def ws(tmp_db: Store, tmp_path: Path) -> tuple[Path, int]:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", FILES, author=ALICE, at=T0)
    s = Settings()
    s.index.jedi = False
    stats = indexer.index_workspace(tmp_db, repo.root, s.index)
    return repo.root.resolve(), stats.project_id


def _found(c: list[dp.Candidate], store: Store) -> set[tuple[str, str]]:
    conn = store.conn()
    return {
        (x.pattern, conn.execute("SELECT qualified_name FROM code_elements WHERE id = ?",
                                 (x.anchor,)).fetchone()[0])
        for x in c
    }  # fmt: skip


def _judge(body: dict[str, Any]) -> Answer:
    """Valid for every candidate but the strategy, which it rejects."""
    prompt = body["messages"][-1]["content"]
    items = [
        {"id": int(i), "is_pattern": p != "strategy", "confidence": 0.9,
         "description": f"a {p} here"}
        for i, p in re.findall(r"## candidate (\d+): (\w+)", prompt)
    ]  # fmt: skip
    return Answer(text=json.dumps({"candidates": items}), prompt_tokens=300, completion_tokens=60)


def test_candidates_validated_and_cached(tmp_db: Store, ws: tuple[Path, int]) -> None:
    root, pid = ws
    settings = Settings()
    settings.llm.max_retries = 0
    p = patterns.plan(tmp_db, settings, root, pid)
    assert _found(p.found, tmp_db) == {
        ("singleton", "config.Config"),
        ("strategy", "shapes.Shape"),
        ("factory", "shapes.create_shape"),
        ("observer", "events.Bus"),
    }
    factory = next(c for c in p.found if c.pattern == "factory")
    assert sorted(r for _, r in factory.members) == ["factory", "product", "product"]
    stored = dp.patterns(tmp_db.conn(), pid)
    assert {s.status for s in stored} == {"candidate"} and len(stored) == 4

    with OpenAIServer() as srv:
        settings.llm.base_url = srv.base_url
        svc = LlmService(tmp_db, settings, {"MIRA_OPENAI_API_KEY": KEY})
        srv.default = _judge
        p = patterns.plan(tmp_db, settings, root, pid, estimate=True)
        assert len(p.prompts) == 1 and p.cost_micro > 0  # 4 candidates, one call
        done = patterns.validate(tmp_db, svc, pid, p)
        assert (done.calls, done.validated, done.rejected) == (1, 3, 1)
        assert len(srv.chat_requests()) == 1
        body = srv.chat_requests()[0].body
        assert body["response_format"]["json_schema"]["schema"] == patterns.SCHEMA
        assert "def instance(cls):" in body["messages"][-1]["content"]
        by = {(s.pattern, s.status) for s in dp.patterns(tmp_db.conn(), pid)}
        assert by == {("singleton", "validated"), ("factory", "validated"),
                      ("observer", "validated"), ("strategy", "rejected")}  # fmt: skip

        # the hover of a participating class names its validated patterns
        session = Session(tmp_db, settings, [ProjectRoot(pid, root)])
        loc = session.locate(root / "config.py")
        assert loc is not None
        md = hover_markdown(session, loc, FILES["config.py"], 1, 7)
        assert md is not None and "**Patterns** singleton (singleton)" in md
        shape = hover_markdown(
            session, session.locate(root / "shapes.py"), FILES["shapes.py"], 1, 7
        )
        assert shape is not None and "**Patterns**" not in shape  # rejected: not shown

        again = patterns.plan(tmp_db, settings, root, pid, estimate=True)
        assert again.pending == [] and again.prompts == []  # every verdict cached
        assert {s.status for s in dp.patterns(tmp_db.conn(), pid)} == {"validated", "rejected"}

        # editing a product of the factory asks about the factory again, only it
        (root / "shapes.py").write_text(
            FILES["shapes.py"].replace("self.s * self.s", "self.s ** 2"), encoding="utf-8"
        )
        indexer.update_file(tmp_db, pid, root, "shapes.py")
        edited = patterns.plan(tmp_db, settings, root, pid, estimate=True)
        assert {c.pattern for c in edited.pending} == {"factory", "strategy"}
        srv.script(Answer(text="not json"), Answer(text="{}"))
        with pytest.raises(StructuredInvalid):
            patterns.validate(tmp_db, svc, pid, edited)
        assert len(srv.chat_requests()) == 3
        left = {(s.pattern, s.status) for s in dp.patterns(tmp_db.conn(), pid)}
        assert ("factory", "candidate") in left and ("singleton", "validated") in left

    rep = report_data.collect(tmp_db, root, settings)
    # the edited members' patterns are candidates again; nothing rejected is listed
    names = {(i.pattern, i.status) for i in rep.patterns.items}
    assert names == {("singleton", "validated"), ("observer", "validated"),
                     ("factory", "candidate"), ("strategy", "candidate")}  # fmt: skip
    assert rep.patterns.counts == {"validated": 2, "candidate": 2}
    page = report_html.render(rep)
    assert 'data-section="patterns"' in page and "a singleton here" in page


def test_cli_lists_candidates_without_asking(tmp_db: Store, ws: tuple[Path, int]) -> None:
    root, _ = ws
    env = {"MIRA_DB": str(tmp_db.path)}
    out = run_cli("design-patterns", str(root), "--json", env=env, unset=["OPENAI_API_KEY"])
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["found"] == 4 and {p["status"] for p in data["patterns"]} == {"candidate"}
    text = run_cli("design-patterns", str(root), env=env, unset=["OPENAI_API_KEY"])
    assert "singleton (candidate): config.Config config.py:1" in text.stdout
    assert "4 patterns: 0 validated, 4 candidates" in text.stderr
