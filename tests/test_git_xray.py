"""X-Ray on scripted histories: definitions that change together, renames, splits, broken
old versions, and the shifted definitions checked against a parse of every version."""

from __future__ import annotations

import json
from dataclasses import replace

from mira_ls.git import xray
from mira_ls.index import symbols
from mira_ls.index.languages import new_parser
from mira_ls.store import xray as xray_store
from tests.support.cli import run_cli
from tests.support.repo import ALICE, BOB, DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()


def func(name: str, body: str = "y = 0", indent: str = "") -> str:
    """A function whose ``body`` line sits between two fixed lines (an edit is inside)."""
    return f"{indent}def {name}(x):\n{indent}    x += 1\n{indent}    {body}\n{indent}    return x\n"


def module(bodies: dict[str, str], cls: dict[str, str] | None = None) -> str:
    """A module of top-level functions (name -> body), then a class of methods."""
    parts = ['"""Doc."""\n']
    for name, body in bodies.items():
        parts.append("\n\n" + func(name, body))
    if cls:
        parts.append("\n\nclass Box:\n")
        for name, body in cls.items():
            parts.append("\n" + func(name, body, "    "))
    return "".join(parts)


def by_symbol(x: xray.XRay) -> dict[str, xray.DefinitionHistory]:
    return {d.symbol: d for d in x.definitions}


def run(root, path: str, **kw) -> xray.XRay:
    return xray.xray(root, path, "HEAD", **kw)


def test_functions_that_change_together_couple_and_a_loner_does_not(repo: Repo) -> None:
    bodies = {"load": "y = 0", "save": "y = 0", "alone": "y = 0"}
    repo.commit("start", {"m.py": module(bodies)}, at=T0)
    for i in range(1, 5):
        bodies["load"] = f"y = {i}"
        bodies["save"] = f"y = {i} + 1"
        repo.commit(f"load and save {i}", {"m.py": module(bodies)}, author=BOB, at=T0 + i * DAY)
    for i in range(1, 4):
        bodies["alone"] = f"y = {i} * 2"
        repo.commit(f"alone {i}", {"m.py": module(bodies)}, at=T0 + (10 + i) * DAY)
    x = run(repo.root, "m.py")
    d = by_symbol(x)
    assert x.commits == 8
    # The first commit adds every function: 1 + 4 for load and save, 1 + 3 for alone.
    assert (d["load"].changes, d["save"].changes, d["alone"].changes) == (5, 5, 4)
    # They also share the first commit: 5 of 5 (alone shares only that one).
    assert [(c.symbol, c.shared) for c in d["load"].couplings] == [("save", 5)]
    assert [(c.symbol, c.shared) for c in d["save"].couplings] == [("load", 5)]
    assert d["load"].couplings[0].confidence == 1.0
    assert d["alone"].couplings == []
    assert [(a.name, a.changes) for a in d["load"].authors] == [
        ("Bob Jones", 4),
        ("Alice Smith", 1),
    ]
    assert d["alone"].last_at == T0 + 13 * DAY
    assert d["load"].line == 4 and d["alone"].line == 16


def test_methods_and_an_inserted_function_keep_their_names_and_lines(repo: Repo) -> None:
    """Edits inside bodies are shifted, not parsed; a new def in between is parsed; the
    numbers match a parse of the final version."""
    bodies = {"first": "y = 0", "last": "y = 0"}
    cls = {"get": "y = 0", "put": "y = 0"}
    repo.commit("start", {"m.py": module(bodies, cls)}, at=T0)
    cls["get"] = "y = x\n        z = y"
    repo.commit("get grows", {"m.py": module(bodies, cls)}, at=T0 + DAY)
    bodies = {"first": "y = 0", "middle": "y = 1", "last": "y = 0"}
    repo.commit("add middle", {"m.py": module(bodies, cls)}, at=T0 + 2 * DAY)
    cls["put"] = "y = x + 1"
    repo.commit("put", {"m.py": module(bodies, cls)}, at=T0 + 3 * DAY)
    x = run(repo.root, "m.py")
    d = by_symbol(x)
    assert {k: v.changes for k, v in d.items()} == {
        "first": 1,
        "middle": 1,
        "last": 1,
        "Box": 1,
        "Box.get": 2,
        "Box.put": 2,
    }
    src = (repo.root / "m.py").read_bytes()
    truth = symbols.definition_spans(new_parser("python").parse(src), "python")
    assert [(s.name, s.start_line, s.end_line) for s in truth] == [
        (v.symbol, v.line, v.end_line) for v in x.definitions
    ]
    assert x.parsed_versions < x.versions  # the body edits were shifted


def test_rename_is_followed(repo: Repo) -> None:
    bodies = {"load": "y = 0", "save": "y = 0"}
    repo.commit("start", {"old.py": module(bodies)}, at=T0)
    bodies["load"] = "return 1"
    repo.commit("load 1", {"old.py": module(bodies)}, at=T0 + DAY)
    repo.git("mv", "old.py", "new.py")
    repo.commit("rename", at=T0 + 2 * DAY)
    bodies["load"] = "return 2"
    repo.commit("load 2", {"new.py": module(bodies)}, at=T0 + 3 * DAY)
    d = by_symbol(run(repo.root, "new.py"))
    assert d["load"].changes == 3 and d["save"].changes == 1


