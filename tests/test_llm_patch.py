"""Diffs from answers applied to the current text, or refused when they do not fit."""

from __future__ import annotations

from mira_ls.llm.patch import apply, diff_blocks

SRC = "def f(x):\n    return x * 2\n\n\ndef g():\n    return f(1)\n"
FIX = """The factor is wrong.

```diff
--- a/app.py
+++ b/app.py
@@ -10,3 +10,3 @@
 def f(x):
-    return x * 2
+    return x * 3
\x20
```
"""


def read(path: str) -> str | None:
    return SRC if path == "app.py" else None


def test_a_hunk_applies_where_its_context_matches_even_with_wrong_line_numbers() -> None:
    out = apply(FIX, read)
    assert out is not None and len(out) == 1
    assert out[0].path == "app.py" and out[0].new_text == SRC.replace("x * 2", "x * 3")


def test_a_patch_that_does_not_match_or_names_a_missing_file_is_not_offered() -> None:
    assert apply(FIX.replace("return x * 2", "return x * 5"), read) is None
    assert apply(FIX.replace("app.py", "other.py"), read) is None
    assert apply("No diff here, just words.", read) is None
    assert apply("```diff\nnot a diff @@\n```", read) is None
    assert diff_blocks(FIX) and not diff_blocks("```python\nprint(1)\n```")


def test_two_hunks_in_one_file() -> None:
    two = """```diff
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
-def f(x):
+def f(x: int) -> int:
     return x * 2
@@ -5,2 +5,2 @@
 def g():
-    return f(1)
+    return f(2)
```"""
    out = apply(two, read)
    assert out is not None
    assert out[0].new_text == (
        "def f(x: int) -> int:\n    return x * 2\n\n\ndef g():\n    return f(2)\n"
    )
