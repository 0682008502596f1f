"""The feature functions the server calls for build errors, on a real store filled by real
builds: diagnostic positions in UTF-16, the hover section, and edits at the end of a file."""

from __future__ import annotations

import sys
from pathlib import Path

from lsprotocol import types

from mira_ls.build.model import BuildCommand
from mira_ls.build.pipeline import run_build
from mira_ls.config import BuildSettings, Settings
from mira_ls.features import build_actions, build_diagnostics, hover_build
from mira_ls.features.session import Located, ProjectRoot, Session
from mira_ls.store import Store, projects

# Reports every "BAD" as an error at its column (1-based, in code points).
CHECK = (
    "import pathlib\n"
    "for p in sorted(pathlib.Path('.').glob('*.txt')):\n"
    "    for n, line in enumerate(p.read_text(encoding='utf-8').splitlines(), 1):\n"
    "        c = line.find('BAD')\n"
    "        if c >= 0: print(f'{p.name}:{n}:{c + 1}: error: BAD found [X1]')\n"
)
CMD = BuildCommand("check", (sys.executable, "-c", CHECK), "generic")


def setup(tmp_db: Store, tmp_path: Path) -> tuple[Session, Located]:
    root = tmp_path / "ws"
    root.mkdir()
    with tmp_db.write() as c:
        pid = projects.get_or_create(c, root).id
    pr = ProjectRoot(pid, root)
    return Session(tmp_db, Settings(), [pr]), Located(pr, "a.txt")


def build(session: Session, loc: Located) -> None:
    run_build(session.store, loc.project.project_id, loc.project.root, [CMD], BuildSettings())


def text_of(loc: Located):
    return lambda rel: (loc.project.root / rel).read_text(encoding="utf-8")


def test_diagnostic_columns_are_utf16_units(tmp_db: Store, tmp_path: Path) -> None:
    session, loc = setup(tmp_db, tmp_path)
    (loc.abs_path).write_text("é😀 BAD here\n", encoding="utf-8")
    build(session, loc)
    by_uri = build_diagnostics.diagnostics_by_file(
        session, loc.project, types.PositionEncodingKind.Utf16, text_of(loc)
    )
    (d,) = by_uri[loc.abs_path.as_uri()]
    # code points: é, 😀, space -> column 3; UTF-16: 1 + 2 + 1 = 4 units
    assert (d.range.start.line, d.range.start.character) == (0, 4)
    assert (d.range.end.line, d.range.end.character) == (0, 7)  # the word BAD
    assert (d.source, d.code, d.severity) == ("check", "X1", types.DiagnosticSeverity.Error)
    assert d.data["errorHash"] and d.related_information[0].message.startswith("seen 1 time")
    utf8 = build_diagnostics.diagnostics_by_file(
        session, loc.project, types.PositionEncodingKind.Utf8, text_of(loc)
    )
    assert utf8[loc.abs_path.as_uri()][0].range.start.character == 2 + 4 + 1


def test_hover_section_and_end_of_file_fix(tmp_db: Store, tmp_path: Path) -> None:
    session, loc = setup(tmp_db, tmp_path)
    bad, good = "first\nlast BAD", "first\nlast ok"  # no newline at the end
    loc.abs_path.write_text(bad)
    build(session, loc)
    assert hover_build.build_sections(session, loc, None, 1) == []  # no error on line 1
    (section,) = hover_build.build_sections(session, loc, None, 2)
    assert section.startswith("**Build error** `check X1` BAD found · seen 1 time since ")
    assert "Best past fix" not in section
    loc.abs_path.write_text(good)
    build(session, loc)
    loc.abs_path.write_text(bad)
    build(session, loc)
    (section,) = hover_build.build_sections(session, loc, None, 2)
    assert "seen 2 times" in section and "**Best past fix** (same error, " in section
    assert "-last BAD\n\\ No newline at end of file\n+last ok" in section

    actions = build_actions.code_actions(session, loc, bad, 2, 2, "utf-16", text_of(loc))
    fix = actions[0]
    assert fix.title.startswith("Apply past fix (from ")
    (edit,) = fix.edit.changes[loc.abs_path.as_uri()]
    # the replaced range ends at the end of the last line, which has no newline
    assert edit.range == types.Range(types.Position(1, 0), types.Position(1, 8))
    assert edit.new_text == "last ok"
    assert [a.title for a in actions[1:]] == ["Show past resolutions", "Ask Mira to fix"]
    ask = actions[-1].command
    assert ask is not None and ask.command == "mira.fixError"
    assert ask.arguments[0]["uri"] == loc.abs_path.as_uri()
    assert ask.arguments[0]["diagnostic"]["range"]["start"]["line"] == 1
    assert build_actions.code_actions(session, loc, bad, 1, 1, "utf-16", text_of(loc)) == []
