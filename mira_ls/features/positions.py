"""Columns: the index counts code points; LSP clients count UTF-16 units unless negotiated."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types

log = logging.getLogger(__name__)


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
    """Converts (1-based line, code-point col) of one text to LSP positions and back.

    Lines are split on first use; an all-ASCII text (most source files) converts without
    splitting at all, since its columns are the same in every encoding. Without the text
    but with the stored set of its non-ASCII lines (``non_ascii``), a position on any other
    line converts as is and ``load`` reads the text only for a line in the set."""

    def __init__(
        self,
        text: str | None,
        encoding: str = types.PositionEncodingKind.Utf16,
        *,
        non_ascii: frozenset[int] | None = None,
        load: Callable[[], str | None] | None = None,
    ):
        self._text = text
        self._load = load if text is None else None
        self._lines: list[str] | None = None
        self.encoding = encoding
        self._non_ascii = non_ascii if text is None else None
        self._same_columns = (
            encoding == types.PositionEncodingKind.Utf32
            or (text is None and (self._load is None or non_ascii == frozenset()))
            or (text is not None and text.isascii())
        )

    def line(self, line0: int) -> str:
        if self._lines is None:
            if self._text is None and self._load is not None:
                self._text, self._load = self._load(), None
            self._lines = self._text.split("\n") if self._text is not None else []
        if not 0 <= line0 < len(self._lines):
            return ""
        return self._lines[line0]

    def _converts(self, line1: int) -> bool:
        if self._same_columns:
            return False
        return self._non_ascii is None or line1 in self._non_ascii

    def position(self, line1: int, col_cp: int) -> types.Position:
        line0 = max(line1 - 1, 0)
        if not self._converts(line0 + 1):
            return types.Position(line0, col_cp)
        return types.Position(line0, cp_to_client(self.line(line0), col_cp, self.encoding))

    def range(self, start_line: int, start_col: int, end_line: int, end_col: int) -> types.Range:
        return types.Range(self.position(start_line, start_col), self.position(end_line, end_col))

    def from_client(self, pos: types.Position) -> tuple[int, int]:
        """(1-based line, code-point col) of an LSP position."""
        if not self._converts(pos.line + 1):
            return pos.line + 1, pos.character
        return pos.line + 1, client_to_cp(self.line(pos.line), pos.character, self.encoding)


TextSource = Callable[[Path], str | None]
StoredLines = Callable[[Path], frozenset[int] | None]


def read_text(path: Path) -> str | None:
    """A file's text decoded as the indexer decodes it; None when it is gone, unreadable or
    not a regular file (reading a FIFO would block the request)."""
    try:
        if not path.is_file():
            return None
        return path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        log.debug("cannot read %s for positions: %s", path, exc)
        return None


class Lines:
    """Stored positions of any number of files -> client positions, for one request.

    Stored columns count code points; converting needs the line's text where a line is not
    ASCII. Per file, at most once per request and only when a position in it is asked for:
    the open buffer (``buffer_text``) when the client has one; else the indexed set of the
    file's non-ASCII lines (``stored``), reading the disk only for a position on one of
    them; else the disk. A file that cannot be read keeps its columns unconverted rather
    than failing the request."""

    def __init__(
        self,
        encoding: str = types.PositionEncodingKind.Utf16,
        buffer_text: TextSource | None = None,
        stored: StoredLines | None = None,
    ) -> None:
        self.encoding = encoding
        self._buffer_text = buffer_text
        self._stored = stored
        self._maps: dict[Path, LineMap] = {}
        self._known: dict[Path, frozenset[int]] = {}

    def seed(self, known: dict[Path, frozenset[int]]) -> None:
        """Stored non-ASCII lines the caller fetched in one query (as ``stored`` gives)."""
        self._known.update(known)

    def map_for(self, path: Path) -> LineMap:
        lm = self._maps.get(path)
        if lm is None:
            text = None
            if self.encoding != types.PositionEncodingKind.Utf32:  # columns are code points
                text = self._buffer_text(path) if self._buffer_text is not None else None
                if text is None and (path in self._known or self._stored is not None):
                    known = self._known.get(path)
                    if known is None and self._stored is not None:
                        known = self._stored(path)
                    if known is not None:
                        lm = self._maps[path] = LineMap(
                            None, self.encoding, non_ascii=known, load=lambda: read_text(path)
                        )
                        return lm
                if text is None:
                    text = read_text(path)
            lm = self._maps[path] = LineMap(text, self.encoding)
        return lm

    def position(self, path: Path, line1: int, col_cp: int) -> types.Position:
        return self.map_for(path).position(line1, col_cp)

    def range(
        self, path: Path, start_line: int, start_col: int, end_line: int, end_col: int
    ) -> types.Range:
        return self.map_for(path).range(start_line, start_col, end_line, end_col)

    def line_end(self, path: Path, line1: int) -> types.Position:
        """The end of a line (without its line break), in client units."""
        lm = self.map_for(path)
        text = lm.line(line1 - 1).rstrip("\r")
        return types.Position(max(line1 - 1, 0), cp_to_client(text, len(text), self.encoding))
