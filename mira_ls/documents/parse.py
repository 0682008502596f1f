"""A document's text and its sections (heading paths), whatever the format.

Markdown (ATX ``#`` and setext headings, fenced code skipped), reStructuredText (titles
underlined, or over- and underlined, levels in the order their styles first appear), HTML
(tags stripped with the standard library's parser; h1-h6 kept as headings, script and style
dropped), plain text (no headings) and PDF through ``pypdf`` (one section per page, named by
the outline entry that covers it when the PDF has an outline).

Everything here is pure: bytes in, a ``Parsed`` or a ``DocumentError`` sentence out.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from mira_ls.llm.redact import redact

log = logging.getLogger(__name__)

FORMATS = {
    "markdown": "text/markdown",
    "rst": "text/x-rst",
    "text": "text/plain",
    "html": "text/html",
    "pdf": "application/pdf",
}
_SUFFIXES = {
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown",
    ".mdx": "markdown", ".rst": "rst", ".rest": "rst", ".txt": "text", ".text": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf",
}  # fmt: skip
SECTION_SEP = " > "


class DocumentError(Exception):
    """The document cannot be added: ``str(exc)`` is the sentence for the user."""


@dataclass(frozen=True)
class Section:
    """A heading path and the text under it (up to the next heading), at ``start`` in the
    document's text."""

    path: tuple[str, ...]
    text: str
    start: int
    page: int | None = None  # 1-based, PDFs only

    @property
    def name(self) -> str | None:
        return SECTION_SEP.join(self.path) if self.path else None


@dataclass
class Parsed:
    format: str
    title: str | None
    text: str
    sections: list[Section] = field(default_factory=list)
    pages: int | None = None

    @property
    def mime_type(self) -> str:
        return FORMATS[self.format]


def detect(path: Path, data: bytes) -> str:
    """The format by content (a PDF is a PDF whatever its name), else by suffix, else text."""
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt == "pdf":
        return "pdf"  # a corrupt one: its reader says why
    if fmt is None and re.match(rb"\s*(<!doctype html|<html)", data[:512], re.IGNORECASE):
        return "html"
    return fmt or "text"


def parse(path: Path, data: bytes) -> Parsed:
    """The document at ``path`` (its bytes ``data``) as text and sections; secrets in it
    are redacted before anything else sees the text."""
    name = path.name
    if not data.strip():
        raise DocumentError(f"{name} is empty; nothing was added.")
    fmt = detect(path, data)
    if fmt == "pdf":
        doc = _pdf(name, data)
    else:
        text = redact(_decode(name, data))
        if not text.strip():
            raise DocumentError(f"{name} is empty; nothing was added.")
        if fmt == "markdown":
            doc = _markdown(text)
        elif fmt == "rst":
            doc = _rst(text)
        elif fmt == "html":
            doc = _html(text)
        else:
            doc = Parsed("text", None, text, [Section((), text, 0)])
    if not any(s.text.strip() for s in doc.sections):
        what = "no text (scanned pages?)" if fmt == "pdf" else "no text"
        raise DocumentError(f"{name} has {what}; nothing was added.")
    return doc


# -- text -------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _decode(name: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 when it reads as
    text; anything else is a binary file."""
    text: str | None = None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    elif b"\x00" not in data:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            legacy = data.decode("cp1252", errors="replace")
            text = legacy if legacy.count("\ufffd") <= len(legacy) // 200 else None
    if text is None or len(_CONTROL.findall(text)) > max(2, len(text) // 200):
        raise DocumentError(
            f"{name} is a binary file, not Markdown, reStructuredText, HTML, text or PDF; "
            "nothing was added."
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end after the newline, line without it) of every line."""
    out = []
    pos = 0
    for line in text.splitlines(keepends=True):
        out.append((pos, pos + len(line), line.rstrip("\n")))
        pos += len(line)
    return out


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    start: int  # where the heading's own lines begin
    body: int  # where the text under it begins


def sections_from(text: str, headings: Iterable[_Heading], begin: int = 0) -> list[Section]:
    """Sections between headings, each with its heading path (a preamble has none)."""
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    path: tuple[str, ...] = ()
    pos = begin
    for h in headings:
        if h.start > pos:
            out.append(Section(path, text[pos : h.start], pos))
        while stack and stack[-1][0] >= h.level:
            stack.pop()
        stack.append((h.level, h.title))
        path = tuple(t for _, t in stack)
        pos = h.body
    out.append(Section(path, text[pos:], pos))
    return [s for s in out if s.text.strip()] or [Section(path, "", pos)]


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")


def _clean_title(title: str) -> str:
    title = _LINK.sub(r"\1", title)
    title = _EMPHASIS.sub(r"\2", title)
    return " ".join(title.split())[:200]


