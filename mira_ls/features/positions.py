"""Columns: the index counts code points; LSP clients count UTF-16 units unless negotiated."""

from __future__ import annotations

from lsprotocol import types


def cp_to_client(line_text: str, col: int, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf32 or line_text.isascii():
        return col
    prefix = line_text[:col]
    if encoding == types.PositionEncodingKind.Utf8:
        return len(prefix.encode("utf-8"))
    return len(prefix.encode("utf-16-le")) // 2


def client_to_cp(line_text: str, units: int, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf32 or line_text.isascii():
        return min(units, len(line_text))
    if encoding == types.PositionEncodingKind.Utf8:
        return len(line_text.encode("utf-8")[:units].decode("utf-8", "ignore"))
    count = 0
    for i, ch in enumerate(line_text):
        if count >= units:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
    return len(line_text)


class LineMap:
    """Converts (1-based line, code-point col) of one text to LSP positions and back."""

    def __init__(self, text: str | None, encoding: str = types.PositionEncodingKind.Utf16):
        self._lines = text.split("\n") if text is not None else None
        self.encoding = encoding

    def line(self, line0: int) -> str:
        if self._lines is None or not 0 <= line0 < len(self._lines):
            return ""
        return self._lines[line0]

    def position(self, line1: int, col_cp: int) -> types.Position:
        line0 = max(line1 - 1, 0)
        return types.Position(line0, cp_to_client(self.line(line0), col_cp, self.encoding))

    def range(self, start_line: int, start_col: int, end_line: int, end_col: int) -> types.Range:
        return types.Range(self.position(start_line, start_col), self.position(end_line, end_col))

    def from_client(self, pos: types.Position) -> tuple[int, int]:
        """(1-based line, code-point col) of an LSP position."""
        return pos.line + 1, client_to_cp(self.line(pos.line), pos.character, self.encoding)