def test_split_is_followed(repo: Repo) -> None:
    """big.py is split: its second half moves to part.py (a copy git detects); part.py's
    X-Ray carries the moved functions' history from big.py."""
    names = [f"f{i}" for i in range(8)]
    bodies = {n: "y = 0" for n in names}
    repo.commit("start", {"big.py": module(bodies)}, at=T0)
    for i in range(1, 3):
        bodies["f6"] = f"y = {i}"
        repo.commit(f"f6 {i}", {"big.py": module(bodies)}, at=T0 + i * DAY)
    keep = {n: b for n, b in bodies.items() if n in names[:4]}
    big = module(keep)
    repo.commit(
        "split big.py",
        {"big.py": big, "part.py": module(bodies).replace(big.rstrip("\n"), '"""Doc."""')},
        at=T0 + 5 * DAY,
    )
    bodies["f6"] = "y = 9"
    part = module(bodies).replace(big.rstrip("\n"), '"""Doc."""')
    repo.commit("f6 after the split", {"part.py": part}, at=T0 + 6 * DAY)
    d = by_symbol(run(repo.root, "part.py"))
    assert set(d) == set(names[4:])
    assert d["f6"].changes >= 3  # created in big.py, changed twice there, once here
    assert d["f4"].changes >= 1


def test_syntax_errors_in_old_versions_still_complete(repo: Repo) -> None:
    repo.commit("broken", {"m.py": "def load(x:\n    return (\n\nclass ]\n"}, at=T0)
    repo.commit("still broken", {"m.py": "def load(x:\n    return ((\n"}, at=T0 + DAY)
    repo.commit("binary", {"m.py": b"\x00\xff\xfe not text \x00"}, at=T0 + 2 * DAY)
    good = module({"load": "y = 1", "save": "y = 2"})
    repo.commit("fixed", {"m.py": good}, at=T0 + 3 * DAY)
    repo.commit("save", {"m.py": good.replace("y = 2", "y = 3")}, at=T0 + 4 * DAY)
    x = run(repo.root, "m.py")
    d = by_symbol(x)
    assert x.commits == 5
    assert set(d) == {"load", "save"} and d["save"].changes >= 2


def test_a_fix_after_a_broken_version_finds_the_definitions_far_from_it(repo: Repo) -> None:
    # The file starts with a syntax error at the top that hides every definition; the commit
    # that fixes it touches only the top, yet the functions far below are known from then on.
    bodies = {f"f{i}": "y = 0" for i in range(12)}
    good = module(bodies)
    repo.commit("broken", {"m.py": good.replace("def f0(x):", "def f0(x:\n    z = (")}, at=T0)
    repo.commit("fix", {"m.py": good}, at=T0 + DAY)
    bodies["f11"] = "y = 11"
    repo.commit("f11", {"m.py": module(bodies)}, at=T0 + 2 * DAY)
    d = by_symbol(run(repo.root, "m.py"))
    assert set(d) == {f"f{i}" for i in range(12)}
    assert d["f11"].changes == 1  # its one edit; the break and the fix were at f0
    assert d["f0"].changes >= 1


