"""Historical fixes: commits that fixed something, and ranking them for a new error.

A counted commit is a fix when its message says fix/bug/resolve/patch/repair/correct (any
form) or references an issue (``#123``, ``GH-123``; the ``(#123)`` a squash merge appends
to every subject is a pull-request number, not an issue reference, and does not count).

Ranking for an error text and its files: 1.0 when the error's similarity hash equals the
fix's, else 0.2 + 0.15 * file overlap + 0.65 * word Jaccard; below 0.3 dropped, top 5,
ties by recency. File overlap = |fix files ∩ error files| / |error files|; words are
lowercase alphanumeric tokens of 3+ characters without stop words, taken from the fix's
subject and the error text found in its message.

With vectors (the ``git`` collection holds the project's fixes, see mira_ls/vectors/git.py)
the ranking blends meaning in: final = 0.5 * that word score + 0.5 * max(0, cosine of the
error text's vector and the fix's), over the term index's candidates and the vector
store's nearest fixes together; a same-hash fix stays 1.0, and a fix not embedded yet keeps
its word score. Equal weights: the word score is on a 0.2..1 scale where one shared file
or a few shared words already mean something, and cosines of related texts sit in
0.3..0.9, so neither swamps the other. A fix passes when either its word score (as
without vectors) or its blended score reaches the 0.3 cut-off, so vectors reorder the
fixes the words find and add the ones only meaning finds (one sharing no word, 0.2, needs
a cosine of 0.4), never hide one. Without vectors the ranking is the word score alone.

Symbols touched come from a second, smaller git run over the fix commits only (``-U0``
with git's built-in function-name drivers): the definition named in each hunk header and
definitions on changed lines.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mira_ls.git.repo import GitError, run_git
from mira_ls.store import Store, git_fixes
from mira_ls.store import vectors as vstore
from mira_ls.store.connection import Connection
from mira_ls.store.git_fixes import FixRow
from mira_ls.testhooks import pause_point

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

FIX_WORDS = re.compile(
    r"\b(fix(?:e[sd]|ing)?|bug(?:s|fix(?:es)?)?|bugfix(?:es)?|hotfix(?:es)?|"
    r"resolv(?:e|es|ed|ing)|patch(?:es|ed)?|repair(?:s|ed|ing)?|correct(?:s|ed|ing|ion)?)\b",
    re.IGNORECASE,
)
_FIX_WORDS_LOW = re.compile(FIX_WORDS.pattern)
ISSUE_REF = re.compile(r"(?<![\w/&])(?:#(\d+)|\bgh-(\d+))\b", re.IGNORECASE)
SQUASH_SUFFIX = re.compile(r"\s*\(#\d+\)\s*$")
ERROR_LINE = re.compile(
    r"\b([A-Z][A-Za-z0-9_.]*(?:Error|Exception|Warning|Fault)\b(?::[^\n]*)?|"
    r"error(?:\[\w+\])?: [^\n]+|Traceback \(most recent call last\))"
)

# In order of precedence: when several match, the first listed names the category.
_CATEGORY_RX: tuple[tuple[str, str], ...] = (
    (
        "security",
        r"security|vulnerab\w*|cve-\d+|xss|csrf|injection|sanitiz\w*|exploit\w*|"
        r"path traversal",
    ),
    ("race", r"race|races|racy|deadlock\w*|thread[- ]?safe\w*|concurren\w*|data race|atomic\w*"),
    ("leak", r"leak\w*|unclosed|resourcewarning|file handles?|not closed|memory usage"),
    ("null", r"none|null|nil|nonetype|undefined|nullpointer\w*|npe"),
    (
        "off-by-one",
        r"off[- ]by[- ]one|indexerror|out of range|out of bounds|fencepost|boundary|"
        r"one too many|one too few",
    ),
    (
        "type",
        r"typeerror|type ?error|wrong type|typing|mypy|pyright|type hints?|annotations?|"
        r"type check\w*|isinstance",
    ),
    ("import", r"import\w*|modulenotfounderror|circular dependency|no module named"),
    ("encoding", r"unicode\w*|encod\w*|decod\w*|utf-?8|ascii|charset"),
    ("test", r"tests?|testing|flaky|pytest|unittest|ci"),
    ("docs", r"docs?|documentation|typos?|docstrings?|readme|spelling"),
)
CATEGORIES = tuple(name for name, _ in _CATEGORY_RX)
_CATEGORY = re.compile(
    r"\b(?:" + "|".join(f"(?P<c{i}>{rx})" for i, (_, rx) in enumerate(_CATEGORY_RX)) + r")\b"
)
DEFAULT_CATEGORY = "general"

_STOP_TEXT = """
a an and are as at be been but by can could did do does for from had has have how if in into
is it its not of on or our out over per than that the their them then there these they this
those to too was were what when where which while who why will with would you your yet also
all any some such via use used using add added adds make makes made now new more most only
just like get got set sets fix fixes fixed fixing bug bugs bugfix issue issues resolve
resolves resolved patch patched repair repaired correct corrected corrects closes close
closed see ref refs merge pull request commit should shouldn don doesn isn wasn aren cannot
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def category(text: str) -> str:
    """The highest-precedence category any keyword of the text names (one regex pass)."""
    best = len(CATEGORIES)
    for m in _CATEGORY.finditer(text.lower()):
        i = int(m.lastgroup[1:]) if m.lastgroup else best
        if i < best:
            best = i
            if best == 0:
                break
    return CATEGORIES[best] if best < len(CATEGORIES) else DEFAULT_CATEGORY


