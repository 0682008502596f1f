"""Documents: real Markdown, reStructuredText, HTML, text and PDF files (the PDFs written by
pypdf itself) chunked by headings into a real database; re-added only when their SHA-256
changed; bad input is a sentence with nothing written; keyword search through FTS5; vectors
through the loopback OpenAI-compatible server, kept in the user's database only; removal
leaves no chunk, keyword row or vector."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from mira_ls.config import Settings
from mira_ls.documents.chunk import CHUNK_TOKENS, chunk_sections
from mira_ls.documents.library import Documents
from mira_ls.documents.parse import DocumentError, parse
from mira_ls.llm import tokens
from mira_ls.llm.service import LlmService
from mira_ls.store import Store
from tests.support.llm_world import World

pytest_plugins = ["tests.llm_fixtures"]

GUIDE_MD = """---
title: front matter is not a heading
---
# Widget Guide

Widgets are small reusable parts.

## Install

Run `pip install widgets` first.

```bash
# a comment in a fence, not a heading
pip install widgets
```

### Linux

Use apt on Debian. The parseHTTPHeader helper reads headers.

## Usage
Call widget.spin() to start.

Troubleshooting
---------------

Restart the flux capacitor.
"""

GUIDE_RST = """=============
Widget Manual
=============

Widgets in reStructuredText.

Installing
==========

Use pip to install.

On Windows
----------

Use the installer wizard.

Configuring
===========

