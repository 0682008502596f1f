"""The keyword index (migration 016): identifiers split, BM25 ranking, kept current by the
indexer's incremental path, commits from the miner, and `mira-ls search` with no endpoint."""

from __future__ import annotations

import json
from pathlib import Path

from mira_ls.config import IndexSettings
from mira_ls.index import indexer, worker
from mira_ls.search import keyword, terms
from mira_ls.store import Store
from mira_ls.store import search as search_store
from tests.index_helpers import index, new_store, sym, write_files
from tests.support.cli import run_cli
from tests.support.repo import Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()

HTTP = '''\
def parseHTTPHeader(raw):
    """Split one header line into its name and value."""
    name, _, value = raw.partition(":")
    return name.strip(), value.strip()


def parse_http_header(raw):
    return parseHTTPHeader(raw)


def parse(raw):
    return raw
'''

UPLOAD = '''\
import time


class Uploader:
    """Sends files to the storage bucket."""

    def retry_upload(self, path, attempts=3):
        for n in range(attempts):
            try:
                return self.send(path)
            except ConnectionError:
                time.sleep(2 ** n)

    def send(self, path):
        return path
'''


def _names(results: list) -> list[str]:
    return [r.symbol for r in results]


def test_split_identifiers_match_words_and_exact_name_ranks_first(tmp_path: Path) -> None:
    st = new_store(tmp_path)
    root = tmp_path / "ws"
    write_files(root, {"http.py": HTTP, "upload.py": UPLOAD})
    index(st, root)
    conn = st.conn()

    both = _names(keyword.search(conn, "parse http header"))
    assert set(both[:2]) == {"http.parseHTTPHeader", "http.parse_http_header"}

    exact = _names(keyword.search(conn, "parseHTTPHeader"))
    assert exact[0] == "http.parseHTTPHeader"
    assert "http.parse_http_header" in exact

    snake = _names(keyword.search(conn, "parse_http_header"))
    assert snake[0] == "http.parse_http_header"

    # A question in words, with stemming: "retries" / "uploads" find retry_upload.
    question = _names(keyword.search(conn, "where do we handle retries of failed uploads?"))
    assert question[0] == "upload.Uploader.retry_upload"

    # The docstring counts, and kinds filter.
    doc = keyword.search(conn, "storage bucket", kinds=["class"])
    assert _names(doc) == ["upload.Uploader"]
    assert doc[0].path == "upload.py" and doc[0].line == 4 and doc[0].via == "keyword"
    assert keyword.search(conn, "zzzz nothing like this") == []
    st.close()


def test_terms_split_and_quote() -> None:
    assert terms.split_identifier("parseHTTPHeader") == ["parse", "http", "header"]
    assert terms.split_identifier("HTTP2Server") == ["http2", "server"]
    assert terms.expand("x = parse_http_header(y)") == (
        "x = parse_http_header parse http header(y)"
    )
    assert terms.query_terms('what "is" parseArgs? OR NEAR(') == ["parse", "args", "near"]
    # FTS5 syntax in a query is only words: it never reaches MATCH unquoted.
    assert terms.match_all(['a"b']) == '"a""b"'


def test_expand_text_is_stable() -> None:
    """The index's text keys the code vectors (its SHA-256): these exact strings must not
    change, or every definition would be embedded (and paid for) again."""
    text = (
        "HTTPServer _private __dunder__ x_ snake_case2 getHTTP2Response ABCdef é_fooBar fooBé"
        " URL url2 a_b __a a1B MAX_RETRY_COUNT"
    )
    assert terms.expand(text) == (
        "HTTPServer http server _private __dunder__ x_ snake_case2 snake case2"
        " getHTTP2Response get http2 response ABCdef ab cdef é_fooBar fooBé URL url2"
        " a_b a b __a a1B a1 b MAX_RETRY_COUNT max retry count"
    )
    assert terms.expand("") == "" and terms.expand(None) == ""