def words(text: str) -> frozenset[str]:
    return frozenset(
        w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 3 and w not in STOP_WORDS
    )


def normalize(text: str) -> str:
    """First line, lowercase, without issue numbers, ids and punctuation."""
    line = text.strip().split("\n", 1)[0]
    line = SQUASH_SUFFIX.sub("", line).lower()
    line = ISSUE_REF.sub(" ", line)
    line = re.sub(r"\b[0-9a-f]{7,64}\b", " ", line)
    line = re.sub(r"\d+", "0", line)
    line = re.sub(r"[^a-z0-9]+", " ", line)
    return line.strip()


def similarity_hash(cat: str, text: str) -> str:
    return hashlib.sha256(f"{cat}\n{normalize(text)}".encode()).hexdigest()


def issue_refs(message: str) -> list[str]:
    lines = message.split("\n")
    lines[0] = SQUASH_SUFFIX.sub("", lines[0])
    refs = []
    for m in ISSUE_REF.finditer("\n".join(lines)):
        ref = f"#{m.group(1)}" if m.group(1) else f"GH-{m.group(2)}"
        if ref not in refs:
            refs.append(ref)
    return refs


def error_text(message: str) -> str | None:
    m = ERROR_LINE.search(message)
    return m.group(0).strip()[:500] if m else None


@dataclass(frozen=True)
class FixInfo:
    category: str
    similarity_hash: str
    issue_refs: list[str]
    error_text: str | None
    words: frozenset[str]


def detect(message: str) -> FixInfo | None:
    """FixInfo when a commit message describes a fix, else None."""
    low = message.lower()
    refs = issue_refs(message) if ("#" in low or "gh-" in low) else []
    if not refs and not _FIX_WORDS_LOW.search(low):
        return None
    subject = message.split("\n", 1)[0]
    err = error_text(message)
    cat = category(f"{subject}\n{err or ''}")
    if cat == DEFAULT_CATEGORY:
        cat = category(message)
    return FixInfo(
        cat,
        similarity_hash(cat, subject),
        refs,
        err,
        words(SQUASH_SUFFIX.sub("", subject) + " " + (err or "")),
    )


@dataclass(frozen=True)
class FixMatch:
    commit: str
    subject: str
    score: float
    category: str
    files: list[str]
    at: int
    error_text: str | None = None


