"""Stored non-ASCII lines (migration 015): the indexer records which lines of a file are
not ASCII, so stored columns convert to UTF-16 and UTF-8 without reading the file except
for a position on one of those lines; the answers equal converting from the file's text."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from mira_ls.config import IndexSettings, Settings
from mira_ls.features import positions
from mira_ls.features.positions import LineMap, Lines
from mira_ls.features.session import Session
from mira_ls.features.symbols import workspace_symbols
from mira_ls.index import indexer
from mira_ls.index.worker import non_ascii_lines
from mira_ls.store import Store
from mira_ls.store import code as cs
from tests.index_helpers import index, new_store, write_files

U8 = types.PositionEncodingKind.Utf8
U16 = types.PositionEncodingKind.Utf16

SOURCE = (
    "def plain(a):\n"  # 1
    "    return a\n"  # 2
    "\n"  # 3
    'def café(x="😀"):\n'  # 4: the name and a default after an astral character
    "    return x\n"  # 5
    "\n"  # 6
    "class Ünit:  # naïve\n"  # 7
    "    def ascii_after(b):\n"  # 8
    '        """Ünïcode docstring."""\n'  # 9
    "        return b\n"  # 10
)


def stored_lines(store: Store, project_id: int, rel: str) -> str | None:
    r = (
        store.conn()
        .execute(
            "SELECT non_ascii_lines FROM repository_files WHERE project_id = ? AND file_path = ?",
            (project_id, rel),
        )
        .fetchone()
    )
    return r[0]


@pytest.fixture
def world(tmp_path: Path) -> tuple[Session, Path]:
    root = tmp_path / "ws"
    write_files(root, {"m.py": SOURCE, "plain.py": "def only_ascii():\n    return 1\n"})
    store = new_store(tmp_path)
    session = Session(store=store, settings=Settings())
    session.add_root(root)
    index(store, root)
    return session, root.resolve()


def test_non_ascii_lines_lists_exactly_the_lines_with_high_bytes() -> None:
    assert non_ascii_lines(SOURCE.encode()) == "4,7,9"
    assert non_ascii_lines(b"a = 1\nb = 2\n") == ""
    assert non_ascii_lines(b"\xff\n\nok\n\xe2\x82") == "1,4"  # invalid UTF-8 counts too


def test_the_index_stores_them_and_a_save_updates_them(world: tuple[Session, Path]) -> None:
    session, root = world
    assert session.store is not None
    pid = session.roots[0].project_id
    assert stored_lines(session.store, pid, "m.py") == "4,7,9"
    assert stored_lines(session.store, pid, "plain.py") == ""
    assert session.stored_non_ascii(root / "m.py") == frozenset({4, 7, 9})
    assert session.stored_non_ascii(root / "plain.py") == frozenset()
    assert session.stored_non_ascii(root / "absent.py") is None
    (root / "plain.py").write_text("# ünïcode\ndef only_ascii():\n    return 1\n", "utf-8")
    indexer.update_file(session.store, pid, root, "plain.py", settings=IndexSettings())
    assert session.stored_non_ascii(root / "plain.py") == frozenset({1})


def test_rows_indexed_before_the_migration_read_the_file(world: tuple[Session, Path]) -> None:
    session, root = world
    assert session.store is not None
    with session.store.write() as c:
        c.execute("UPDATE repository_files SET non_ascii_lines = NULL")
    assert session.stored_non_ascii(root / "m.py") is None
    assert cs.non_ascii_lines(session.store.conn(), session.roots[0].project_id, "m.py") is None


@pytest.mark.parametrize("encoding", [U16, U8])
def test_stored_positions_equal_converting_from_the_text(
    world: tuple[Session, Path], encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every stored symbol's range and name, converted through the stored lines, equals
    converting from the file's text; the file is read only for the non-ASCII lines."""
    session, root = world
    assert session.store is not None
    reads: list[Path] = []
    real = positions.read_text
    monkeypatch.setattr(positions, "read_text", lambda p: reads.append(p) or real(p))
    pid = session.roots[0].project_id
    rows = [r for r in cs.symbols_in_file(session.store.conn(), pid, "m.py") if r.kind != "module"]
    assert {r.name for r in rows} >= {"plain", "café", "Ünit", "ascii_after"}
    text_map = LineMap(SOURCE, encoding)
    path = root / "m.py"

    ascii_rows = [r for r in rows if r.name_line in (1, 8)]
    lines = Lines(encoding, stored=session.stored_non_ascii)
    for r in ascii_rows:
        got = lines.range(path, r.name_line, r.name_col, r.name_line, r.name_col + len(r.name))
        assert got == text_map.range(r.name_line, r.name_col, r.name_line, r.name_col + len(r.name))
    assert reads == []  # ASCII lines only: the file was not opened

    for r in rows:
        got_name = lines.range(path, r.name_line, r.name_col, r.name_line, r.name_col + len(r.name))
        want = text_map.range(r.name_line, r.name_col, r.name_line, r.name_col + len(r.name))
        assert got_name == want, r.name
        span = (r.start_line, r.start_col, r.end_line, r.end_col)
        assert lines.range(path, *span) == text_map.range(*span), r.name
    assert reads == [path]  # once, for the first non-ASCII line

    cafe = next(r for r in rows if r.name == "café")
    end = lines.position(path, 4, len('def café(x="😀"'))
    assert end.character == (15 if encoding == U16 else 18)  # 😀: 2 units, 4 bytes
    assert lines.position(path, cafe.name_line, cafe.name_col + 4).character == (
        8 if encoding == U16 else 9  # é: 1 unit, 2 bytes
    )


def test_workspace_symbols_use_the_stored_lines(
    world: tuple[Session, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, root = world
    reads: list[Path] = []
    real = positions.read_text
    monkeypatch.setattr(positions, "read_text", lambda p: reads.append(p) or real(p))
    found = workspace_symbols(session, "only", lines=Lines(U16, stored=session.stored_non_ascii))
    assert [s.name for s in found] == ["only_ascii"]
    assert found[0].location.range == types.Range(types.Position(0, 4), types.Position(0, 14))
    assert reads == []
    found = workspace_symbols(session, "café", lines=Lines(U8, stored=session.stored_non_ascii))
    assert [s.name for s in found] == ["café"]
    assert found[0].location.range == types.Range(types.Position(3, 4), types.Position(3, 9))
    assert reads == [root / "m.py"]
