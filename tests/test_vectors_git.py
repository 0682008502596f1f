"""The git collection (commits and historical fixes) against the loopback embeddings
server, on sqlite-vec and Qdrant local mode: embedded once, commits found by meaning, and
past fixes ranked with meaning blended in (and exactly as before without vectors)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mira_ls.build import resolutions
from mira_ls.build.model import BuildCommand
from mira_ls.build.pipeline import run_build
from mira_ls.config import BuildSettings, Settings
from mira_ls.features import hover_build
from mira_ls.features.session import Located, ProjectRoot, Session
from mira_ls.git import fixes
from mira_ls.search import hybrid
from mira_ls.store import Store
from mira_ls.vectors import git as git_vectors
from mira_ls.vectors.embeddings import Embedder
from mira_ls.vectors.stores import open_index
from tests.support.cli import run_cli
from tests.support.openai_server import OpenAIServer
from tests.support.repo import DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()

BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "qdrant"])
NO_KEY: dict[str, str] = {}
ERROR = "upload keeps failing when the network connection drops"

UPLOAD = """\
def backoff_delay(attempt):
    return 1


def retry_upload(path, attempts=3):
    for n in range(attempts):
        if send(path):
            return True
    return False
"""


@pytest.fixture
def srv():
    with OpenAIServer() as s:
        yield s


def settings_for(srv: OpenAIServer, backend: str, tmp: Path) -> Settings:
    s = Settings()
    s.llm.base_url = srv.base_url
    s.llm.max_retries = 0
    s.llm.timeout_seconds = 5
    s.llm.embedding_dimensions = 256  # few hash collisions between the test's words
    if backend == "qdrant":
        s.vectors.backend = "qdrant"
        s.vectors.qdrant_path = str(tmp / "qdrant")
    return s


def history(repo: Repo) -> dict[str, str]:
    """A fix that shares no word with ERROR but means it (A), one that shares two words
    and is about something else (B), and commits that are not fixes."""
    h = {}
    repo.write("app/upload.py", UPLOAD)
    repo.write("app/pager.py", "def page():\n    return 0\n")
    h["init"] = repo.commit("Initial layout", at=T0)
    repo.write("app/upload.py", UPLOAD.replace("return 1", "return 2 ** attempt"))
    h["A"] = repo.commit(
        "Fix #12: back off between send attempts\n\n"
        "The uploader gave up when the network connection drops; retry the upload.",
        at=T0 + DAY,
    )
    repo.write("app/pager.py", "def page():\n    return 1\n")
    h["B"] = repo.commit("Fix failing upload counter", at=T0 + 2 * DAY)
    repo.write("CHANGELOG.md", "# Changes\n")
    h["log"] = repo.commit("Add a changelog", at=T0 + 3 * DAY)
    return h


def embed_git(store: Store, s: Settings, pid: int) -> git_vectors.GitSync:
    emb = Embedder(store, s, env=NO_KEY)
    idx = open_index(store, s, emb.model, emb.dimensions)
    try:
        return git_vectors.sync(emb, idx, pid)
    finally:
        idx.close()


@BACKENDS
def test_git_collection_is_embedded_once(
    store: Store, repo: Repo, srv: OpenAIServer, tmp_path: Path, backend: str
) -> None:
    h = history(repo)
    pid, stats = mine_repo(store, repo.root)
    assert stats.fixes == 2
    s = settings_for(srv, backend, tmp_path)
    first = embed_git(store, s, pid)
    assert (first.plan.commits, first.plan.fixes) == (4, 2)
    assert first.points == 6 and first.run.calls == 1 and first.run.embedded == 6
    sent = [t for r in srv.embedding_requests() for t in r.body["input"]]
    fix_a = next(t for t in sent if t.startswith("fix: Fix #12"))
    assert "definitions: app/upload.py: backoff_delay" in fix_a
    commit_a = next(t for t in sent if t.startswith("Fix #12"))
    assert commit_a.endswith("files: app/upload.py")
    rows = store.conn().execute(
        "SELECT kind, commit_id IS NOT NULL, fix_id IS NOT NULL, count(*) FROM vector_points"
        " WHERE collection = 'git' GROUP BY 1, 2, 3 ORDER BY 1"
    )
    assert [tuple(r) for r in rows] == [("commit", 1, 0, 4), ("fix", 0, 1, 2)]

    again = embed_git(store, s, pid)
    assert again.run.calls == 0 and again.points == 0 and again.plan.current == 6
    assert len(srv.embedding_requests()) == 1  # nothing embedded twice

    # A fix whose definitions change (found later) costs one text; its point is replaced.
    with store.write() as c:
        c.execute("UPDATE historical_fixes SET symbols = '[]' WHERE commit_hash = ?", (h["A"],))
    changed = embed_git(store, s, pid)
    assert changed.run.embedded == 1 and changed.points == 1 and changed.plan.current == 5
    assert srv.embedding_requests()[-1].body["input"] == [
        "fix: Fix #12: back off between send attempts\n\n"
        "The uploader gave up when the network connection drops; retry the upload."
    ]
    count = "SELECT count(*) FROM vector_points WHERE collection = 'git'"
    assert store.conn().execute(count).fetchone()[0] == 6
    with store.write() as c:  # as it was, whose vector is stored: no call
        c.execute(
            "UPDATE historical_fixes SET symbols = ? WHERE commit_hash = ?",
            (json.dumps([["app/upload.py", "backoff_delay"]]), h["A"]),
        )
    back = embed_git(store, s, pid)
    assert back.run.calls == 0 and back.points == 1

    # A commit found by meaning: the definition its fix touched, in no message or path.
    answer = hybrid.search(
        store, s, "backoff delay", collection="git", project_ids=[pid], env=NO_KEY
    )
    assert answer.semantic and answer.notes == []
    assert answer.results[0].commit == h["A"] and answer.results[0].via == "vector"
    # Words and meaning agree: the keyword ranking's top commit, now found by both.
    both = hybrid.search(store, s, "changelog", collection="git", project_ids=[pid], env=NO_KEY)
    assert both.results[0].commit == h["log"] and both.results[0].via == "both"
    every = hybrid.search(store, s, "backoff delay", collection="all", env=NO_KEY)
    assert (every.results[0].collection, every.results[0].commit) == ("git", h["A"])
    kw = hybrid.search(store, Settings(), "backoff delay", collection="git", env={})
    assert kw.results == [] and not kw.semantic  # keyword alone, as before
    if backend == "qdrant":  # the payload names the kind and the commit
        idx = open_index(store, s, s.llm.embedding_model, 256)
        try:
            points, _ = idx.client.scroll(idx.name, limit=100, with_payload=True)  # type: ignore[attr-defined]
        finally:
            idx.close()
        pay = [p.payload for p in points if p.payload and p.payload["collection"] == "git"]
        assert sorted(k for p in pay for k in p["kinds"]) == ["commit"] * 4 + ["fix"] * 2
        assert sum(p["commits"] == [h["A"]] for p in pay) == 2  # the commit and its fix


@BACKENDS
def test_past_fixes_blend_meaning_with_words(
    store: Store, repo: Repo, srv: OpenAIServer, tmp_path: Path, backend: str
) -> None:
    h = history(repo)
    pid, _ = mine_repo(store, repo.root)
    s = settings_for(srv, backend, tmp_path)
    conn = store.conn()
    plain = fixes.rank_fixes(conn, pid, ERROR)
    assert [m.commit for m in plain] == [h["B"]]  # A shares no word: 0.2, dropped

    # No vectors yet: exactly today's ranking, and no embedding call.
    vectors, note = git_vectors.fix_vectors(store, s, pid, ERROR, may_embed=True, env=NO_KEY)
    assert vectors is None and note is None
    assert srv.embedding_requests() == []

    embed_git(store, s, pid)
    calls = len(srv.embedding_requests())
    vectors, note = git_vectors.fix_vectors(store, s, pid, ERROR, may_embed=True, env=NO_KEY)
    assert vectors is not None and note is None
    assert len(srv.embedding_requests()) == calls + 1  # the error text, once
    blended = fixes.rank_fixes(conn, pid, ERROR, vectors=vectors)
    assert blended[0].commit == h["A"]  # meaning first, though it shares no word
    assert 0.3 <= blended[0].score < 1.0
    # B shares two words but little meaning: half its word score and a small cosine,
    # below A; still listed (its word score passes): vectors reorder and add, never hide.
    assert [m.commit for m in blended] == [h["A"], h["B"]]
    assert blended[1].score < blended[0].score

    # The hover's source uses the stored vector and never calls the endpoint.
    hover = resolutions.git_history_blended(store, s)
    got = hover(conn, pid, ERROR, [])
    if backend == "sqlite":
        assert got == resolutions._matches(blended)
    else:  # never waits on Qdrant: the word candidates, re-scored by their stored vectors
        assert [(m.commit, m.score) for m in got] == [(h["B"], blended[1].score)]
    other = "pager counter is failing"
    assert [m.commit for m in hover(conn, pid, other, [])] == [
        m.commit for m in resolutions.git_history(conn, pid, other, [])
    ]
    assert len(srv.embedding_requests()) == calls + 1

    # Vectors off, or no endpoint: the ranking of before, exactly.
    off = Settings()
    off.vectors.semantic = False
    assert git_vectors.fix_vectors(store, off, pid, ERROR, may_embed=True) == (None, None)
    srv.stop()
    down, why = git_vectors.fix_vectors(
        store, s, pid, "a text never embedded", may_embed=True, env=NO_KEY
    )
    assert down is None and why is not None and why.startswith("Past fixes are ranked by")
    assert fixes.rank_fixes(conn, pid, ERROR, vectors=down) == plain


def test_no_vectors_is_the_same_ranking_as_before(store: Store, repo: Repo) -> None:
    """The no-vector path is the term-index ranking itself (migration 027), unchanged."""
    history(repo)
    pid, _ = mine_repo(store, repo.root)
    conn = store.conn()
    for text, files in [
        (ERROR, []),
        ("failing counter in the pager", ["app/pager.py"]),
        ("fix failing upload counter", []),
    ]:
        before = fixes.rank_fixes(conn, pid, text, files)
        vectors, note = git_vectors.fix_vectors(
            store, Settings(), pid, text, may_embed=True, env={}
        )
        assert (vectors, note) == (None, None)
        assert fixes.rank_fixes(conn, pid, text, files, vectors=vectors) == before


def test_build_errors_are_embedded_with_the_fixes(
    store: Store, repo: Repo, srv: OpenAIServer, tmp_path: Path
) -> None:
    """So the hover finds the error's vector stored and blends without calling out."""
    history(repo)
    pid, _ = mine_repo(store, repo.root)
    with store.write() as c:
        c.execute(
            "INSERT INTO build_errors(project_id, error_hash, tool, code, message,"
            " normalized_message) VALUES (?, 'e1', 'pytest', 'E999', ?, ?)",
            (pid, ERROR, ERROR),
        )
    s = settings_for(srv, "sqlite", tmp_path)
    done = embed_git(store, s, pid)
    assert done.plan.errors == [f"E999 {ERROR}"]
    sent = [t for r in srv.embedding_requests() for t in r.body["input"]]
    assert f"E999 {ERROR}" in sent
    calls = len(srv.embedding_requests())
    vectors, _ = git_vectors.fix_vectors(store, s, pid, f"E999 {ERROR}", may_embed=False)
    assert vectors is not None and len(srv.embedding_requests()) == calls


