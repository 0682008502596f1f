"""workspace/symbol search: the store's search gives the answers of the reference (the search
as it was before the symbol_names table, tests/support/symbol_search_reference.py), the same
symbols in the same order, on a generated workspace of a few thousand names and queries."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from mira_ls.store import Store
from mira_ls.store import code as cs
from tests.index_helpers import index, new_store, write_files
from tests.support.symbol_search_reference import search_symbols_reference

WORDS = [
    "get",
    "set",
    "call",
    "site",
    "sites",
    "parse",
    "url",
    "html",
    "http",
    "id",
    "x",
    "y2",
    "value",
    "values",
    "query",
    "session",
    "table",
    "column",
    "render",
    "visit",
    "compile",
    "on",
    "off",
    "add",
    "del",
    "tot",
    "to",
    "at",
    "scan",
    "sca",
    "sat",
    "sato",
    "lat",
    "desc",
    "dec",
    "crea",
    "create",
    "write",
    "rite",
    "instr",
    "init",
    "all",
    "limit",
    "prop",
    "warn",
    "pri",
    "mgmt",
    "obj",
]
ODD = ["café", "Straße", "naïve_thing", "Ωmega", "μ_value", "xÉx", "ÉCOLE"]


def _name(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 3, 4)))]
    style = rng.randrange(7)
    if style == 0:
        name = "_".join(words)
    elif style == 1:
        name = words[0] + "".join(w.capitalize() for w in words[1:])
    elif style == 2:
        name = "".join(w.capitalize() for w in words)
    elif style == 3:
        name = "_".join(w.upper() for w in words)
    elif style == 4:
        name = "".join(words)
    elif style == 5:
        name = "_" * rng.choice((1, 2)) + "_".join(words)
    else:
        name = "".join(w.upper() if rng.random() < 0.3 else w.capitalize() for w in words)
    if rng.random() < 0.03:
        name += rng.choice(("2", "_v2", "X"))
    if rng.random() < 0.02:
        name = rng.choice(ODD) + ("_" + name if rng.random() < 0.5 else "")
    if name[0].isdigit():
        name = "n" + name
    return name


def _workspace(rng: random.Random, n_files: int = 40) -> tuple[dict[str, str], list[str]]:
    files: dict[str, str] = {}
    names: list[str] = []
    for f in range(n_files):
        lines = []
        for _ in range(rng.randint(15, 50)):
            n = _name(rng)
            names.append(n)
            if rng.random() < 0.2:
                m = _name(rng)
                names.append(m)
                lines.append(f"class {n}:\n    def {m}(self):\n        return 1\n")
            else:
                lines.append(f"def {n}():\n    return 0\n")
        # module names share the vocabulary too (modules are never answers)
        stem = "_".join(rng.sample(WORDS, 2)) + f"_{f}"
        files[f"pkg{f % 4}/{stem}.py"] = "\n\n".join(lines) + "\n"
    files["web/app.js"] = (
        "function $getCall() { return 1 }\nfunction get$site() { return 2 }\n"
        "function on_scan() { return 3 }\nclass TotRender { render() { return 4 } }\n"
    )
    names += ["$getCall", "get$site", "on_scan", "TotRender", "render"]
    return files, names


def _fuzzy(name: str, rng: random.Random) -> str:
    letters = [c for c in name if c.isalnum()]
    if len(letters) <= 3:
        return "".join(letters)
    keep = sorted(rng.sample(range(1, len(letters)), min(rng.randint(1, 4), len(letters) - 1)))
    return letters[0] + "".join(letters[i] for i in keep)


def _queries(names: list[str], rng: random.Random, n: int) -> list[str]:
    out = [
        "gcs", "getcs", "GETCALLSITES", "get", "Get", "GET", "g", "x", "_", "__", "tot", "sca",
        "sato", "desc", "on_", "all_", "rende", "crte", "zzz", "café", "CAFÉ", "straß", "é",
        "get_c", "a%b", "a_b", "50%", "\\", "get call", " get ", "$get", "get$", "cr%", "[a]",
        "*", "?", "ΩM", "μ_", "xÉ", "aÉ", "Éc", "ωm", "éco", "sEt", "bAR", "Render", "tRe", "2",
        "y2", "v2", "set2",
    ]  # fmt: skip
    while len(out) < n:
        name = rng.choice(names).lstrip("_")
        kind = rng.randrange(4)
        if kind == 0:
            out.append(name[: rng.randint(1, 6)])
        elif kind == 1:
            out.append(_fuzzy(name, rng))
        elif kind == 2:
            q = name[: rng.randint(2, 8)]
            out.append(q.upper() if rng.random() < 0.5 else q.swapcase())
        else:
            words = cs._words(name)
            out.append("".join(w[: rng.randint(1, 3)] for w in words) or name)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, int, list[str]]]:
    rng = random.Random(24)
    tmp = tmp_path_factory.mktemp("symsearch")
    files, names = _workspace(rng)
    root = tmp / "ws"
    write_files(root, files)
    store = new_store(tmp)
    stats = index(store, root)
    yield store, stats.project_id, _queries(names, rng, 400)
    store.close()


def test_same_answers_as_the_reference(world: tuple[Store, int, list[str]]) -> None:
    """At workspace/symbol's limit (200) every answer is the reference's."""
    store, pid, queries = world
    conn = store.conn()
    assert conn.execute("SELECT count(*) FROM code_elements").fetchone()[0] > 1500
    for project in (pid, None):
        for q in queries:
            got = [r.id for r in cs.search_symbols(conn, project, q, limit=200)]
            want = [r.id for r in search_symbols_reference(conn, project, q, limit=200)]
            assert got == want, (q, project)


@pytest.mark.parametrize("limit", [100, 20, 5])
def test_smaller_limits_answer_what_the_reference_finds_uncut(
    world: tuple[Store, int, list[str]], limit: int
) -> None:
    """The reference reads at most max(4 * limit, 400) rows per step and stops a step when
    enough rows (modules counted) were found: with a small limit a better match can be cut
    off ('_set_to_crea' for 'st' is found by its initials only when its row is among the
    first 400 subsequence matches). The new search has no such cut: its answer is the
    reference's first ``limit`` answers with a limit big enough that nothing is cut, and
    the reference's own answer wherever nothing was cut at ``limit``."""
    store, pid, queries = world
    conn = store.conn()
    cut = 0
    for q in queries:
        got = [r.id for r in cs.search_symbols(conn, pid, q, limit=limit)]
        uncut = [r.id for r in search_symbols_reference(conn, pid, q, limit=5000)][:limit]
        assert got == uncut, (q, limit)
        cut += got != [r.id for r in search_symbols_reference(conn, pid, q, limit=limit)]
    assert cut < len(queries) // 10, cut


