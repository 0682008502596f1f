"""Issue 20, tool synthesis: the same tool calls repeated across answers become a proposed
tool, refused until the user approves it and run after; a command tool runs in the
workspace with a timeout, an output cap and no secrets in its environment; a tool that keeps
failing is withdrawn from the model. The model is the scripted loopback server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mira_ls.features import chat
from mira_ls.learning import synthesis
from mira_ls.store import synth_tools as q
from tests.support.cli import run_cli
from tests.support.llm_world import KEY, World
from tests.support.openai_server import Answer, ToolCall
from tests.test_llm_patch_guard import documents

pytest_plugins = ["tests.llm_fixtures"]

THREE = [
    ("search_symbols", {"query": "helper"}),
    ("get_symbol", {"name": "app.helper"}),
    ("callers", {"name": "app.helper"}),
]


def _cli(world: World, *args: str) -> tuple[int, str, str]:
    out = run_cli(*args, env={"MIRA_DB": str(world.store.path)}, cwd=world.root)
    return out.returncode, out.stdout, out.stderr


def _ask(world: World, question: str, *rounds: list[tuple[str, dict[str, Any]]]) -> Any:
    """One mira.chat whose model makes ``rounds`` of tool calls, then answers."""
    world.srv.script(
        *[Answer(text="", tool_calls=[ToolCall(n, a) for n, a in r]) for r in rounds],
        Answer(text=f"Answered: {question}"),
    )
    session = world.session()
    state = chat.ChatState()
    arg = {
        "question": question,
        "uri": (world.root / "app.py").as_uri(),
        "position": {"line": 3, "character": 5},
        "newSession": True,
    }
    prep = chat.prepare(state, session, "chat", arg, documents(session), "utf-16")
    return chat.run(state, session, prep, chat.Sink())


def _tool_messages(world: World) -> list[str]:
    """What the tools answered in the last answer's final request."""
    body = world.srv.chat_requests()[-1].body
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def _offered(world: World, index: int = -1) -> list[str]:
    body = world.srv.chat_requests()[index].body
    return [t["function"]["name"] for t in body.get("tools", [])]


def _propose(world: World, already: int = 0) -> dict[str, Any]:
    for i in range(already, 3):
        result = _ask(world, f"who calls helper? ({i})", *[[c] for c in THREE])
    (tool,) = synthesis.listed(world.store, world.project_id)
    assert any(f"id {tool['id']}" in n and "approve" in n for n in result.notes)
    return tool


def test_a_repeated_three_call_sequence_becomes_a_proposal(world: World) -> None:
    for i in range(2):
        r = _ask(world, f"who calls helper? ({i})", *[[c] for c in THREE])
        assert not any("proposes" in n for n in r.notes)
    assert synthesis.listed(world.store, world.project_id) == []  # twice is not a habit
    # the calls are kept against each operation (and ops shows them)
    code, out, err = _cli(world, "ops", "--json")
    assert code == 0, err
    events = json.loads(out)[0]["events"]
    assert [e["name"] for e in events if e["status"] == "tool_call"] == [n for n, _ in THREE]

    tool = _propose(world, already=2)  # a third time
    assert tool["status"] == "proposed" and tool["kind"] == "composition"
    assert not tool["offered"]
    assert tool["name"] == "combo_search_symbols_get_symbol_callers"
    steps = tool["definition"]["steps"]
    assert [s["tool"] for s in steps] == ["search_symbols", "get_symbol", "callers"]
    assert steps[0]["arguments"] == {"query": {"param": "query"}}
    first = {"from_step": 0, "take": "first"}
    assert steps[1]["arguments"] == {"name": first} and steps[2]["arguments"] == {"name": first}
    assert tool["parameters"]["required"] == ["query"]
    assert tool["pattern"]["occurrences"] == 3 and tool["pattern"]["confidence"] == 0.75
    conn = world.store.conn()
    (pat,) = q.patterns_of(conn, world.project_id)
    assert pat.should_synthesize and pat.occurrences == 3 and len(pat.examples) == 3
    assert [h["change"] for h in q.history(conn, tool["id"])] == ["proposed"]
    # a fourth time changes the counts, not the proposal
    _ask(world, "who calls helper? (3)", *[[c] for c in THREE])
    assert len(synthesis.listed(world.store, world.project_id)) == 1
    assert q.patterns_of(conn, world.project_id)[0].occurrences == 4