Edit widgets.toml.
"""

GUIDE_HTML = """<!doctype html>
<html><head><title>Widget Web Guide</title>
<style>h1 { color: red }</style><script>var hidden = "scriptword";</script></head>
<body>
<h1>Widgets</h1>
<p>Widgets &amp; gadgets are <b>small</b>.</p>
<h2>Setup</h2>
<p>Install the <code>widget</code> package.</p>
<ul><li>first step</li><li>second step</li></ul>
<h3>Proxy</h3>
<p>Set the proxy variable.</p>
<h2>Removal</h2>
<p>Uninstall with pip.</p>
</body></html>
"""


def write_pdf(path: Path, pages: list[list[str]], outline: list[tuple[str, int, str | None]]
              | None = None, title: str | None = None) -> Path:  # fmt: skip
    """A real PDF with text on each page (Helvetica, one line per string), made by pypdf's
    PdfWriter with a content stream per page; ``outline``: (title, page index, parent)."""
    w = PdfWriter()
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    })  # fmt: skip
    for lines in pages:
        page = w.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({esc}) Tj T*")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page.replace_contents(stream)
    parents: dict[str, Any] = {}
    for t, pg, parent in outline or []:
        parents[t] = w.add_outline_item(title=t, page_number=pg,
                                        parent=parents.get(parent) if parent else None)  # fmt: skip
    if title:
        w.add_metadata({"/Title": title})
    with path.open("wb") as f:
        w.write(f)
    return path


def keyword_only(store: Store, **kw: Any) -> Documents:
    """Documents with no embedding endpoint (no key for OpenAI): keyword only."""
    settings = Settings()
    for k, v in kw.items():
        setattr(settings.memory, k, v)
    return Documents.open(store, LlmService(store, settings, {}))


def count(store: Store, table: str, where: str = "") -> int:
    sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
    return int(store.conn().execute(sql).fetchone()[0])


def sections(store: Store, doc_id: int) -> list[str | None]:
    return [
        r[0]
        for r in store.conn().execute(
            "SELECT section FROM document_chunks WHERE document_id = ? ORDER BY chunk_index",
            (doc_id,),
        )
    ]


# -- parsing and chunking ---------------------------------------------------------------


def test_markdown_chunks_carry_their_heading_path(tmp_db: Store, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    r = keyword_only(tmp_db).add(f)
    assert r.action == "added" and r.format == "markdown"
    d = r.document
    assert (d.title, d.mime_type, d.status) == ("Widget Guide", "text/markdown", "chunked")
    assert sections(tmp_db, d.id) == [
        "Widget Guide",
        "Widget Guide > Install",
        "Widget Guide > Install > Linux",
        "Widget Guide > Usage",
        "Widget Guide > Troubleshooting",
    ]
    rows = tmp_db.conn().execute(
        "SELECT content, start_offset, end_offset, token_count FROM document_chunks"
        " WHERE document_id = ? ORDER BY chunk_index", (d.id,),
    ).fetchall()  # fmt: skip
    text = f.read_text()
    for content, a, b, n in rows:
        assert text[a:b] == content and n == tokens.count(content)
    # the fenced comment stays text of its section; front matter is no chunk
    assert "# a comment in a fence" in rows[1][0]
    assert not any("front matter" in r[0] for r in rows)
    assert d.chunk_count == 5 and d.token_count == sum(r[3] for r in rows)
    # each chunk is keyword-indexed under its id
    assert count(tmp_db, "search_documents") == 5


def test_rst_titles_and_levels(tmp_path: Path) -> None:
    doc = parse(tmp_path / "manual.rst", GUIDE_RST.encode())
    assert doc.format == "rst" and doc.title == "Widget Manual"
    assert [s.name for s in doc.sections] == [
        "Widget Manual",
        "Widget Manual > Installing",
        "Widget Manual > Installing > On Windows",
        "Widget Manual > Configuring",
    ]
    assert doc.sections[2].text.strip() == "Use the installer wizard."


def test_html_tags_stripped_headings_kept(tmp_path: Path) -> None:
    doc = parse(tmp_path / "guide.html", GUIDE_HTML.encode())
    assert doc.format == "html" and doc.title == "Widget Web Guide"
    assert [s.name for s in doc.sections] == [
        "Widgets", "Widgets > Setup", "Widgets > Setup > Proxy", "Widgets > Removal",
    ]  # fmt: skip
    assert doc.sections[0].text.strip() == "Widgets & gadgets are small."
    assert "first step\nsecond step" in doc.sections[1].text
    assert "scriptword" not in doc.text and "color" not in doc.text and "<" not in doc.text
    # a head never closed ends at the body; a heading split by inline tags is one heading
    loose = parse(tmp_path / "loose.htm", b"<html><head><title>Loose</title><body>"
                  b"<h2>Up <em>and</em> running</h2><p>It works.<br>Really.</p>")  # fmt: skip
    assert loose.title == "Loose" and "Loose" not in loose.text
    bare = parse(tmp_path / "bare.html", b"<head><title>Bare</title><h1>Top</h1><p>words</p>")
    assert [(s.name, s.text.strip()) for s in bare.sections] == [("Top", "words")]
    assert [(s.name, s.text.strip()) for s in loose.sections] == [
        ("Up and running", "It works.\nReally.")
    ]


def test_long_text_chunks_within_the_cap_with_overlap(tmp_path: Path) -> None:
    paras = [
        f"Paragraph {i} talks about topic{i} at some length. " + "Words go on and on. " * 12
        for i in range(60)
    ]
    paras.insert(30, "One very long line without a stop " + "lorem ipsum " * 600)
    doc = parse(tmp_path / "notes.txt", "\n\n".join(paras).encode())
    assert doc.format == "text" and [s.name for s in doc.sections] == [None]
    chunks = chunk_sections(doc.sections)
    assert len(chunks) > 10
    for c in chunks:
        assert 0 < c.tokens <= CHUNK_TOKENS and c.section is None
        assert doc.text[c.start : c.end] == c.text
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "each chunk starts inside the one before (overlap)"
        assert b.end > a.end
    # nothing is lost: every paragraph's first words are in some chunk
    assert all(any(f"Paragraph {i} " in c.text for c in chunks) for i in range(60))


def test_pdf_sections_from_outline_and_pages(tmp_db: Store, tmp_path: Path) -> None:
    f = write_pdf(tmp_path / "manual.pdf", [
        ["Introduction to the widget manual.", "Widgets are small."],
        ["Installing widgets needs pip."],
        ["On Linux use the apt package."],
    ], outline=[("Intro", 0, None), ("Install", 1, None), ("Linux", 2, "Install")],
        title="Widget PDF")  # fmt: skip
    r = keyword_only(tmp_db).add(f)
    d = r.document
    assert (r.format, d.title, d.page_count, d.mime_type) == (
        "pdf", "Widget PDF", 3, "application/pdf",
    )  # fmt: skip
    rows = tmp_db.conn().execute(
        "SELECT section, page_number, content FROM document_chunks WHERE document_id = ?"
        " ORDER BY chunk_index", (d.id,),
    ).fetchall()  # fmt: skip
    assert [(s, p) for s, p, _ in rows] == [("Intro", 1), ("Install", 2), ("Install > Linux", 3)]
    assert "apt package" in rows[2][2]
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(f.read_bytes()[: f.stat().st_size * 2 // 3])
    with pytest.raises(DocumentError, match="could not be read as a PDF"):
        keyword_only(tmp_db).add(cut)
    plain = write_pdf(tmp_path / "plain.pdf", [["first page words"], ["second page words"]])
    doc = parse(plain, plain.read_bytes())
    assert [(s.name, s.page) for s in doc.sections] == [("page 1", 1), ("page 2", 2)]
    assert doc.title is None


# -- adding again, changes ---------------------------------------------------------------


def test_added_twice_is_chunked_once(tmp_db: Store, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    docs = keyword_only(tmp_db)
    first = docs.add(f)

    def chunk_ids() -> list[int]:
        return [r[0] for r in tmp_db.conn().execute("SELECT id FROM document_chunks ORDER BY id")]

    ids = chunk_ids()
    again = docs.add(f)
    assert again.action == "unchanged" and "unchanged" in again.message
    assert again.document.id == first.document.id
    assert chunk_ids() == ids
    assert count(tmp_db, "documents") == 1 and count(tmp_db, "search_documents") == len(ids)
    # through a symlink it is the same document (the resolved path is stored)
    link = tmp_path / "link.md"
    link.symlink_to(f)
    assert docs.add(link).action == "unchanged" and count(tmp_db, "documents") == 1


def test_the_same_file_added_at_once_from_threads_is_one_document(
    tmp_db: Store, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    keyword_only(tmp_db)  # the local user exists before the threads race

    def add(_: int) -> str:
        return keyword_only(tmp_db).add(f).action

    with ThreadPoolExecutor(4) as pool:
        actions = list(pool.map(add, range(4)))
    assert sorted(actions) == ["added", "unchanged", "unchanged", "unchanged"]
    assert count(tmp_db, "documents") == 1 and count(tmp_db, "document_chunks") == 5
    assert count(tmp_db, "search_documents") == 5


def test_a_changed_document_is_rechunked(tmp_db: Store, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    docs = keyword_only(tmp_db)
    first = docs.add(f)
    assert docs.search("flux capacitor")
    f.write_text("# Widget Guide\n\n## Brand new\n\nEverything was rewritten with gears.\n")
    r = docs.add(f)
    assert r.action == "replaced" and r.document.id == first.document.id
    assert r.document.content_hash != first.document.content_hash
    assert sections(tmp_db, r.document.id) == ["Widget Guide > Brand new"]
    assert count(tmp_db, "search_documents") == count(tmp_db, "document_chunks") == 1
    assert docs.search("flux capacitor") == []
    [hit] = docs.search("gears")
    assert hit.section == "Widget Guide > Brand new" and "rewritten" in hit.text


# -- bad input ---------------------------------------------------------------------------


def _nothing_written(store: Store) -> None:
    for t in ("documents", "document_chunks", "search_documents", "embeddings"):
        assert count(store, t) == 0, t


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf", "as a PDF"),
        ("cut.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Len", "as a PDF"),
        ("empty.md", b"", "is empty"),
        ("blank.txt", b"  \n\n\t\n", "is empty"),
        ("image.md", bytes(range(256)) * 8, "binary file"),
        ("blob.bin", b"\x7fELF\x02\x01\x01\x00" + b"\x00\x01\x02" * 300, "binary file"),
    ],
)
def test_bad_input_is_a_sentence_and_writes_nothing(
    tmp_db: Store, tmp_path: Path, name: str, data: bytes, says: str
) -> None:
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(DocumentError, match=says) as err:
        keyword_only(tmp_db).add(f)
    assert "nothing was added" in str(err.value) and "Traceback" not in str(err.value)
    _nothing_written(tmp_db)


def test_an_encrypted_pdf_is_a_sentence(tmp_db: Store, tmp_path: Path) -> None:
    f = write_pdf(tmp_path / "locked.pdf", [["secret plans"]])
    w = PdfWriter(clone_from=str(f))
    w.encrypt(user_password="hunter22", algorithm="RC4-128")
    with f.open("wb") as out:
        w.write(out)
    with pytest.raises(DocumentError, match="encrypted PDF"):
        keyword_only(tmp_db).add(f)
    _nothing_written(tmp_db)


def test_secret_files_and_symlinks_into_secrets_are_refused(tmp_db: Store, tmp_path: Path) -> None:
    secret = tmp_path / "repo" / ".env"
    secret.parent.mkdir()
    secret.write_text("API_KEY=abcdefabcdef\n")
    key = tmp_path / "id_rsa"
    key.write_text("not really a key\n")
    link = tmp_path / "repo" / "NOTES.md"
    link.symlink_to(key)
    docs = keyword_only(tmp_db)
    for p in (secret, link, key):
        with pytest.raises(DocumentError, match="holds secrets"):
            docs.add(p)
    with pytest.raises(DocumentError, match="no file"):
        docs.add(tmp_path / "missing.md")
    with pytest.raises(DocumentError, match="directory"):
        docs.add(tmp_path / "repo")
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(DocumentError, match="not a regular file"):
        docs.add(fifo)
    _nothing_written(tmp_db)


def test_memory_off_writes_nothing(tmp_db: Store, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    users = count(tmp_db, "users")
    docs = keyword_only(tmp_db, enabled=False)
    with pytest.raises(DocumentError, match="Memory is off"):
        docs.add(f)
    assert docs.search("widgets") == []
    _nothing_written(tmp_db)
    assert count(tmp_db, "users") == users


def test_secrets_in_a_document_are_redacted(tmp_db: Store, tmp_path: Path) -> None:
    f = tmp_path / "setup.md"
    f.write_text("# Setup\n\nexport OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123\n")
    keyword_only(tmp_db).add(f)
    [content] = [r[0] for r in tmp_db.conn().execute("SELECT content FROM document_chunks")]
    assert "sk-proj-abc" not in content and "[REDACTED]" in content


# -- search ------------------------------------------------------------------------------


def test_keyword_search_finds_a_chunk_by_a_word(tmp_db: Store, tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text(GUIDE_MD)
    (tmp_path / "manual.rst").write_text(GUIDE_RST)
    (tmp_path / "web.html").write_text(GUIDE_HTML)
    docs = keyword_only(tmp_db)
    for name in ("guide.md", "manual.rst", "web.html"):
        docs.add(tmp_path / name)
    [hit] = docs.search("capacitor")
    assert (hit.document, hit.section, hit.via) == (
        "Widget Guide", "Widget Guide > Troubleshooting", "keyword",
    )  # fmt: skip
    assert hit.text == "Restart the flux capacitor." and 0 < hit.score < 1
    assert hit.project_id is None and hit.updated_at > 0 and hit.page is None
    # identifiers are split into words as in code search; a heading word finds its section
    assert docs.search("http header")[0].section == "Widget Guide > Install > Linux"
    assert docs.search("Windows")[0].section == "Widget Manual > Installing > On Windows"
    assert docs.search("proxy")[0].document == "Widget Web Guide"
    assert docs.search("scriptword") == [] and docs.search("   ") == []
    # a query with FTS syntax is just words
    assert docs.search('pip AND "install') != []


# -- vectors -----------------------------------------------------------------------------


def test_chunks_embedded_through_the_endpoint_and_removed_with_their_vectors(
    world: World, tmp_path: Path
) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    docs = Documents.open(world.store, world.service())
    assert docs.embedder is not None
    r = docs.add(f)
    d = r.document
    assert r.note is None and d.status == "embedded" and d.embedded == d.chunk_count == 5
    sent = [i for req in world.srv.embedding_requests() for i in req.body["input"]]
    assert len(sent) == 5 and sent[-1].startswith("Widget Guide > Troubleshooting\n\n")
    store = world.store
    vecs = [r[0] for r in store.conn().execute("SELECT embedding_id FROM document_chunks")]
    assert all(v is not None for v in vecs)
    assert count(store, "embeddings", f"id IN ({','.join(map(str, vecs))})") == 5
    assert count(store, "vector_points") == 0  # never in a collection a Qdrant mirrors
    assert d.metadata["embedding_model"] == world.settings.llm.embedding_model
    # added again: no request, nothing rechunked
    before = len(world.srv.embedding_requests())
    assert docs.add(f).action == "unchanged"
    assert len(world.srv.embedding_requests()) == before
    # a query sharing words with a chunk finds it by both rankings
    top = docs.search("restart the flux capacitor")[0]
    assert top.section == "Widget Guide > Troubleshooting" and top.via == "both"
    # the vector similarity adds to the keyword score (the same query, keyword only)
    plain = keyword_only(world.store).search("restart the flux capacitor")[0]
    assert plain.chunk_id == top.chunk_id and plain.via == "keyword" and plain.score < top.score
    spun = docs.search("spin usage widget")
    assert spun and spun[0].section == "Widget Guide > Usage"
    # removal leaves no chunk, no keyword row and none of the chunks' vectors
    gone, n = docs.remove(str(f))
    assert gone.id == d.id and n == 5
    assert count(store, "documents") == count(store, "document_chunks") == 0
    assert count(store, "search_documents") == 0
    assert count(store, "embeddings", f"id IN ({','.join(map(str, vecs))})") == 0
    with pytest.raises(DocumentError, match="No document was added from"):
        docs.remove(str(f))
    with pytest.raises(DocumentError, match="no document #99"):
        docs.remove("99")
    # another document now holds the same chunk ids: the vectors searched are its own
    other = tmp_path / "other.md"
    other.write_text("# Gears\n\nOil the gears weekly.\n")
    docs.add(other)
    [hit] = docs.search("oil the gears weekly")
    assert (hit.document, hit.via) == ("Gears", "both")


def test_a_changed_document_keeps_vectors_of_unchanged_chunks(world: World, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    docs = Documents.open(world.store, world.service())
    docs.add(f)
    sent = len([i for q in world.srv.embedding_requests() for i in q.body["input"]])
    f.write_text(GUIDE_MD.replace("Restart the flux capacitor.", "Reboot the flux capacitor."))
    r = docs.add(f)
    assert r.action == "replaced" and r.document.embedded == 5
    now = [i for q in world.srv.embedding_requests() for i in q.body["input"]]
    assert len(now) - sent == 1 and "Reboot" in now[-1]  # only the changed chunk
    assert count(world.store, "embeddings") == 5  # the old chunk's vector is gone


def test_keyword_only_then_embedded_when_an_endpoint_appears(world: World, tmp_path: Path) -> None:
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    first = keyword_only(world.store).add(f)
    assert first.note is not None and "Semantic search is off" in first.note
    assert first.document.embedded == 0 and world.srv.embedding_requests() == []
    r = Documents.open(world.store, world.service()).add(f)
    assert r.action == "unchanged" and r.embedded == 5 and r.document.status == "embedded"


def test_budget_refusal_leaves_a_keyword_only_document(world: World, tmp_path: Path) -> None:
    world.settings.budget.daily_usd = 0.0
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    r = Documents.open(world.store, world.service()).add(f)
    assert r.action == "added" and r.document.chunk_count == 5 and r.document.embedded == 0
    assert r.document.status == "chunked" and world.srv.embedding_requests() == []
    assert r.note is not None and r.note.startswith("5 of 5 chunks have no vector")
    assert count(world.store, "embeddings") == 0
    assert Documents.open(world.store, world.service()).search("capacitor")[0].via == "keyword"


# -- CLI ---------------------------------------------------------------------------------


def test_docs_cli_add_list_search_remove(tmp_path: Path) -> None:
    from tests.support.cli import run_cli

    env = {"MIRA_DB": str(tmp_path / "cli.db")}
    unset = ("OPENAI_API_KEY", "MIRA_OPENAI_API_KEY", "OPENAI_BASE_URL", "MIRA_LLM_BASE_URL")
    f = tmp_path / "guide.md"
    f.write_text(GUIDE_MD)
    added = run_cli("docs", "add", str(f), "--json", env=env, unset=unset)
    assert added.returncode == 0, added.stderr
    data = json.loads(added.stdout)
    assert (data["action"], data["chunks"], data["format"]) == ("added", 5, "markdown")
    assert added.stderr.count("Semantic search is off") == 1
    again = run_cli("docs", "add", str(f), env=env, unset=unset)
    assert again.returncode == 0 and "unchanged" in again.stdout
    listed = json.loads(run_cli("docs", "list", "--json", env=env, unset=unset).stdout)
    assert [(d["path"], d["chunks"]) for d in listed] == [(str(f.resolve()), 5)]
    found = run_cli("docs", "search", "capacitor", "--json", env=env, unset=unset)
    hits = json.loads(found.stdout)
    assert hits[0]["section"] == "Widget Guide > Troubleshooting" and hits[0]["via"] == "keyword"
    text = run_cli("docs", "search", "capacitor", env=env, unset=unset).stdout
    assert "Widget Guide: Widget Guide > Troubleshooting" in text
    empty = tmp_path / "empty.md"
    empty.write_text("")
    bad = run_cli("docs", "add", str(empty), env=env, unset=unset)
    assert bad.returncode == 1 and "is empty" in bad.stderr and "Traceback" not in bad.stderr
    gone = run_cli("docs", "remove", str(data["id"]), "--json", env=env, unset=unset)
    assert gone.returncode == 0 and json.loads(gone.stdout)["removed_chunks"] == 5
    assert json.loads(run_cli("docs", "list", "--json", env=env, unset=unset).stdout) == []
    off = run_cli("docs", "add", str(f), env={**env, "MIRA_MEMORY_ENABLED": "false"},
                  unset=unset)  # fmt: skip
    assert off.returncode == 1 and "Memory is off" in off.stderr
