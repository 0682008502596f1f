"""LineMap and Lines: stored code-point columns to client units, reading each file at most
once per request, the open buffer before the disk, unreadable files left unconverted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lsprotocol import types

from mira_ls.features import positions
from mira_ls.features.positions import LineMap, Lines
from mira_ls.index.symbols import extract

U8 = types.PositionEncodingKind.Utf8
U16 = types.PositionEncodingKind.Utf16
U32 = types.PositionEncodingKind.Utf32

TEXT = 'x = "😀😀"; y = café()\nplain = 1\n'
# "café" starts at code point 14: two emoji before it are 4 UTF-16 units / 8 UTF-8 bytes.
CAFE = (1, 14, 1, 18)


def rng(a: int, b: int, c: int, d: int) -> types.Range:
    return types.Range(types.Position(a, b), types.Position(c, d))


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [(U16, rng(0, 16, 0, 20)), (U8, rng(0, 20, 0, 25)), (U32, rng(0, 14, 0, 18))],
)
def test_line_map_converts_each_encoding(encoding: str, expected: types.Range) -> None:
    lm = LineMap(TEXT, encoding)
    assert lm.range(*CAFE) == expected
    assert lm.from_client(expected.start) == (1, 14)
    assert lm.position(2, 5) == types.Position(1, 5)  # an ASCII line: unchanged


def test_line_map_ascii_and_missing_text_keep_columns() -> None:
    assert LineMap("a = 1\nbb = 2\n", U8).position(2, 3) == types.Position(1, 3)
    assert LineMap(None, U16).position(4, 7) == types.Position(3, 7)
    assert LineMap("abc\n", U16).line(0) == "abc"  # lines still there when asked


def test_lines_reads_each_file_once_and_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text(TEXT, encoding="utf-8")
    b.write_text(TEXT, encoding="utf-8")
    reads: list[Path] = []
    real = positions.read_text
    monkeypatch.setattr(positions, "read_text", lambda p: reads.append(p) or real(p))
    lines = Lines(U16)
    assert reads == []
    assert lines.range(a, *CAFE) == rng(0, 16, 0, 20)
    assert lines.position(a, 2, 3) == types.Position(1, 3)
    assert lines.range(a, *CAFE) == rng(0, 16, 0, 20)
    assert reads == [a]
    assert Lines(U32).range(b, *CAFE) == rng(0, 14, 0, 18)  # code points: nothing to read
    assert reads == [a]


def test_lines_prefers_the_open_buffer(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("y = café()\n", encoding="utf-8")  # the disk: no emoji
    asked: list[Path] = []

    def buffer_text(p: Path) -> str | None:
        asked.append(p)
        return TEXT if p == path else None

    lines = Lines(U8, buffer_text)
    assert lines.range(path, *CAFE) == rng(0, 20, 0, 25)
    other = tmp_path / "other.py"
    other.write_text("é = 1\n", encoding="utf-8")
    assert lines.position(other, 1, 1) == types.Position(0, 2)  # not open: from disk
    lines.position(path, 1, 0)
    assert asked == [path, other]


def test_lines_unreadable_files_keep_columns(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)  # reading it would block the request
    folder = tmp_path / "dir.py"
    folder.mkdir()
    lines = Lines(U16)
    for path in (tmp_path / "gone.py", fifo, folder):
        assert lines.range(path, *CAFE) == rng(0, 14, 0, 18)
        assert lines.line_end(path, 1) == types.Position(0, 0)


def test_lines_invalid_utf8_reads_as_the_indexer_does(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    data = b'a = "\xff"; f = "\xf0\x9f\x98\x80"; g()\n'
    path.write_bytes(data)
    (call,) = extract(data, "bad.py", "python").calls
    assert (call.name, call.line, call.col) == ("g", 1, 18)
    # \xff is one U+FFFD for both (one UTF-16 unit); the emoji is two units.
    assert Lines(U16).position(path, call.line, call.col) == types.Position(0, 19)


def test_line_end_counts_client_units_without_the_line_break(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_bytes("# Ünïcode 😀\r\nx = 1\n".encode())
    assert Lines(U16).line_end(path, 1) == types.Position(0, 12)
    assert Lines(U8).line_end(path, 1) == types.Position(0, 16)
    assert Lines(U8).line_end(path, 2) == types.Position(1, 5)
