"""Co-change: which files change in the same commits.

For a pair, ``c`` shared counted commits, ``a`` and ``b`` the counted commits of each file.
The ranking measure is the directional confidence c/a ("of the a commits of this file, c
also changed the partner"), what CodeScene's change coupling and the hover's "n of m
commits" use; Jaccard c/(a+b-c), Dice 2c/(a+b) (which is code-maat's degree c/mean(a, b)) are
kept for reference. Jaccard alone cannot rank the partners of a file that changes often (a
central module sharing 153 of its 464 commits with the changelog scores 0.16), so a pair is
kept when c >= minShared and either direction's confidence reaches minConfidence, and each
file keeps its top ``topPartners`` by (confidence c/a, shared commits, path), so a
from-scratch run and an incremental one agree.

From scratch the pairs are counted in memory while the log streams (one int key and one
packed int value per pair); incrementally only the files the new commits touch, and the
files whose stored partner lists name them, are recomputed from the stored commit files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mira_ls.config import CochangeSettings
from mira_ls.store import git_cochange, git_history
from mira_ls.store.connection import Connection

_SHIFT = 40  # packed pair value: count << 40 | last time (unix seconds fit in 40 bits)
_MASK = (1 << _SHIFT) - 1


@dataclass(frozen=True)
class Pattern:
    file: str
    partner: str
    shared: int
    commits: int  # a: commits of ``file``
    partner_commits: int  # b
    jaccard: float
    dice: float
    last_at: int

    @property
    def confidence(self) -> float:
        """Directional confidence c/a, the ranking measure."""
        return directional(self.shared, self.commits)


def measures(c: int, a: int, b: int) -> tuple[float, float]:
    """(Jaccard, Dice) of c shared commits between files with a and b commits."""
    union = a + b - c
    jac = c / union if union > 0 else 0.0
    dice = 2 * c / (a + b) if a + b > 0 else 0.0
    return min(jac, 1.0), min(dice, 1.0)


MEASURE = "directional-1"  # bumped when the kept lists would differ for the same history


def fingerprint(settings: CochangeSettings) -> str:
    """Part of the mining fingerprint: stored lists made by another measure or other
    thresholds are recomputed (the miner mines from scratch when it changes)."""
    return f"/{MEASURE}/{settings.min_shared}/{settings.min_confidence:g}/{settings.top_partners}"


def directional(c: int, a: int) -> float:
    """c/a: the share of a file's a commits that also changed the partner."""
    return min(c / a, 1.0) if a > 0 else 0.0


def top_partners(
    file: str,
    a: int,
    candidates: Iterable[tuple[str, int, int]],
    stats: dict[str, tuple[int, int]],
    settings: CochangeSettings,
) -> list[Pattern]:
    """The file's kept partners from (partner, c, last_at) candidates."""
    kept: list[Pattern] = []
    for partner, c, last in candidates:
        if c < settings.min_shared:
            continue
        st = stats.get(partner)
        if st is None:
            continue
        b = st[0]
        if max(directional(c, a), directional(c, b)) < settings.min_confidence:
            continue
        jac, dice = measures(c, a, b)
        kept.append(Pattern(file, partner, c, a, b, jac, dice, last))
    kept.sort(key=lambda p: (-p.shared, p.partner))  # c/a ranks as c does: a is fixed
    return kept[: settings.top_partners]


class PairCounter:
    """Counts shared commits of every file pair while the log streams."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.names: list[str] = []
        self.pairs: dict[int, int] = {}

    def _id(self, path: str) -> int:
        i = self.ids.get(path)
        if i is None:
            i = len(self.names)
            self.ids[path] = i
            self.names.append(path)
        return i

    def add(self, files: Iterable[str], at: int) -> None:
        ids = sorted({self._id(f) for f in files})
        n = len(ids)
        if n < 2:
            return
        pairs = self.pairs
        inc = 1 << _SHIFT
        at = max(0, min(at, _MASK))
        for i in range(n):
            base = ids[i] << 32
            for j in range(i + 1, n):
                key = base | ids[j]
                v = pairs.get(key)
                if v is None:
                    pairs[key] = inc | at
                elif (v & _MASK) >= at:
                    pairs[key] = v + inc
                else:
                    pairs[key] = ((v >> _SHIFT) + 1) << _SHIFT | at

    def patterns(
        self, stats: dict[str, tuple[int, int]], settings: CochangeSettings
    ) -> list[Pattern]:
        """Every file's kept partners (both directions of each pair)."""
        per_file: dict[str, list[tuple[str, int, int]]] = {}
        names = self.names
        min_shared = settings.min_shared
        min_count = min_shared << _SHIFT
        for key, v in self.pairs.items():
            if v < min_count:
                continue
            c = v >> _SHIFT
            last = v & _MASK
            x = names[key >> 32]
            y = names[key & 0xFFFFFFFF]
            per_file.setdefault(x, []).append((y, c, last))
            per_file.setdefault(y, []).append((x, c, last))
        out: list[Pattern] = []
        for f in sorted(per_file):
            st = stats.get(f)
            if st is None:
                continue
            out.extend(top_partners(f, st[0], per_file[f], stats, settings))
        return out


def recompute(
    conn: Connection,
    project_id: int,
    touched: set[str],
    gone: set[str],
    merged: set[str],
    settings: CochangeSettings,
    now: int,
) -> int:
    """Refresh stored partner lists after new commits touched ``touched`` (incremental).

    A file's list can change when the file itself got commits, or when one of its listed
    partners did (its b grew, so the entry may fall below the threshold or the next
    candidate may now rank higher). Lists of files that list none of them cannot change,
    except after a rename: ``merged`` files gained an older name's history, so every file
    sharing a commit with them is recomputed.
    """
    affected = set(touched) | set(gone) | set(merged)
    todo = affected | git_cochange.files_listing(conn, project_id, affected)
    for m in merged:
        todo.update(p for p, _, _ in git_history.co_counts(conn, project_id, m))
    todo -= gone
    git_cochange.delete_for(conn, project_id, todo | gone)
    rows: list[Pattern] = []
    for f in sorted(todo):
        a = git_history.file_commit_count(conn, project_id, f)
        if a == 0:
            continue
        cands = git_history.co_counts(conn, project_id, f)
        stats = git_history.file_stats(
            conn, project_id, (p for p, c, _ in cands if c >= settings.min_shared)
        )
        rows.extend(top_partners(f, a, cands, stats, settings))
    git_cochange.insert_patterns(conn, project_id, rows, now)
    return len(todo)