def test_cached_per_head_and_cli(tmp_path, store, repo: Repo) -> None:
    bodies = {"load": "y = 0", "save": "y = 0"}
    repo.commit("start", {"m.py": module(bodies), "other.py": module({"helper": "y = 0"})})
    for i in range(1, 4):
        bodies["load"] = f"y = {i}"
        repo.commit(
            f"load {i}",
            {"m.py": module(bodies), "other.py": module({"helper": f"y = {i}"})},
            author=ALICE,
        )
    pid, _ = mine_repo(store, repo.root)
    x = xray.ensure_xray(store, pid, repo.root, "m.py")
    head = repo.head()
    assert xray_store.get(store.conn(), pid, "m.py", head) is not None
    again = xray.stored(store.conn(), pid, "m.py", head)
    assert again is not None and xray.to_json(again) == xray.to_json(x)
    d = by_symbol(x)
    # other.py is m.py's co-change partner: helper changed in each of load's 3 later commits.
    assert ("helper", "other.py", 4) in {(c.symbol, c.path, c.shared) for c in d["load"].couplings}
    repo.commit("new head", {"m.py": module(bodies) + "\n\n" + func("extra")})
    assert xray.stored(store.conn(), pid, "m.py", repo.head()) is None  # stale at a new HEAD

    db = tmp_path / "cli.db"
    assert run_cli("mine", str(repo.root), "--db", str(db)).returncode == 0
    r = run_cli("xray", str(repo.root / "m.py"), "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["path"] == "m.py" and doc["commits"] == 5
    load = next(e for e in doc["definitions"] if e["symbol"] == "load")
    assert {"symbol", "line", "changes", "authors", "last_at", "couplings"} <= set(load)
    assert load["changes"] == 4
    text = run_cli("xray", str(repo.root / "m.py"), "--db", str(db))
    assert "m.py: 5 counted commits" in text.stdout and "load" in text.stdout
    missing = run_cli("xray", str(repo.root / "nope.py"), "--db", str(db))
    assert missing.returncode == 1 and "nope.py is not a file" in missing.stderr


def test_hover_shows_the_definitions_history_and_partners(store, repo: Repo) -> None:
    from mira_ls.features.hover_git import git_sections
    from mira_ls.store.code import SymbolRow
    from tests.index_helpers import function_row

    bodies = {"load": "y = 0", "save": "y = 0", "alone": "y = 0"}
    repo.commit("start", {"m.py": module(bodies)})
    for i in range(1, 4):
        bodies["load"], bodies["save"] = f"y = {i}", f"y = {i} + 1"
        repo.commit(f"both {i}", {"m.py": module(bodies)}, author=BOB)
    pid, _ = mine_repo(store, repo.root)
    row: SymbolRow = replace(function_row("load", 4, 7, path="m.py"), qualified_name="m.load")
    before = git_sections(store.conn(), pid, "m.py", row, now=T0 + 30 * DAY)
    assert not any(s.startswith("**History**") for s in before)  # no X-Ray yet
    xray.ensure_xray(store, pid, repo.root, "m.py")
    sections = git_sections(store.conn(), pid, "m.py", row, now=T0 + 30 * DAY)
    history = next(s for s in sections if s.startswith("**History**"))
    assert "changed in 4 commits" in history
    assert "knows its history: Bob Jones 3, Alice Smith 1 (changes to this definition)" in history
    with_ = next(s for s in sections if s.startswith("**Changes with**"))
    assert "`load` usually changes with `save`, 4 of 4 commits" in with_


def test_report_ranks_definitions_by_changes_times_complexity(store, repo: Repo) -> None:
    from mira_ls.config import Settings
    from mira_ls.index import indexer
    from mira_ls.report import data

    bodies = {"busy": "y = 0", "twisty": "y = 0"}
    repo.commit("start", {"m.py": module(bodies)})
    for i in range(1, 4):
        bodies["busy"] = f"y = {i}"
        repo.commit(f"busy {i}", {"m.py": module(bodies)})
    bodies["twisty"] = "y = 1 if x else 2 if x > 1 else 3\n    if x:\n        y = 4"
    repo.commit("twisty", {"m.py": module(bodies)})
    settings = Settings()
    settings.index.workers = 1
    settings.index.jedi = False
    pid = indexer.index_workspace(store, repo.root, settings.index).project_id
    mine_repo(store, repo.root)
    before = data.collect(store, repo.root, settings).hotspots
    assert before.functions == [] and "X-Rays of 0 file(s)" in before.functions_note
    xray.ensure_xray(store, pid, repo.root, "m.py")
    fns = data.collect(store, repo.root, settings).hotspots.functions
    # busy: 4 changes x complexity 1; twisty: 2 changes x (3 branches + 1).
    assert [(f.symbol, f.changes, f.complexity, f.score) for f in fns] == [
        ("twisty", 2, 4, 8),
        ("busy", 4, 1, 4),
    ]


def test_llm_context_section(store, repo: Repo) -> None:
    from mira_ls.llm.context import xray_section

    bodies = {"load": "y = 0", "save": "y = 0"}
    repo.commit("start", {"m.py": module(bodies)})
    for i in range(1, 3):
        bodies["load"], bodies["save"] = f"y = {i}", f"y = {i} + 1"
        repo.commit(f"both {i}", {"m.py": module(bodies)}, author=BOB)
    pid, _ = mine_repo(store, repo.root)
    assert xray_section(store.conn(), pid, "m.py", "m.load") is None  # no X-Ray yet
    xray.ensure_xray(store, pid, repo.root, "m.py")
    s = xray_section(store.conn(), pid, "m.py", "m.load")
    assert s is not None and s.kind == "xray"
    assert s.body.splitlines() == [
        "- `load` changed in 3 of 3 commits (Bob Jones 2, Alice Smith 1)",
        "- usually changes with `save`: 3 of 3 commits",
    ]
    whole = xray_section(store.conn(), pid, "m.py", None)
    assert whole is not None and "`load`: 3 changes" in whole.body


def test_last_line_edits_are_shifted_and_match_a_parse(repo: Repo) -> None:
    """Each commit rewrites every function's last line (a return): shifted, not parsed."""

    def src(v: int) -> str:
        return "".join(f"def f{j}(x):\n    return x + {v + j}\n\n" for j in range(4))

    for v in range(6):
        repo.commit(f"v{v}", {"m.py": src(v)}, at=T0 + v * DAY)
    x = run(repo.root, "m.py")
    assert x.parsed_versions == 1  # the first version only
    truth = symbols.definition_spans(new_parser("python").parse(src(5).encode()), "python")
    assert [(s.name, s.start_line, s.end_line) for s in truth] == [
        (d.symbol, d.line, d.end_line) for d in x.definitions
    ]
    assert {d.symbol: d.changes for d in x.definitions} == {f"f{j}": 6 for j in range(4)}