def test_the_queries_reach_every_rank(world: tuple[Store, int, list[str]]) -> None:
    """The generated queries exercise each tier (so the comparison above means something)."""
    store, pid, queries = world
    conn = store.conn()
    seen = {"exact": 0, "prefix": 0, "initials": 0, "substring": 0, "fuzzy": 0}
    for q in queries:
        ql = q.strip().lower()
        for r in search_symbols_reference(conn, pid, q, limit=200):
            low = r.name.lower()
            if low == ql:
                seen["exact"] += 1
            elif low.startswith(ql):
                seen["prefix"] += 1
            elif ql and cs._initials_match(cs._words(r.name), ql):
                seen["initials"] += 1
            elif ql in low:
                seen["substring"] += 1
            else:
                seen["fuzzy"] += 1
    assert all(v > 50 for v in seen.values()), seen


def test_small_workspace(tmp_path: Path) -> None:
    """Small limits on a small workspace, where nothing is cut off by a cap."""
    rng = random.Random(7)
    files, names = _workspace(rng, n_files=3)
    root = tmp_path / "ws"
    write_files(root, files)
    store = new_store(tmp_path)
    try:
        pid = index(store, root).project_id
        conn = store.conn()
        for q in _queries(names, rng, 150):
            for limit in (1000, 50):
                got = [r.id for r in cs.search_symbols(conn, pid, q, limit=limit)]
                want = [r.id for r in search_symbols_reference(conn, pid, q, limit=limit)]
                assert got == want, (q, limit)
    finally:
        store.close()


def test_many_names_with_the_prefix_take_the_index_and_give_the_same_answer(
    tmp_path: Path,
) -> None:
    """When the names beginning with the query fill the answer they are read through the
    NOCASE index (migration 028); the answer is the full ranking's."""
    root = tmp_path / "ws"
    body = "".join(
        f"def test_{w}_{i}():\n    pass\n\n\n"
        for i in range(40)
        for w in ("parse", "Render", "scan", "x")
    )
    body += "def test():\n    pass\n\n\ndef attest_it():\n    pass\n\n\ndef t_e_s_t():\n    pass\n"
    write_files(
        root, {"tests/test_many.py": body, "lib/TestCase.py": "class TestCase:\n    pass\n"}
    )
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    conn = store.conn()
    names = [r[0] for r in conn.execute("SELECT name FROM symbol_names")]
    fast = cs._prefix_answer
    for query in ("tes", "test", "TEST_", "test_r", "t"):
        for limit in (10, 50, 160, 200):
            got = [r.id for r in cs.search_symbols(conn, pid, query, limit=limit)]
            took = fast(conn, "project_id = ? AND ", [pid], query.lower(),
                        query.lower()[:-1] + chr(ord(query.lower()[-1]) + 1), limit)  # fmt: skip
            cs_fast, cs._prefix_answer = cs._prefix_answer, lambda *a, **k: None
            try:
                full = [r.id for r in cs.search_symbols(conn, pid, query, limit=limit)]
            finally:
                cs._prefix_answer = cs_fast
            assert got == full, (query, limit)
            prefixed = sum(n.lower().startswith(query.lower()) for n in names)
            assert (took is not None) == (prefixed >= limit), (query, limit)
