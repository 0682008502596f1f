"""Project guideline files for every prompt: CLAUDE.md, AGENTS.md, Copilot instructions,
``.cursorrules`` and Cursor's ``.cursor/rules/*.mdc``.

For a file in question they are looked for in its directory and every parent up to the
workspace root, nearest first (a package's CLAUDE.md before the root's); without a file,
at the root only. ``.github/copilot-instructions.md`` is read at the root only, as Copilot
does. A ``.mdc`` rule has a front matter between ``---`` lines (``description``, ``globs``
as a comma-separated string or a list, ``alwaysApply``): with ``alwaysApply: true`` it
always applies; with globs (gitignore-style wildmatch, relative to the directory holding
``.cursor``) only to a file that matches one; with neither only to a request without a file.
The front matter is not sent.

Every file is read through workspace_files (inside the root, also through a symlink; never
a secret-looking or ignored file; redacted) and stored in project_guidelines with the
SHA-256 of what was read, so an unchanged file is not re-counted; a file that is gone drops
its row when its directory is next looked at. Together they are capped at MAX_BYTES, the
nearest kept first, and the cut says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import pathspec

from mira_ls.confined import is_inside
from mira_ls.llm import tokens
from mira_ls.llm.redact import redact
from mira_ls.llm.workspace_files import FileRefused, read_text
from mira_ls.store import Store
from mira_ls.store import llm_queries as lq
from mira_ls.store.llm_queries import Guideline

log = logging.getLogger(__name__)

PER_DIRECTORY = ("CLAUDE.md", "AGENTS.md")
ROOT_ONLY = (".github/copilot-instructions.md",)
CURSORRULES = ".cursorrules"
RULES_DIR = ".cursor/rules"
RULE_SUFFIX = ".mdc"
MAX_RULES_PER_DIRECTORY = 64
MAX_BYTES = 32_000  # all guideline text of one request together (and so any one file)


@dataclass(frozen=True)
class Loaded:
    guidelines: list[Guideline]  # what applies, nearest directory first
    reloaded: list[str]  # files whose content changed since they were stored
    truncated: list[str] = field(default_factory=list)  # files cut or left out (MAX_BYTES)
    descriptions: dict[str, str] = field(default_factory=dict)  # a .mdc rule's description


@dataclass(frozen=True)
class Rule:
    """A ``.mdc`` front matter, as far as it decides where the rule applies."""

    description: str = ""
    globs: tuple[str, ...] = ()
    always: bool = False


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _split_globs(value: str) -> list[str]:
    """``"*.ts, src/**/*.{ts,tsx}"`` or ``[a, b]``: the globs, commas inside braces kept."""
    value = _unquote(value)
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    parts: list[str] = []
    depth, cur = 0, ""
    for ch in value:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "{") - (ch == "}")
        cur += ch
    parts.append(cur)
    return [g for g in (_unquote(p) for p in parts) if g]


_BRACES = re.compile(r"\{([^{}]*)\}")


def _expand(glob: str, limit: int = 32) -> list[str]:
    """``*.{ts,tsx}`` -> ``*.ts``, ``*.tsx``: wildmatch has no braces, Cursor's globs do."""
    m = _BRACES.search(glob)
    if m is None or limit <= 0:
        return [glob]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out += _expand(glob[: m.start()] + alt + glob[m.end() :], limit - 1)
    return out[:limit]


