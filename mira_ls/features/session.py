"""What every feature needs: the store, the settings, the workspace roots, live-buffer parses.

The server and the CLI both build a Session, so a CLI hover is the server's hover.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from mira_ls.config import Settings
from mira_ls.index.held_resolver import HeldResolvers
from mira_ls.index.languages import language_for_path
from mira_ls.index.symbols import FileExtract, extract
from mira_ls.store import Store
from mira_ls.store import code as code_store
from mira_ls.store import projects as project_store

NO_PROJECT = -1  # the id of a root when the database could not be opened


@dataclass(frozen=True)
class ProjectRoot:
    project_id: int
    root: Path


@dataclass(frozen=True)
class Located:
    """A file inside a project: its root, project id and project-relative POSIX path."""

    project: ProjectRoot
    rel_path: str

    @property
    def abs_path(self) -> Path:
        return self.project.root / self.rel_path


class _ExtractCache:
    """Parses of live buffers, keyed by content: repeated hovers on one version parse once."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], FileExtract] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, rel_path: str, language: str, text: str) -> FileExtract:
        data = text.encode("utf-8", "surrogatepass")
        key = (rel_path, hashlib.blake2b(data, digest_size=16).hexdigest())
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        fx = extract(data, rel_path, language)
        with self._lock:
            self._items[key] = fx
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return fx


class _DigestCache:
    """SHA-256 of live buffers, by identity of the text object: the editor's document keeps
    one str per version, so repeated hovers on one version hash it once."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[str, int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, rel_path: str, text: str) -> tuple[int, str]:
        with self._lock:
            hit = self._items.get(rel_path)
            if hit is not None and hit[0] is text:
                self._items.move_to_end(rel_path)
                return hit[1], hit[2]
        data = text.encode("utf-8", "surrogatepass")
        size, digest = len(data), hashlib.sha256(data).hexdigest()
        with self._lock:
            self._items[rel_path] = (text, size, digest)
            self._items.move_to_end(rel_path)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return size, digest


@dataclass
class Session:
    store: Store | None
    settings: Settings
    roots: list[ProjectRoot] = field(default_factory=list)
    _extracts: _ExtractCache = field(default_factory=_ExtractCache)
    _digests: _DigestCache = field(default_factory=_DigestCache)
    notices: set[str] = field(default_factory=set)  # sentences already shown to the user
    # (project id, stored path) -> (path, URI) of files answers name (workspace/symbol): the
    # pathlib work per file cost more than the rest of building 200 answers
    places: dict[tuple[int, str], tuple[Path, str]] = field(default_factory=dict)
    resolvers: HeldResolvers = field(default_factory=HeldResolvers)

    def add_root(self, root: Path) -> ProjectRoot:
        root = root.resolve()
        for r in self.roots:
            if r.root == root:
                return r
        if self.store is None:
            pr = ProjectRoot(NO_PROJECT, root)  # buffer-only features still work
            self.roots.append(pr)
            return pr
        with self.store.write() as conn:
            project = project_store.get_or_create(conn, root)
        pr = ProjectRoot(project.id, root)
        self.roots.append(pr)
        return pr

    def remove_root(self, root: Path) -> None:
        root = root.resolve()
        self.roots = [r for r in self.roots if r.root != root]
        self.places.clear()

    def locate(self, path: Path) -> Located | None:
        """The innermost workspace root containing an absolute path."""
        try:
            path = path.resolve()
        except OSError:
            return None
        best: ProjectRoot | None = None
        for r in self.roots:
            inside = path == r.root or r.root in path.parents
            if inside and (best is None or len(r.root.parts) > len(best.root.parts)):
                best = r
        if best is None:
            return None
        return Located(best, path.relative_to(best.root).as_posix())

    def stored_non_ascii(self, path: Path) -> frozenset[int] | None:
        """The indexed non-ASCII lines of a file under a root (``Lines``' ``stored``): the
        path as features build it (root / stored path), so it is matched without resolving."""
        if self.store is None:
            return None
        best: ProjectRoot | None = None
        for r in self.roots:  # the innermost root, as locate() picks
            inside = r.project_id != NO_PROJECT and path.is_relative_to(r.root)
            if inside and (best is None or len(r.root.parts) > len(best.root.parts)):
                best = r
        if best is None:
            return None
        rel = path.relative_to(best.root).as_posix()
        return code_store.non_ascii_lines(self.store.conn(), best.project_id, rel)

    def buffer_digest(self, rel_path: str, text: str) -> tuple[int, str]:
        """(UTF-8 size, SHA-256 hex) of a buffer, as repository_files stores a file's."""
        return self._digests.get(rel_path, text)

    def parse(self, rel_path: str, text: str) -> FileExtract | None:
        """The live buffer's symbols (cached per content), or None for unindexed languages."""
        language = language_for_path(rel_path)
        if language is None:
            return None
        return self._extracts.get(rel_path, language, text)