def test_a_build_embeds_its_new_errors_when_the_fixes_have_vectors(
    store: Store, repo: Repo, srv: OpenAIServer, tmp_path: Path
) -> None:
    """An error first reported after `embed` gets its vector from the build (one call),
    so the hover blends meaning in for it without calling out; nothing is embedded twice,
    and nothing at all while the fixes have no vectors or semantic search is off."""
    history(repo)
    pid, _ = mine_repo(store, repo.root)
    s = settings_for(srv, "sqlite", tmp_path)
    check = (
        "import pathlib\n"
        "for n, line in enumerate(pathlib.Path('a.txt').read_text().splitlines(), 1):\n"
        f"    if 'BAD' in line: print(f'a.txt:{{n}}:1: error: {ERROR} [E7]')\n"
    )
    cmd = BuildCommand("check", (sys.executable, "-c", check), "generic")
    (repo.root / "a.txt").write_text("ok\nBAD\n")
    run_build(store, pid, repo.root, [cmd], BuildSettings())
    # no vectors for the fixes yet: nothing would use the error's, so no call
    assert git_vectors.embed_build_errors(store, s, pid, env=NO_KEY) is None
    assert srv.embedding_requests() == []

    embed_git(store, s, pid)
    (repo.root / "b.txt").write_text("BAD\n")
    other = ERROR.replace("upload", "transfer")
    cmd2 = BuildCommand("check2", (sys.executable, "-c", check.replace("a.txt", "b.txt")
                                   .replace(ERROR, other)), "generic")  # fmt: skip
    run_build(store, pid, repo.root, [cmd2], BuildSettings())
    calls = len(srv.embedding_requests())
    off = settings_for(srv, "sqlite", tmp_path)
    off.vectors.semantic = False
    assert git_vectors.embed_build_errors(store, off, pid, env=NO_KEY) is None
    run = git_vectors.embed_build_errors(store, s, pid, env=NO_KEY)
    assert run is not None and run.embedded == 1 and run.stopped is None
    assert srv.embedding_requests()[calls:][0].body["input"] == [f"E7 {other}"]
    assert git_vectors.embed_build_errors(store, s, pid, env=NO_KEY) is None  # stored
    vectors, _ = git_vectors.fix_vectors(store, s, pid, f"E7 {other}", may_embed=False)
    assert vectors is not None and vectors.neighbours
    assert len(srv.embedding_requests()) == calls + 1