def test_a_proposal_is_refused_before_approval_and_runs_after(world: World) -> None:
    tool = _propose(world)
    name = tool["name"]
    _ask(world, "use the combo", [(name, {"query": "helper"})])
    assert name not in _offered(world, -2)  # not given to the model
    (reply,) = _tool_messages(world)
    assert reply.startswith(f"Refused: {name} is a synthesized tool that is proposed")
    assert q.executions(world.store.conn(), tool["id"]) == []

    code, out, err = _cli(world, "tools", "approve", str(tool["id"]), "--json")
    assert code == 0, err
    assert json.loads(out)["tool"]["status"] == "approved"
    result = _ask(world, "use the combo again", [(name, {"query": "helper"})])
    assert name in _offered(world, -2)
    (reply,) = _tool_messages(world)
    assert "[1] search_symbols" in reply and '[2] get_symbol({"name": "app.helper"})' in reply
    assert "return x * 2" in reply and "Callers of app.helper: 1" in reply
    (run,) = q.executions(world.store.conn(), tool["id"])
    assert (
        run["success"] and run["operation"] == result.id and run["arguments"] == {"query": "helper"}
    )
    code, out, err = _cli(world, "tools", "show", str(tool["id"]), "--json")
    shown = json.loads(out)
    assert shown["executions"] == 1 and shown["success_rate"] == 1.0
    # feedback on that answer is feedback on the tool's run
    code, out, err = _cli(world, "feedback", result.id, "--unhelpful", "--note", "too long")
    assert code == 0, err
    code, out, err = _cli(world, "tools", "show", str(tool["id"]), "--json")
    assert json.loads(out)["feedback"] == {"good": 0, "bad": 1}
    # rejected: never offered again
    code, out, err = _cli(world, "tools", "reject", str(tool["id"]))
    assert code == 0 and "Rejected" in out
    _ask(world, "and again", [(name, {"query": "helper"})])
    assert name not in _offered(world, -2)
    assert "is rejected" in _tool_messages(world)[0]


def _command(world: World, name: str, code: str, *extra: str, args: tuple[str, ...] = ()) -> int:
    rc, out, err = _cli(
        world, "tools", "add", "--root", str(world.root), *extra, "--json", name,
        "--", sys.executable, "-c", code, *args,
    )  # fmt: skip
    assert rc == 0, err
    tool_id = int(json.loads(out)["id"])
    rc, out, err = _cli(world, "tools", "approve", str(tool_id))
    assert rc == 0, err
    return tool_id


