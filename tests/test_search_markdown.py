"""The markdown list of links mira.search opens for clients without a picker."""

from __future__ import annotations

from pathlib import Path

from mira_ls.features.search import SearchAnswer, markdown, shows_markdown, summary


def _code(path: str, line: int, symbol: str, uri: str) -> dict[str, object]:
    return {
        "path": path,
        "line": line,
        "col": 5,
        "symbol": symbol,
        "kind": "function",
        "score": 0.03,
        "via": "both",
        "collection": "code",
        "uri": uri,
    }


def test_links_carry_the_line_and_survive_odd_paths() -> None:
    odd = Path("/repo/we[ir]d (copy)/a.py")
    answer = SearchAnswer(
        "q",
        results=[
            _code("we[ir]d (copy)/a.py", 3, "a.f", odd.as_uri()),
            {
                "path": None,
                "line": None,
                "symbol": "Fix the parser",
                "kind": "commit",
                "score": 0.01,
                "via": "keyword",
                "collection": "git",
                "commit": "0123456789abcdef",
                "files": ["a.py"],
            },
        ],
        notes=["Semantic search is off."],
    )
    lines = markdown(answer).splitlines()
    assert lines[0] == "# Search: q"
    # Brackets in the label are escaped; the URI quotes parentheses and spaces.
    assert lines[2] == (
        "1. `a.f` (function): [we\\[ir\\]d (copy)/a.py:3]"
        "(file:///repo/we%5Bir%5Dd%20%28copy%29/a.py#L3) — both"
    )
    assert lines[3] == "2. `0123456789` Fix the parser — keyword"
    assert lines[-1] == "*Semantic search is off.*"


def test_only_an_explicit_false_keeps_the_file_closed() -> None:
    assert shows_markdown({}) and shows_markdown({"open": True}) and shows_markdown({"open": None})
    assert not shows_markdown({"open": False})


def test_summary_lists_the_first_results() -> None:
    answer = SearchAnswer(
        "q", results=[_code(f"m{i}.py", i, f"m{i}.f", "file:///x") for i in range(1, 10)]
    )
    text = summary(answer, Path("/state/answers/search/x.md"), top=3)
    assert text.splitlines() == [
        "mira-ls found 9 results for 'q' (/state/answers/search/x.md):",
        "m1.py:1 m1.f (both)",
        "m2.py:2 m2.f (both)",
        "m3.py:3 m3.f (both)",
    ]
