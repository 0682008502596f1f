"""One workspace kept ready for tool calls with no editor around: indexed and mined on
start when the database has nothing for it, caught up before each call.

Before a call, ``refresh`` stats the files the index holds and the folders they are in
(a ``stat`` per file and folder: 2 ms for SQLAlchemy's 668 files): a changed file is
re-indexed, a deleted one removed, and a folder whose mtime moved (a file added or
renamed in it) triggers a scan of the workspace. A moved git HEAD is mined again. Nothing
here calls an LLM.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mira_ls.config import Settings
from mira_ls.git.miner import mine
from mira_ls.index import incremental, indexer
from mira_ls.llm.provider import endpoint_from
from mira_ls.llm.tools import ToolBox
from mira_ls.store import Store, git_history, locks, projects
from mira_ls.store import code as cs
from mira_ls.testhooks import hold_point

log = logging.getLogger(__name__)

Report = Callable[[str], None]  # a sentence about start-up work, for the client's log

INDEX_LOCK_WAIT_S = 900.0


def _stamp(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@dataclass
class _Seen:
    """The stamps (mtime_ns, size) of indexed files and of their folders at the last check,
    each beside its absolute path as a string (a ``Path`` join per file per call cost as
    much as the ``stat`` itself)."""

    files: dict[str, tuple[str, tuple[int, int] | None]] = field(default_factory=dict)
    dirs: dict[str, tuple[str, int | None]] = field(default_factory=dict)


class Workspace:
    """The store, project and ToolBox of one root, safe to refresh from any thread."""

    def __init__(self, store: Store, root: Path, settings: Settings) -> None:
        self.store = store
        self.root = root.resolve()
        self.settings = settings
        with store.write() as c:
            self.project_id = projects.get_or_create(c, self.root).id
        api_key = endpoint_from(settings.llm, os.environ).api_key
        self.box = ToolBox(store, self.project_id, self.root, (api_key,) if api_key else ())
        self._lock = threading.Lock()
        self._seen = _Seen()
        self._head: str | None = None
        self.ready = threading.Event()
        self.problem: str | None = None  # a sentence when start-up work failed
        self.status = "starting"  # the last sentence about start-up work

    # -- start-up ---------------------------------------------------------------------

    def prepare(self, report: Report) -> None:
        """Index and mine (catching up what changed while no mira-ls ran); sets ``ready``
        whatever happens, with ``problem`` saying what failed."""
        try:
            with self._lock:
                self._index(report)
                self._mine(report)
                self._snapshot()
        except Exception as exc:
            log.exception("preparing %s failed", self.root)
            self.problem = f"Preparing {self.root} failed: {exc}"
            report(self.problem)
        finally:
            self.ready.set()

    def _index(self, report: Report) -> None:
        empty = not cs.files_of_project(self.store.conn(), self.project_id)
        report(f"indexing {self.root}" if empty else f"catching up the index of {self.root}")
        hold_point("mcp:prepare:index")
        last = [-1]

        def progress(done: int, total: int, message: str) -> None:
            pct = 100 * done // total if total else 0
            if empty and pct // 10 != last[0]:
                last[0] = pct // 10
                report(f"indexing: {pct}% {message}")

        try:
            stats = indexer.index_workspace(
                self.store,
                self.root,
                self.settings.index,
                progress=progress,
                wait_s=INDEX_LOCK_WAIT_S,
                on_wait=report,
                trust_git=self.settings.git.trust_repository_config,
            )
        except locks.Busy as exc:
            report(str(exc))
            return
        report(
            f"index ready: {stats.files} files, {stats.symbols} symbols, "
            f"{stats.resolved} of {stats.edges} calls resolved in {stats.seconds:.1f} s"
        )

    def _mine(self, report: Report) -> None:
        if not self.settings.git.enabled:
            return
        first = git_history.get_attachment(self.store.conn(), self.project_id) is None
        if first:
            report(f"mining the git history of {self.root}")

        def progress(message: str, pct: int | None) -> None:
            if first:
                report(f"mining: {message}" + (f" ({pct}%)" if pct is not None else ""))

        stats = mine(self.store, self.project_id, self.root, self.settings, progress=progress)
        self._head = self._git_head()
        if stats.status == "ok" and stats.new_commits:
            report(f"git history ready: {stats.new_commits} new commits ({stats.mode})")
        elif stats.status in ("error", "not_a_repo", "empty") and first:
            report(stats.message or stats.status)

    # -- before each call -------------------------------------------------------------

    def _snapshot(self) -> None:
        stored = cs.files_of_project(self.store.conn(), self.project_id)
        seen = _Seen()
        for rel in stored:
            path = os.path.join(self.root, rel)
            seen.files[rel] = (path, _stamp(path))
            d = os.path.dirname(rel)
            while d not in seen.dirs:
                path = os.path.join(self.root, d) if d else str(self.root)
                st = _stamp(path)
                seen.dirs[d] = (path, st[0] if st else None)
                if not d:
                    break
                d = os.path.dirname(d)
        if "" not in seen.dirs:
            st = _stamp(self.root)
            seen.dirs[""] = (str(self.root), st[0] if st else None)
        self._seen = seen

    def _git_head(self) -> str | None:
        """HEAD's target and the ref's stamp: changes on a commit, checkout or pull."""
        git = self.root / ".git"
        try:
            head = (git / "HEAD").read_text("utf-8").strip()
        except OSError:
            return None
        ref = head[5:].strip() if head.startswith("ref:") else ""
        stamp = _stamp(git / ref) if ref else None
        packed = _stamp(git / "packed-refs")
        return f"{head}|{stamp}|{packed}"

    def refresh(self) -> list[str]:
        """Bring the index up to what is on disk (and the history up to HEAD); returns the
        paths that were updated."""
        with self._lock:
            changed = [rel for rel, (path, old) in self._seen.files.items() if _stamp(path) != old]
            moved_dirs = any(
                (st[0] if (st := _stamp(path)) else None) != old
                for path, old in self._seen.dirs.values()
            )
            if moved_dirs:
                changed = sorted(
                    set(changed)
                    | set(
                        incremental.scan_changes(
                            self.store,
                            self.project_id,
                            self.root,
                            settings=self.settings.index,
                            trust_git=self.settings.git.trust_repository_config,
                        )
                    )
                )
            for rel in changed:
                if (self.root / rel).is_file():
                    incremental.update_file(
                        self.store, self.project_id, self.root, rel, settings=self.settings.index
                    )
                else:
                    incremental.remove_file(self.store, self.project_id, rel)
            head = self._git_head()
            if head != self._head and self.settings.git.enabled:
                mine(self.store, self.project_id, self.root, self.settings)
                self._head = head
            if changed or moved_dirs:
                self._snapshot()
            return changed