def test_search_row_body_is_its_own_lines_cut_at_the_cap() -> None:
    """A symbol's body: its lines without its children's, whole lines until the cap
    (a newline counting one), then cut at SEARCH_BODY_CHARS."""
    cap = worker.SEARCH_BODY_CHARS
    lines = ["class A:", "    x = 1", "    def f(self):", "        return 2", "    y = 3"]
    data = "\n".join(lines).encode()

    def symbol(name: str, parent: int | None, start: int, end: int) -> tuple[object, ...]:
        return (None, name, name, None, parent, start, None, end, None, None, None, "", "")

    rows = worker.search_rows(data, [symbol("A", None, 1, 5), symbol("f", 0, 3, 4)])
    assert rows[0][4] == "class A:\n    x = 1\n    y = 3"
    assert rows[1][4] == "    def f(self):\n        return 2"
    # a first line of cap - 1 characters reaches the cap with its newline: that line alone
    for first, want in [
        ("a" * (cap - 1), "a" * (cap - 1)),
        ("a" * (cap - 2), "a" * (cap - 2) + "\nb"),
        ("a" * (cap + 5), "a" * cap),
    ]:
        data = "\n".join([first, "bbbb", "cccc"]).encode()
        assert worker.search_rows(data, [symbol("m", None, 1, 9)])[0][4] == want


def test_body_edit_rewrites_one_row_and_delete_removes_rows(tmp_path: Path) -> None:
    st = new_store(tmp_path)
    root = tmp_path / "ws"
    write_files(root, {"upload.py": UPLOAD, "http.py": HTTP})
    stats = index(st, root)
    conn = st.conn()
    assert search_store.counts(conn)["symbols"] == stats.symbols
    assert keyword.search(conn, "exponential backoff") == []

    edited = UPLOAD.replace("time.sleep(2 ** n)", "time.sleep(2 ** n)  # exponential backoff")
    (root / "upload.py").write_text(edited)
    upd = indexer.update_file(st, stats.project_id, root, "upload.py")
    # retry_upload's bytes changed, and so did Uploader's and the module's; only the
    # method's own text did.
    assert upd.body_changed >= 1
    assert upd.search_rewritten == 1
    hit = keyword.search(conn, "exponential backoff")
    assert _names(hit) == ["upload.Uploader.retry_upload"]
    assert search_store.counts(conn)["symbols"] == stats.symbols

    # A new function is found, a removed one is gone.
    (root / "upload.py").write_text(edited.replace("    def send(", "    def transmit("))
    indexer.update_file(st, stats.project_id, root, "upload.py")
    assert _names(keyword.search(conn, "transmit"))[0] == "upload.Uploader.transmit"
    assert "upload.Uploader.send" not in _names(keyword.search(conn, "send"))

    (root / "http.py").unlink()
    indexer.update_file(st, stats.project_id, root, "http.py")
    assert keyword.search(conn, "parse http header") == []
    left = st.conn().execute("SELECT count(*) FROM code_elements").fetchone()[0]
    assert search_store.counts(conn)["symbols"] == left
    st.close()


def test_rename_keeps_rows_under_the_new_path(tmp_path: Path) -> None:
    st = new_store(tmp_path)
    root = tmp_path / "ws"
    write_files(root, {"http.py": HTTP})
    stats = index(st, root)
    before = sym(st, stats.project_id, "http.parse").id
    (root / "http.py").rename(root / "headers.py")
    indexer.rename_file(st, stats.project_id, "http.py", "headers.py")
    hits = keyword.search(st.conn(), "parse http header")
    assert {r.path for r in hits} == {"headers.py"}
    assert "headers.parse_http_header" in _names(hits)
    # The path is searchable too.
    assert before in {r.symbol_id for r in keyword.search(st.conn(), "headers parse")}
    st.close()