def test_cli_embed_collections_search_fixes_and_status(
    repo: Repo, srv: OpenAIServer, tmp_path: Path
) -> None:
    h = history(repo)
    env = {
        "MIRA_DB": str(tmp_path / "mira.db"),
        "MIRA_LLM_BASE_URL": srv.base_url,
        "MIRA_LLM_EMBEDDING_DIMENSIONS": "256",
        "MIRA_LLM_MAX_RETRIES": "0",
    }
    unset = ["OPENAI_API_KEY", "MIRA_OPENAI_API_KEY", "OPENAI_BASE_URL"]
    root = str(repo.root)
    assert run_cli("mine", root, env=env, unset=unset).returncode == 0
    before = run_cli("fixes", ERROR, "--json", env=env, unset=unset, cwd=repo.root)
    assert before.returncode == 0, before.stderr
    assert [m["commit"] for m in json.loads(before.stdout)] == [h["B"]]

    dry = run_cli("embed", root, "--dry-run", "--json", env=env, unset=unset)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["collections"]["git"]["to_embed"] == 6
    assert plan["collections"]["git"]["estimated_usd"] > 0
    assert plan["collections"]["code"]["to_embed"] == 5  # 2 modules, 3 functions
    assert plan["to_embed"] == 11
    text = run_cli("embed", root, "--dry-run", env=env, unset=unset).stdout
    assert "git: 4 commits and 2 past fixes" in text and "code: 5 definitions" in text
    assert srv.embedding_requests() == []

    only = run_cli("embed", root, "--collection", "git", "--json", "--quiet", env=env, unset=unset)
    assert only.returncode == 0, only.stderr
    assert json.loads(only.stdout)["embedded"] == 6
    assert set(json.loads(only.stdout)["collections"]) == {"git"}
    done = run_cli("embed", root, "--json", "--quiet", env=env, unset=unset)
    got = json.loads(done.stdout)
    assert got["collections"]["git"]["embedded"] == 0
    assert got["collections"]["code"]["embedded"] == 5
    calls = len(srv.embedding_requests())
    again = run_cli("embed", root, "--json", "--quiet", env=env, unset=unset)
    assert json.loads(again.stdout)["embedded"] == 0
    assert len(srv.embedding_requests()) == calls
    bad = run_cli("embed", root, "--collection", "memory", env=env, unset=unset)
    assert bad.returncode == 2

    found = run_cli(
        "search", "backoff delay", "--kind", "git", "--json", env=env, unset=unset, cwd=repo.root
    )
    assert found.returncode == 0, found.stderr
    top = json.loads(found.stdout)[0]
    assert top["commit"] == h["A"] and top["via"] == "vector"

    blended = run_cli("fixes", ERROR, "--json", env=env, unset=unset, cwd=repo.root)
    assert blended.returncode == 0, blended.stderr
    assert json.loads(blended.stdout)[0]["commit"] == h["A"]

    status = json.loads(run_cli("db", "status", "--json", env=env, unset=unset).stdout)
    git_row = next(c for c in status["collections"] if c["collection"] == "git")
    assert git_row["vectors"] == 6 and git_row["dimensions"] == 256
    assert git_row["bytes"] == 6 * 256 * 4
    assert (git_row["commits"], git_row["fixes"]) == (4, 2)
    text = run_cli("db", "status", env=env, unset=unset).stdout
    assert "git          sqlite-vec text-embedding-3-large (256 dims)  6 vectors" in text
    assert "(4 commits, 2 past fixes)" in text

    # a build reporting a new error embeds its text (one call), so past fixes blend for it
    calls = len(srv.embedding_requests())
    (repo.root / "notes.txt").write_text("x\n")
    say = f"print('notes.txt:1:1: error: {ERROR} [N1]')"
    cmds = json.dumps([{"name": "check", "command": [sys.executable, "-c", say]}])
    built = run_cli("build", root, "--json", env={**env, "MIRA_BUILD_COMMANDS": cmds}, unset=unset)
    assert built.returncode == 1, built.stderr
    assert [r.body["input"] for r in srv.embedding_requests()[calls:]] == [[f"N1 {ERROR}"]]