WORD_WEIGHT = 0.5  # final = WORD_WEIGHT * word score + (1 - WORD_WEIGHT) * cosine
CUT_OFF = 0.3


@dataclass(frozen=True)
class FixVectors:
    """An error text's vector and the project's fixes nearest to it in the vector store
    (made by mira_ls.vectors.git.fix_vectors), for the blended ranking."""

    query: np.ndarray
    model: str
    dimensions: int
    neighbours: tuple[int, ...] = ()  # historical_fixes ids, nearest first


def rank_fixes(
    conn: Connection,
    project_id: int,
    error_text: str,
    files: Iterable[str] = (),
    limit: int = 5,
    vectors: FixVectors | None = None,
) -> list[FixMatch]:
    """Past fixes most like an error (text and the files it is in), best first; with
    ``vectors``, word score and meaning blended (module docstring)."""
    if vectors is not None:
        return _rank_blended(conn, project_id, error_text, files, limit, vectors)
    err_words, err_files, err_hash = _error_terms(error_text, files)
    # The store ranks by the same score; the slack keeps ties at the cut-off that rounding
    # to 6 places reorders by date (the order below is the answer's).
    best = git_fixes.best_fixes(conn, project_id, err_words, err_files, err_hash, limit + 20)
    scored = [
        _match(fx, s)
        for fx in best
        if (s := score_fix(fx, err_words, err_files, err_hash)) >= CUT_OFF
    ]
    return _top(scored, limit)


def _error_terms(error_text: str, files: Iterable[str]) -> tuple[frozenset[str], set[str], str]:
    """(words, files, similarity hash) of an error, what a fix is scored against."""
    return (
        words(error_text),
        {f for f in files if f},
        similarity_hash(category(error_text), error_text),
    )


def _match(fx: FixRow, score: float) -> FixMatch:
    return FixMatch(
        fx.commit_hash, fx.subject, round(score, 6), fx.category, list(fx.files), fx.fixed_at,
        fx.error_text,
    )  # fmt: skip


def _top(scored: list[FixMatch], limit: int) -> list[FixMatch]:
    """Best first; the same score goes to the newer fix, then by commit."""
    scored.sort(key=lambda m: (-m.score, -m.at, m.commit))
    return scored[:limit]


def _rank_blended(
    conn: Connection,
    project_id: int,
    error_text: str,
    files: Iterable[str],
    limit: int,
    vectors: FixVectors,
) -> list[FixMatch]:
    err_words, err_files, err_hash = _error_terms(error_text, files)
    rows = {
        fx.id: fx
        for fx in git_fixes.best_fixes(conn, project_id, err_words, err_files, err_hash, limit + 20)
    }
    near = [i for i in vectors.neighbours if i not in rows]
    rows.update({fx.id: fx for fx in git_fixes.fixes_by_id(conn, project_id, near)})
    import numpy as np  # only with vectors: mining and the plain ranking never load it

    stored = vstore.fix_vectors(conn, vectors.model, vectors.dimensions, list(rows))
    q = np.asarray(vectors.query, dtype=np.float32)
    qn = float(np.linalg.norm(q)) or 1.0
    scored: list[FixMatch] = []
    for fx in rows.values():
        w = s = score_fix(fx, err_words, err_files, err_hash)
        blob = stored.get(fx.id)
        if s < 1.0 and blob is not None:
            v = np.frombuffer(blob, dtype="<f4")
            cos = float(v @ q) / ((float(np.linalg.norm(v)) or 1.0) * qn)
            s = WORD_WEIGHT * s + (1.0 - WORD_WEIGHT) * max(0.0, cos)
        if s < CUT_OFF and w < CUT_OFF - 1e-9:  # vectors reorder and add, never hide
            continue
        scored.append(_match(fx, s))
    return _top(scored, limit)


