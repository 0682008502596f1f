"""Collect the insight report's figures from the store into one plain dataclass.

Everything here is computed from stored rows at one instant ``now`` (recency is measured
from the wall clock unless a caller fixes it). A section whose data is absent carries an
``empty`` sentence saying why and what to run, never made-up numbers.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mira_ls import dates
from mira_ls.config import Settings
from mira_ls.git import xray as git_xray
from mira_ls.index.languages import language_for_path
from mira_ls.index.symbols import module_name
from mira_ls.store import Store, projects
from mira_ls.store import clusters as cluster_store
from mira_ls.store import design_patterns as pattern_store
from mira_ls.store import report_queries as q
from mira_ls.store.connection import Connection

DAY = 86400
INACTIVE_DAYS = 365
MAIN_OWNERS_SHARE = 0.5  # main authors: the fewest biggest owners that wrote half the lines

TOP_HOTSPOTS = 20
TOP_PAIRS = 15
TOP_DIRECTORIES = 25
TOP_AT_RISK = 30
TOP_ERRORS = 10
RECENT_RUNS = 30
BUILD_DAYS = 14
SPEND_DAYS = 30

HOTSPOT_FORMULA = (
    "score = commits × complexity. commits: commits touching the file that the ignore "
    "policy counts (no merge commits, bot authors, revisions in the ignore-revs file or "
    "changesets of more than {max_files} files), history of renamed files included. "
    "complexity: the sum over the file's indexed symbols of (branches + 1). Lines churned "
    "(added + deleted in those commits) are shown for reference."
)


KNOWLEDGE_RULE = (
    "A file is at risk when all of its main authors (the fewest biggest owners by lines "
    "added who together wrote at least half of them) have made no commit anywhere in the "
    f"repository in the last {INACTIVE_DAYS} days. Only files still in the index are "
    "considered when the project is indexed."
)


def _coupling_rule(settings: Settings) -> str:
    cc = settings.cochange
    return (
        "Pairs of files that change in the same counted commits, each shown from the file "
        "with fewer commits (a). Strong pairs come first: "
        f"at least {cc.strong_shared} shared commits and confidence c / a of "
        f"{cc.strong_confidence:g} or more (cochange.strongShared, cochange.strongConfidence); "
        "then by confidence c / a (of the a commits of the file, the share that also changed "
        "its partner), ties by shared commits c; Jaccard c / (a + b − c) and Dice "
        "2c / (a + b) are shown for reference. Each file keeps its "
        f"{cc.top_partners} strongest partners with at least {cc.min_shared} shared commits "
        f"and confidence {cc.min_confidence:g} in either direction."
    )


# ---------------------------------------------------------------------------- records


@dataclass
class Overview:
    name: str
    root: str
    known: bool  # the project has a row in the database
    generated_at: int
    database: str
    indexed_files: int = 0
    symbols: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    last_indexed_at: int | None = None
    git_status: str = "not mined"  # not mined, ok, empty, not_a_repo, error, pending
    git_message: str | None = None
    head_commit: str | None = None
    head_ref: str | None = None
    shallow: bool = False
    last_mined_at: int | None = None
    commits_counted: int = 0
    commits_ignored: dict[str, int] = field(default_factory=dict)


@dataclass
class Hotspot:
    path: str
    language: str | None
    lines: int
    commits: int
    churn: int  # lines added + deleted
    complexity: int
    symbols: int
    score: int  # commits × complexity
    last_change_at: int


@dataclass
class FunctionHotspot:
    path: str
    symbol: str  # Class.method
    line: int
    changes: int  # counted commits that changed this definition (X-Ray)
    complexity: int
    score: int  # changes × complexity


@dataclass
class HotspotSection:
    formula: str
    items: list[Hotspot] = field(default_factory=list)
    files_with_history: int = 0
    files_ranked: int = 0  # with both history and indexed symbols
    empty: str | None = None
    functions: list[FunctionHotspot] = field(default_factory=list)
    functions_note: str = ""


@dataclass
class CouplingPair:
    file_a: str
    file_b: str
    shared: int
    commits_a: int
    commits_b: int
    confidence: float  # directional c / a from file_a, the file with fewer commits
    jaccard: float
    dice: float
    last_at: int | None
    strong: bool


@dataclass
class CouplingSection:
    rule: str
    pairs: list[CouplingPair] = field(default_factory=list)
    total_pairs: int = 0
    empty: str | None = None


@dataclass
class Owner:
    author: str
    email: str
    share: float
    commits: int
    lines_added: int
    last_at: int  # last commit in this path


@dataclass
class DirectoryOwnership:
    path: str  # '' is the whole repository
    authors: int
    commits: int
    lines_added: int
    fragmentation: float  # 1 - sum(share^2)
    main_owners: int  # fewest authors that wrote half the lines
    owners: list[Owner] = field(default_factory=list)  # biggest first, at most 3


@dataclass
class OwnershipSection:
    directories: list[DirectoryOwnership] = field(default_factory=list)
    total_directories: int = 0
    empty: str | None = None


@dataclass
class InactiveOwner:
    author: str
    email: str
    share: float
    last_active_at: int  # newest commit anywhere in the repository
    days_inactive: int


@dataclass
class AtRiskFile:
    path: str
    lines_added: int
    abandoned_share: float  # share of the file's lines written by inactive authors
    main_owners: list[InactiveOwner] = field(default_factory=list)
    last_change_at: int = 0


@dataclass
class KnowledgeSection:
    rule: str
    files: list[AtRiskFile] = field(default_factory=list)
    files_considered: int = 0
    files_at_risk: int = 0
    inactive_authors: int = 0
    authors: int = 0
    empty: str | None = None


@dataclass
class RunPoint:
    started_at: int
    name: str
    status: str
    errors: int
    warnings: int


@dataclass
class BuildDay:
    day: str
    runs: int
    failed: int
    errors: int
    warnings: int


@dataclass
class CategoryCount:
    category: str
    open: int
    resolved: int
    occurrences: int


@dataclass
class TopError:
    tool: str
    code: str | None
    category: str
    message: str
    location: str | None
    occurrences: int
    first_seen_at: int
    last_seen_at: int
    status: str


@dataclass
class BuildSection:
    runs: int = 0
    failed_runs: int = 0
    open_errors: int = 0
    resolved_errors: int = 0
    first_run_at: int | None = None
    last_run_at: int | None = None
    recent_runs: list[RunPoint] = field(default_factory=list)
    days: list[BuildDay] = field(default_factory=list)
    categories: list[CategoryCount] = field(default_factory=list)
    top_errors: list[TopError] = field(default_factory=list)
    empty: str | None = None


@dataclass
class Spend:
    period: str
    cost_micro: int
    requests: int
    cache_hits: int
    saved_micro: int


@dataclass
class BudgetSection:
    day: Spend
    month: Spend
    all_time: Spend
    daily_limit_micro: int
    monthly_limit_micro: int
    days: list[Spend] = field(default_factory=list)  # the last SPEND_DAYS UTC days, oldest first
    cache_entries: int = 0
    cache_live_entries: int = 0
    cache_bytes: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_hit_rate: float | None = None
    cache_saved_micro: int = 0
    empty: str | None = None


CLUSTER_RULE = (
    "Communities of files that call each other (resolved calls), import each other, change "
    "in the same commits (co-change confidence) and, when the code is embedded, read alike "
    "(code vectors), found by Louvain over that weighted file graph. Cohesion: the weight of "
    "a cluster's inner edges over all edges touching it. Experts: the authors with the most "
    "commits to its files. Named from the files' common folder, or by the LLM with "
    "`mira-ls clusters --name`."
)


@dataclass
class ClusterItem:
    name: str
    description: str
    named_by: str
    files: list[str]
    symbols: int
    cohesion: float
    experts: list[str]


@dataclass
class ClusterSection:
    rule: str = CLUSTER_RULE
    items: list[ClusterItem] = field(default_factory=list)
    clustered_files: int = 0
    empty: str | None = None


PATTERN_RULE = (
    "Design pattern candidates found from the index by names and structure (accessors, "
    "constructions, bases and overrides), each validated by the LLM with the source of the "
    "symbols taking part (`mira-ls design-patterns PATH --validate`); a verdict is kept "
    "until one of them changes. Validated first; candidates are not validated yet."
)


@dataclass
class PatternItem:
    pattern: str
    category: str
    status: str
    confidence: float
    description: str
    members: list[str]  # "role: qualified name (path:line)"


@dataclass
class PatternSection:
    rule: str = PATTERN_RULE
    items: list[PatternItem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # status -> patterns
    empty: str | None = None


@dataclass
class Report:
    overview: Overview
    hotspots: HotspotSection
    coupling: CouplingSection
    ownership: OwnershipSection
    knowledge: KnowledgeSection
    builds: BuildSection
    budget: BudgetSection
    clusters: ClusterSection = field(default_factory=ClusterSection)
    patterns: PatternSection = field(default_factory=PatternSection)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# -------------------------------------------------------------------------- collecting


def _git_empty(ov: Overview) -> str:
    root = ov.root
    if ov.git_status == "not_a_repo":
        return f"No git history: {root} is not a git repository."
    if ov.git_status == "empty":
        return "No git history: the repository has no commits yet."
    if ov.git_status == "error":
        return f"No git history: mining failed ({ov.git_message or 'no details'})."
    if ov.git_status == "ok" and ov.commits_counted == 0:
        return "No git history counts: every mined commit was ignored by the ignore policy."
    return f"No git history mined yet: run `mira-ls mine {root}` or open it in the editor."


def _overview(
    conn: Connection, project: projects.Project | None, root: Path, db: str, now: int
) -> Overview:
    ov = Overview(
        name=project.name if project else root.name,
        root=str(root),
        known=project is not None,
        generated_at=now,
        database=db,
    )
    if project is None:
        return ov
    t = q.index_totals(conn, project.id)
    ov.indexed_files, ov.symbols, ov.languages = t.files, t.symbols, t.languages
    ov.last_indexed_at = t.last_indexed_at
    att = q.git_attachment(conn, project.id)
    if att is not None:
        ov.git_status = att.status
        ov.git_message = att.error
        ov.head_commit, ov.head_ref = att.head_commit, att.head_ref
        ov.shallow, ov.last_mined_at = att.is_shallow, att.last_mined_at
    ov.commits_counted, ov.commits_ignored = q.commit_counts(conn, project.id)
    if att is None and (ov.commits_counted or ov.commits_ignored):
        ov.git_status = "ok"
    return ov


def _hotspots(
    conn: Connection, pid: int, ov: Overview, churn: list[q.FileChurn], settings: Settings
) -> HotspotSection:
    sec = HotspotSection(HOTSPOT_FORMULA.format(max_files=settings.git.max_changeset_files))
    sec.files_with_history = len(churn)
    if not churn:
        sec.empty = _git_empty(ov)
        return sec
    cx = {f.path: f for f in q.file_complexity(conn, pid)}
    if not cx:
        sec.empty = f"No index yet: run `mira-ls index {ov.root}` to measure complexity."
        return sec
    items = []
    for c in churn:
        f = cx.get(c.path)
        if f is None:
            continue
        items.append(
            Hotspot(
                path=c.path,
                language=f.language,
                lines=f.line_count,
                commits=c.commits,
                churn=c.added + c.deleted,
                complexity=f.complexity,
                symbols=f.symbols,
                score=c.commits * f.complexity,
                last_change_at=c.last_at,
            )
        )
    items.sort(key=lambda h: (-h.score, -h.commits, h.path))
    sec.files_ranked = len(items)
    sec.items = items[:TOP_HOTSPOTS]
    _function_hotspots(conn, pid, sec)
    if not items:
        sec.empty = (
            "No file with git history has indexed symbols (only files in indexed languages "
            "have a complexity)."
        )
    return sec


def _function_hotspots(conn: Connection, pid: int, sec: HotspotSection) -> None:
    """Definitions ranked by changes × complexity, from the X-Rays already computed (the
    report does not run them: `mira-ls xray FILE`, or opening the file in the editor, does)."""
    ranked: list[FunctionHotspot] = []
    files = 0
    for path in sorted({h.path for h in sec.items} | set(q.xray_paths(conn, pid))):
        x = git_xray.latest(conn, pid, path)
        if x is None:
            continue
        files += 1
        cx = q.symbol_complexity(conn, pid, path)
        lang = language_for_path(path)
        if not cx or lang is None:
            continue
        mod = module_name(path, lang)
        for d in x.definitions:
            hit = cx.get(f"{mod}.{d.symbol}")
            if hit is None or not d.changes:
                continue
            ranked.append(
                FunctionHotspot(path, d.symbol, hit[2], d.changes, hit[0], d.changes * hit[0])
            )
    ranked.sort(key=lambda f: (-f.score, -f.changes, f.path, f.symbol))
    sec.functions = ranked[:TOP_HOTSPOTS]
    sec.functions_note = (
        f"Definitions by changes × complexity (branches + 1), from the X-Rays of {files} "
        "file(s); a file gets one when it is opened in the editor or with `mira-ls xray FILE`."
    )


def _coupling(conn: Connection, pid: int, ov: Overview, settings: Settings) -> CouplingSection:
    sec = CouplingSection(rule=_coupling_rule(settings))
    cc = settings.cochange
    rows = q.strongest_pairs(conn, pid, TOP_PAIRS, cc.strong_shared, cc.strong_confidence)
    sec.pairs = [
        CouplingPair(
            r.file_a,
            r.file_b,
            r.shared,
            r.commits_a,
            r.commits_b,
            r.confidence,
            r.jaccard,
            r.dice,
            r.last_at,
            r.strong,
        )
        for r in rows
    ]
    sec.total_pairs = q.cochange_pair_count(conn, pid) if rows else 0
    if not rows:
        sec.empty = (
            _git_empty(ov)
            if ov.commits_counted == 0
            else "No pair of files changed together often enough to count as coupled."
        )
    return sec


def _main_owner_count(shares: list[float]) -> int:
    cum = 0.0
    for i, s in enumerate(shares, 1):
        cum += s
        if cum >= MAIN_OWNERS_SHARE - 1e-9:
            return i
    return len(shares)


def _group(rows: list[q.ExpertiseRow]) -> dict[str, list[q.ExpertiseRow]]:
    out: dict[str, list[q.ExpertiseRow]] = defaultdict(list)
    for r in rows:
        out[r.path].append(r)
    return out


def _ownership(conn: Connection, pid: int, ov: Overview) -> OwnershipSection:
    sec = OwnershipSection()
    dirs = []
    for path, authors in _group(q.expertise(conn, pid, "directory")).items():
        lines = sum(a.lines_added for a in authors)
        shares = [a.share for a in authors]
        frag = max(0.0, 1.0 - sum(s * s for s in shares)) if lines > 0 else 0.0
        dirs.append(
            DirectoryOwnership(
                path=path,
                authors=len(authors),
                commits=sum(a.commits for a in authors),
                lines_added=lines,
                fragmentation=round(frag, 6),
                main_owners=_main_owner_count(shares) if lines > 0 else 0,
                owners=[
                    Owner(a.author, a.email, a.share, a.commits, a.lines_added, a.last_at)
                    for a in authors[:3]
                ],
            )
        )
    sec.total_directories = len(dirs)
    dirs.sort(key=lambda d: (-d.commits, d.path))
    sec.directories = dirs[:TOP_DIRECTORIES]
    if not dirs:
        sec.empty = _git_empty(ov)
    return sec


def _knowledge(
    conn: Connection, pid: int, ov: Overview, churn: list[q.FileChurn], now: int
) -> KnowledgeSection:
    sec = KnowledgeSection(rule=KNOWLEDGE_RULE)
    by_file = _group(q.expertise(conn, pid, "file"))
    if not by_file:
        sec.empty = _git_empty(ov)
        return sec
    activity = q.author_activity(conn, pid)
    cutoff = now - INACTIVE_DAYS * DAY
    people = [a for a in activity.values() if a.counted > 0]  # not bots or merge-only
    sec.authors = len(people)
    sec.inactive_authors = sum(1 for a in people if a.last_at <= cutoff)
    present = q.indexed_paths(conn, pid) or None
    last_change = {c.path: c.last_at for c in churn}

    def last_of(a: q.ExpertiseRow) -> int:
        known = activity.get(a.email)
        return known.last_at if known is not None else a.last_at

    at_risk: list[AtRiskFile] = []
    for path, authors in by_file.items():
        if present is not None and path not in present:
            continue
        lines = sum(a.lines_added for a in authors)
        if lines <= 0:
            continue
        sec.files_considered += 1
        main = authors[: _main_owner_count([a.share for a in authors])]
        if any(last_of(a) > cutoff for a in main):
            continue
        abandoned = sum(a.share for a in authors if last_of(a) <= cutoff)
        at_risk.append(
            AtRiskFile(
                path=path,
                lines_added=lines,
                abandoned_share=round(min(1.0, abandoned), 6),
                main_owners=[
                    InactiveOwner(a.author, a.email, a.share, last_of(a), (now - last_of(a)) // DAY)
                    for a in main
                ],
                last_change_at=last_change.get(path, max(a.last_at for a in authors)),
            )
        )
    at_risk.sort(key=lambda f: (-f.abandoned_share, -f.lines_added, f.path))
    sec.files_at_risk = len(at_risk)
    sec.files = at_risk[:TOP_AT_RISK]
    if sec.files_considered == 0:
        sec.empty = "No file with lines added by a known author is in the index."
    return sec


def _builds(conn: Connection, pid: int, ov: Overview) -> BuildSection:
    t = q.build_totals(conn, pid)
    sec = BuildSection(
        runs=t.runs,
        failed_runs=t.failed,
        open_errors=t.open_errors,
        resolved_errors=t.resolved_errors,
        first_run_at=t.first_at,
        last_run_at=t.last_at,
    )
    if t.runs == 0 and t.open_errors + t.resolved_errors == 0:
        sec.empty = f"No builds run yet: run `mira-ls build {ov.root}` or mira.runBuild."
        return sec
    sec.recent_runs = [
        RunPoint(r.started_at, r.name, r.status, r.error_count, r.warning_count)
        for r in q.recent_build_runs(conn, pid, RECENT_RUNS)
    ]
    sec.days = [
        BuildDay(d.day, d.runs, d.failed, d.errors, d.warnings)
        for d in q.build_days(conn, pid, BUILD_DAYS)
    ]
    sec.categories = [
        CategoryCount(c.category, c.open, c.resolved, c.occurrences)
        for c in q.build_error_categories(conn, pid)
    ]
    sec.top_errors = [
        TopError(
            e.tool,
            e.code,
            e.category,
            e.message,
            (f"{e.file_path}:{e.line}" if e.line else e.file_path) if e.file_path else None,
            e.occurrences,
            e.first_seen_at,
            e.last_seen_at,
            e.status,
        )
        for e in q.top_build_errors(conn, pid, TOP_ERRORS)
    ]
    return sec


def _spend(row: q.SpendRow | None, period: str) -> Spend:
    if row is None:
        return Spend(period, 0, 0, 0, 0)
    return Spend(period, row.cost_micro, row.requests, row.cache_hits, row.saved_micro)


def _budget(conn: Connection, settings: Settings, now: int) -> BudgetSection:
    days = [dates.day(now - i * DAY) for i in range(SPEND_DAYS - 1, -1, -1)]
    daily = q.spend(conn, "day", days)
    today, month = days[-1], dates.month(now)
    monthly = q.spend(conn, "month", [month])
    total = q.spend_totals(conn)
    cache = q.cache_figures(conn, now)
    lookups = cache.hits + cache.misses
    sec = BudgetSection(
        day=_spend(daily.get(today), today),
        month=_spend(monthly.get(month), month),
        all_time=_spend(total, "all"),
        daily_limit_micro=round(settings.budget.daily_usd * 1_000_000),
        monthly_limit_micro=round(settings.budget.monthly_usd * 1_000_000),
        days=[_spend(daily.get(d), d) for d in days],
        cache_entries=cache.entries,
        cache_live_entries=cache.live_entries,
        cache_bytes=cache.bytes,
        cache_hits=cache.hits,
        cache_misses=cache.misses,
        cache_hit_rate=(cache.hits / lookups) if lookups else None,
        cache_saved_micro=cache.saved_micro,
    )
    if total.requests == 0 and lookups == 0 and cache.entries == 0:
        sec.empty = "No LLM requests recorded yet: nothing spent, nothing cached."
    return sec


def _clusters(conn: Connection, pid: int, root: Path) -> ClusterSection:
    found = cluster_store.clusters(conn, pid)
    if not found:
        return ClusterSection(
            empty=f"No domain clusters computed yet: run `mira-ls clusters {root}` after "
            "indexing (and mining, for co-change)."
        )
    items = [
        ClusterItem(c.name, c.description, c.named_by, c.members, c.symbol_count,
                    c.cohesion, [e.author for e in c.experts])
        for c in found
    ]  # fmt: skip
    return ClusterSection(items=items, clustered_files=sum(len(c.files) for c in items))


PATTERNS_SHOWN = 60


def _patterns(conn: Connection, pid: int, root: Path) -> PatternSection:
    found = [p for p in pattern_store.patterns(conn, pid) if p.status != "rejected"]
    if not found:
        return PatternSection(
            empty=f"No design patterns found yet: run `mira-ls design-patterns {root}` "
            "(add --validate to have the LLM check them)."
        )
    counts: dict[str, int] = {}
    for p in found:
        counts[p.status] = counts.get(p.status, 0) + 1
    items = [
        PatternItem(p.pattern, p.category, p.status, p.confidence, p.description or "",
                    [f"{role}: {qn} ({fp}:{line})" for qn, role, fp, line in p.members])
        for p in found[:PATTERNS_SHOWN]
    ]  # fmt: skip
    return PatternSection(items=items, counts=counts)


def collect(
    store: Store, root: Path | str, settings: Settings, *, now: int | None = None
) -> Report:
    """The report of the project at ``root`` (it need not be indexed or mined: sections
    without data say so)."""
    now = int(time.time()) if now is None else int(now)
    root_p = Path(root).expanduser().resolve()
    conn = store.conn()
    project = projects.by_root(conn, root_p)
    ov = _overview(conn, project, root_p, str(store.path), now)
    if project is None:
        note = f"{root_p} is not in the database yet: run `mira-ls index {root_p}` first."
        git_note = f"No git history mined yet: run `mira-ls mine {root_p}` after indexing."
        builds = BuildSection(empty=f"No builds run yet: run `mira-ls build {root_p}`.")
        return Report(
            overview=ov,
            hotspots=HotspotSection(
                HOTSPOT_FORMULA.format(max_files=settings.git.max_changeset_files), empty=note
            ),
            coupling=CouplingSection(rule=_coupling_rule(settings), empty=git_note),
            ownership=OwnershipSection(empty=git_note),
            knowledge=KnowledgeSection(rule=KNOWLEDGE_RULE, empty=git_note),
            builds=builds,
            budget=_budget(conn, settings, now),
            clusters=ClusterSection(empty=note),
            patterns=PatternSection(empty=note),
        )
    pid = project.id
    churn = q.file_churn(conn, pid)
    return Report(
        overview=ov,
        hotspots=_hotspots(conn, pid, ov, churn, settings),
        coupling=_coupling(conn, pid, ov, settings),
        ownership=_ownership(conn, pid, ov),
        knowledge=_knowledge(conn, pid, ov, churn, now),
        builds=_builds(conn, pid, ov),
        budget=_budget(conn, settings, now),
        clusters=_clusters(conn, pid, root_p),
        patterns=_patterns(conn, pid, root_p),
    )