def split_front_matter(text: str) -> tuple[dict[str, str | list[str]], str]:
    """(fields, body) of a text that may open with a ``---`` front matter. YAML-ish on
    purpose: Cursor writes ``globs: *.ts`` unquoted, which YAML would reject."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return {}, text
    fields: dict[str, str | list[str]] = {}
    key: str | None = None
    for raw in lines[1:end]:
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s == "-" or s.startswith("- "):
            items = fields.get(key) if key is not None else None
            if isinstance(items, list):
                items.append(_unquote(s[1:]))
            continue
        name, sep, value = s.partition(":")
        if not sep:
            continue
        key = name.strip()
        fields[key] = [] if not value.strip() else value.strip()
    return fields, "".join(lines[end + 1 :]).lstrip("\r\n")


def parse_rule(text: str) -> tuple[Rule, str]:
    """(the rule's front matter, the text to send) of a ``.mdc`` file."""
    fields, body = split_front_matter(text)
    raw_globs = fields.get("globs", [])
    listed = (
        [g for item in raw_globs for g in _split_globs(item)]
        if isinstance(raw_globs, list)
        else _split_globs(raw_globs)
    )
    globs = tuple(e for g in listed for e in _expand(g))
    always = fields.get("alwaysApply", "")
    description = fields.get("description", "")
    return (
        Rule(
            _unquote(description) if isinstance(description, str) else ", ".join(description),
            globs,
            isinstance(always, str) and _unquote(always).lower() in ("true", "yes", "on", "1"),
        ),
        body,
    )


def _matches(globs: tuple[str, ...], rel: str) -> bool:
    """Gitignore-style wildmatch (pathspec's GitIgnoreSpec: the gitwildmatch rules, a
    pattern without a slash matching at any depth); a broken glob matches nothing."""
    valid: list[str] = []
    for g in globs:
        try:
            pathspec.GitIgnoreSpec.from_lines([g])
        except ValueError as exc:
            log.debug("guideline glob %r ignored: %s", g, exc)
            continue
        valid.append(g)
    return bool(valid) and pathspec.GitIgnoreSpec.from_lines(valid).match_file(rel)


def applies(rule: Rule, rel_in_dir: str | None) -> bool:
    """Whether a rule applies to a file (relative to the rule's directory; None: no file)."""
    if rule.always:
        return True
    if rule.globs:
        return bool(rel_in_dir) and _matches(rule.globs, rel_in_dir or "")
    return rel_in_dir is None


def _parts(rel_path: str | None) -> list[str] | None:
    """The directories of a workspace-relative file; None when it has none to offer."""
    if not rel_path:
        return None
    parts = [p for p in PurePosixPath(rel_path.replace("\\", "/")).parts if p not in ("", ".")]
    if not parts or parts[0] == "/" or ".." in parts:
        return None
    return parts


def directories(rel_path: str | None) -> list[str]:
    """Where guidelines for ``rel_path`` are looked for: its directory, then each parent,
    the root ("") last. Without a file: the root alone."""
    parts = _parts(rel_path)
    if parts is None:
        return [""]
    dirs = ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
    return [*dirs, ""]


def _join(d: str, name: str) -> str:
    return f"{d}/{name}" if d else name


def _rules_in(root: Path, d: str) -> list[str]:
    """The ``.mdc`` files of ``d/.cursor/rules``, by name; never listed through a link that
    leads out of the workspace."""
    rules_dir = root / _join(d, RULES_DIR)
    if not rules_dir.is_dir() or not is_inside(root, rules_dir):
        return []
    try:
        names = sorted(
            e.name
            for e in os.scandir(rules_dir)
            if e.name.endswith(RULE_SUFFIX) and not e.name.startswith(".")
        )
    except OSError:
        return []
    return [_join(d, f"{RULES_DIR}/{n}") for n in names[:MAX_RULES_PER_DIRECTORY]]


def _candidates(root: Path, d: str) -> list[str]:
    names = [_join(d, n) for n in PER_DIRECTORY]
    if d == "":
        names += list(ROOT_ONLY)
    return [*names, _join(d, CURSORRULES), *_rules_in(root, d)]


def _owned_by(d: str, path: str) -> bool:
    """Whether ``path`` is one of the guideline files directory ``d`` could hold."""
    fixed = {_join(d, n) for n in (*PER_DIRECTORY, CURSORRULES)}
    if d == "":
        fixed |= set(ROOT_ONLY)
    if path in fixed:
        return True
    prefix = _join(d, RULES_DIR) + "/"
    return path.startswith(prefix) and "/" not in path[len(prefix) :] and path.endswith(RULE_SUFFIX)


def _rel_in(d: str, parts: list[str] | None, asked: bool) -> str | None:
    """The file relative to directory ``d``; None without a file, "" for a path that
    cannot be placed (one that climbs out): such a file matches no glob."""
    if parts is None:
        return "" if asked else None
    return "/".join(parts[len(d.split("/")) :] if d else parts)


def _capped(found: list[Guideline], cap: int, long: set[str]) -> tuple[list[Guideline], list[str]]:
    """The guidelines within ``cap`` bytes in order, the one that crosses it cut at a line,
    the rest left out; the last one kept says what was cut (``long``: files longer than
    ``cap`` on disk, cut when read)."""
    out: list[Guideline] = []
    cut: list[str] = []
    left = cap
    for g in found:
        size = len(g.content.encode("utf-8"))
        if not cut and size <= left:
            out.append(g)
            left -= size
            if g.file_path in long:
                cut.append(g.file_path)
            continue
        if not cut and left > 0:
            head = g.content.encode("utf-8")[:left].decode("utf-8", "ignore")
            head = head[: head.rfind("\n") + 1]
            if head.strip():
                out.append(replace(g, content=head, token_count=tokens.count(head)))
        cut.append(g.file_path)
    if cut and out:
        note = (
            f"[... guideline files are capped at {cap} bytes in all; "
            f"cut or left out: {', '.join(cut)}]"
        )
        last = out[-1]
        content = last.content.rstrip("\n") + "\n\n" + note + "\n"
        out[-1] = replace(last, content=content, token_count=tokens.count(content))
    return out, cut


@dataclass(frozen=True)
class _Read:
    directory: str
    rel: str
    text: str
    long: bool  # longer than MAX_BYTES on disk


def _read_all(root: Path, dirs: list[str], secrets: tuple[str, ...]) -> list[_Read]:
    """The guideline files of ``dirs`` that may be read, in order."""
    read: list[_Read] = []
    for d in dirs:
        for rel in _candidates(root, d):
            if not os.path.lexists(root / rel):  # most are absent: no path resolution
                continue
            try:
                text, long = read_text(root, rel, max_bytes=MAX_BYTES, secrets=secrets)
            except FileRefused as exc:
                if (root / rel).is_symlink():
                    log.info("guideline not read: %s", exc)
                continue
            read.append(_Read(d, rel, text, long))
    return read


def load(
    store: Store,
    project_id: int,
    root: Path,
    secrets: tuple[str, ...] = (),
    rel_path: str | None = None,
) -> Loaded:
    """The guidelines that apply to ``rel_path`` (workspace-relative; None: a request
    without a file), nearest directory first, refreshed from disk when their hash changed."""
    dirs = directories(rel_path)
    parts = _parts(rel_path)
    read = _read_all(root, dirs, secrets)
    conn = store.conn()
    stored = lq.guidelines(conn, project_id, [r.rel for r in read])
    on_disk = {r.rel for r in read}
    gone = [
        p
        for p in sorted(lq.guideline_paths(conn, project_id))
        if p not in on_disk and any(_owned_by(d, p) for d in dirs)
    ]
    found: list[Guideline] = []
    changed: list[Guideline] = []
    long_files: set[str] = set()
    descriptions: dict[str, str] = {}
    for r in read:
        digest = hashlib.sha256(r.text.encode("utf-8")).hexdigest()
        rule, body = (
            parse_rule(r.text) if r.rel.endswith(RULE_SUFFIX) else (Rule(always=True), r.text)
        )
        old = stored.get(r.rel)
        if old is not None and old.content_hash == digest:
            g = old
        else:
            body = redact(body, secrets)
            g = Guideline(r.rel, body, digest, tokens.count(body))
            changed.append(g)
        if not applies(rule, _rel_in(r.directory, parts, bool(rel_path))):
            continue
        if r.long:
            long_files.add(r.rel)
        if rule.description:
            descriptions[r.rel] = rule.description
        found.append(g)
    if changed or gone:
        now = int(time.time())
        with store.write() as wconn:
            for g in changed:
                lq.upsert_guideline(wconn, project_id, g, now)
            for rel in gone:
                lq.delete_guideline(wconn, project_id, rel)
    kept, cut = _capped(found, MAX_BYTES, long_files)
    return Loaded(kept, [g.file_path for g in changed], cut, descriptions)
