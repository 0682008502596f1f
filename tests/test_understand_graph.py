"""The semantic graph on a real repository (two domains that call, import and change with
each other), built from what is stored: symbol, file, module and concept nodes; calls,
imports, changes_with, same_domain and uses_concept edges; refreshed per file after an
edit and a delete; concepts looked up by workspace/symbol and search with ``concept:``."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from mira_ls.features import symbols as symbols_feature
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.git import miner
from mira_ls.index import indexer
from mira_ls.search import hybrid
from mira_ls.store import Store
from mira_ls.store import semantic_graph as sg
from mira_ls.store import understanding as us
from mira_ls.store.migrate import migrations_dir
from mira_ls.understand import clusters, graph
from tests.support.cli import run_cli
from tests.support.repo import ALICE, BOB, T0, Repo
from tests.test_understand_clusters import AUTH, BILLING, FILES, Project, _settings


@pytest.fixture
def project(tmp_db: Store, tmp_path: Path) -> Project:
    repo = Repo(tmp_path / "ws")
    repo.commit("initial", FILES, author=ALICE, at=T0)
    for i in range(3):
        repo.commit(f"billing change {i}", {}, author=ALICE, touch=BILLING)
        repo.commit(f"auth change {i}", {}, author=BOB, touch=AUTH)
    settings = _settings()
    stats = indexer.index_workspace(tmp_db, repo.root, settings.index)
    assert miner.mine(tmp_db, stats.project_id, repo.root, settings).status == "ok"
    return Project(repo.root.resolve(), tmp_db, settings, stats.project_id)


def _edges(store: Store, pid: int, rel: str) -> set[tuple[str, str]]:
    """(source, target) names of one relationship: a symbol by its qualified name, other
    nodes by their name."""
    rows = (
        store.conn()
        .execute(
            "SELECT coalesce(ea.qualified_name, a.name), coalesce(eb.qualified_name, b.name)"
            " FROM semantic_edges x JOIN semantic_nodes a ON a.id = x.source_node_id"
            " JOIN semantic_nodes b ON b.id = x.target_node_id"
            " LEFT JOIN code_elements ea ON ea.id = a.symbol_id"
            " LEFT JOIN code_elements eb ON eb.id = b.symbol_id"
            " WHERE x.project_id = ? AND x.relationship = ?",
            (pid, rel),
        )
        .fetchall()
    )
    return {(str(r[0]), str(r[1])) for r in rows}


def _pair(a: str, b: str) -> set[tuple[str, str]]:
    return {(a, b), (b, a)}


def test_graph_from_what_is_stored(project: Project) -> None:
    store, pid = project.store, project.project_id
    graph.refresh_all(store, pid)
    st = sg.stats(store.conn(), pid)
    assert st.nodes["file"] == len(FILES)
    assert st.nodes["symbol"] >= 7 + 10  # 7 modules, 10 functions
    calls = _edges(store, pid, "calls")
    assert ("billing.ledger.record", "billing.tax.rate") in calls
    assert ("auth.session.login", "auth.users.find") in calls
    assert ("app.main", "auth.session.login") in calls
    imports = _edges(store, pid, "imports")
    assert ("billing/ledger.py", "billing.tax") in imports  # file -> module
    assert ("billing/ledger.py", "billing/tax.py") in imports  # and the project file
    assert ("app.py", "auth/session.py") in imports
    co = _edges(store, pid, "changes_with")
    assert co & _pair("billing/tax.py", "billing/ledger.py")
    assert co & _pair("auth/tokens.py", "auth/users.py")
    assert not co & _pair("billing/tax.py", "auth/users.py")
    assert _edges(store, pid, "same_domain") == set()  # no clusters yet

    clusters.compute(store, pid)  # the clusters bring same_domain edges with them
    dom = _edges(store, pid, "same_domain")
    assert dom & _pair("billing/tax.py", "billing/invoice.py")
    assert dom & _pair("auth/tokens.py", "auth/session.py")
    assert not dom & _pair("billing/tax.py", "auth/tokens.py")

    # a refresh gives the same graph (rows are replaced, not added)
    before = {r: _edges(store, pid, r) for r in sg.RELATIONSHIPS}
    n_edges = store.conn().execute("SELECT count(*) FROM semantic_edges").fetchone()[0]
    graph.refresh_all(store, pid)
    assert {r: _edges(store, pid, r) for r in sg.RELATIONSHIPS} == before
    assert store.conn().execute("SELECT count(*) FROM semantic_edges").fetchone()[0] == n_edges

    near = sg.neighbours(store.conn(), pid, "file", "billing/tax.py")
    assert {n.relationship for n in near} >= {"imports", "changes_with", "same_domain"}


def test_refresh_of_an_edited_and_a_deleted_file(project: Project) -> None:
    store, pid, root = project.store, project.project_id, project.root
    assert graph.after_index(store, pid, changed=False) is not None  # never built: built now
    assert ("billing.ledger.record", "billing.tax.rate") in _edges(store, pid, "calls")
    (root / "billing/ledger.py").write_text(
        "def record(amount, country):\n    return amount\n", encoding="utf-8"
    )
    indexer.update_file(store, pid, root, "billing/ledger.py")
    graph.refresh(store, pid, ["billing/ledger.py"])
    assert ("billing.ledger.record", "billing.tax.rate") not in _edges(store, pid, "calls")
    assert ("billing/ledger.py", "billing.tax") not in _edges(store, pid, "imports")
    # calls into the edited file from elsewhere are kept
    assert ("billing.invoice.make", "billing.ledger.record") in _edges(store, pid, "calls")

    (root / "auth/tokens.py").unlink()
    indexer.remove_file(store, pid, "auth/tokens.py")
    graph.refresh(store, pid, ["auth/tokens.py"])
    names = {r[0] for r in store.conn().execute("SELECT name FROM semantic_nodes")}
    assert "auth/tokens.py" not in names
    assert not any("auth.tokens" in a or "auth.tokens" in b for a, b in _edges(store, pid, "calls"))
    # the module node stays while another file imports it (auth/users.py does)
    assert ("auth/users.py", "auth.tokens") in _edges(store, pid, "imports")
    assert graph.after_index(store, pid, changed=False) is None  # built, nothing changed


def _analyse(store: Store, pid: int, concepts: dict[str, list[str]]) -> None:
    """Store analyses as semantic.run does after a valid answer (the LLM path is covered
    by test_understand_semantic and test_concepts_through_the_llm below)."""
    conn = store.conn()
    rows = conn.execute(
        "SELECT id, content_hash, qualified_name FROM code_elements WHERE project_id = ?", (pid,)
    ).fetchall()
    ids = []
    with store.write() as w:
        for sid, h, qn in rows:
            if qn in concepts:
                item = {"purpose": f"{qn}.", "concepts": concepts[qn], "domain": "d",
                        "side_effects": []}  # fmt: skip
                us.store_analysis(w, pid, sid, h, "semantic", item, "gpt-5.1")
                ids.append(sid)
        sg.replace_concepts(w, pid, ids)


def test_concepts_in_the_graph_and_the_lookups(project: Project) -> None:
    store, pid = project.store, project.project_id
    graph.refresh_all(store, pid)
    _analyse(store, pid, {
        "billing.tax.rate": ["Tax Rate", "country"],
        "billing.ledger.record": ["ledger entry", "tax rate"],
        "auth.tokens.issue": ["session token"],
        "auth.tokens.check": ["session token", "token validation"],
    })  # fmt: skip
    uses = _edges(store, pid, "uses_concept")
    assert ("billing.tax.rate", "tax rate") in uses
    assert ("billing.ledger.record", "tax rate") in uses
    assert sg.stats(store.conn(), pid).nodes["concept"] == 5
    # an analysed node keeps its graph edges, an unanalysed one counts as not analysed
    assert us.analysed_count(store.conn(), pid) == 4
    rate = (
        store.conn()
        .execute("SELECT id FROM code_elements WHERE qualified_name = 'billing.tax.rate'")
        .fetchone()[0]
    )
    assert us.node_of(store.conn(), rate) is not None
    main = (
        store.conn()
        .execute("SELECT id FROM code_elements WHERE qualified_name = 'app.main'")
        .fetchone()[0]
    )
    assert us.node_of(store.conn(), main) is None

    session = Session(store, project.settings, [ProjectRoot(pid, project.root)])
    found = symbols_feature.workspace_symbols(session, "concept:Tax Rate")
    assert [s.name for s in found] == ["record", "rate"]  # by path, then line
    assert found[0].location.uri.endswith("billing/ledger.py")
    prefix = symbols_feature.workspace_symbols(session, "concept: session")
    assert sorted(s.name for s in prefix) == ["check", "issue"]
    assert symbols_feature.workspace_symbols(session, "concept:nothing like it") == []
    # the plain path is untouched: 'rate' is a name
    assert "rate" in [s.name for s in symbols_feature.workspace_symbols(session, "rate")]

    ans = hybrid.search(store, project.settings, "concept:session token", project_ids=[pid])
    assert [(r.symbol, r.via) for r in ans.results] == [
        ("auth.tokens.issue", "concept"), ("auth.tokens.check", "concept"),
    ]  # fmt: skip
    # a concept beginning with the text ('token validation'), not one holding it
    ans = hybrid.search(store, project.settings, "concept:token", project_ids=[pid])
    assert [(r.symbol, r.via) for r in ans.results] == [("auth.tokens.check", "concept")]
    none = hybrid.search(store, project.settings, "concept:xyz", project_ids=[pid])
    assert none.results == [] and "concept" in none.notes[0]

    # a re-analysis with other concepts replaces the symbol's edges; orphans go
    _analyse(store, pid, {"billing.tax.rate": ["vat"], "billing.ledger.record": ["vat"]})
    uses = _edges(store, pid, "uses_concept")
    assert ("billing.tax.rate", "vat") in uses and ("billing.tax.rate", "tax rate") not in uses
    concept_names = {
        r[0]
        for r in store.conn().execute("SELECT name FROM semantic_nodes WHERE node_kind = 'concept'")
    }
    assert concept_names == {"vat", "session token", "token validation"}


def test_cli_index_builds_the_graph_and_search_takes_a_concept(
    project: Project, tmp_db: Store
) -> None:
    env = {"MIRA_DB": str(tmp_db.path)}
    done = run_cli("index", str(project.root), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert "semantic graph" in done.stderr
    assert sg.built(tmp_db.conn(), project.project_id)
    _analyse(tmp_db, project.project_id, {"billing.tax.rate": ["tax rate"]})
    found = run_cli("search", "concept:tax rate", "--json", env=env, cwd=project.root)
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert [(r["symbol"], r["via"]) for r in data] == [("billing.tax.rate", "concept")]


def test_migration_040_keeps_the_analysed_nodes_and_their_edges(tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    staged.mkdir()
    for path in sorted(migrations_dir().glob("*.sql")):
        if int(path.name[:3]) < 40:
            shutil.copy(path, staged / path.name)
    db = tmp_path / "mira.db"
    with Store(db, migrations=staged) as store, store.write() as w:
        w.execute("INSERT INTO projects(id, name, root_path) VALUES (1, 'p', '/p')")
        w.execute(
            "INSERT INTO repository_files(id, project_id, file_path, content_hash)"
            " VALUES (1, 1, 'a.py', 'h')"
        )
        for i in (1, 2):
            w.execute(
                "INSERT INTO code_elements(id, project_id, file_id, file_path, language, kind,"
                " name, qualified_name, start_line, end_line, content_hash, signature_hash)"
                f" VALUES ({i}, 1, 1, 'a.py', 'python', 'function', 'f{i}', 'a.f{i}', {i}, {i},"
                f" 'c{i}', 's{i}')"
            )
            w.execute(
                "INSERT INTO semantic_nodes(id, project_id, symbol_id, purpose, content_hash,"
                f" concepts) VALUES ({i + 10}, 1, {i}, 'does {i}', 'c{i}', '[\"x\"]')"
            )
        w.execute(
            "INSERT INTO semantic_edges(project_id, source_node_id, target_node_id,"
            " relationship, strength) VALUES (1, 11, 12, 'calls', 0.5)"
        )
    shutil.copy(migrations_dir() / "040_semantic_graph.sql", staged)
    with Store(db, migrations=staged) as store:
        assert store.applied_now == [40]
        conn = store.conn()
        assert conn.execute(
            "SELECT id, node_kind, symbol_id, file_path, purpose, analyzed_at IS NOT NULL"
            " FROM semantic_nodes ORDER BY id"
        ).fetchall() == [(11, "symbol", 1, "a.py", "does 1", 1), (12, "symbol", 2, "a.py",
                                                                  "does 2", 1)]  # fmt: skip
        assert conn.execute(
            "SELECT source_node_id, target_node_id, relationship FROM semantic_edges"
        ).fetchall() == [(11, 12, "calls")]
        assert us.node_of(conn, 1) is not None and us.analysed_count(conn, 1) == 2
        with store.write() as w:  # the new relationships are allowed; a file node too
            w.execute(
                "INSERT INTO semantic_nodes(id, project_id, node_kind, name) VALUES"
                " (20, 1, 'concept', 'x')"
            )
            w.execute(
                "INSERT INTO semantic_edges(project_id, source_node_id, target_node_id,"
                " relationship) VALUES (1, 11, 20, 'uses_concept')"
            )
            w.execute("DELETE FROM code_elements WHERE id = 1")  # cascades to node and edges
        assert conn.execute("SELECT count(*) FROM semantic_edges").fetchone()[0] == 0


def test_after_an_index_run_only_what_it_changed(project: Project) -> None:
    store, pid, root = project.store, project.project_id, project.root
    graph.refresh_all(store, pid)
    (root / "billing/ledger.py").write_text(
        "def record(amount, country):\n    return amount\n", encoding="utf-8"
    )
    (root / "auth/tokens.py").unlink()
    time.sleep(1.1)  # indexed_at counts seconds: the fixture's index run is a second before
    t0 = time.time()
    stats = indexer.index_workspace(store, root, project.settings.index)
    assert stats.parsed >= 1 and stats.removed == 1
    changed = sg.files_changed_since(store.conn(), pid, t0)
    assert "billing/ledger.py" in changed and "auth/tokens.py" in changed
    assert "billing/tax.py" not in changed
    assert graph.after_index(store, pid, True, t0) is not None
    assert ("billing.ledger.record", "billing.tax.rate") not in _edges(store, pid, "calls")
    names = {r[0] for r in store.conn().execute("SELECT name FROM semantic_nodes")}
    assert "auth/tokens.py" not in names and "billing/tax.py" in names
    assert graph.after_index(store, pid, True, time.time() + 5) is None  # nothing since


def test_cli_graph_counts_and_edges_of_a_file(project: Project, tmp_db: Store) -> None:
    env = {"MIRA_DB": str(tmp_db.path)}
    out = run_cli("graph", str(project.root), "--json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["nodes"]["file"] == len(FILES) and data["edges"]["calls"] > 0
    near = run_cli("graph", str(project.root), "--of", "billing/tax.py", "--json", env=env)
    assert near.returncode == 0, near.stderr
    rows = json.loads(near.stdout)
    assert {"relationship": "imports", "direction": "in", "kind": "file",
            "name": "billing/ledger.py", "path": "billing/ledger.py",
            "strength": 1.0} in rows  # fmt: skip
    missing = run_cli("graph", str(project.root), "--of", "concept:nothing", env=env)
    assert missing.returncode == 1 and "no concept 'nothing'" in missing.stderr