SLOW = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open("pids.txt", "w").write(f"{os.getpid()} {child.pid}")
print("started", flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie nobody reaped yet is dead


def test_a_command_tool_over_its_timeout_is_stopped_and_recorded_failed(world: World) -> None:
    tool_id = _command(world, "slow_tool", SLOW, "--timeout", "1")
    result = _ask(world, "run the slow one", [("slow_tool", {})])
    (reply,) = _tool_messages(world)
    assert "stopped after 1 s (the tool's timeout)" in reply and "started" in reply
    pids = [int(p) for p in (world.root / "pids.txt").read_text().split()]
    assert all(_gone(p) for p in pids)  # its child too: the whole group is killed
    (run,) = q.executions(world.store.conn(), tool_id)
    assert not run["success"] and "timeout" in run["error"] and run["operation"] == result.id
    assert run["duration_ms"] >= 1000


def test_a_tool_failing_repeatedly_is_withdrawn_and_the_user_told(world: World) -> None:
    tool_id = _command(world, "flaky_tool", "import sys; print('no'); sys.exit(3)")
    result = _ask(world, "run it thrice", [("flaky_tool", {})] * 3)
    assert all("exit 3" in m for m in _tool_messages(world))
    notes = [n for n in result.notes if n.startswith("Mira withdrew the tool flaky_tool")]
    assert len(notes) == 1 and "0 of its last 3 runs succeeded" in notes[0]
    assert "Mira withdrew the tool flaky_tool" in Path(result.file).read_text()
    _code, out, _err = _cli(world, "tools", "show", str(tool_id), "--json")
    shown = json.loads(out)
    assert shown["status"] == "withdrawn" and not shown["offered"]
    assert shown["failures"] == 3 and shown["success_rate"] == 0.0
    _ask(world, "run it again", [("flaky_tool", {})])
    assert "flaky_tool" not in _offered(world, -2)
    assert "is withdrawn" in _tool_messages(world)[0]
    assert len(q.executions(world.store.conn(), tool_id)) == 3


ENV_CHECK = f"""
import os, re, sys
key = {KEY!r}
bad = [n for n, v in os.environ.items()
       if key in v or re.search("TOKEN|SECRET|PASSWORD|_KEY$|API_KEY", n.upper())]
print("leaked:", bad) if bad else print("env ok, PATH kept:", bool(os.environ.get("PATH")))
sys.exit(1 if bad else 0)
"""


def test_a_command_tool_child_has_no_api_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "MIRA_OPENAI_API_KEY": KEY,
        "OPENAI_API_KEY": KEY,
        "GITHUB_TOKEN": "ghp_x",
        "DB_PASSWORD": "hunter2",
        "MY_SECRET_THING": "x",
        "DEPLOY_KEY": "x",
        "INNOCENT_LOOKING": f"prefix-{KEY}",
    }.items():
        monkeypatch.setenv(name, value)
    tool_id = _command(world, "env_check", ENV_CHECK)
    _ask(world, "check the env", [("env_check", {})])
    (reply,) = _tool_messages(world)
    assert "env ok, PATH kept: True" in reply, reply
    (run,) = q.executions(world.store.conn(), tool_id)
    assert run["success"]
    # what a command printed is of that moment: the same question asks the model again
    before = len(world.srv.chat_requests())
    _ask(world, "check the env", [("env_check", {})])
    assert len(world.srv.chat_requests()) == before + 2
    assert len(q.executions(world.store.conn(), tool_id)) == 2


def test_command_tool_arguments_are_checked(world: World) -> None:
    tool_id = _command(
        world, "show_file", "import sys; print(open(sys.argv[1]).read()[:5])", "--path", "path",
        args=("{path}",),
    )  # fmt: skip
    rc, out, err = _cli(
        world, "tools", "edit", "--why", "argv element", "--json", str(tool_id),
        "--", sys.executable, "-c", "import sys; print(open(sys.argv[1]).read()[:20])", "{path}",
    )  # fmt: skip
    assert rc == 0, err
    edited = json.loads(out)
    assert edited["version"] == 2 and edited["status"] == "proposed"
    assert [h["change"] for h in edited["history"]] == ["proposed", "changed command"]
    assert "{path}" in edited["history"][1]["diff"]
    _cli(world, "tools", "approve", str(tool_id))
    _ask(
        world,
        "show files",
        [("show_file", {"path": "app.py"})],
        [("show_file", {"path": "../outside"})],
        [("show_file", {"path": "--help"})],
    )
    ok, outside, option = _tool_messages(world)
    assert '"""App."""' in ok
    assert outside.startswith("Error: bad arguments for show_file") and "outside" in outside
    assert option.startswith("Error: bad arguments for show_file") and "'-'" in option
    assert len(q.executions(world.store.conn(), tool_id)) == 1  # bad arguments are not runs


