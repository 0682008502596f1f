"""The X-Ray walk against a parse of every version: definitions re-read from runs of whole
statements (instead of the whole file), texts rebuilt from the -U0 hunks."""

from __future__ import annotations

import subprocess

from mira_ls.git import xray
from mira_ls.index.languages import new_parser
from tests.support.repo import Repo, fixtures

git_isolation, store, repo = fixtures()


def method(name: str, body: str = "return 1", deco: str = "", indent: str = "    ") -> str:
    head = f"{indent}{deco}\n" if deco else ""
    return f"{head}{indent}def {name}(self):\n{indent}    x = 1\n{indent}    {body}\n"


def klass(methods: list[str], name: str = "Box", attrs: str = "") -> str:
    body = "\n".join(methods) if methods else "    pass\n"
    return f"class {name}:\n    {attrs or 'kind = 1'}\n\n" + body


# Each version of one module: methods added at the start, middle and end of a class,
# decorated, renamed, removed, a nested def inside an if, a second class after the first,
# top-level code after a class, a class attribute edited next to the first method.
def versions() -> list[str]:
    a, b, c = method("a"), method("b"), method("c")
    nested = (
        "    def d(self):\n        if self:\n            def inner():\n"
        "                return 2\n            return inner\n        return 0\n"
    )
    tail = "\n\ndef helper():\n    return 3\n"
    out = [
        '"""Doc."""\n\n' + klass([a, c]) + tail,
        '"""Doc."""\n\n' + klass([a, b, c]) + tail,  # one in the middle
        '"""Doc."""\n\n' + klass([method("z"), a, b, c]) + tail,  # one at the start
        '"""Doc."""\n\n' + klass([method("z"), a, b, c, nested]) + tail,  # one at the end
        '"""Doc."""\n\n' + klass([method("z", deco="@property"), a, b, c, nested]) + tail,
        '"""Doc."""\n\n'
        + klass([method("z", deco="@property"), a, method("b2"), c, nested])
        + tail,
        '"""Doc."""\n\n' + klass([a, method("b2"), c, nested], attrs="kind = 2") + tail,
        '"""Doc."""\n\n'
        + klass([a, method("b2"), c, nested.replace("return 2", "return 22")])
        + "\n\n"
        + klass([method("e")], name="Other")
        + tail,
        '"""Doc."""\n\n'
        + klass([a, c, nested.replace("return 2", "return 22")])
        + "\nX = 1\n\n@staticmethod\ndef deco():\n    pass\n"
        + klass([method("e"), method("f")], name="Other")
        + tail,
        # Comments indented like a body after a method belong to it (tree-sitter keeps
        # them in its block); then a method after them, and comments at the class level.
        '"""Doc."""\n\n' + klass([a, c, method("g")]) + tail,
        '"""Doc."""\n\n' + klass([a, c + "        # a note\n", method("h"), method("g")]) + tail,
        '"""Doc."""\n\n'
        + klass([a, c + "        # a note\n", "    # about i\n" + method("i"), method("g")])
        + tail,
    ]
    return out


def walk(root, path: str) -> tuple[xray._Walk, list[xray._Commit]]:
    commits = xray._read_log(root, path, None)
    w = xray._Walk(root, "python")
    for c in commits:
        if c.new is None and c.old is None:
            continue
        w.step(c)
    return w, commits


def spans(src: bytes) -> list[tuple]:
    return sorted(tuple(d) for d in xray._spans(new_parser("python").parse(src), "python"))


def test_every_version_matches_a_parse_and_runs_were_parsed_not_files(repo: Repo) -> None:
    for i, text in enumerate(versions()):
        repo.commit(f"v{i}", {"m.py": text})
    runs = 0
    original = xray._Parser._run

    def counting(self, *args):  # type: ignore[no-untyped-def]
        nonlocal runs
        found = original(self, *args)
        runs += found is not None
        return found

    xray._Parser._run = counting  # type: ignore[method-assign]
    try:
        w, commits = walk(repo.root, "m.py")
    finally:
        xray._Parser._run = original  # type: ignore[method-assign]
    assert len(commits) == len(versions())
    for c in commits:
        assert c.new is not None
        src = w.source(c.new)
        assert sorted(tuple(d) for d in w.versions[c.new].defs) == spans(src), c.hash
    assert runs > 0  # the new definitions came from parses of runs of statements