def score_fix(fx: FixRow, err_words: frozenset[str], err_files: set[str], err_hash: str) -> float:
    """1.0 for the same normalized message; else mostly shared words, then shared files."""
    if fx.similarity_hash == err_hash:
        return 1.0
    overlap = len(err_files & set(fx.files)) / len(err_files) if err_files else 0.0
    fw = set(fx.words.split())
    union = len(fw | err_words)
    jac = len(fw & err_words) / union if union else 0.0
    return 0.2 + 0.15 * overlap + 0.65 * jac


# ---------------------------------------------------------------- symbols touched

# git's built-in diff drivers give hunk headers naming the enclosing definition.
_DRIVERS = {
    "python": ("*.py", "*.pyi"),
    "rust": ("*.rs",),
    "golang": ("*.go",),
    "java": ("*.java",),
    "cpp": ("*.c", "*.h", "*.cc", "*.cpp", "*.cxx", "*.hpp", "*.hh"),
    "csharp": ("*.cs",),
    "ruby": ("*.rb",),
    "php": ("*.php",),
    "kotlin": ("*.kt", "*.kts"),
}
# Only source files can name symbols; docs and changelogs are skipped by git itself.
CODE_PATHSPEC = (
    *(p for pats in _DRIVERS.values() for p in pats),
    "*.js",
    "*.jsx",
    "*.mjs",
    "*.cjs",
    "*.ts",
    "*.tsx",
    "*.mts",
    "*.cts",
    "*.swift",
    "*.scala",
    "*.lua",
    "*.sh",
    "*.ex",
    "*.exs",
)
_DEF = re.compile(
    rb"(?:\bdef|\bclass|\bfunction\*?|\bfunc(?:\s*\([^)]*\))?|\bfn|\binterface|\bstruct|"
    rb"\benum|\btrait|\bmodule|\btype|\bimpl)\s+([A-Za-z_$][\w$]*)"
)
_ASSIGN_FN = re.compile(
    rb"^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*"
    rb"(?:async\s*)?(?:function|\()"
)


def _names(line: bytes) -> list[str]:
    out = [m.group(1).decode("ascii", "replace") for m in _DEF.finditer(line)]
    m = _ASSIGN_FN.match(line)
    if m:
        out.append(m.group(1).decode("ascii", "replace"))
    return out


def parse_fix_diffs(data: bytes) -> dict[str, dict[str, set[str]]]:
    """commit hash -> new path -> names of definitions touched (from ``git log -p -U0``):
    the definition a hunk header names (the enclosing one) and definitions on changed lines."""
    out: dict[str, dict[str, set[str]]] = {}
    commit: dict[str, set[str]] | None = None
    path: str | None = None
    in_header = False
    for raw in data.split(b"\n"):
        c0 = raw[:1]
        if c0 == b"\x00":
            commit = out.setdefault(raw[1:].decode("ascii", "replace").strip(), {})
            path = None
            continue
        if commit is None:
            continue
        if c0 == b"d" and raw.startswith(b"diff --git "):
            path, in_header = None, True
            continue
        if in_header:
            if raw.startswith(b"+++ "):
                target = raw[4:].decode("utf-8", "replace")
                path = None if target == "/dev/null" else target.removeprefix("b/")
                in_header = False
            continue
        if path is None:
            continue
        if c0 == b"@":
            end = raw.find(b"@@", 2)
            names = _names(raw[end + 2 :]) if end > 0 else []
            if names:
                commit.setdefault(path, set()).add(names[-1])
        elif c0 in (b"+", b"-") and (_DEF.search(raw) or _ASSIGN_FN.match(raw[1:])):
            names = _names(raw[1:])
            if names:
                commit.setdefault(path, set()).update(names)
    return out


def _attributes_file(directory: Path) -> Path:
    attrs = directory / "attributes"
    attrs.write_text(
        "".join(f"{pat} diff={drv}\n" for drv, pats in _DRIVERS.items() for pat in pats)
    )
    return attrs