# -- Markdown ---------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"^ {0,3}(?:[-*+>|#]|\d+[.)]\s|```|~~~)|^\s{4}")


def _markdown(text: str) -> Parsed:
    lines = _line_spans(text)
    begin = 0
    first = 0
    if lines and lines[0][2].strip() == "---":  # YAML front matter
        for i in range(1, len(lines)):
            if lines[i][2].strip() in ("---", "..."):
                begin, first = lines[i][1], i + 1
                break
    headings: list[_Heading] = []
    fence: str | None = None
    for i in range(first, len(lines)):
        start, end, line = lines[i]
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        atx = _ATX.match(line)
        if atx:
            title = _clean_title(atx.group(2) or "")
            if title:
                headings.append(_Heading(len(atx.group(1)), title, start, end))
            continue
        st = _SETEXT.match(line)
        if st and i > first and _setext_title(lines, i, first):
            prev_start, _, prev = lines[i - 1]
            if headings and headings[-1].start == prev_start:
                continue
            level = 1 if st.group(1)[0] == "=" else 2
            headings.append(_Heading(level, _clean_title(prev), prev_start, end))
    doc_title = next((h.title for h in headings if h.level == 1), None)
    return Parsed("markdown", doc_title, text, sections_from(text, headings, begin))


def _setext_title(lines: list[tuple[int, int, str]], i: int, first: int) -> bool:
    """Whether line i-1 is a one-line paragraph that line i underlines."""
    prev = lines[i - 1][2]
    if not prev.strip() or _NOT_PARAGRAPH.match(prev) or _SETEXT.match(prev):
        return False
    return i - 1 == first or not lines[i - 2][2].strip()


# -- reStructuredText -------------------------------------------------------------------

_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}[ \t]*$")


def _rst(text: str) -> Parsed:
    lines = _line_spans(text)
    styles: list[tuple[str, bool]] = []
    headings: list[_Heading] = []
    i = 0
    while i < len(lines):
        start, _, line = lines[i]
        nxt = lines[i + 1][2] if i + 1 < len(lines) else ""
        over = _ADORNMENT.match(line)
        # overlined: ===== / Title / =====
        if over and i + 2 < len(lines):
            title, under = lines[i + 1][2], lines[i + 2][2]
            if (title.strip() and not _ADORNMENT.match(title) and under.rstrip() == line.rstrip()
                    and len(line.rstrip()) >= len(title.strip())):  # fmt: skip
                headings.append(_rst_heading(styles, (line[0], True), title, start,
                                             lines[i + 2][1]))  # fmt: skip
                i += 3
                continue
        under_m = _ADORNMENT.match(nxt)
        if (under_m and line.strip() and not line[0].isspace() and not _ADORNMENT.match(line)
                and len(nxt.rstrip()) >= len(line.rstrip())
                and (i == 0 or not lines[i - 1][2].strip())):  # fmt: skip
            headings.append(_rst_heading(styles, (nxt[0], False), line, start, lines[i + 1][1]))
            i += 2
            continue
        i += 1
    doc_title = headings[0].title if headings else None
    return Parsed("rst", doc_title, text, sections_from(text, headings))


def _rst_heading(styles: list[tuple[str, bool]], style: tuple[str, bool], title: str,
                 start: int, body: int) -> _Heading:  # fmt: skip
    if style not in styles:
        styles.append(style)
    return _Heading(styles.index(style) + 1, _clean_title(title), start, body)


