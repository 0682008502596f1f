"""Render a collected Report as one self-contained HTML file.

Inline CSS, inline SVG, no script and no URL: a Content-Security-Policy of ``default-src
'none'`` makes sure nothing is fetched even if a commit message or build error contains a
link. Escaping is the default: fragments are ``markupsafe.Markup`` templates, so every
value put into one is escaped unless it is itself ``Markup`` (a chart from ``svg``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from markupsafe import Markup

from mira_ls import __version__, dates
from mira_ls.report import svg
from mira_ls.report.data import (
    INACTIVE_DAYS,
    BudgetSection,
    BuildSection,
    ClusterSection,
    CouplingSection,
    HotspotSection,
    KnowledgeSection,
    Overview,
    OwnershipSection,
    PatternSection,
    Report,
)

CSS = """
:root { --fg: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #ffffff; --soft: #f5f7fa;
        --accent: #3867d6; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; padding: 24px 32px 48px; font-size: 14px;
       line-height: 1.45; max-width: 1200px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 6px; padding-top: 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
header .meta, .rule, .note { color: var(--muted); }
.rule { font-size: 12.5px; max-width: 960px; }
nav { margin: 12px 0 8px; display: flex; flex-wrap: wrap; gap: 6px 14px; }
nav a { color: var(--accent); text-decoration: none; }
section { border-top: 1px solid var(--line); padding: 14px 0 18px; }
.figs { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.fig { background: var(--soft); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.fig .v { display: block; font-size: 20px; font-weight: bold; }
.fig .l { display: block; color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { color: var(--muted); font-weight: normal; font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; padding-right: 14px; }
td.path { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px;
          overflow-wrap: anywhere; min-width: 220px; max-width: 460px; }
td.date { white-space: nowrap; }
td.msg { max-width: 520px; word-break: break-word; }
.empty { background: #fff8e1; border-left: 4px solid #f7b731; padding: 8px 12px;
         margin: 8px 0; max-width: 960px; }
.status-failed, .status-open { color: #c0392b; }
.status-succeeded, .status-resolved { color: #1e8449; }
svg.chart { display: block; margin: 8px 0; max-width: 100%; height: auto; }
svg.share, svg.gauge { vertical-align: middle; }
.legend { color: var(--muted); font-size: 12px; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
         padding-top: 10px; }
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

SECTIONS = (
    ("overview", "Overview"),
    ("hotspots", "Hotspots"),
    ("coupling", "Coupling"),
    ("clusters", "Domain clusters"),
    ("patterns", "Design patterns"),
    ("ownership", "Ownership and fragmentation"),
    ("knowledge", "Knowledge-loss risk"),
    ("builds", "Build error trends"),
    ("budget", "Budget and cache"),
)


# ------------------------------------------------------------------------- formatting


def date(ts: int | None) -> str:
    return dates.day(ts, "never")


def when(ts: int | None) -> str:
    return dates.minute(ts, "never")


def dollars(micro: int) -> str:
    """Micro-dollars as dollars: cents for whole-cent amounts and sums of $10 or more, four
    decimals for the fractions of a cent a single request costs."""
    d = micro / 1_000_000
    if abs(d) >= 10 or micro % 10_000 == 0:
        return f"${d:,.2f}"
    return f"${d:,.4f}"


def pct(x: float | None) -> str:
    """Whole percents; one decimal under 10% so a small non-zero share does not read 0%."""
    if x is None:
        return "n/a"
    if 0 < abs(x) < 0.1:
        return f"{x * 100:.1f}%"
    return f"{x * 100:.0f}%"


def nbytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def num(n: int) -> str:
    return f"{n:,}"


# --------------------------------------------------------------------------- building


def _join(parts: Iterable[str]) -> Markup:
    """Concatenate fragments; a plain ``str`` among them is escaped (it is text)."""
    return Markup("").join(parts)


def _p(cls: str, text: str) -> Markup:
    return Markup('<p class="{}">{}</p>').format(cls, text)


def _fig(key: str, value: str, label: str) -> Markup:
    return Markup(
        '<div class="fig" data-k="{}"><span class="v">{}</span><span class="l">{}</span></div>'
    ).format(key, value, label)


def _figs(items: Iterable[tuple[str, str, str]]) -> Markup:
    return Markup('<div class="figs">{}</div>').format(_join(_fig(*i) for i in items))


def _empty(section: str, text: str) -> Markup:
    return Markup('<p class="empty" data-empty="{}">{}</p>').format(section, text)


Cell = tuple[str, str, str]  # (data key, shown text or Markup, css class)


def _table(
    kind: str, headers: Sequence[tuple[str, str]], rows: Iterable[tuple[str, Sequence[Cell]]]
) -> Markup:
    """``headers``: (label, css class); each row: (its key, cells). A cell's text is
    escaped unless it is ``Markup`` (a chart)."""
    head = _join(Markup('<th class="{}">{}</th>').format(c, h) for h, c in headers)
    body = _join(
        Markup('<tr data-row="{}" data-key="{}">{}</tr>').format(
            kind,
            key,
            _join(
                Markup('<td data-k="{}" class="{}">{}</td>').format(k, cls, text)
                for k, text, cls in cells
            ),
        )
        for key, cells in rows
    )
    return Markup(
        '<table data-table="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
    ).format(kind, head, body)


def _section(sid: str, title: str, body: Iterable[str]) -> Markup:
    return Markup('<section id="{}" data-section="{}"><h2>{}</h2>{}</section>').format(
        sid, sid, title, _join(body)
    )


def _path(p: str) -> str:
    return p if p else "(whole repository)"


# ----------------------------------------------------------------------------- sections


def _overview(ov: Overview) -> Markup:
    parts: list[Markup] = []
    if not ov.known:
        parts.append(
            _empty(
                "overview",
                f"{ov.root} is not in the database yet: nothing has been indexed or mined. "
                f"Run `mira-ls index {ov.root}` (and `mira-ls mine {ov.root}`), then "
                "generate the report again.",
            )
        )
    ignored = sum(ov.commits_ignored.values())
    parts.append(
        _figs(
            [
                ("indexed_files", num(ov.indexed_files), "files indexed"),
                ("symbols", num(ov.symbols), "symbols"),
                ("commits_counted", num(ov.commits_counted), "commits counted"),
                ("commits_ignored", num(ignored), "commits ignored"),
            ]
        )
    )
    langs = ", ".join(f"{k} {v}" for k, v in ov.languages.items()) or "none"
    why = ", ".join(f"{k} {v}" for k, v in sorted(ov.commits_ignored.items())) or "none"
    git = {
        "ok": "mined",
        "not mined": "not mined yet",
        "not_a_repo": "not a git repository",
        "empty": "repository without commits",
        "error": "mining failed",
        "pending": "mining pending",
    }.get(ov.git_status, ov.git_status)
    if ov.git_status == "ok" and ov.head_commit:
        git += f" at {ov.head_commit[:12]}" + (f" ({ov.head_ref})" if ov.head_ref else "")
    if ov.shallow:
        git += ", shallow clone (older history missing)"
    if ov.git_message and ov.git_status != "ok":
        git += f": {ov.git_message}"
    rows = [
        ("languages", "Languages (files)", langs),
        ("last_indexed", "Last indexed", when(ov.last_indexed_at)),
        ("git", "Git history", git),
        ("last_mined", "Last mined", when(ov.last_mined_at)),
        ("ignored_reasons", "Ignored commits by reason", why),
    ]
    parts.append(
        _table(
            "overview",
            [("", ""), ("", "")],
            ((k, [("label", label, ""), ("value", value, "")]) for k, label, value in rows),
        )
    )
    return _section("overview", "Overview", parts)


def _hotspots(sec: HotspotSection) -> Markup:
    parts = [Markup('<p class="rule" data-k="formula">{}</p>').format(sec.formula)]
    if sec.empty:
        parts.append(_empty("hotspots", sec.empty))
        return _section("hotspots", "Hotspots", parts)
    parts.append(
        _p(
            "note",
            f"Top {len(sec.items)} of {num(sec.files_ranked)} files with both history and "
            f"indexed symbols ({num(sec.files_with_history)} files have history).",
        )
    )
    parts.append(
        svg.hbars(
            [
                svg.Bar(
                    h.path,
                    h.score,
                    num(h.score),
                    f"{h.path}: {h.commits} commits × complexity {h.complexity} = {h.score}",
                )
                for h in sec.items
            ],
            color=svg.PALETTE[3],
        )
    )
    parts.append(
        _table(
            "hotspot",
            [
                ("#", "num"),
                ("File", ""),
                ("Score", "num"),
                ("Commits", "num"),
                ("Complexity", "num"),
                ("Symbols", "num"),
                ("Lines churned", "num"),
                ("Lines", "num"),
                ("Last change", ""),
            ],
            (
                (
                    h.path,
                    [
                        ("rank", str(i), "num"),
                        ("path", h.path, "path"),
                        ("score", num(h.score), "num"),
                        ("commits", num(h.commits), "num"),
                        ("complexity", num(h.complexity), "num"),
                        ("symbols", num(h.symbols), "num"),
                        ("churn", num(h.churn), "num"),
                        ("lines", num(h.lines), "num"),
                        ("last_change", date(h.last_change_at), "date"),
                    ],
                )
                for i, h in enumerate(sec.items, 1)
            ),
        )
    )
    parts.append(_p("note", sec.functions_note))
    if sec.functions:
        parts.append(
            _table(
                "function_hotspot",
                [
                    ("#", "num"),
                    ("Definition", ""),
                    ("File", ""),
                    ("Score", "num"),
                    ("Changes", "num"),
                    ("Complexity", "num"),
                ],
                (
                    (
                        f"{f.path}|{f.symbol}",
                        [
                            ("rank", str(i), "num"),
                            ("symbol", f.symbol, ""),
                            ("path", f"{f.path}:{f.line}", "path"),
                            ("score", num(f.score), "num"),
                            ("changes", num(f.changes), "num"),
                            ("complexity", num(f.complexity), "num"),
                        ],
                    )
                    for i, f in enumerate(sec.functions, 1)
                ),
            )
        )
    return _section("hotspots", "Hotspots", parts)


def _coupling(sec: CouplingSection) -> Markup:
    parts = [_p("rule", sec.rule)]
    if sec.empty:
        parts.append(_empty("coupling", sec.empty))
        return _section("coupling", "Coupling", parts)
    nodes: list[str] = []
    index: dict[str, int] = {}
    for p in sec.pairs:
        for f in (p.file_a, p.file_b):
            if f not in index:
                index[f] = len(nodes)
                nodes.append(f)
    parts.append(
        _p(
            "note",
            f"The {len(sec.pairs)} strongest of {num(sec.total_pairs)} pairs. Each arc joins "
            "two files: thicker arcs share more commits, darker ones are more tightly coupled.",
        )
    )
    parts.append(
        svg.arc_diagram(
            nodes,
            [
                svg.Link(
                    index[p.file_a],
                    index[p.file_b],
                    p.shared,
                    p.confidence,
                    f"{p.file_a} ↔ {p.file_b}: {p.shared} of {p.commits_a} commits, "
                    f"confidence {p.confidence:.2f}",
                )
                for p in sec.pairs
            ],
        )
    )
    parts.append(
        _table(
            "pair",
            [
                ("File", ""),
                ("Changes with", ""),
                ("Shared", "num"),
                ("Commits (a)", "num"),
                ("Commits (b)", "num"),
                ("Confidence c/a", "num"),
                ("Jaccard", "num"),
                ("Dice", "num"),
                ("Strong", ""),
                ("Last together", ""),
            ],
            (
                (
                    f"{p.file_a}|{p.file_b}",
                    [
                        ("file_a", p.file_a, "path"),
                        ("file_b", p.file_b, "path"),
                        ("shared", num(p.shared), "num"),
                        ("commits_a", num(p.commits_a), "num"),
                        ("commits_b", num(p.commits_b), "num"),
                        ("confidence", f"{p.confidence:.2f}", "num"),
                        ("jaccard", f"{p.jaccard:.2f}", "num"),
                        ("dice", f"{p.dice:.2f}", "num"),
                        ("strong", "strong" if p.strong else "", ""),
                        ("last_at", date(p.last_at), "date"),
                    ],
                )
                for p in sec.pairs
            ),
        )
    )
    return _section("coupling", "Coupling", parts)


CLUSTER_FILES_SHOWN = 12


def _clusters(sec: ClusterSection) -> Markup:
    title = "Domain clusters"
    parts = [_p("rule", sec.rule)]
    if sec.empty:
        parts.append(_empty("clusters", sec.empty))
        return _section("clusters", title, parts)
    total = sec.clustered_files or 1
    parts.append(
        _p(
            "note",
            f"{len(sec.items)} clusters of {num(sec.clustered_files)} files; the bar maps "
            "each cluster's share of them, in the order of the table.",
        )
    )
    parts.append(svg.share_bar([(c.name, len(c.files) / total) for c in sec.items], width=600))
    rows = []
    for c in sec.items:
        shown = c.files[:CLUSTER_FILES_SHOWN]
        more = len(c.files) - len(shown)
        files = ", ".join(shown) + (f" and {more} more" if more else "")
        named = "" if c.named_by == "llm" else " (from its files' paths)"
        rows.append(
            (
                c.name,
                [
                    ("name", c.name, "path"),
                    ("description", f"{c.description}{named}", ""),
                    ("files", num(len(c.files)), "num"),
                    ("symbols", num(c.symbols), "num"),
                    ("cohesion", f"{c.cohesion:.2f}", "num"),
                    ("experts", ", ".join(c.experts), ""),
                    ("members", files, "path"),
                ],
            )
        )
    parts.append(
        _table(
            "cluster",
            [
                ("Domain", ""),
                ("Description", ""),
                ("Files", "num"),
                ("Symbols", "num"),
                ("Cohesion", "num"),
                ("Experts", ""),
                ("Files in it", ""),
            ],
            rows,
        )
    )
    return _section("clusters", title, parts)


def _patterns(sec: PatternSection) -> Markup:
    title = "Design patterns"
    parts = [_p("rule", sec.rule)]
    if sec.empty:
        parts.append(_empty("patterns", sec.empty))
        return _section("patterns", title, parts)
    shown = ", ".join(f"{n} {s}" for s, n in sorted(sec.counts.items(), key=lambda kv: kv[0]))
    parts.append(_p("note", f"{sum(sec.counts.values())} patterns: {shown}."))
    rows = []
    for it in sec.items:
        conf = f"{it.confidence:.2f}" if it.status == "validated" else ""
        rows.append(
            (
                it.pattern,
                [
                    ("pattern", it.pattern, ""),
                    ("category", it.category, ""),
                    ("status", it.status, f"status-{it.status}"),
                    ("confidence", conf, "num"),
                    ("members", "; ".join(it.members[:5]), "path"),
                    ("description", it.description, ""),
                ],
            )
        )
    parts.append(
        _table(
            "pattern",
            [
                ("Pattern", ""),
                ("Category", ""),
                ("Status", ""),
                ("Confidence", "num"),
                ("Symbols", ""),
                ("How it is used", ""),
            ],
            rows,
        )
    )
    return _section("patterns", title, parts)


def _ownership(sec: OwnershipSection) -> Markup:
    title = "Ownership and fragmentation"
    parts = [
        _p(
            "rule",
            "Per directory (history of its files, renames followed): the authors who added its "
            "lines, fragmentation 1 − Σ share² over their shares of lines added (0: one owner; "
            "near 1: many small owners), and how many authors wrote half of it.",
        )
    ]
    if sec.empty:
        parts.append(_empty("ownership", sec.empty))
        return _section("ownership", title, parts)
    parts.append(
        _p(
            "note",
            f"The {len(sec.directories)} busiest of {num(sec.total_directories)} directories, "
            "by counted commits.",
        )
    )
    rows = []
    for d in sec.directories:
        owners = "; ".join(f"{o.author} {pct(o.share)}" for o in d.owners)
        bar = svg.share_bar([(o.author, o.share) for o in d.owners])
        rows.append(
            (
                d.path,
                [
                    ("path", _path(d.path), "path"),
                    ("commits", num(d.commits), "num"),
                    ("authors", num(d.authors), "num"),
                    ("main_owners", num(d.main_owners), "num"),
                    ("fragmentation", f"{d.fragmentation:.2f}", "num"),
                    ("shares", bar, ""),
                    ("owners", owners, ""),
                ],
            )
        )
    parts.append(
        _table(
            "directory",
            [
                ("Directory", ""),
                ("Commits", "num"),
                ("Authors", "num"),
                ("Half written by", "num"),
                ("Fragmentation", "num"),
                ("Shares", ""),
                ("Top owners (share of lines added)", ""),
            ],
            rows,
        )
    )
    return _section("ownership", title, parts)


def _knowledge(sec: KnowledgeSection) -> Markup:
    title = "Knowledge-loss risk"
    parts = [_p("rule", sec.rule)]
    if sec.empty:
        parts.append(_empty("knowledge", sec.empty))
        return _section("knowledge", title, parts)
    parts.append(
        _figs(
            [
                ("files_at_risk", num(sec.files_at_risk), "files at risk"),
                ("files_considered", num(sec.files_considered), "files considered"),
                (
                    "inactive_authors",
                    f"{sec.inactive_authors} of {sec.authors}",
                    f"authors inactive for {INACTIVE_DAYS} days",
                ),
            ]
        )
    )
    if not sec.files:
        parts.append(
            Markup('<p class="note" data-none="knowledge">{}</p>').format(
                f"No file is at risk: every one of the {num(sec.files_considered)} files has a "
                f"main author active in the last {INACTIVE_DAYS} days."
            )
        )
        return _section("knowledge", title, parts)
    rows = []
    for f in sec.files:
        owners = "; ".join(
            f"{o.author} {pct(o.share)}, last commit {date(o.last_active_at)} "
            f"({o.days_inactive} days ago)"
            for o in f.main_owners
        )
        rows.append(
            (
                f.path,
                [
                    ("path", f.path, "path"),
                    ("abandoned", pct(f.abandoned_share), "num"),
                    ("lines_added", num(f.lines_added), "num"),
                    ("owners", owners, ""),
                    ("last_change", date(f.last_change_at), "date"),
                ],
            )
        )
    parts.append(
        _table(
            "at-risk",
            [
                ("File", ""),
                ("Written by inactive authors", "num"),
                ("Lines added", "num"),
                ("Main authors", ""),
                ("Last change", ""),
            ],
            rows,
        )
    )
    return _section("knowledge", title, parts)


def _builds(sec: BuildSection) -> Markup:
    title = "Build error trends"
    if sec.empty:
        return _section("builds", title, [_empty("builds", sec.empty)])
    parts = [
        _figs(
            [
                ("runs", num(sec.runs), "runs"),
                ("failed_runs", num(sec.failed_runs), "runs not succeeded"),
                ("open_errors", num(sec.open_errors), "open errors"),
                ("resolved_errors", num(sec.resolved_errors), "resolved errors"),
            ]
        ),
        _p("note", f"Runs from {date(sec.first_run_at)} to {date(sec.last_run_at)} (UTC)."),
    ]
    if sec.recent_runs:
        parts.append(
            Markup("<h3>{}</h3>").format(f"Errors per run (last {len(sec.recent_runs)} runs)")
        )
        parts.append(
            svg.columns(
                [r.errors for r in sec.recent_runs],
                [f"{when(r.started_at)} {r.name}" for r in sec.recent_runs],
                highlight=[r.status != "succeeded" for r in sec.recent_runs],
                shown=[
                    f"{r.errors} errors, {r.warnings} warnings, {r.status}" for r in sec.recent_runs
                ],
                axis_label="errors",
            )
        )
        parts.append(_p("legend", "Red columns: runs that did not succeed."))
    if sec.days:
        parts.append(Markup("<h3>Per day (UTC)</h3>"))
        parts.append(
            _table(
                "build-day",
                [
                    ("Day", ""),
                    ("Runs", "num"),
                    ("Not succeeded", "num"),
                    ("Errors", "num"),
                    ("Warnings", "num"),
                ],
                (
                    (
                        d.day,
                        [
                            ("day", d.day, "date"),
                            ("runs", num(d.runs), "num"),
                            ("failed", num(d.failed), "num"),
                            ("errors", num(d.errors), "num"),
                            ("warnings", num(d.warnings), "num"),
                        ],
                    )
                    for d in reversed(sec.days)
                ),
            )
        )
    if sec.categories:
        parts.append(Markup("<h3>Errors by category</h3>"))
        parts.append(
            _table(
                "category",
                [("Category", ""), ("Open", "num"), ("Resolved", "num"), ("Seen in runs", "num")],
                (
                    (
                        c.category,
                        [
                            ("category", c.category, ""),
                            ("open", num(c.open), "num"),
                            ("resolved", num(c.resolved), "num"),
                            ("occurrences", num(c.occurrences), "num"),
                        ],
                    )
                    for c in sec.categories
                ),
            )
        )
    if sec.top_errors:
        parts.append(Markup("<h3>Most recurring errors</h3>"))
        parts.append(
            _table(
                "build-error",
                [
                    ("Tool", ""),
                    ("Code", ""),
                    ("Category", ""),
                    ("Message", ""),
                    ("Where", ""),
                    ("Runs", "num"),
                    ("First seen", ""),
                    ("Last seen", ""),
                    ("Status", ""),
                ],
                (
                    (
                        f"{e.tool}:{e.code or ''}:{i}",
                        [
                            ("tool", e.tool, ""),
                            ("code", e.code or "", ""),
                            ("category", e.category, ""),
                            ("message", e.message, "msg"),
                            ("location", e.location or "", "path"),
                            ("occurrences", num(e.occurrences), "num"),
                            ("first_seen", date(e.first_seen_at), "date"),
                            ("last_seen", date(e.last_seen_at), "date"),
                            ("status", e.status, f"status-{e.status}"),
                        ],
                    )
                    for i, e in enumerate(sec.top_errors)
                ),
            )
        )
    return _section("builds", title, parts)


def _budget(sec: BudgetSection) -> Markup:
    title = "Budget and cache"
    parts = [
        _p(
            "rule",
            "LLM spending and the answer cache are shared by every project using this "
            "database. Days and months are UTC.",
        )
    ]
    if sec.empty:
        parts.append(_empty("budget", sec.empty))
    day_frac = sec.day.cost_micro / sec.daily_limit_micro if sec.daily_limit_micro else None
    month_frac = sec.month.cost_micro / sec.monthly_limit_micro if sec.monthly_limit_micro else None
    parts.append(
        _figs(
            [
                ("spent_today", dollars(sec.day.cost_micro), f"spent today ({sec.day.period})"),
                (
                    "spent_month",
                    dollars(sec.month.cost_micro),
                    f"spent this month ({sec.month.period})",
                ),
                ("spent_total", dollars(sec.all_time.cost_micro), "spent in all"),
                ("saved_total", dollars(sec.cache_saved_micro), "saved by the cache"),
                ("hit_rate", pct(sec.cache_hit_rate), "cache hit rate"),
            ]
        )
    )
    parts.append(
        _table(
            "budget",
            [
                ("", ""),
                ("Spent", "num"),
                ("Limit", "num"),
                ("", ""),
                ("Requests", "num"),
                ("Cache hits", "num"),
                ("Saved", "num"),
            ],
            [
                (
                    "day",
                    [
                        ("period", f"Today ({sec.day.period})", ""),
                        ("spent", dollars(sec.day.cost_micro), "num"),
                        ("limit", dollars(sec.daily_limit_micro), "num"),
                        ("gauge", svg.gauge(day_frac) + f" {pct(day_frac)}", ""),
                        ("requests", num(sec.day.requests), "num"),
                        ("cache_hits", num(sec.day.cache_hits), "num"),
                        ("saved", dollars(sec.day.saved_micro), "num"),
                    ],
                ),
                (
                    "month",
                    [
                        ("period", f"This month ({sec.month.period})", ""),
                        ("spent", dollars(sec.month.cost_micro), "num"),
                        ("limit", dollars(sec.monthly_limit_micro), "num"),
                        ("gauge", svg.gauge(month_frac) + f" {pct(month_frac)}", ""),
                        ("requests", num(sec.month.requests), "num"),
                        ("cache_hits", num(sec.month.cache_hits), "num"),
                        ("saved", dollars(sec.month.saved_micro), "num"),
                    ],
                ),
            ],
        )
    )
    if not sec.empty and sec.days:
        parts.append(Markup("<h3>{}</h3>").format(f"Spending per day (last {len(sec.days)} days)"))
        parts.append(
            svg.columns(
                [d.cost_micro / 1_000_000 for d in sec.days],
                [d.period for d in sec.days],
                shown=[
                    f"{dollars(d.cost_micro)}, {d.requests} requests, {d.cache_hits} cache hits"
                    for d in sec.days
                ],
                color=svg.PALETTE[2],
                axis_label="dollars",
            )
        )
    parts.append(Markup("<h3>Answer cache</h3>"))
    parts.append(
        _table(
            "cache",
            [("", ""), ("", "num")],
            [
                (k, [("label", label, ""), ("value", value, "num")])
                for k, label, value in (
                    (
                        "entries",
                        "Entries (live)",
                        f"{num(sec.cache_entries)} ({num(sec.cache_live_entries)})",
                    ),
                    ("bytes", "Size", nbytes(sec.cache_bytes)),
                    ("hits", "Hits", num(sec.cache_hits)),
                    ("misses", "Misses", num(sec.cache_misses)),
                    ("hit_rate", "Hit rate", pct(sec.cache_hit_rate)),
                    ("saved", "Saved by hits", dollars(sec.cache_saved_micro)),
                )
            ],
        )
    )
    return _section("budget", title, parts)


# ------------------------------------------------------------------------------- page


def render(report: Report) -> str:
    ov = report.overview
    nav = _join(Markup('<a href="#{}">{}</a>').format(sid, t) for sid, t in SECTIONS)
    body = _join(
        [
            _overview(ov),
            _hotspots(report.hotspots),
            _coupling(report.coupling),
            _clusters(report.clusters),
            _patterns(report.patterns),
            _ownership(report.ownership),
            _knowledge(report.knowledge),
            _builds(report.builds),
            _budget(report.budget),
        ]
    )
    page = Markup(
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="mira-ls {version}">'
        "<title>mira-ls report: {name}</title>"
        "<style>{css}</style></head><body>"
        "<header><h1>mira-ls insight report: {name}</h1>"
        '<p class="meta">{root} · generated {generated} · database {database}</p>'
        "<nav>{nav}</nav></header>"
        "<main>{body}</main>"
        "<footer>Generated by mira-ls {version} from its database; no data left this "
        "machine. Recency is measured from the generation time.</footer></body></html>\n"
    ).format(
        csp=CSP,
        version=__version__,
        name=ov.name,
        css=Markup(CSS),  # our own constant; nothing in it comes from the database
        root=ov.root,
        generated=when(ov.generated_at),
        database=ov.database,
        nav=nav,
        body=body,
    )
    return str(page)
