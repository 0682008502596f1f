"""The LLM's finding on the worst hotspot functions, through the loopback OpenAI server:
one schema-checked call, none on a re-run, one again after the function is edited; an
answer invalid twice writes nothing; the finding reaches the CLI's JSON and the editor's
diagnostic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol.types import DiagnosticSeverity

from mira_ls.config import IndexSettings, Settings
from mira_ls.features import quality_diagnostics
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.index import indexer
from mira_ls.llm.service import LlmService
from mira_ls.llm.structured import StructuredInvalid
from mira_ls.store import quality as qs
from mira_ls.understand import findings, quality
from tests.support.cli import run_cli
from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()
KEY = "sk-test-findings-0123456789abcdefghij"
BRANCHES = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(24))
BIG = f"def router(x, a, b, c, d, e, f):\n{BRANCHES}\n    return -1\n"


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def _hot_repo(repo: Repo) -> None:
    repo.commit("one", {"hot.py": BIG, "calm.py": BIG.replace("router", "quiet")}, at=T0)
    for n in range(4):
        repo.commit(f"hot {n}", touch=["hot.py"], at=T0 + (n + 1) * DAY)
    repo.commit("other", {"x.py": "X = 1\n"}, at=T0 + 9 * DAY)


def _measure(store, root: Path) -> tuple[int, quality.QualityRun]:
    stats = indexer.index_workspace(store, root, IndexSettings())
    return stats.project_id, quality.measure_project(store, stats.project_id, root)


def _settings(srv: OpenAIServer) -> Settings:
    s = Settings()
    s.llm.base_url, s.llm.max_retries, s.llm.timeout_seconds = srv.base_url, 0, 5
    return s


def _answer(ids: list[int], why: str = "Every case is a branch of one function.") -> Answer:
    items = [{"id": i, "why_hard": why, "what_to_split": "A table of cases."} for i in ids]
    return Answer(text=json.dumps({"findings": items}), prompt_tokens=500, completion_tokens=80)


def test_one_call_none_on_rerun_one_after_an_edit(store, repo: Repo, llm: OpenAIServer):
    _hot_repo(repo)
    mine_repo(store, repo.root)
    pid, run = _measure(store, repo.root)
    svc = LlmService(store, _settings(llm), {"MIRA_OPENAI_API_KEY": KEY})
    worst = findings.worst_hotspots(run)
    assert [m.symbol for m in worst] == ["hot.router"]  # calm.quiet is not in a hotspot
    fp = findings.plan(svc, repo.root, worst)
    assert len(fp.pending) == 1 and fp.cost_micro > 0
    llm.script(_answer([worst[0].symbol_id]))
    done = findings.run(store, svc, pid, fp)
    assert done.calls == 1
    ops = store.conn().execute("SELECT id, command, status FROM operations").fetchall()
    assert [tuple(o) for o in ops] == [(done.operation_id, "quality", "completed")]
    body = llm.chat_requests()[-1].body
    assert body["response_format"]["json_schema"]["schema"] == findings.SCHEMA
    prompt = body["messages"][-1]["content"]
    assert "def router(x, a, b, c, d, e, f):" in prompt and "changed in 5 commits" in prompt
    f = findings.finding_of(store, worst[0].symbol_id, worst[0].issues[0].content_hash)
    assert f == findings.Finding("Every case is a branch of one function.", "A table of cases.")

    # a re-run over unchanged code asks nothing
    _, run = _measure(store, repo.root)
    again = findings.plan(svc, repo.root, findings.worst_hotspots(run))
    assert (again.pending, again.cached) == ([], 1)
    assert findings.run(store, svc, pid, again).calls == 0
    assert len(llm.chat_requests()) == 1

    # the editor's diagnostic carries it
    session = Session(store, Settings(), [ProjectRoot(pid, repo.root)])
    session.settings.quality.diagnostics = True
    loc = session.locate(repo.root / "hot.py")
    assert loc is not None
    (d,) = quality_diagnostics.file_diagnostics(session, loc, BIG, "utf-16") or []
    assert "Why it is hard to change: Every case is a branch" in d.message
    assert d.message.endswith("What to split: A table of cases.")
    # complexity 25 of 10 is medium by itself, one step worse (high) in this hotspot
    assert d.severity == DiagnosticSeverity.Information and d.data["hotspot"] is True
    assert d.data["severity"] == "high"

    # the function edited: asked again, once
    (repo.root / "hot.py").write_text(BIG.replace("return -1", "return -2"))
    _, run = _measure(store, repo.root)
    edited = findings.plan(svc, repo.root, findings.worst_hotspots(run))
    assert len(edited.pending) == 1
    llm.script(_answer([edited.pending[0].symbol_id], "Still one long chain."))
    assert findings.run(store, svc, pid, edited).calls == 1
    assert len(llm.chat_requests()) == 2
    sites = qs.issue_sites(store.conn(), pid, "hot.py")
    assert {s.finding for s in sites} == {("Still one long chain.", "A table of cases.")}


def test_invalid_answer_retried_once_then_nothing_written(store, repo: Repo, llm: OpenAIServer):
    _hot_repo(repo)
    mine_repo(store, repo.root)
    pid, run = _measure(store, repo.root)
    svc = LlmService(store, _settings(llm), {"MIRA_OPENAI_API_KEY": KEY})
    fp = findings.plan(svc, repo.root, findings.worst_hotspots(run))
    llm.script(Answer(text="not json"), Answer(text=json.dumps({"findings": []})))
    with pytest.raises(StructuredInvalid):
        findings.run(store, svc, pid, fp)
    ops = store.conn().execute("SELECT command, status, error FROM operations")
    ((command, status, error),) = ops.fetchall()
    assert (command, status) == ("quality", "failed") and error
    assert len(llm.chat_requests()) == 2
    kind = qs.FINDING_KIND
    rows = store.conn().execute(
        "SELECT count(*) FROM semantic_analysis_cache WHERE analysis_kind = ?", (kind,)
    )
    assert rows.fetchone()[0] == 0


def test_cli_findings_in_json(tmp_path: Path, repo: Repo, llm: OpenAIServer):
    _hot_repo(repo)
    db = str(tmp_path / "cli.db")
    env = {"MIRA_OPENAI_API_KEY": KEY, "MIRA_LLM_BASE_URL": llm.base_url}
    # the CLI mines nothing itself: without a mined history there is no hotspot to ask about
    out = run_cli("quality", str(repo.root), "--json", "--findings", "--db", db, env=env)
    assert out.returncode == 0, out.stderr
    assert "no function with issues in a hotspot" in out.stderr
    assert all(d["finding"] is None for d in json.loads(out.stdout))
    assert llm.chat_requests() == []
    mined = run_cli("mine", str(repo.root), "--db", db)
    assert mined.returncode == 0, mined.stderr
    ids = json.loads(run_cli("quality", str(repo.root), "--json", "--db", db).stdout)
    assert ids[0]["symbol"] == "hot.router" and ids[0]["hotspot"]
    sid = store_id(db, "hot.router")
    llm.script(_answer([sid]))
    out = run_cli("quality", str(repo.root), "--json", "--findings", "--db", db, env=env)
    assert out.returncode == 0, out.stderr
    data = {d["symbol"]: d for d in json.loads(out.stdout)}
    assert data["hot.router"]["finding"] == {
        "why_hard": "Every case is a branch of one function.", "what_to_split": "A table of cases."
    }  # fmt: skip
    assert data["calm.quiet"]["finding"] is None
    text = run_cli("quality", str(repo.root), "--findings", "--db", db, "--quiet", env=env)
    assert "    What to split: A table of cases." in text.stdout
    assert len(llm.chat_requests()) == 1  # the second run asked nothing


def store_id(db: str, qualified: str) -> int:
    from mira_ls.store import connect

    conn = connect(Path(db))
    try:
        row = conn.execute(
            "SELECT id FROM code_elements WHERE qualified_name = ?", (qualified,)
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


# -- the background analysis of the top hotspots ------------------------------------------


def _bg_settings(srv: OpenAIServer) -> Settings:
    s = _settings(srv)
    s.analysis.background = True
    return s


def test_background_findings_once_never_again_none_without_a_key(
    store, repo: Repo, llm: OpenAIServer
):
    from mira_ls.understand import background

    _hot_repo(repo)
    mine_repo(store, repo.root)
    stats = indexer.index_workspace(store, repo.root, IndexSettings())
    pid = stats.project_id
    hot = background.hotspot_files(store, pid, 5)
    assert hot[0] == "hot.py"

    # no key: nothing measured is asked about, no request, no operation
    keyless = LlmService(store, _bg_settings(llm), {})
    run = background.hotspot_findings(store, keyless, pid, repo.root, hot)
    assert run.skipped == "no API key is configured" and run.findings == 0
    off = LlmService(store, _settings(llm), {"MIRA_OPENAI_API_KEY": KEY})
    off.settings.analysis.background = False
    assert background.hotspot_findings(store, off, pid, repo.root, hot).findings == 0
    assert llm.chat_requests() == []

    svc = LlmService(store, _bg_settings(llm), {"MIRA_OPENAI_API_KEY": KEY})
    sid = store_id(str(store.path), "hot.router")
    llm.script(_answer([sid]))
    run = background.hotspot_findings(store, svc, pid, repo.root, hot)
    assert (run.findings, run.calls, run.files, run.skipped) == (1, 1, ["hot.py"], None)
    assert run.cost_micro > 0
    body = llm.chat_requests()[0].body
    assert body["response_format"]["json_schema"]["schema"] == findings.SCHEMA
    assert f"## id {sid}: hot.router" in body["messages"][-1]["content"]
    conn = store.conn()
    ops = conn.execute("SELECT command, status, request FROM operations").fetchall()
    assert [(o[0], o[1]) for o in ops] == [("quality", "completed")]
    assert ops[0][2].endswith("(background)")
    rows = conn.execute("SELECT DISTINCT operation FROM budget_tracking").fetchall()
    assert rows == [(background.OPERATION,)]  # counted in the background's daily allowance
    sites = qs.issue_sites(conn, pid, "hot.py")
    assert {s.finding for s in sites} == {
        ("Every case is a branch of one function.", "A table of cases.")
    }

    # a second run over unchanged code: zero calls, no new operation
    again = background.hotspot_findings(store, svc, pid, repo.root, hot)
    assert (again.findings, again.calls, again.skipped) == (0, 0, None)
    assert len(llm.chat_requests()) == 1
    assert conn.execute("SELECT count(*) FROM operations").fetchone()[0] == 1


def test_background_findings_within_the_daily_allowance(store, repo: Repo, llm: OpenAIServer):
    from mira_ls.understand import background

    _hot_repo(repo)
    mine_repo(store, repo.root)
    pid = indexer.index_workspace(store, repo.root, IndexSettings()).project_id
    s = _bg_settings(llm)
    s.analysis.background_daily_usd = 0.0
    svc = LlmService(store, s, {"MIRA_OPENAI_API_KEY": KEY})
    run = background.hotspot_findings(store, svc, pid, repo.root, ["hot.py"])
    assert run.skipped and "analysis.backgroundDailyUsd" in run.skipped
    assert llm.chat_requests() == [] and run.findings == 0

    # an endpoint failure is a sentence, not an exception, and writes nothing
    s.analysis.background_daily_usd = 5.0
    llm.script(Answer(text="not json"), Answer(text="still not json"))
    run = background.hotspot_findings(store, svc, pid, repo.root, ["hot.py"])
    assert run.skipped and run.findings == 0 and len(llm.chat_requests()) == 2
    rows = store.conn().execute(
        "SELECT count(*) FROM semantic_analysis_cache WHERE analysis_kind = ?", (qs.FINDING_KIND,)
    )
    assert rows.fetchone()[0] == 0


def test_hover_shows_a_stored_finding(store, repo: Repo, llm: OpenAIServer):
    from mira_ls.features import hover

    _hot_repo(repo)
    mine_repo(store, repo.root)
    pid, run = _measure(store, repo.root)
    session = Session(store, Settings(), [ProjectRoot(pid, repo.root)])
    loc = session.locate(repo.root / "hot.py")
    assert loc is not None
    before = hover.hover_markdown(session, loc, BIG, 1, 5) or ""
    assert "**Hard to change**" not in before and "router" in before
    svc = LlmService(store, _settings(llm), {"MIRA_OPENAI_API_KEY": KEY})
    llm.script(_answer([findings.worst_hotspots(run)[0].symbol_id]))
    findings.run(store, svc, pid, findings.plan(svc, repo.root, findings.worst_hotspots(run)))
    text = hover.hover_markdown(session, loc, BIG, 1, 5) or ""
    assert "**Hard to change** Every case is a branch of one function." in text
    assert "**What to split** A table of cases." in text
    # the function edited and re-indexed: the old finding is not shown for the new text
    (repo.root / "hot.py").write_text(BIG.replace("return -1", "return -2"))
    indexer.index_workspace(store, repo.root, IndexSettings())
    edited = BIG.replace("return -1", "return -2")
    assert "**Hard to change**" not in (hover.hover_markdown(session, loc, edited, 1, 5) or "")
