"""Context assembly, tools, guidelines, conversations and cancellation on a real indexed repo."""

from __future__ import annotations

import json
import threading

import pytest

from mira_ls.git import miner
from mira_ls.index import indexer
from mira_ls.llm import guidelines, tokens
from mira_ls.llm.context import Where, assemble
from mira_ls.llm.service import Question
from mira_ls.llm.tools import SCHEMAS, ToolBox
from tests.support.llm_world import APP, KEY, World
from tests.support.openai_server import Answer, ToolCall
from tests.support.repo import T0

pytest_plugins = ["tests.llm_fixtures"]


def add_history(w: World) -> None:
    """Three more commits with a test file and a fix, mined by the real git miner; a build
    error with a resolution stored as the build pipeline stores them."""
    test_file = "def test_main():\n    assert main() == 42\n"
    ada = ("Ada", "ada@x.org")
    w.repo.commit(
        "Add tests",
        {"tests/test_app.py": test_file, "app.py": APP + "\n# tested\n"},
        at=T0 + 100,
        author=ada,
    )
    w.repo.commit(
        "Fix helper doubling overflow (TypeError: unsupported operand)",
        {"tests/test_app.py": test_file + "\n", "app.py": APP + "\n# fixed\n"},
        at=T0 + 200,
        author=ada,
    )
    w.repo.commit(
        "Tweak helper",
        {"tests/test_app.py": test_file + "\n\n", "app.py": APP},
        at=T0 + 300,
        author=ada,
    )
    indexer.index_workspace(w.store, w.root, w.settings.index)
    stats = miner.mine(w.store, w.project_id, w.root, w.settings)
    assert stats.status == "ok" and stats.total_commits == 4 and stats.fixes == 1, stats
    with w.store.write() as c:
        pid = w.project_id
        c.execute(
            "INSERT INTO build_runs(id, project_id, name, tool, command, cwd) VALUES "
            "(1, ?, 'mypy', 'mypy', '[\"mypy\"]', '.')",
            (pid,),
        )
        c.execute(
            "INSERT INTO build_errors(id, project_id, error_hash, tool, code, category, "
            "message, normalized_message, file_path, line, col) VALUES (1, ?, 'e1', "
            "'mypy', 'arg-type', 'type', 'Argument 1 to \"helper\" has incompatible type',"
            " 'argument to helper', 'app.py', 10, 12)",
            (pid,),
        )
        c.execute(
            "INSERT INTO error_resolutions(id, project_id, error_id, files, summary) "
            "VALUES (1, ?, 1, '[\"app.py\"]', 'cast the argument to int')",
            (pid,),
        )


def test_context_has_every_kind_of_section_in_priority_order(world: World) -> None:
    add_history(world)
    where = world.where("def main")
    fx = world.session().parse("app.py", where.text)
    b = assemble(world.store, where, fx, budget=8000)
    kinds = [s.kind for s in b.sections]
    assert kinds == [
        "symbol",
        "build_errors",
        "callees",
        "guidelines",
        "past_fixes",
        "history",
        "cochange",
        "experts",
    ]
    assert b.target == "app.main" and not b.dropped
    text = b.text
    assert "def main():\n    return helper(21)" in text
    assert "`def helper(x)` (app.helper, app.py:4)" in text
    assert "Prefer small functions." in text and "Fix helper doubling overflow" in text
    assert "tests/test_app.py: 3 of 4 commits (confidence 0.75)" in text
    assert "Ada: score" in text and "Alice: score" in text
    assert "Ada: Tweak helper" in text and "Alice: initial" in text
    assert "incompatible type" in text and "cast the argument to int" in text
    assert b.injections == [(1, 1, b.sections[1].tokens)]
    row = (
        world.store.conn()
        .execute(
            "SELECT content_hash FROM code_elements WHERE qualified_name IN ('app.main', "
            "'app.helper') ORDER BY qualified_name"
        )
        .fetchall()
    )
    assert {r[0] for r in row} <= set(b.content_hashes)
    assert b.tokens == tokens.count(text) and b.tokens <= 8000


def test_context_is_cut_to_the_token_budget(world: World) -> None:
    add_history(world)
    where = world.where("def helper")
    fx = world.session().parse("app.py", where.text)
    b = assemble(world.store, where, fx, budget=160)
    assert b.tokens <= 160 and b.sections[0].kind == "symbol"
    assert b.dropped and "history" in b.dropped  # what did not fit is listed
    priorities = [s.priority for s in b.sections]
    assert priorities == sorted(priorities)  # most important first
    big = Where(world.project_id, world.root, "app.py", "x = 1\n" * 4000, 2000, 0)
    b2 = assemble(world.store, big, world.session().parse("app.py", big.text), budget=300)
    assert b2.tokens <= 300 and b2.sections[0].kind == "around"