def _diff_args(attrs: Path, relative: bool) -> list[str]:
    return [
        "-c",
        f"core.attributesFile={attrs}",
        "log",
        "--no-walk=unsorted",
        "--stdin",
        "-p",
        "-U0",
        "-M",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--format=%x00%H",
        "--relative" if relative else "--no-relative",
        "--",
        *CODE_PATHSPEC,
    ]


class FixDiffs:
    """Diffs of fix commits, fetched and parsed by a background thread in batches while
    mining goes on, so the extra git work and its parsing (seconds of Python on a large
    history) overlap the main log, whose reader mostly waits for git, instead of
    following it."""

    def __init__(
        self, root: Path | str, relative: bool, batch: int = 100, *, trusted: bool = False
    ) -> None:
        self.root = root
        self.trusted = trusted
        self.relative = relative
        self.batch = batch
        self._pending: list[str] = []
        self.requested: set[str] = set()
        self._tmp = tempfile.TemporaryDirectory(prefix="mira-attr-")
        self._attrs = _attributes_file(Path(self._tmp.name))
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fix-diffs")
        self._futures: list[concurrent.futures.Future[dict[str, dict[str, set[str]]]]] = []

    def add(self, commit_hash: str) -> None:
        self.requested.add(commit_hash)
        self._pending.append(commit_hash)
        if len(self._pending) >= self.batch:
            self._submit()

    def _submit(self) -> None:
        if not self._pending:
            return
        hashes, self._pending = self._pending, []
        self._futures.append(self._pool.submit(self._run, hashes))

    def _run(self, hashes: list[str]) -> dict[str, dict[str, set[str]]]:
        proc = run_git(
            self.root,
            *_diff_args(self._attrs, self.relative),
            input_bytes="\n".join(hashes).encode(),
            timeout=600,
            trusted=self.trusted,
        )
        return parse_fix_diffs(proc.stdout)

    def start(self) -> None:
        """Send what is pending to git now (the results are collected by finish())."""
        self._submit()

    def finish(self) -> dict[str, dict[str, set[str]]] | None:
        """hash -> path -> names; None when git failed (the fixes stay pending)."""
        self._submit()
        out: dict[str, dict[str, set[str]]] = {}
        try:
            for f in self._futures:
                out.update(f.result())
        except GitError as exc:
            log.info("could not read the diffs of fix commits: %s", exc)
            return None
        finally:
            self.close()
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._tmp.cleanup()


def symbols_json(found: dict[str, set[str]], canonical: dict[str, str]) -> str:
    """[[canonical path, name], ...] sorted, for one fix commit."""
    syms = sorted({(canonical.get(p, p), n) for p, names in found.items() for n in names})
    return json.dumps(syms, ensure_ascii=False)


def extract_symbols(
    store: Store,
    project_id: int,
    root: Path | str,
    relative: bool,
    prefetched: FixDiffs | None = None,
    *,
    trusted: bool = False,
) -> int:
    """Fill ``symbols`` of fixes still without them; returns how many were done.

    ``prefetched`` holds the diffs already asked for while mining (each fix was added as it
    was found); only fixes it does not cover (an earlier run that could not get them) are
    asked for now."""
    pending = git_fixes.pending_symbols(store.conn(), project_id)
    if not pending:
        if prefetched is not None:
            prefetched.close()
        return 0
    diffs = prefetched or FixDiffs(root, relative, trusted=trusted)
    for _, h in pending:
        if h not in diffs.requested:
            diffs.add(h)
    found = diffs.finish()
    if found is None:
        return 0
    pause_point("mine:fix symbols:middle")
    canon = git_fixes.fix_file_paths(store.conn(), [fid for fid, _ in pending])
    with store.write() as w:
        git_fixes.set_symbols(
            w, [(symbols_json(found.get(h, {}), canon.get(fid, {})), fid) for fid, h in pending]
        )
    return len(pending)