def test_cli_errors_are_sentences(world: World) -> None:
    code, out, err = _cli(world, "tools", "show", "999")
    assert code == 1 and "There is no tool 999" in err and "Traceback" not in err
    code, out, err = _cli(world, "tools", "add", "--root", str(world.root), "get_symbol",
                          "--", "true")  # fmt: skip
    assert code == 1 and "one of mira-ls's own tools" in err
    code, out, err = _cli(world, "tools", "add", "mine", "--root", str(world.root), "--", "true")
    assert code == 2 and "options go before NAME" in err
    code, out, err = _cli(world, "tools", "list", "--json")
    assert code == 0 and json.loads(out) == []


def _ev(
    tool: str, error: bool = False, found: list[str] | None = None, **args: Any
) -> dict[str, Any]:
    e: dict[str, Any] = {"name": tool, "arguments": json.dumps(args)}
    if error:
        e["error"] = True
    if found:
        e["found"] = found
    return e


def test_detection_prefers_the_longest_shape_and_skips_failed_calls() -> None:
    four = [
        _ev("search_symbols", query="a", found=["m.a"]),
        _ev("get_symbol", name="m.a"),
        _ev("callers", name="m.a"),
        _ev("file_history", path="m.py", limit=5),
    ]
    seqs = [(f"op{i}", four) for i in range(3)]
    (seen,) = synthesis.detect(seqs, 3)  # the 3-call runs inside it are not proposed too
    assert seen.names == ("search_symbols", "get_symbol", "callers", "file_history")
    steps = synthesis._finish(seen)
    # the same path and limit every time: constants, not parameters
    assert steps[3]["arguments"] == {"limit": {"value": 5}, "path": {"value": "m.py"}}
    varied = [(f"op{i}", [*four[:3], _ev("file_history", path=f"f{i}.py")]) for i in range(3)]
    (seen,) = synthesis.detect(varied, 3)
    assert synthesis._finish(seen)[3]["arguments"] == {"path": {"param": "path"}}
    broken = [(f"op{i}", [four[0], _ev("get_symbol", error=True, name="m.a"), *four[2:]])
              for i in range(3)]  # fmt: skip
    assert synthesis.detect(broken, 3) == []
    assert synthesis.detect(seqs[:2], 3) == []


def test_clean_env_drops_secrets_by_name_and_by_value() -> None:
    from mira_ls.learning.command import clean_env

    env = clean_env(
        {"PATH": "/bin", "HOME": "/root", "LANG": "C", "GITHUB_TOKEN": "t", "npm_config_x": "1",
         "OPENAI_API_KEY": "k", "MIRA_DB": "/x", "AWS_REGION": "eu", "SSH_AUTH_SOCK": "/s",
         "DB_PASSWORD": "p", "SOME_VAR": "has sk-123 inside"},
        ("sk-123",),
    )  # fmt: skip
    assert env == {"PATH": "/bin", "HOME": "/root", "LANG": "C", "npm_config_x": "1"}


def test_a_command_tool_output_is_capped(world: World) -> None:
    from mira_ls.learning.synth_run import Offered
    from mira_ls.llm.tools import ToolBox

    code = "import sys; sys.stdout.write('x' * 200000); print('END')"
    tool_id = _command(world, "loud_tool", code)
    world.settings.tools.output_max_bytes = 1024
    offered = Offered(world.store, world.project_id, world.root, world.settings.tools)
    box = ToolBox(world.store, world.project_id, world.root, extra=offered)
    assert [s["function"]["name"] for s in offered.schemas()] == ["loud_tool"]
    reply = box.call("loud_tool", {})
    assert not reply.is_error and "output cut at 1024 of 200004 bytes" in reply.text
    output = reply.text.split("\n", 2)[2]  # after the command and its exit line
    assert "END" not in output and output == "x" * 1024
    (run,) = q.executions(world.store.conn(), tool_id)
    assert run["success"]
