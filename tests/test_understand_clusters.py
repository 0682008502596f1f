"""Domain clusters on a real repository with two obviously separate domains (billing/*
calling and changing with each other, auth/* likewise): two clusters with the right
members, the same on a re-run; named by the LLM through the loopback server once, a
re-run asking nothing; shown in the report and in the expertise hover."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mira_ls.config import Settings
from mira_ls.features.hover_git import git_sections
from mira_ls.git import miner
from mira_ls.index import indexer
from mira_ls.llm.service import LlmService
from mira_ls.report import data as report_data
from mira_ls.report import html as report_html
from mira_ls.store import Store
from mira_ls.store import clusters as cs
from mira_ls.understand import clusters
from tests.support.cli import run_cli
from tests.support.llm_world import KEY
from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import ALICE, BOB, T0, Repo

FILES = {
    "billing/tax.py": 'def rate(country):\n    return 0.2 if country == "FR" else 0.1\n',
    "billing/ledger.py": (
        "from billing.tax import rate\n\n\ndef record(amount, country):\n"
        "    return amount * (1 + rate(country))\n"
    ),
    "billing/invoice.py": (
        "from billing.ledger import record\nfrom billing.tax import rate\n\n\n"
        "def make(amount, country):\n    total = record(amount, country)\n"
        '    return {"total": total, "rate": rate(country)}\n'
    ),
    "auth/tokens.py": (
        'def issue(user):\n    return "tok-" + user\n\n\n'
        'def check(token):\n    return token.startswith("tok-")\n'
    ),
    "auth/users.py": (
        "from auth.tokens import check\n\n\ndef find(name):\n"
        '    return {"name": name}\n\n\ndef verify(name, token):\n'
        "    return check(token) and find(name)\n"
    ),
    "auth/session.py": (
        "from auth.tokens import issue\nfrom auth.users import find, verify\n\n\n"
        'def login(name):\n    user = find(name)\n    return issue(user["name"])\n\n\n'
        "def refresh(name, token):\n    return verify(name, token) and login(name)\n"
    ),
    "app.py": (
        "from auth.session import login\nfrom billing.invoice import make\n\n\n"
        'def main():\n    return login("a"), make(10, "FR")\n'
    ),
}
BILLING = ["billing/invoice.py", "billing/ledger.py", "billing/tax.py"]
AUTH = ["auth/session.py", "auth/tokens.py", "auth/users.py"]


@dataclass
class Project:
    root: Path
    store: Store
    settings: Settings
    project_id: int


def _settings() -> Settings:
    s = Settings()
    s.index.workers = 1
    s.index.jedi = False
    s.cochange.min_shared = 2
    return s


@pytest.fixture
def project(tmp_db: Store, tmp_path: Path) -> Project:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", FILES, author=ALICE, at=T0)
    for i in range(3):  # each domain changes together, by its own author
        repo.commit(f"billing change {i}", {}, author=ALICE, touch=BILLING)
        repo.commit(f"auth change {i}", {}, author=BOB, touch=AUTH)
    settings = _settings()
    stats = indexer.index_workspace(tmp_db, repo.root, settings.index)
    mined = miner.mine(tmp_db, stats.project_id, repo.root, settings)
    assert mined.status == "ok", mined.message
    return Project(repo.root.resolve(), tmp_db, settings, stats.project_id)


def _members(run: clusters.ClusterRun) -> list[list[str]]:
    return sorted([m for m in c.members if m != "app.py"] for c in run.clusters)


def test_two_domains_come_out_as_two_clusters(project: Project) -> None:
    g = clusters.build_graph(project.store, project.project_id)
    assert {"calls", "imports", "cochange"} <= set(g.signals)
    assert "vectors" not in g.signals  # nothing embedded: the signal is skipped
    run = clusters.compute(project.store, project.project_id)
    assert _members(run) == [AUTH, BILLING]
    by_name = {c.name: c for c in run.clusters}
    assert set(by_name) == {"auth", "billing"}
    billing, auth = by_name["billing"], by_name["auth"]
    assert billing.named_by == "path" and billing.description.startswith(
        f"{len(billing.members)} files mostly under billing/"
    )
    assert billing.experts[0].author == ALICE[0]
    assert auth.experts[0].author == BOB[0]
    assert 0 < billing.cohesion <= 1 and billing.symbol_count >= 6

    stored = cs.clusters(project.store.conn(), project.project_id)
    assert [(c.name, c.members) for c in stored] == [
        (c.name, c.members) for c in sorted(run.clusters, key=lambda c: (-len(c.members), c.name))
    ]


def test_clusters_are_deterministic(project: Project) -> None:
    first = clusters.compute(project.store, project.project_id)
    for _ in range(3):
        again = clusters.compute(project.store, project.project_id)
        assert [(c.name, c.members, c.member_hash) for c in again.clusters] == [
            (c.name, c.members, c.member_hash) for c in first.clusters
        ]
    # the stored rows are replaced, not added to
    conn = project.store.conn()
    assert conn.execute("SELECT count(*) FROM domain_clusters").fetchone()[0] == 2
    members = conn.execute("SELECT count(*) FROM domain_cluster_members").fetchone()[0]
    assert members == sum(len(c.members) for c in first.clusters)


def _namer(body: dict[str, Any]) -> Answer:
    """Names each cluster of the prompt (`## cluster N: ...`) by the folder most of its
    files are in."""
    prompt = body["messages"][-1]["content"]
    items = []
    for i, text in re.findall(r"^## cluster (\d+): (.*?)(?=^## cluster |\Z)", prompt, re.M | re.S):
        folder = "billing" if text.count("billing/") > text.count("auth/") else "auth"
        items.append(
            {"id": int(i), "name": f"{folder} domain",
             "description": f"Everything about {folder}."}
        )  # fmt: skip
    return Answer(text=json.dumps({"clusters": items}), prompt_tokens=300, completion_tokens=60)


@pytest.fixture
def srv() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def test_names_from_the_llm_are_stored_and_a_rerun_asks_nothing(
    project: Project, srv: OpenAIServer
) -> None:
    project.settings.llm.base_url = srv.base_url
    project.settings.llm.max_retries = 0
    svc = LlmService(project.store, project.settings, {"MIRA_OPENAI_API_KEY": KEY})
    srv.default = _namer
    run = clusters.compute(project.store, project.project_id, svc)
    assert len(srv.chat_requests()) == 1  # both clusters in one call
    body = srv.chat_requests()[0].body
    assert body["response_format"]["json_schema"]["name"] == clusters.NAME
    assert "billing/tax.py" in body["messages"][-1]["content"]
    assert run.naming is not None and (run.naming.calls, run.naming.kept) == (1, 0)
    names = {c.name: c for c in cs.clusters(project.store.conn(), project.project_id)}
    assert set(names) == {"billing domain", "auth domain"}
    assert names["billing domain"].named_by == "llm"
    assert names["billing domain"].description.startswith("Everything about billing")
    assert [m for m in names["billing domain"].members if m != "app.py"] == BILLING

    again = clusters.compute(project.store, project.project_id, svc)
    assert len(srv.chat_requests()) == 1  # kept by member hash: no call, not even a cache hit
    assert again.naming is not None and (again.naming.calls, again.naming.kept) == (0, 2)
    # a run without --name keeps the names the LLM gave to unchanged clusters
    plain = clusters.compute(project.store, project.project_id)
    assert {c.name for c in plain.clusters} == {"billing domain", "auth domain"}


def test_cli_clusters_json_and_name(project: Project, srv: OpenAIServer) -> None:
    env = {
        "MIRA_DB": str(project.store.path),
        "MIRA_OPENAI_API_KEY": KEY,
        "MIRA_LLM_BASE_URL": srv.base_url,
        "MIRA_LLM_MAX_RETRIES": "0",
    }
    out = run_cli("clusters", str(project.root), "--json", env=env, unset=["OPENAI_API_KEY"])
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert sorted(c["name"] for c in doc["clusters"]) == ["auth", "billing"]
    assert "llm" not in doc and doc["signals"]["calls"] > 0
    assert "2 clusters of" in out.stderr
    assert srv.chat_requests() == []

    srv.default = _namer
    named = run_cli("clusters", str(project.root), "--name", env=env, unset=["OPENAI_API_KEY"])
    assert named.returncode == 0, named.stderr
    assert "billing domain" in named.stdout and "experts: Alice Smith" in named.stdout
    assert "named by the LLM: 1 calls" in named.stderr
    again = run_cli("clusters", str(project.root), "--name", env=env, unset=["OPENAI_API_KEY"])
    assert again.returncode == 0 and "0 calls" in again.stderr and "2 names kept" in again.stderr
    assert len(srv.chat_requests()) == 1

    missing = run_cli("clusters", str(project.root / "nope"), env=env)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_report_lists_the_clusters(project: Project) -> None:
    empty = report_data.collect(project.store, project.root, project.settings)
    assert empty.clusters.items == [] and "mira-ls clusters" in (empty.clusters.empty or "")
    clusters.compute(project.store, project.project_id)
    r = report_data.collect(project.store, project.root, project.settings)
    names = [c.name for c in r.clusters.items]
    assert sorted(names) == ["auth", "billing"]
    billing = next(c for c in r.clusters.items if c.name == "billing")
    assert billing.experts[0] == ALICE[0] and "billing/tax.py" in billing.files
    markup = report_html.render(r)
    assert 'data-section="clusters"' in markup and 'href="#clusters"' in markup
    assert 'data-row="cluster" data-key="billing"' in markup
    assert "billing/ledger.py" in markup and "Bob Jones" in markup
    assert json.loads(json.dumps(r.as_json()))["clusters"]["items"][0]["name"] in names


def test_hover_says_the_domain_and_its_experts(project: Project) -> None:
    conn = project.store.conn()
    before = "\n".join(git_sections(conn, project.project_id, "billing/tax.py", None))
    assert "Domain:" not in before
    clusters.compute(project.store, project.project_id)
    sections = git_sections(conn, project.project_id, "billing/tax.py", None)
    experts = next(s for s in sections if s.startswith("**Experts**"))
    assert "- Domain: billing (experts: Alice Smith" in experts
    auth = "\n".join(git_sections(conn, project.project_id, "auth/users.py", None))
    assert "- Domain: auth (experts: Bob Jones" in auth


def _embed_files(project: Project, vectors: dict[str, list[float]]) -> None:
    """Store one code point per definition of each file, all with that file's vector."""
    import hashlib
    import struct

    from mira_ls.store import embeddings
    from mira_ls.store import vectors as vstore

    conn = project.store.conn()
    rows = conn.execute(
        "SELECT id, file_path, kind FROM code_elements WHERE project_id = ? ORDER BY id",
        (project.project_id,),
    ).fetchall()
    with project.store.write() as w:
        points = []
        for sid, path, kind in rows:
            vec = struct.pack(f"<{len(vectors[path])}f", *vectors[path])
            h = hashlib.sha256(f"{path}:{sid}".encode()).hexdigest()
            embeddings.insert(w, "test-embed", 4, [(h, vec, 3)])
            (eid,) = w.execute("SELECT id FROM embeddings WHERE text_hash = ?", (h,)).fetchone()
            points.append(
                vstore.NewPoint("code", h[:32], eid, project.project_id, kind, path, sid, None, h)
            )
        vstore.replace_points(w, points)