def test_selection_and_a_callers_section(world: World) -> None:
    where = world.where("def helper")
    sel = Where(where.project_id, where.root, where.rel_path, where.text, 4, 0, 6, 16)
    b = assemble(world.store, sel, world.session().parse("app.py", sel.text))
    assert [s.kind for s in b.sections][:2] == ["selection", "symbol"]
    assert "Callers of `helper`" in b.text and "app.main, calls at app.py:10" in b.text


def test_secret_and_ignored_files_are_never_sent_and_keys_are_redacted(world: World) -> None:
    world.repo.write(".gitignore", "private/\n")
    world.repo.write(".env", "OPENAI_API_KEY=sk-live-abcdefghijklmnopqrstuvwx\n")
    world.repo.write("private/notes.py", "def x():\n    pass\n")
    for rel in (".env", "private/notes.py"):
        w = Where(world.project_id, world.root, rel, (world.root / rel).read_text(), 1, 0)
        b = assemble(world.store, w, None)
        assert b.refused and b.text == "" and not b.sections
    code = APP + f'\nAPI_KEY = "{KEY}"\nTOKEN = "ghp_{"a" * 36}"\n'
    w = Where(world.project_id, world.root, "app.py", code, code.count("\n"), 0)
    b = assemble(world.store, w, world.session().parse("app.py", code))
    assert KEY not in b.text and "ghp_" not in b.text and "[REDACTED]" in b.text


def test_guidelines_are_hash_cached(world: World) -> None:
    first = guidelines.load(world.store, world.project_id, world.root)
    assert [g.file_path for g in first.guidelines] == ["CLAUDE.md"]
    assert first.reloaded == ["CLAUDE.md"]
    again = guidelines.load(world.store, world.project_id, world.root)
    assert again.reloaded == [] and again.guidelines == first.guidelines
    world.repo.write("AGENTS.md", "Run make test.\n")
    (world.root / "CLAUDE.md").write_text("Prefer pure functions.\n")
    third = guidelines.load(world.store, world.project_id, world.root)
    assert sorted(third.reloaded) == ["AGENTS.md", "CLAUDE.md"]
    (world.root / "AGENTS.md").unlink()
    fourth = guidelines.load(world.store, world.project_id, world.root)
    assert [g.file_path for g in fourth.guidelines] == ["CLAUDE.md"]
    rows = (
        world.store.conn()
        .execute("SELECT file_path, token_count FROM project_guidelines ORDER BY file_path")
        .fetchall()
    )
    assert [tuple(r) for r in rows] == [("CLAUDE.md", tokens.count("Prefer pure functions.\n"))]


def test_tools_answer_from_the_store_and_refuse_what_they_must(world: World) -> None:
    add_history(world)
    world.repo.write(".env", "SECRET=abcdefghijklmnop\n")
    box = ToolBox(world.store, world.project_id, world.root, (KEY,))
    assert {s["function"]["name"] for s in SCHEMAS} == {
        "search_symbols",
        "search_code",
        "get_symbol",
        "callers",
        "callees",
        "cochange",
        "experts",
        "file_history",
        "build_errors",
        "past_fixes",
        "read_file",
        "concept",
    }
    assert "app.helper (function) app.py:4" in box.run("search_symbols", '{"query": "help"}')
    assert box.run("search_code", '{"query": "double a value"}').startswith(
        "app.helper (function) app.py:4"
    )
    src = box.run("get_symbol", '{"name": "helper"}')
    assert "def helper(x):" in src and "return x * 2" in src and box.used_hashes
    assert "app.main calls it at app.py:10" in box.run("callers", '{"name": "helper"}')
    assert "app.helper" in box.run("callees", '{"name": "main"}')
    assert box.run("cochange", '{"path": "app.py"}').startswith("tests/test_app.py: 3 of 4")
    assert "Ada <ada@x.org>: score" in box.run("experts", '{"path": "app.py"}')
    history = box.run("file_history", '{"path": "app.py"}').splitlines()
    assert len(history) == 4 and "2023-11-14 Ada: Tweak helper" in history[0]
    assert "arg-type" in box.run("build_errors", "{}")
    assert "Fix helper doubling overflow" in box.run(
        "past_fixes", '{"error_text": "TypeError unsupported operand in helper"}'
    )
    assert "def main():" in box.run("read_file", '{"path": "app.py", "start_line": 9}')
    assert box.run("read_file", '{"path": ".env"}').startswith("Refused: .env")
    assert "outside the workspace" in box.run("read_file", '{"path": "../../etc/passwd"}')
    assert box.run("read_file", '{"path": ".git/config"}').startswith("Refused")
    assert "not valid JSON" in box.run("get_symbol", "{'name': x")
    assert "no tool named" in box.run("rm_rf", "{}")
    assert "Close matches" in box.run("get_symbol", '{"name": "helpr"}')
    world.repo.write("big.txt", "y" * 100_000)
    assert "truncated" in box.run("read_file", '{"path": "big.txt"}')