def test_a_database_from_before_the_keyword_index_is_filled_on_the_next_index(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mira.db"
    root = tmp_path / "ws"
    write_files(root, {"http.py": HTTP, "upload.py": UPLOAD})
    st = Store(db)
    stats = indexer.index_workspace(st, root, IndexSettings())
    # Take the database back to schema 009: what a mira-ls from before 016 left.
    st.conn().executescript(
        "DROP TRIGGER search_symbols_gone; DROP TRIGGER search_commits_gone;"
        " DROP TABLE search_symbols; DROP TABLE search_commits; DROP TABLE search_state;"
        " DROP TABLE vector_points; DROP TABLE embeddings;"
        " DELETE FROM schema_migrations WHERE version = 16;"
    )
    st.close()

    st = Store(db)  # applies 016: the symbols have no rows yet
    assert 16 in st.applied_now
    assert search_store.counts(st.conn())["symbols"] == 0
    assert search_store.needs_backfill(st.conn(), stats.project_id)
    again = indexer.index_workspace(st, root, IndexSettings())
    assert again.parsed == 0  # nothing changed on disk
    assert search_store.counts(st.conn())["symbols"] == stats.symbols
    assert not search_store.needs_backfill(st.conn(), stats.project_id)
    assert _names(keyword.search(st.conn(), "parse http header"))[0].startswith("http.parse")
    st.close()


def test_commit_messages_are_searchable(store: Store, repo: Repo) -> None:
    repo.commit("Add the uploader", {"upload.py": UPLOAD})
    repo.commit("Fix retryUpload sleeping forever on a dropped connection", {"upload.py": "x=1"})
    repo.commit("Document the http header parser", {"README.md": "parse headers"})
    pid, _ = mine_repo(store, repo.root)
    conn = store.conn()
    hits = keyword.search(conn, "retry upload", collection="git")
    # Both words first; "Add the uploader" has only one, so it only fills the list.
    assert [h.symbol for h in hits] == [
        "Fix retryUpload sleeping forever on a dropped connection",
        "Add the uploader",
    ]
    assert hits[0].kind == "commit" and hits[0].files == ["upload.py"]
    assert hits[0].commit is not None and len(hits[0].commit) == 40

    # Mining again adds only what is new.
    repo.commit("Retry uploads on timeouts too", {"upload.py": "x=2"})
    mine_repo(store, repo.root)
    assert search_store.counts(conn)["commits"] == 4
    found = [h.symbol for h in keyword.search(conn, "retry uploads", collection="git")]
    assert set(found[:2]) == {
        "Retry uploads on timeouts too",
        "Fix retryUpload sleeping forever on a dropped connection",
    }
    assert pid > 0


def test_cli_search_with_no_endpoint(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, {"http.py": HTTP, "upload.py": UPLOAD})
    env = {"MIRA_DB": str(tmp_path / "mira.db")}
    unset = ["OPENAI_API_KEY", "MIRA_OPENAI_API_KEY", "OPENAI_BASE_URL", "MIRA_LLM_BASE_URL"]
    assert run_cli("index", str(root), "--quiet", env=env, unset=unset).returncode == 0
    out = run_cli("search", "parse http header", "--json", env=env, unset=unset, cwd=root)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {d["symbol"] for d in data[:2]} == {"http.parseHTTPHeader", "http.parse_http_header"}
    first = data[0]
    assert {"path", "line", "symbol", "kind", "score", "via"} <= set(first)
    assert first["path"] == "http.py" and first["kind"] == "function" and first["via"] == "keyword"

    text = run_cli("search", "retry failed uploads", env=env, unset=unset, cwd=root)
    assert text.stdout.splitlines()[0].startswith("upload.py:7:")

    bad = run_cli("search", "x", "--kind", "nope", env=env, unset=unset, cwd=root)
    assert bad.returncode == 2 and "--kind must be one of" in bad.stderr
    none = run_cli("search", "qqqqzzzz", env=env, unset=unset, cwd=root)
    assert none.returncode == 0 and "nothing matches" in none.stderr