def test_code_vectors_add_edges_when_embedded(project: Project) -> None:
    plain = clusters.build_graph(project.store, project.project_id)
    near = {p: [1.0, 0.1, 0.0, 0.0] for p in BILLING}
    near.update({p: [0.0, 1.0, 0.1, 0.0] for p in AUTH})
    near["app.py"] = [0.0, 0.0, 0.0, 1.0]
    _embed_files(project, near)
    g = clusters.build_graph(project.store, project.project_id)
    assert g.signals["vectors"] > 0
    pair = ("billing/invoice.py", "billing/tax.py")
    assert g.edges[pair] > plain.edges.get(pair, 0.0)
    assert ("auth/users.py", "billing/tax.py") not in g.edges  # orthogonal: no vector edge
    run = clusters.compute(project.store, project.project_id)
    assert _members(run) == [AUTH, BILLING]


def test_an_invalid_llm_answer_writes_nothing(project: Project, srv: OpenAIServer) -> None:
    from mira_ls.llm.structured import StructuredInvalid

    clusters.compute(project.store, project.project_id)
    project.settings.llm.base_url = srv.base_url
    project.settings.llm.max_retries = 0
    svc = LlmService(project.store, project.settings, {"MIRA_OPENAI_API_KEY": KEY})
    srv.script(Answer(text="not json"), Answer(text=json.dumps({"clusters": []})))
    with pytest.raises(StructuredInvalid):
        clusters.compute(project.store, project.project_id, svc)
    assert len(srv.chat_requests()) == 2  # one retry
    kept = cs.clusters(project.store.conn(), project.project_id)
    assert sorted(c.name for c in kept) == ["auth", "billing"]  # the path names stay


def test_hostile_cluster_names_are_escaped_in_the_report(project: Project) -> None:
    evil = '<script>alert("x")</script>'
    run = clusters.compute(project.store, project.project_id)
    with project.store.write() as w:
        w.execute("UPDATE domain_clusters SET name = ?, description = ? WHERE name = 'auth'",
                  (evil, evil))  # fmt: skip
    markup = report_html.render(report_data.collect(project.store, project.root, project.settings))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    conn = project.store.conn()
    hover = "\n".join(git_sections(conn, project.project_id, "auth/users.py", None))
    assert "<script>" not in hover and len(run.clusters) == 2


def test_cli_hover_shows_the_domain_line(project: Project) -> None:
    clusters.compute(project.store, project.project_id)
    env = {"MIRA_DB": str(project.store.path)}
    target = f"{project.root / 'auth' / 'tokens.py'}:1:5"  # def issue
    shown = run_cli("hover", target, env=env, cwd=project.root)
    assert shown.returncode == 0, shown.stderr
    assert "**Experts**" in shown.stdout
    assert "- Domain: auth (experts: Bob Jones, Alice Smith)" in shown.stdout