def test_tool_loop_is_bounded_and_tool_results_reach_the_model(world: World) -> None:
    world.settings.llm.max_tool_rounds = 2
    calls = [Answer(text="", tool_calls=[ToolCall("get_symbol", {"name": "helper"})])] * 2
    world.srv.script(*calls, Answer(text="It doubles."))
    svc = world.service()
    a = svc.ask(world.question("def main"))
    reqs = world.srv.chat_requests()
    assert len(reqs) == 3 and a.calls == 3 and a.text == "It doubles."
    assert "tool_choice" not in reqs[0].body and reqs[2].body["tool_choice"] == "none"
    tool_msgs = [m for m in reqs[2].body["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 2 and "return x * 2" in tool_msgs[0]["content"]
    assert [c["name"] for c in a.tool_calls] == ["get_symbol", "get_symbol"]
    rows = (
        world.store.conn()
        .execute("SELECT COUNT(*), SUM(cost_micro) FROM budget_tracking WHERE status = 'settled'")
        .fetchone()
    )
    assert rows[0] == 3 and rows[1] == a.cost_micro
    # the answer's cache entry remembers helper, read through a tool
    hashes = set(svc.cache.symbols_of(a.cache_key))
    helper_hash = (
        world.store.conn()
        .execute("SELECT content_hash FROM code_elements WHERE qualified_name = 'app.helper'")
        .fetchone()[0]
    )
    assert helper_hash in hashes


def test_follow_up_questions_carry_the_conversation(world: World) -> None:
    svc = world.service()
    world.srv.script(Answer(text="It returns 42."), Answer(text="Because helper doubles 21."))
    a = svc.ask(Question("What does main return?", "What does main return?", new_session=True))
    b = svc.ask(Question("Why?", "Why?", session_id=a.session_id, with_history=True))
    assert a.session_id == b.session_id
    msgs = world.srv.chat_requests()[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in msgs[1:]] == [
        ("user", "What does main return?"),
        ("assistant", "It returns 42."),
        ("user", "Why?"),
    ]
    rows = (
        world.store.conn()
        .execute(
            "SELECT role, content FROM memory_entries WHERE session_id = ? ORDER BY id",
            (a.session_id,),
        )
        .fetchall()
    )
    assert [r[0] for r in rows] == ["user", "assistant", "user", "assistant"]
    assert (
        world.store.conn()
        .execute("SELECT message_count FROM sessions WHERE id = ?", (a.session_id,))
        .fetchone()[0]
        == 4
    )


def test_cancelled_answer_is_settled_and_not_cached(world: World) -> None:
    world.srv.script(Answer(text="one two three four five six seven", chunk_delay_s=0.2))
    svc = world.service()
    stop = threading.Event()
    a = svc.ask(world.question("def main"), lambda t: stop.set(), stop.is_set)
    assert a.cancelled and not a.complete and svc.cache.stats().entries == 0
    row = (
        world.store.conn()
        .execute("SELECT status, cost_micro, reserved_micro, message FROM budget_tracking")
        .fetchone()
    )
    assert row[0] == "cancelled" and row[1] == row[2] > 0 and "worst case" in row[3]
    assert a.cost_micro == row[1]


def test_injections_are_recorded_with_the_request_key(world: World) -> None:
    add_history(world)
    svc = world.service()
    a = svc.ask(world.question("def main"))
    rows = (
        world.store.conn()
        .execute("SELECT error_id, resolution_id, request_key FROM build_context_injections")
        .fetchall()
    )
    assert [tuple(r) for r in rows] == [(1, 1, a.cache_key)]
    sent = json.dumps(world.srv.chat_requests()[-1].body)
    assert "incompatible type" in sent


@pytest.mark.parametrize("rel", [".env.local", "keys/server.pem", "id_rsa", "creds/x.p12"])
def test_secret_paths(rel: str) -> None:
    from mira_ls.llm.redact import is_secret_path

    assert is_secret_path(rel) and not is_secret_path("src/keyboard.py")
