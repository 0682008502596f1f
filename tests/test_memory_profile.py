"""The user profile and learned patterns, folded from facts and message analysis without a
model call of their own: against a real database and the loopback model (which answers the
message analysis only). Patterns carry their evidence and counts; what the user sets or
edits survives the next fold; forgetting a message takes its evidence away; a forgotten
pattern is not found again; the profile joins the chat prompt as "About you" and the
footer says so; the CLI shows and corrects both."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from mira_ls.features import chat
from mira_ls.memory import owner
from mira_ls.memory import recall as rc
from mira_ls.memory.analysis import Analyzer
from mira_ls.memory.profile import SECTION_TOKENS, ProfileError, Profiles
from mira_ls.store import memory as sessions
from mira_ls.store import memory_analysis as aq
from mira_ls.store import memory_facts as fq
from tests.support.llm_world import KEY, World
from tests.support.openai_server import Answer, Reply

pytest_plugins = ["tests.llm_fixtures"]

NOW = 1_800_000_000


def analysis_answers(world: World, intents: dict[str, tuple[str, list[str]]]) -> list[int]:
    """Analyse each message: intent and topics by the first word of its text in ``intents``
    (else question, no topics). Returns the number of messages per call."""
    calls: list[int] = []

    def reply(body: dict[str, Any]) -> Reply:
        fmt = body.get("response_format")
        if fmt is None:
            return Answer(text="A plain answer.")
        assert fmt["json_schema"]["name"] == "message_analysis"
        prompt = body["messages"][1]["content"]
        found = re.findall(r"Message id (\d+) \((\w+)\):\n([^\n]*)", prompt)
        calls.append(len(found))
        items = []
        for i, _role, text in found:
            intent, topics = intents.get(text.split()[0] if text else "", ("question", []))
            items.append({"id": int(i), "salience": 0.5, "intent": intent, "topics": topics,
                          "mood": "neutral"})  # fmt: skip
        return Answer(text=json.dumps({"messages": items}), prompt_tokens=300,
                      completion_tokens=60)  # fmt: skip

    world.srv.default = reply
    return calls


def say(world: World, turns: list[str], *, session: str | None = None,
        operation: str = "chat") -> list[int]:  # fmt: skip
    """User messages (each answered) in one session; their ids."""
    ids = []
    with world.store.write() as w:
        uid = sessions.local_user_id(w, owner.username())
        sid = session or uuid.uuid4().hex
        if sessions.get_session(w, sid) is None:
            sessions.create_session(w, sid, uid, world.project_id, None, None, NOW)
        for t in turns:
            eid = sessions.add_entry(w, sid, "user", t, 5, NOW, metadata={"operation": operation})
            sessions.add_entry(w, sid, "assistant", f"answered: {t}", 5, NOW, parent_id=eid)
            ids.append(eid)
    return ids


def user_fact(world: World, key: str, value: str, category: str, *, project: bool = False) -> int:
    with world.store.write() as w:
        uid = sessions.local_user_id(w, owner.username())
        pid = world.project_id if project else None
        return fq.insert(w, uid, pid, key, value, category, 0.8, "user", None, NOW)


def profiles(world: World) -> Profiles:
    p = Profiles.open(world.store)
    p.clock = lambda: NOW
    return p


def by_rule(world: World) -> dict[str, Any]:
    return {p.rule: p for p in profiles(world).patterns(dismissed=True)}


def test_patterns_are_folded_after_analysis_with_evidence_and_no_call_of_their_own(
    world: World,
) -> None:
    calls = analysis_answers(world, {
        "fix": ("request", ["parser"]), "now": ("request", ["testing"]),
        "no,": ("correction", ["asyncio"]), "shorter": ("feedback", []),
    })  # fmt: skip
    first = say(world, ["fix the crash in parse_header", "now add tests for it",
                        "no, asyncio.run is wrong here"])  # fmt: skip
    second = say(world, ["fix the failing import", "now write a test that covers it",
                         "no, asyncio.gather does not do that", "shorter please"])  # fmt: skip
    third = say(world, ["why is this slow", "add tests for it"])  # not after a fix
    run = Analyzer.open(world.store, world.service()).run()
    assert run.analysed == 18 and run.calls == 1 and calls == [18]
    # the fold asked nothing: one analysis call in all
    assert len(world.srv.chat_requests()) == 1
    found = by_rule(world)
    tests = found["tests_after_fix"]
    assert (tests.times_observed, tests.examples) == (2, [first[1], second[1]])
    assert tests.description == "asks for tests after a fix" and tests.pattern_type == "workflow"
    assert tests.confidence == pytest.approx(2 / 3, abs=1e-3)
    assert third[1] not in tests.examples
    corr = found["corrections:asyncio"]
    assert (corr.pattern_type, corr.times_observed) == ("mistake", 2)
    assert corr.description == "corrects answers about asyncio"
    # seen once: not a pattern (yet)
    assert "shorter_answers" not in found
    # the rows are plain: the same in SQL
    row = (
        world.store.conn()
        .execute(
            "SELECT description, times_observed, examples FROM learned_patterns WHERE rule = ?",
            ("tests_after_fix",),
        )
        .fetchone()
    )
    assert (row[0], row[1], json.loads(row[2])) == (
        "asks for tests after a fix", 2, [first[1], second[1]],
    )  # fmt: skip


def test_an_error_fix_operation_counts_as_a_fix(world: World) -> None:
    for _ in range(2):
        sid = uuid.uuid4().hex
        say(world, ["ruff: F401 unused import"], session=sid, operation="fix_error")
        say(world, ["write unit tests for that"], session=sid)
    profiles(world).fold()
    assert by_rule(world)["tests_after_fix"].times_observed == 2


def test_profile_is_folded_from_facts_and_verbosity_from_behaviour(world: World) -> None:
    user_fact(world, "package_manager", "Poetry", "tooling", project=True)
    user_fact(world, "language", "Python 3.12", "stack")
    user_fact(world, "path_style", "pathlib over os.path", "preference")
    user_fact(world, "project_naming", "snake_case modules", "preference", project=True)
    user_fact(world, "tone", "direct, no pleasantries", "communication")
    user_fact(world, "preferred_language", "English", "personal")
    user_fact(world, "experience_level", "Expert", "personal")
    say(world, ["shorter please", "that is too long, just the code"])
    row, _ = profiles(world).fold()
    assert row.tech_stack == ["Poetry", "Python 3.12"]
    assert row.coding_preferences == {"path_style": "pathlib over os.path"}  # not a project's
    assert row.communication_style == "direct, no pleasantries"
    assert (row.preferred_language, row.experience_level) == ("English", "expert")
    assert row.verbosity == "brief"  # two requests for shorter answers, no fact saying it
    assert by_rule(world)["shorter_answers"].times_observed == 2
    # a fact wins over behaviour
    user_fact(world, "answer_length", "detailed explanations", "communication")
    assert profiles(world).fold()[0].verbosity == "detailed"


def test_what_the_user_sets_survives_the_fold_and_unset_gives_it_back(world: World) -> None:
    user_fact(world, "path_style", "pathlib", "preference")
    user_fact(world, "editor_tone", "formal", "communication")
    p = profiles(world)
    p.fold()
    p.set("verbosity", "normal")
    p.set("coding_preferences.path_style", "os.path is fine")
    p.set("tech_stack", "Django, Postgres, Django")
    p.clear("communication_style")
    row, _ = p.fold()
    assert row.verbosity == "normal" and row.tech_stack == ["Django", "Postgres"]
    assert row.coding_preferences == {"path_style": "os.path is fine"}
    assert row.communication_style is None  # cleared, and kept empty
    assert set(row.edited_fields) == {"verbosity", "coding_preferences.path_style",
                                      "tech_stack", "communication_style"}  # fmt: skip
    row = p.unset("communication_style")
    assert row.communication_style == "formal"
    assert p.unset("coding_preferences").coding_preferences == {"path_style": "pathlib"}
    with pytest.raises(ProfileError, match="not a profile field"):
        p.set("favourite_colour", "blue")
    with pytest.raises(ProfileError, match="experience_level is one of"):
        p.set("experience_level", "guru")


def test_forgetting_a_message_takes_its_evidence_and_a_forgotten_pattern_stays_gone(
    world: World,
) -> None:
    a = say(world, ["fix the bug in the lexer", "add tests for the lexer"])
    b = say(world, ["fix the error in main", "add a test for main"])
    c = say(world, ["this fails on windows, fix it", "now tests please?"])
    p = profiles(world)
    p.fold()
    assert by_rule(world)["tests_after_fix"].times_observed == 3
    rc.forget_message(world.store, c[1])  # folds again
    pat = by_rule(world)["tests_after_fix"]
    assert (pat.times_observed, pat.examples) == (2, [a[1], b[1]])
    rc.forget_message(world.store, b[1])  # one left: no longer a pattern
    assert "tests_after_fix" not in by_rule(world)
    say(world, ["fix the crash", "add tests"])
    p.fold()
    pat = by_rule(world)["tests_after_fix"]
    p.forget_pattern(pat.id)
    say(world, ["fix the leak", "write tests"])
    p.fold()
    gone = by_rule(world)["tests_after_fix"]
    assert gone.dismissed and gone.times_observed == 0 and gone.examples == []
    assert p.patterns() == []  # not shown, not found again
    with pytest.raises(ProfileError, match="no learned pattern"):
        p.forget_pattern(pat.id)


def test_an_edited_pattern_keeps_its_wording_and_a_written_one_is_kept(world: World) -> None:
    say(world, ["fix the parser", "add tests", "fix the lexer", "add tests too"])
    p = profiles(world)
    p.fold()
    pat = by_rule(world)["tests_after_fix"]
    p.edit_pattern(pat.id, "wants pytest tests after every fix", "after any fix")
    say(world, ["fix the cache", "add tests for the cache"])
    p.fold()
    now = by_rule(world)["tests_after_fix"]
    assert now.description == "wants pytest tests after every fix" and now.user_edited
    assert now.times_observed == 3  # the evidence still counts
    mine = p.add_pattern("reviews diffs before committing", "workflow")
    p.fold()
    assert [x.id for x in p.patterns()] == [now.id, mine.id]
    assert mine.user_edited and mine.rule is None
    p.forget_pattern(mine.id)
    assert world.store.conn().execute(
        "SELECT count(*) FROM learned_patterns WHERE id = ?", (mine.id,)
    ).fetchone()[0] == 0  # fmt: skip


def test_the_profile_joins_the_chat_prompt_within_its_share_and_the_footer_says_so(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    user_fact(world, "path_style", "pathlib over os.path", "preference")
    say(world, ["fix the parser", "add tests", "fix the lexer", "add tests too"])
    profiles(world).fold()
    state, session = chat.ChatState(), world.session()
    prep = chat.prepare(state, session, "chat", {"question": "How should I open files?"},
                        lambda uri: None, "utf-16")  # fmt: skip
    result = chat.run(state, session, prep, chat.Sink())
    sent = world.srv.chat_requests()[-1].body["messages"][-1]["content"]
    assert "## About you" in sent
    assert "prefers (path style): pathlib over os.path" in sent
    assert "asks for tests after a fix (after a bug fix or an error fix is answered)" in sent
    assert prep.recalled is not None and prep.recalled.profile is not None
    from mira_ls.llm import tokens

    assert tokens.count(prep.recalled.profile.render()) <= SECTION_TOKENS
    assert "your profile" in result.remembered and "mira-ls memory profile" in result.remembered
    # memory off: no profile in the prompt
    world.settings.memory.enabled = False
    prep = chat.prepare(state, session, "chat", {"question": "And directories?"},
                        lambda uri: None, "utf-16")  # fmt: skip
    chat.run(state, session, prep, chat.Sink())
    assert "About you" not in world.srv.chat_requests()[-1].body["messages"][-1]["content"]


def test_memory_profile_and_patterns_on_the_command_line(world: World) -> None:
    from tests.support.cli import run_cli

    env = {"MIRA_DB": str(world.store.path), "MIRA_OPENAI_API_KEY": KEY,
           "MIRA_LLM_BASE_URL": world.srv.base_url}  # fmt: skip
    user_fact(world, "path_style", "pathlib", "preference")
    say(world, ["fix the parser", "add tests", "fix the lexer", "add tests too"])

    def cli(*args: str) -> Any:
        out = run_cli("memory", *args, env=env, cwd=world.root)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if "--json" in args else out.stdout

    shown = cli("profile", "--json")
    assert shown["coding_preferences"] == {"path_style": "pathlib"}
    [pat] = shown["patterns"]
    assert (pat["description"], pat["times_observed"]) == ("asks for tests after a fix", 2)
    assert shown["facts"]["preference"][0]["value"] == "pathlib"
    assert "pattern #" in cli("profile")
    cli("profile", "set", "verbosity", "very", "brief")
    assert cli("profile", "--json")["verbosity"] == "very brief"
    assert cli("profile", "unset", "verbosity", "--json")["verbosity"] is None
    listed = cli("patterns", "--json")
    assert [p["id"] for p in listed] == [pat["id"]]
    added = cli("patterns", "add", "reads", "the", "diff", "first", "--type", "workflow",
                "--json")  # fmt: skip
    assert added["description"] == "reads the diff first" and added["type"] == "workflow"
    edited = cli("patterns", "edit", str(pat["id"]), "wants tests", "--json")
    assert edited["description"] == "wants tests" and edited["user_edited"]
    cli("forget", "--pattern", str(pat["id"]))
    assert [p["id"] for p in cli("patterns", "--json")] == [added["id"]]
    cli("forget", "--profile", "coding_preferences.path_style")
    assert cli("profile", "--json")["coding_preferences"] == {}
    bad = run_cli("memory", "profile", "set", "verbosity", env=env, cwd=world.root)
    assert bad.returncode == 2 and "usage" in bad.stderr
    wrong = run_cli("memory", "profile", "set", "colour", "blue", env=env, cwd=world.root)
    assert wrong.returncode == 1 and "not a profile field" in wrong.stderr
    missing = run_cli("memory", "forget", "--pattern", "999", env=env, cwd=world.root)
    assert missing.returncode == 1 and "no learned pattern #999" in missing.stderr
    assert "Traceback" not in missing.stderr + wrong.stderr


def test_memory_off_folds_and_adds_nothing_but_forgetting_works(world: World) -> None:
    from tests.support.cli import run_cli

    say(world, ["fix the parser", "add tests", "fix the lexer", "add tests too"])
    world.settings.memory.enabled = False
    Analyzer.open(world.store, world.service()).run()
    conn = world.store.conn()
    assert conn.execute("SELECT count(*) FROM learned_patterns").fetchone()[0] == 0
    off = Profiles.open(world.store, enabled=False)
    assert aq.pending_count(conn, off.user_id or 0) == 8
    assert off.fold()[1] == []
    assert conn.execute("SELECT count(*) FROM user_profile").fetchone()[0] == 0
    with pytest.raises(ProfileError, match="Memory is off"):
        off.set("verbosity", "brief")
    with pytest.raises(ProfileError, match="Memory is off"):
        off.add_pattern("reads diffs")
    env = {"MIRA_DB": str(world.store.path), "MIRA_MEMORY_ENABLED": "false"}
    shown = run_cli("memory", "profile", "--json", env=env, cwd=world.root)
    assert shown.returncode == 0 and json.loads(shown.stdout)["patterns"] == []
    refused = run_cli("memory", "profile", "set", "verbosity", "brief", env=env, cwd=world.root)
    assert refused.returncode == 1 and "Memory is off" in refused.stderr
    assert conn.execute("SELECT count(*) FROM user_profile").fetchone()[0] == 0
    # a pattern found while on is still forgotten while off
    Profiles.open(world.store).fold()
    (pat,) = Profiles.open(world.store).patterns()
    off.forget_pattern(pat.id)
    assert Profiles.open(world.store, enabled=False).patterns() == []