def test_indented_lines_before_the_first_definition_are_shifted_not_parsed(repo: Repo) -> None:
    """``if TYPE_CHECKING:`` imports added above every definition open none: the
    definitions below are shifted (no parse), and come out as a parse gives them."""
    body = "class A:\n    def f(self):\n        return 1\n\n\ndef g():\n    return 2\n"
    texts = [
        "import os\n\n" + body,
        "import os\nif TYPE_CHECKING:\n    from x import Y\n    from z import W\n\n" + body,
        "import os\nif TYPE_CHECKING:\n    from x import Y\n\n" + body,
    ]
    for i, t in enumerate(texts):
        repo.commit(f"v{i}", {"m.py": t})
    w, commits = walk(repo.root, "m.py")
    for c in commits:
        assert c.new is not None
        assert sorted(tuple(d) for d in w.versions[c.new].defs) == spans(w.source(c.new))
    assert w.parser is not None and w.parser.count == 1  # the first version only


def test_texts_rebuilt_from_the_hunks_equal_the_blobs(repo: Repo) -> None:
    texts = [
        b"a = 1\nb = 2\n",
        b"a = 1\nb = 3",  # the newline at the end goes
        b"a = 1\nb = 3\nc = 4\n",  # and comes back
        b"",  # emptied
        b"x = 1",  # one line, no newline
        b"x = 1\r\ny = 2\r\n",  # CRLF
        b"\n\n\nx = 1\n",
    ]
    for i, t in enumerate(texts):
        repo.commit(f"t{i}", {"t.py": t})
    w, commits = walk(repo.root, "t.py")
    rebuilt = 0
    for c in commits:
        assert c.new is not None
        blob = subprocess.run(
            ["git", "cat-file", "blob", c.new], cwd=repo.root, capture_output=True, check=True
        ).stdout
        if c.new in w.texts:
            rebuilt += 1
            assert b"\n".join(w.texts[c.new]) == blob
    assert rebuilt == len(texts)


def test_a_class_that_now_ends_before_the_changed_lines_is_kept(repo: Repo) -> None:
    """The class's last statement moves out of it (dedented to the module): the region
    parse used to drop the class, whose old span reached into the changed lines."""
    cls = "class Q:\n    def a(self):\n        return 1\n\n    def b(self):\n        return 2\n\n"
    loop = "for name in ['a', 'b']:\n    setattr(Q, name + '_', 1)\n"
    after = "\nQ.x = 1\n\nclass R:\n    def c(self):\n        return 3\n"
    repo.commit("v0", {"q.py": cls + "".join("    " + ln for ln in loop.splitlines(True)) + after})
    repo.commit("v1", {"q.py": cls + loop + after})
    repo.commit("v2", {"q.py": cls.replace("return 2", "return 22") + loop + after})
    w, commits = walk(repo.root, "q.py")
    for c in commits:
        assert c.new is not None
        assert sorted(tuple(d) for d in w.versions[c.new].defs) == spans(w.source(c.new))


def test_a_cancel_stops_the_walk_with_the_partners_read_beside_it(repo: Repo) -> None:
    for i, text in enumerate(versions()):
        repo.commit(f"v{i}", {"m.py": text, "n.py": f"def n():\n    return {i}\n"})
    try:
        xray.xray(repo.root, "m.py", "HEAD", partners=["n.py"], cancel=lambda: True)
    except xray.Cancelled:
        pass
    else:
        raise AssertionError("not cancelled")
    x = xray.xray(repo.root, "m.py", "HEAD", partners=["n.py"])
    assert x.commits == len(versions())
    # n.py changed in every commit: each definition that changed twice couples with n().
    twice = [d for d in x.definitions if d.changes >= 2]
    assert twice
    assert all(("n", "n.py") in {(c.symbol, c.path) for c in d.couplings} for d in twice)