def test_hover_best_past_fix_blends_only_stored_vectors(
    store: Store, repo: Repo, srv: OpenAIServer, tmp_path: Path
) -> None:
    """A real build reports the error; the hover's best past fix is the word match until
    `embed` stores the fixes' and the error's vectors, then the fix that means it, and the
    hover itself never calls the embedding endpoint."""
    h = history(repo)
    pid, _ = mine_repo(store, repo.root)
    check = (
        "import pathlib\n"
        "for n, line in enumerate(pathlib.Path('a.txt').read_text().splitlines(), 1):\n"
        f"    if 'BAD' in line: print(f'a.txt:{{n}}:1: error: {ERROR} [E7]')\n"
    )
    cmd = BuildCommand("check", (sys.executable, "-c", check), "generic")
    (repo.root / "a.txt").write_text("ok\nBAD\n")
    run_build(store, pid, repo.root, [cmd], BuildSettings())
    s = settings_for(srv, "sqlite", tmp_path)
    pr = ProjectRoot(pid, repo.root)
    session, loc = Session(store, s, [pr]), Located(pr, "a.txt")

    (before,) = hover_build.build_sections(session, loc, None, 2)
    assert f"commit `{h['B'][:7]}`" in before and "Fix failing upload counter" in before
    embed_git(store, s, pid)  # the fixes, and the recorded error's text
    calls = len(srv.embedding_requests())
    (after,) = hover_build.build_sections(session, loc, None, 2)
    assert f"commit `{h['A'][:7]}`" in after and "back off between send attempts" in after
    assert len(srv.embedding_requests()) == calls


def test_a_commit_text_is_capped_with_its_files_kept() -> None:
    from mira_ls.llm import tokens
    from mira_ls.store.vectors import CommitText

    files = tuple(f"pkg/mod{i}.py" for i in range(25))
    long = CommitText(1, "h", "Rework the loader\n\n" + "word " * 3000, files)
    text = git_vectors.commit_text(long)
    assert text.startswith("Rework the loader\n\nword word")
    assert text.endswith("pkg/mod19.py (+5 more)") and "pkg/mod20.py" not in text
    assert tokens.count(text) <= git_vectors.COMMIT_TOKENS
    short = CommitText(2, "h", "Small fix", ())
    assert git_vectors.commit_text(short) == "Small fix"
