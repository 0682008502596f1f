"""The report in a real browser: headless Chromium (Debian's ``chromium`` package) renders the
file, the test reads the DOM Chromium built and looks at a screenshot it took.

Skipped only when ``chromium`` is not on PATH (CI installs it: ``apt-get install chromium``).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from mira_ls.features import report
from mira_ls.store import Store
from mira_ls.store import design_patterns as dp
from mira_ls.understand import clusters
from tests.test_report_data import (
    SPEND_TODAY,
    Project,
    add_builds,
    add_llm_usage,
    build_project,
    settings_for_tests,
)
from tests.test_report_html import SECTION_TITLES, Dom, assert_self_contained, parse_report

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not on PATH; install Debian's package: apt-get install -y chromium",
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium as root in CI: no sandbox, no GPU, no network chatter, a fresh
    profile in the test's temporary directory."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rendered_dom(tmp_path: Path, page: Path) -> Dom:
    out = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert out.returncode == 0, out.stderr[-2000:]
    assert "<section" in out.stdout, out.stderr[-2000:]
    return parse_report(out.stdout)


def screenshot(tmp_path: Path, page: Path) -> Path:
    png = tmp_path / "report.png"
    out = chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri())
    assert out.returncode == 0, out.stderr[-2000:]
    assert png.is_file(), out.stderr[-2000:]
    return png


def png_size(png: Path) -> tuple[int, int]:
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    w, h = struct.unpack(">II", head[16:24])
    return int(w), int(h)


def test_full_report_renders_with_its_numbers(tmp_path: Path, tmp_db: Store) -> None:
    p: Project = build_project(tmp_path, tmp_db)
    add_builds(p)
    add_llm_usage(p)
    clusters.compute(p.store, p.project_id)
    sid = (
        p.store.conn()
        .execute(  # a design pattern candidate, so that section has data
            "SELECT id FROM code_elements WHERE file_path = 'pkg/core.py' AND kind = 'function'"
        )
        .fetchone()[0]
    )
    with p.store.write() as w:
        dp.replace_patterns(
            w, p.project_id, [dp.Candidate("factory", "creational", sid, [(sid, "factory")], {})]
        )
    page, _ = report.write_workspace_report(p.store, p.root, p.settings, tmp_path / "report.html")
    markup = page.read_text(encoding="utf-8")
    assert_self_contained(markup)

    dom = rendered_dom(tmp_path, page)
    assert dom.title == "mira-ls report: ws"
    assert dom.headings == SECTION_TITLES
    assert dom.empties == {}  # every section has data
    assert dom.tags["svg"] >= 6  # hotspot bars, arcs, share bars, gauges, two column charts

    assert "pkg/core.py" in dom.rows["cluster"]["pkg"]["members"]  # the package is one domain
    # overview
    assert (dom.figs["indexed_files"], dom.figs["commits_counted"]) == ("4", "5")
    assert dom.figs["commits_ignored"] == "2"
    assert dom.rows["overview"]["ignored_reasons"]["value"] == "bot 1, large 1"
    # hotspots: core 5 commits × complexity 9, util 3 × 4, app 2 × 3, __init__ 1 × 1
    hot = dom.rows["hotspot"]
    assert list(hot) == ["pkg/core.py", "pkg/util.py", "pkg/app.py", "pkg/__init__.py"]
    assert {k: hot["pkg/core.py"][k] for k in ("score", "commits", "complexity", "churn")} == {
        "score": "45",
        "commits": "5",
        "complexity": "9",
        "churn": "17",
    }
    assert [hot[k]["score"] for k in hot] == ["45", "12", "6", "1"]
    # coupling: util+core 3 shared of 3 and 5 commits; app+core 2 of 2 and 5, each pair seen
    # from the file with fewer commits (directional confidence c/a = 1)
    pairs = dom.rows["pair"]
    cu = pairs["pkg/util.py|pkg/core.py"]
    assert (cu["shared"], cu["confidence"], cu["jaccard"], cu["dice"]) == (
        "3",
        "1.00",
        "0.60",
        "0.75",
    )
    ca = pairs["pkg/app.py|pkg/core.py"]
    assert (ca["shared"], ca["confidence"], ca["jaccard"], ca["dice"]) == (
        "2",
        "1.00",
        "0.40",
        "0.57",
    )
    # ownership: whole repository 1 - (17² + 3² + 11²)/31² = 0.564, pkg/ 0.584
    dirs = dom.rows["directory"]
    assert dirs[""]["path"] == "(whole repository)"
    assert (dirs[""]["commits"], dirs[""]["authors"], dirs[""]["fragmentation"]) == (
        "5",
        "3",
        "0.56",
    )
    assert dirs["pkg"]["fragmentation"] == "0.58"
    assert dirs[""]["owners"] == "Alice 55%; Carol 35%; Bob 9.7%"
    # knowledge loss: util (all by Alice and Bob), core (11 of 17 lines by them)
    risk = dom.rows["at-risk"]
    assert list(risk) == ["pkg/util.py", "pkg/core.py"]
    assert (risk["pkg/util.py"]["abandoned"], risk["pkg/core.py"]["abandoned"]) == ("100%", "65%")
    assert "Alice 67%" in risk["pkg/util.py"]["owners"]
    assert "(700 days ago)" in risk["pkg/util.py"]["owners"]
    assert (dom.figs["files_at_risk"], dom.figs["files_considered"]) == ("2", "3")
    assert dom.figs["inactive_authors"] == "2 of 3"
    # builds: two ruff runs, 2 then 1 errors
    assert (dom.figs["runs"], dom.figs["failed_runs"]) == ("2", "2")
    assert (dom.figs["open_errors"], dom.figs["resolved_errors"]) == ("1", "1")
    assert dom.rows["category"]["name"]["occurrences"] == "2"
    assert dom.rows["category"]["lint"]["resolved"] == "1"
    errs = list(dom.rows["build-error"].values())
    assert [(e["code"], e["occurrences"], e["status"]) for e in errs] == [
        ("F821", "2", "open"),
        ("F401", "1", "resolved"),
    ]
    assert errs[0]["message"] == "Undefined name `undefined_name`"
    # budget: $0.025 today (4000 in, 2000 out), one hit saving as much, one miss
    assert dom.figs["spent_today"] == "$0.0250" == f"${SPEND_TODAY / 1e6:.4f}"
    assert dom.figs["spent_total"] == "$0.0375"
    assert (dom.figs["saved_total"], dom.figs["hit_rate"]) == ("$0.0250", "50%")
    day = dom.rows["budget"]["day"]
    assert (day["spent"], day["limit"], day["requests"], day["cache_hits"]) == (
        "$0.0250",
        "$5.00",
        "2",
        "1",
    )
    assert dom.rows["cache"]["entries"]["value"] == "1 (1)"

    png = screenshot(tmp_path, page)
    assert png_size(png) == (1280, 2000)
    # a blank 1280x2000 page compresses to a few kilobytes; text and charts do not
    assert png.stat().st_size > 40_000


def test_empty_project_renders_its_empty_states(tmp_path: Path, tmp_db: Store) -> None:
    root = tmp_path / "nothing-here"
    root.mkdir()
    page, r = report.write_workspace_report(
        tmp_db, root, settings_for_tests(), tmp_path / "empty.html"
    )
    assert not r.overview.known
    assert_self_contained(page.read_text(encoding="utf-8"))
    dom = rendered_dom(tmp_path, page)
    assert dom.headings == SECTION_TITLES
    assert dom.empties["hotspots"] == (
        f"{root.resolve()} is not in the database yet: run `mira-ls index {root.resolve()}` first."
    )
    for sid in ("coupling", "ownership", "knowledge"):
        assert dom.empties[sid].startswith("No git history mined yet"), sid
    assert dom.empties["builds"].startswith("No builds run yet")
    assert dom.empties["budget"] == "No LLM requests recorded yet: nothing spent, nothing cached."
    assert dom.figs["spent_today"] == "$0.00"
    assert dom.rows.get("hotspot") is None and dom.rows.get("at-risk") is None
    png = screenshot(tmp_path, page)
    assert png_size(png) == (1280, 2000)
    assert png.stat().st_size > 10_000
