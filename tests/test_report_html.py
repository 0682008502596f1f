"""The rendered report: empty states, escaping, no URL, well-formed SVG, money in dollars.

``parse_report`` reads the report's markup (or a browser's dump of its DOM) into plain
dicts; the browser test uses it too.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mira_ls.config import Settings
from mira_ls.index import indexer
from mira_ls.report import data, html, svg
from mira_ls.store import Store

SECTION_TITLES = {
    "overview": "Overview",
    "hotspots": "Hotspots",
    "coupling": "Coupling",
    "clusters": "Domain clusters",
    "patterns": "Design patterns",
    "ownership": "Ownership and fragmentation",
    "knowledge": "Knowledge-loss risk",
    "builds": "Build error trends",
    "budget": "Budget and cache",
}

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass
class Dom:
    """What a test needs from the page: headings, empty states, figures and table rows."""

    headings: dict[str, str] = field(default_factory=dict)  # section id -> h2 text
    empties: dict[str, str] = field(default_factory=dict)  # section -> empty-state text
    figs: dict[str, str] = field(default_factory=dict)  # figure key -> value text
    rows: dict[str, dict[str, dict[str, str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # table -> row key -> cell key -> text
    tags: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    attrs: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, name, value)
    title: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dom = Dom()
        self.stack: list[tuple[str, tuple[str, str] | None]] = []
        self.buffers: dict[int, list[str]] = {}
        self.section: str | None = None
        self.fig: str | None = None
        self.row: tuple[str, str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.dom.tags[tag] += 1
        self.dom.attrs.extend((tag, k, v) for k, v in a.items())
        target: tuple[str, str] | None = None
        if tag == "section":
            self.section = a.get("id")
        elif tag == "title" and not self.stack_has("svg"):
            target = ("title", "")
        elif tag == "h2" and self.section:
            target = ("h2", self.section)
        elif "data-empty" in a:
            target = ("empty", a["data-empty"])
        elif tag == "div" and a.get("class") == "fig":
            self.fig = a.get("data-k")
        elif tag == "span" and a.get("class") == "v" and self.fig:
            target = ("fig", self.fig)
        elif tag == "tr" and "data-row" in a:
            self.row = (a["data-row"], a.get("data-key", ""), {})
        elif tag == "td" and self.row is not None and "data-k" in a:
            target = ("cell", a["data-k"])
        if tag in VOID:
            return
        self.stack.append((tag, target))
        if target is not None:
            self.buffers[len(self.stack)] = []

    def stack_has(self, tag: str) -> bool:
        return any(t == tag for t, _ in self.stack)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.dom.tags[tag] += 1
        self.dom.attrs.extend((tag, k, v or "") for k, v in attrs)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            depth = len(self.stack)
            t, target = self.stack.pop()
            if target is not None:
                text = " ".join("".join(self.buffers.pop(depth)).split())
                kind, key = target
                if kind == "title":
                    self.dom.title = text
                elif kind == "h2":
                    self.dom.headings[key] = text
                elif kind == "empty":
                    self.dom.empties[key] = text
                elif kind == "fig":
                    self.dom.figs[key] = text
                elif kind == "cell" and self.row is not None:
                    self.row[2][key] = text
            if t == "tr" and self.row is not None:
                self.dom.rows[self.row[0]][self.row[1]] = self.row[2]
                self.row = None
            if t == "div":
                self.fig = None
            if t == tag:
                break

    def handle_data(self, text: str) -> None:
        for buf in self.buffers.values():
            buf.append(text)


def parse_report(markup: str) -> Dom:
    p = _Parser()
    p.feed(markup)
    p.close()
    return p.dom


URL = re.compile(r"https?://", re.IGNORECASE)


def assert_self_contained(markup: str) -> None:
    """No URL anywhere, nothing loaded from elsewhere, no script, a CSP forbidding fetches."""
    assert not URL.search(markup), URL.search(markup)
    dom = parse_report(markup)
    assert dom.tags.get("script", 0) == 0
    for tag, name, value in dom.attrs:
        if name in ("src", "href", "xlink:href", "action", "srcset"):
            assert value.startswith("#"), (tag, name, value)
    assert "default-src 'none'" in csp_of(dom)


def csp_of(dom: Dom) -> str:
    found = [v for t, n, v in dom.attrs if t == "meta" and n == "content" and "-src" in v]
    return found[0] if found else ""


# ---------------------------------------------------------------------- empty states


def test_project_never_indexed(tmp_path: Path, tmp_db: Store) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    r = data.collect(tmp_db, root, Settings())
    assert not r.overview.known
    assert r.overview.indexed_files == 0 and r.overview.commits_counted == 0
    assert "is not in the database yet" in (r.hotspots.empty or "")
    for sec in (r.coupling, r.ownership, r.knowledge):
        assert (sec.empty or "").startswith("No git history mined yet")
    assert (r.builds.empty or "").startswith("No builds run yet")
    assert (r.budget.empty or "").startswith("No LLM requests recorded yet")
    assert r.hotspots.items == [] and r.coupling.pairs == [] and r.knowledge.files == []

    markup = html.render(r)
    dom = parse_report(markup)
    assert dom.headings == SECTION_TITLES
    assert set(dom.empties) == {
        "overview",
        "hotspots",
        "coupling",
        "clusters",
        "patterns",
        "ownership",
        "knowledge",
        "builds",
        "budget",
    }
    assert dom.empties["builds"].startswith("No builds run yet")
    # no invented numbers: the figures are zeros and "n/a"
    assert dom.figs["indexed_files"] == "0" and dom.figs["commits_counted"] == "0"
    assert dom.figs["spent_today"] == "$0.00" and dom.figs["hit_rate"] == "n/a"
    assert_self_contained(markup)
    # the database was only read: no project row was created
    assert tmp_db.conn().execute("SELECT COUNT(*) FROM projects").fetchone()[0] == 0


def _plain_project(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text(
        "def a(x):\n    if x:\n        return 1\n    return 2\n\n\nclass B:\n    pass\n"
    )
    (root / "pkg" / "other.py").write_text("def c():\n    return 3\n")


def test_project_without_git_indexed_only(tmp_path: Path, tmp_db: Store) -> None:
    root = tmp_path / "plain"
    _plain_project(root)
    stats = indexer.index_workspace(tmp_db, root, Settings().index)
    assert stats.files == 2
    r = data.collect(tmp_db, root, Settings())
    assert r.overview.known and r.overview.indexed_files == 2
    assert r.overview.symbols == stats.symbols
    assert r.overview.git_status == "not mined"
    assert (r.hotspots.empty or "").startswith("No git history mined yet")
    assert (r.coupling.empty or "").startswith("No git history mined yet")
    assert (r.ownership.empty or "").startswith("No git history mined yet")
    assert (r.knowledge.empty or "").startswith("No git history mined yet")
    dom = parse_report(html.render(r))
    assert dom.headings == SECTION_TITLES
    assert dom.figs["indexed_files"] == "2"
    assert dom.rows["overview"]["languages"]["value"] == "python 2"
    assert "overview" not in dom.empties  # the project is known


def test_project_without_git_after_mining(tmp_path: Path, tmp_db: Store) -> None:
    from mira_ls.git import miner

    root = tmp_path / "plain"
    _plain_project(root)
    stats = indexer.index_workspace(tmp_db, root, Settings().index)
    mined = miner.mine(tmp_db, stats.project_id, root, Settings())
    assert mined.status == "not_a_repo"
    r = data.collect(tmp_db, root, Settings())
    assert r.overview.git_status == "not_a_repo"
    assert r.hotspots.empty == f"No git history: {root.resolve()} is not a git repository."
    assert r.knowledge.empty == r.hotspots.empty
    dom = parse_report(html.render(r))
    assert dom.rows["overview"]["git"]["value"].startswith("not a git repository")
    assert dom.empties["hotspots"].endswith("is not a git repository.")


# ------------------------------------------------------------------ escaping and URLs

EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)> https://evil.example/'


def _evil_report() -> data.Report:
    """A report whose every text field is hostile (paths, names, messages)."""
    e = EVIL
    ov = data.Overview(
        name=e,
        root=e,
        known=True,
        generated_at=1_700_000_000,
        database=e,
        indexed_files=1,
        symbols=2,
        languages={e: 1},
        git_status="error",
        git_message=e,
        commits_counted=1,
        commits_ignored={e: 1},
    )
    hs = data.HotspotSection(
        e, [data.Hotspot(e, e, 10, 3, 7, 4, 2, 12, 1_700_000_000)], files_with_history=1
    )
    hs.files_ranked = 1
    cp = data.CouplingSection(
        e, [data.CouplingPair(e, e + "2", 3, 4, 5, 0.75, 0.5, 0.6, 1_700_000_000, True)], 1
    )
    owner = data.Owner(e, e, 0.7, 3, 30, 1_700_000_000)
    ow = data.OwnershipSection([data.DirectoryOwnership(e, 2, 3, 40, 0.42, 1, [owner])], 1)
    kn = data.KnowledgeSection(
        e,
        [data.AtRiskFile(e, 9, 1.0, [data.InactiveOwner(e, e, 1.0, 1_600_000_000, 1157)])],
        files_considered=1,
        files_at_risk=1,
        inactive_authors=1,
        authors=1,
    )
    bs = data.BuildSection(
        runs=1,
        failed_runs=1,
        open_errors=1,
        recent_runs=[data.RunPoint(1_700_000_000, e, "failed", 1, 0)],
        days=[data.BuildDay("2023-11-14", 1, 1, 1, 0)],
        categories=[data.CategoryCount(e, 1, 0, 1)],
        top_errors=[
            data.TopError(e, e, e, e, e, 1, 1_700_000_000, 1_700_000_000, "open"),
        ],
    )
    sp = data.Spend("2023-11-14", 1, 1, 0, 0)
    bu = data.BudgetSection(sp, dataclasses.replace(sp, period="2023-11"), sp, 5, 150, [sp])
    return data.Report(ov, hs, cp, ow, kn, bs, bu)


def test_hostile_text_is_escaped_everywhere() -> None:
    markup = html.render(_evil_report())
    dom = parse_report(markup)
    assert dom.tags.get("script", 0) == 0
    assert dom.tags.get("img", 0) == 0
    assert "<script>" not in markup and "<img" not in markup
    assert "&lt;script&gt;" in markup
    # the text survives, shown as text
    assert dom.rows["hotspot"][EVIL]["path"] == " ".join(EVIL.split())
    assert dom.rows["build-error"][f"{EVIL}:{EVIL}:0"]["message"] == " ".join(EVIL.split())
    assert EVIL.split()[0] in dom.title
    # the URL in the data is text only: nothing links to it or loads it
    for _tag, name, value in dom.attrs:
        if name in ("src", "href"):
            assert value.startswith("#"), value
    assert "default-src 'none'" in csp_of(dom)


def test_report_names_no_url_and_has_no_script(tmp_path: Path, tmp_db: Store) -> None:
    root = tmp_path / "plain"
    _plain_project(root)
    indexer.index_workspace(tmp_db, root, Settings().index)
    assert_self_contained(html.render(data.collect(tmp_db, root, Settings())))


# ------------------------------------------------------------------------ SVG and units


def _xml(fragment: str) -> ET.Element:
    """Inline SVG must be well-formed markup on its own."""
    return ET.fromstring(fragment)


def test_svg_charts_are_well_formed_and_scaled() -> None:
    bars = svg.hbars([svg.Bar("a/b.py", 45, "45"), svg.Bar("<c>", 0, "0")])
    root = _xml(bars)
    widths = [float(r.get("width", 0)) for r in root.iter("rect")]
    assert widths[0] > widths[1] >= 1  # a zero still shows as a sliver
    assert "&lt;c&gt;" in bars

    cols = svg.columns([0, 0], ["d1", "d2"])
    assert [float(r.get("height", -1)) for r in _xml(cols).iter("rect")] == [0.0, 0.0]
    cols = svg.columns([2, 1], ["r1", "r2"], highlight=[True, False])
    rects = list(_xml(cols).iter("rect"))
    assert float(rects[0].get("height", 0)) == pytest.approx(2 * float(rects[1].get("height", 0)))
    assert rects[0].get("fill") != rects[1].get("fill")

    arcs = _xml(svg.arc_diagram(["a", "b", "c"], [svg.Link(0, 2, 3, 0.6, "a-c")]))
    assert len(list(arcs.iter("path"))) == 1 and len(list(arcs.iter("circle"))) == 3

    share = _xml(svg.share_bar([("x", 0.75), ("y", 0.5)], width=200))
    # shares past 100% are cut at the bar's end
    assert sum(float(r.get("width", 0)) for r in share.iter("rect")) == pytest.approx(200)
    _xml(svg.gauge(None))
    _xml(svg.gauge(2.0))
    assert svg.hbars([]) == "" and svg.columns([], []) == "" and svg.arc_diagram([], []) == ""


def test_money_and_figures_formatting() -> None:
    assert html.dollars(12_500) == "$0.0125"
    assert html.dollars(0) == "$0.00"
    assert html.dollars(30_000) == "$0.03"
    assert html.dollars(5_000_000) == "$5.00"
    assert html.dollars(150_000_000) == "$150.00"
    assert html.dollars(12_345_678) == "$12.35"
    assert html.pct(None) == "n/a" and html.pct(0.5) == "50%" and html.pct(0.005) == "0.5%"
    assert html.nbytes(512) == "512 B" and html.nbytes(2048) == "2.0 KB"
    assert html.date(1_700_000_000) == "2023-11-14"
    assert html.date(None) == "never"


def test_json_of_a_report_round_trips() -> None:
    import json

    doc: dict[str, Any] = json.loads(json.dumps(_evil_report().as_json()))
    assert doc["hotspots"]["items"][0]["score"] == 12
    assert doc["budget"]["day"]["cost_micro"] == 1


def test_real_file_names_with_markup_are_escaped(tmp_path: Path, tmp_db: Store) -> None:
    """File and folder names may contain <, > and &; they reach the page as text."""
    from mira_ls.git import miner
    from tests.support.repo import Repo

    repo = Repo(tmp_path / "w<s>&")
    evil = "<img src=x onerror=alert(1)>&.py"
    body = "def a(x):\n    if x:\n        return 1\n    return 2\n"
    repo.commit(
        "one",
        {evil: body, "b.py": "def b():\n    return 1\n"},
        author=("Eve & Co", "eve@example.com"),
    )
    repo.commit("two", {evil: body + "# x\n", "b.py": "def b():\n    return 2\n"})
    settings = Settings()
    settings.cochange.min_shared = 2  # two commits
    stats = indexer.index_workspace(tmp_db, repo.root, settings.index)
    assert miner.mine(tmp_db, stats.project_id, repo.root, settings).status == "ok"
    markup = html.render(data.collect(tmp_db, repo.root, settings))
    dom = parse_report(markup)
    assert dom.tags.get("img", 0) == 0 and "<img" not in markup
    assert dom.rows["hotspot"][evil]["score"] == "6"  # 2 commits × (module 1 + a 2)
    assert dom.rows["pair"][f"{evil}|b.py"]["shared"] == "2"
    assert "Eve &amp; Co" in markup
    assert dom.title == "mira-ls report: w<s>&"
    assert_self_contained(markup)