# -- HTML -------------------------------------------------------------------------------

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object"})
_BLOCK = frozenset({
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
    "footer", "nav", "aside", "main", "blockquote", "pre", "hr", "dl", "dt", "dd", "figure",
    "figcaption", "form", "fieldset", "address", "details", "summary", "caption", "thead",
    "tbody", "tfoot", "td", "th", "body", "html",
})  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "area", "base", "col"})


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.size = 0
        self.skip = 0
        self.in_head = False
        self.pre = 0
        self.title: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []
        self.heading: tuple[int, int, list[str]] | None = None  # level, start, text
        self.headings: list[_Heading] = []

    def _tail(self) -> str:
        return "".join(self.parts[-3:])[-2:]

    def _put(self, s: str) -> None:
        if s:
            self.parts.append(s)
            self.size += len(s)

    def newline(self, n: int = 1) -> None:
        if not self.parts:
            return
        tail = self._tail()
        have = len(tail) - len(tail.rstrip("\n"))
        if have < n:
            while self.parts and self.parts[-1].endswith(" "):
                last = self.parts.pop()
                self.size -= len(last)
                self._put(last.rstrip(" "))
            self._put("\n" * (n - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag == "head":
            self.in_head = True
        elif tag == "body" or tag in _BLOCK or tag in _HEADINGS:
            self.in_head = False  # a <head> left open ends at the body, as browsers do
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip += 1
            return
        if self.skip:
            return
        if tag in _HEADINGS:
            self.newline(2)
            self.heading = (_HEADINGS[tag], self.size, [])
        elif tag in _BLOCK:
            self.newline(2 if tag in ("p", "pre", "table", "blockquote", "hr") else 1)
            if tag == "pre":
                self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skip and tag in _BLOCK:
            self.newline(1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            if self.title is None:
                self.title = " ".join("".join(self._title_parts).split()) or None
        if tag == "head":
            self.in_head = False
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in _HEADINGS and self.heading is not None:
            level, start, words = self.heading
            self.heading = None
            title = " ".join("".join(words).split())
            self.newline(1)
            if title:
                self.headings.append(_Heading(level, title[:200], start, self.size))
            self.newline(2)
        elif tag in _BLOCK:
            self.newline(2 if tag in ("p", "pre", "table", "blockquote") else 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        if self.skip or self.in_head or self._in_title:
            return
        if self.heading is not None:
            self.heading[2].append(data)
        if self.pre:
            self._put(data)
            return
        s = " ".join(data.split())
        if not s:
            if data and self.parts and not self._tail().endswith((" ", "\n")):
                self._put(" ")
            return
        if data[:1].isspace() and self.parts and not self._tail().endswith((" ", "\n")):
            s = " " + s
        if data[-1:].isspace():
            s += " "
        self._put(s)


def _html(source: str) -> Parsed:
    p = _HtmlText()
    try:
        p.feed(source)
        p.close()
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise DocumentError(f"The HTML could not be read ({exc}); nothing was added.") from None
    text = "".join(p.parts)
    title = p.title or next((h.title for h in p.headings if h.level == 1), None)
    return Parsed("html", title, text, sections_from(text, p.headings))


# -- PDF --------------------------------------------------------------------------------


def _pdf(name: str, data: bytes) -> Parsed:
    try:
        import pypdf
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - a dependency
        raise DocumentError("Reading PDFs needs pypdf (`pip install pypdf`).") from None
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not the user's
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name} is an encrypted PDF; nothing was added.")
        texts = [page.extract_text() or "" for page in reader.pages]
        labels = _outline_labels(reader, len(texts))
        meta = reader.metadata
        title = str(meta.title).strip() if meta is not None and meta.title else None
    except DocumentError:
        raise
    except Exception as exc:  # a damaged PDF fails anywhere in pypdf, with any error type
        if not isinstance(exc, PyPdfError):
            log.debug("pypdf failed on %s", name, exc_info=True)
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise DocumentError(
            f"{name} could not be read as a PDF ({reason}); nothing was added."
        ) from None
    if not texts:
        raise DocumentError(f"{name} is a PDF with no pages; nothing was added.")
    parts: list[str] = []
    sections: list[Section] = []
    pos = 0
    for i, raw in enumerate(texts):
        page_text = redact(raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", ""))
        if i:
            parts.append("\n\n")
            pos += 2
        path = labels[i] or (f"page {i + 1}",)
        sections.append(Section(path, page_text, pos, page=i + 1))
        parts.append(page_text)
        pos += len(page_text)
    kept = [s for s in sections if s.text.strip()]
    return Parsed("pdf", title or None, "".join(parts), kept, pages=len(texts))


def _outline_labels(reader: Any, pages: int) -> list[tuple[str, ...] | None]:
    """Each page's heading path from the outline: the first entry starting on the page,
    else the last one before it (None without an outline)."""
    entries: list[tuple[int, tuple[str, ...]]] = []

    def walk(items: list[Any], parents: tuple[str, ...]) -> None:
        last: tuple[str, ...] = parents
        for item in items:
            if isinstance(item, list):
                walk(item, last)
                continue
            title = _clean_title(str(getattr(item, "title", "") or ""))
            try:
                page = reader.get_destination_page_number(item)
            except Exception:
                page = None
            last = (*parents, title) if title else parents
            if title and page is not None and 0 <= page < pages:
                entries.append((page, last))

    try:
        walk(list(reader.outline or []), ())
    except Exception:  # a broken outline is no outline
        entries = []
    out: list[tuple[str, ...] | None] = [None] * pages
    current: tuple[str, ...] | None = None
    by_page: dict[int, tuple[str, ...]] = {}
    for page, path in entries:
        by_page.setdefault(page, path)
    ordered = sorted(entries, key=lambda e: e[0])
    j = 0
    for p in range(pages):
        while j < len(ordered) and ordered[j][0] < p:
            current = ordered[j][1]
            j += 1
        out[p] = by_page.get(p, current)
    return out
