"""Diffs made with difflib and re-applied with unidiff: exact, shifted, fuzzy, refused."""

from __future__ import annotations

from mira_ls.build.patches import apply_edits, file_diff, plan

BEFORE = "import os\nimport sys\n\n\ndef main():\n    return sys.argv\n"
AFTER = "import sys\n\n\ndef main():\n    return sys.argv\n"


def texts(**files: str):
    return lambda path: files.get(path.replace("/", "_").replace(".", "_"))


def test_file_diff_is_a_git_style_unified_diff() -> None:
    assert file_diff("pkg/a.py", BEFORE, AFTER) == (
        "--- a/pkg/a.py\n+++ b/pkg/a.py\n@@ -1,4 +1,3 @@\n-import os\n import sys\n \n \n"
    )
    assert file_diff("pkg/a.py", BEFORE, BEFORE) == ""


def test_missing_newline_at_end_is_marked() -> None:
    d = file_diff("a.txt", "x\ny", "x\nz")
    assert d.endswith("-y\n\\ No newline at end of file\n+z\n\\ No newline at end of file\n")
    edits = plan(d, texts(a_txt="x\ny"))
    assert edits is not None
    assert apply_edits("x\ny", edits) == "x\nz"


def test_reapply_on_the_same_text() -> None:
    d = file_diff("a.py", BEFORE, AFTER)
    edits = plan(d, texts(a_py=BEFORE), anchor=("a.py", 1, 1))
    assert edits is not None
    assert apply_edits(BEFORE, edits) == AFTER


def test_reapply_when_lines_were_added_above() -> None:
    d = file_diff("a.py", BEFORE, AFTER)
    current = '"""Docstring."""\n' + BEFORE  # the error moved one line down
    edits = plan(d, texts(a_py=current), anchor=("a.py", 1, 2))
    assert edits is not None and edits[0].start == 1
    assert apply_edits(current, edits) == '"""Docstring."""\n' + AFTER


def test_fuzzy_search_without_anchor_shift() -> None:
    d = file_diff("a.py", BEFORE, AFTER)
    current = "# one\n# two\n" + BEFORE
    edits = plan(d, texts(a_py=current))
    assert edits is not None
    assert apply_edits(current, edits) == "# one\n# two\n" + AFTER


def test_far_away_or_changed_context_does_not_apply() -> None:
    d = file_diff("a.py", BEFORE, AFTER)
    moved = "\n" * 20 + BEFORE
    assert plan(d, texts(a_py=moved)) is None  # 20 lines off, no anchor: not guessed
    changed = BEFORE.replace("import sys", "import json")
    assert plan(d, texts(a_py=changed), anchor=("a.py", 1, 1)) is None
    assert plan(d, texts()) is None  # the file is gone
    assert plan("not a diff at all", texts(a_py=BEFORE)) is None


def test_already_fixed_text_offers_nothing() -> None:
    d = file_diff("a.py", BEFORE, AFTER)
    assert plan(d, texts(a_py=AFTER)) is None


def test_hunks_near_the_error_are_the_fix() -> None:
    before = "".join(f"line {i}\n" for i in range(1, 41))
    after = before.replace("line 3\n", "line three\n").replace("line 30\n", "line thirty\n")
    d = file_diff("a.py", before, after)
    # the error was on line 30: only the hunk there is applied
    edits = plan(d, texts(a_py=before), anchor=("a.py", 30, 30))
    assert edits is not None and len(edits) == 1
    assert apply_edits(before, edits) == before.replace("line 30\n", "line thirty\n")
    # no hunk near line 20: the whole diff is the fix
    edits = plan(d, texts(a_py=before), anchor=("a.py", 20, 20))
    assert edits is not None and apply_edits(before, edits) == after


def test_multi_file_fix_needs_every_file() -> None:
    d = file_diff("a.py", "x = f()\n", "x = g()\n") + file_diff("b.py", "def f():\n", "def g():\n")
    edits = plan(d, texts(a_py="x = f()\n", b_py="def f():\n"), anchor=("c.py", 1, 1))
    assert edits is not None and {e.path for e in edits} == {"a.py", "b.py"}
    assert plan(d, texts(a_py="x = f()\n"), anchor=("c.py", 1, 1)) is None


def test_crlf_files_keep_their_line_endings() -> None:
    d = file_diff("a.py", BEFORE, AFTER)
    current = BEFORE.replace("\n", "\r\n")
    edits = plan(d, texts(a_py=current), anchor=("a.py", 1, 1))
    assert edits is not None
    assert apply_edits(current, edits) == AFTER.replace("\n", "\r\n")
