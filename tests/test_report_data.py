"""The report's numbers on a real repository, indexed and mined by the real subsystems.

Every expected value below is worked out by hand from the commits this file makes (see the
history table in ``make_history``), not read back from the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mira_ls.config import Settings
from mira_ls.index import indexer
from mira_ls.report import data
from mira_ls.store import Store
from tests.support.repo import Repo

DAY = 86400

# Final file contents (after every commit). Complexity by hand: every symbol counts
# 1 + its own branches; the module is a symbol too.
CORE_V1 = "def f(x):\n    if x:\n        return 1\n    return 0\n"  # f: 2
CORE_H = (  # h: 1 + 2 ifs = 3
    "def h(z):\n    if z > 1:\n        return 2\n    if z < 0:\n        return 3\n    return 4\n"
)
CORE_BOB = "# bob was here\n"
CORE_C = (  # C: 1, run: 2
    "class C:\n    def run(self, a):\n        if a:\n            return 1\n        return 2\n"
)
CORE_CAROL = "# carol again\n"
UTIL_V1 = "def g(y):\n    return y\n"
UTIL_K = "def k():\n    return 1\n"
UTIL_M = "def m():\n    return 2\n"
APP_V1 = "from pkg.core import f\ndef main():\n    return f(1)\n"
APP_EXTRA = "def extra():\n    return 5\n"
README = "# Demo\n\nA demo project.\n"
TWEAK = "# tweak\n"


def lines(text: str) -> int:
    return text.count("\n")


@dataclass
class Project:
    root: Path
    store: Store
    settings: Settings
    project_id: int
    t0: int  # the wall clock when the history was made


def make_history(root: Path, t0: int) -> Repo:
    """Seven commits; the last two are ignored by the policy (bot, more than 4 files).

    | commit | days ago | author    | files (lines added)                                  |
    | c1     | 800      | Alice     | core +4, util +2, __init__ +0, README +3             |
    | c2     | 700      | Alice     | core +6, util +2                                     |
    | c3     | 600      | Bob       | util +2, core +1                                     |
    | c4     | 30       | Carol     | core +5, app +3                                      |
    | c5     | 10       | Carol     | app +2, core +1                                      |
    | c6     | 5        | dependabot[bot] (ignored: bot)   util +1                      |
    | c7     | 3        | Carol (ignored: 5 files > 4)     +1 in each of 5 files        |
    """

    def at(days: int) -> int:
        return t0 - days * DAY - DAY // 2  # half a day off, so whole days never flip

    alice, carol = ("Alice", "alice@example.com"), ("Carol", "carol@example.com")
    repo = Repo(root)
    core, util, app = CORE_V1, UTIL_V1, APP_V1
    repo.commit(
        "start",
        {"pkg/core.py": core, "pkg/util.py": util, "pkg/__init__.py": "", "README.md": README},
        author=alice,
        at=at(800),
    )
    core, util = core + CORE_H, util + UTIL_K
    repo.commit("grow", {"pkg/core.py": core, "pkg/util.py": util}, author=alice, at=at(700))
    core, util = core + CORE_BOB, util + UTIL_M
    repo.commit(
        "bob's part",
        {"pkg/util.py": util, "pkg/core.py": core},
        author=("Bob", "bob@example.com"),
        at=at(600),
    )
    core = core + CORE_C
    repo.commit("app", {"pkg/core.py": core, "pkg/app.py": app}, author=carol, at=at(30))
    core, app = core + CORE_CAROL, app + APP_EXTRA
    repo.commit("more app", {"pkg/app.py": app, "pkg/core.py": core}, author=carol, at=at(10))
    util = util + TWEAK
    repo.commit(
        "bump",
        {"pkg/util.py": util},
        author=("dependabot[bot]", "bot@example.com"),
        at=at(5),
    )
    repo.commit(
        "tweak everything",
        {
            "pkg/core.py": core + TWEAK,
            "pkg/util.py": util + TWEAK,
            "pkg/app.py": app + TWEAK,
            "pkg/__init__.py": TWEAK,
            "README.md": README + TWEAK,
        },
        author=carol,
        at=at(3),
    )
    return repo


def settings_for_tests() -> Settings:
    s = Settings()
    s.git.max_changeset_files = 4
    s.cochange.min_shared = 2  # a few-commit history
    s.index.workers = 1
    s.index.jedi = False
    return s


def build_project(tmp_path: Path, store: Store) -> Project:
    """A real repository, indexed and mined into ``store``."""
    from mira_ls.git import miner

    t0 = int(time.time())
    repo = make_history(tmp_path / "ws", t0)
    settings = settings_for_tests()
    stats = indexer.index_workspace(store, repo.root, settings.index)
    mined = miner.mine(store, stats.project_id, repo.root, settings)
    assert mined.status == "ok", mined.message
    return Project(repo.root.resolve(), store, settings, stats.project_id, t0)


LINT_V1 = "import os\nprint(undefined_name)\n"  # F401 (lint) + F821 (name)
LINT_V2 = "import os\nprint(os.sep, undefined_name)\n"  # F821 only: F401 is resolved


def add_builds(p: Project) -> None:
    """Two real ruff runs on an untracked file (not indexed: the index ran before)."""
    from mira_ls.build.model import BuildCommand
    from mira_ls.build.pipeline import run_build

    target = p.root / "scratch" / "lint.py"
    target.parent.mkdir()
    cmd = BuildCommand(
        "ruff",
        (
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--output-format",
            "json",
            "--no-cache",
            "--isolated",
            "--select",
            "F",
            "scratch",
        ),
        "ruff",
    )
    for text in (LINT_V1, LINT_V2):
        target.write_text(text)
        report = run_build(p.store, p.project_id, p.root, [cmd], p.settings.build)
        assert report.steps and report.steps[0].status == "failed", report.summary()


SPEND_OLD = 12_500  # 2000 input + 1000 output tokens of gpt-5.1: 2000*1.25 + 1000*10 micro
SPEND_TODAY = 25_000  # 4000 input + 2000 output tokens


def add_llm_usage(p: Project) -> None:
    """Two settled requests (two days ago and now), one cache hit, one miss, through the
    real budget and cache."""
    from mira_ls.llm.budget import Budget
    from mira_ls.llm.cache import LlmCache
    from mira_ls.llm.provider import Usage

    for clock, (tin, tout) in ((p.t0 - 2 * DAY, (2000, 1000)), (p.t0, (4000, 2000))):
        budget = Budget(p.store, p.settings, clock=lambda c=clock: float(c))
        res = budget.reserve(
            model="gpt-5.1",
            reasoning_effort="medium",
            prompt_tokens=tin,
            max_output_tokens=tout,
            operation="chat",
            project_id=p.project_id,
        )
        budget.settle(res, Usage(input_tokens=tin, output_tokens=tout))
    cache = LlmCache(p.store, p.settings.cache)
    key_a, key_b = "a" * 64, "b" * 64
    cache.put(
        key_a,
        model="gpt-5.1",
        reasoning_effort="medium",
        response="The answer.",
        tool_calls=[],
        input_tokens=4000,
        output_tokens=2000,
        cost_micro=SPEND_TODAY,
    )
    assert cache.get(key_a, "gpt-5.1") is not None
    assert cache.get(key_b, "gpt-5.1") is None
    Budget(p.store, p.settings).record_cache_hit(
        model="gpt-5.1",
        reasoning_effort="medium",
        saved_micro=SPEND_TODAY,
        input_tokens=4000,
        output_tokens=2000,
        operation="chat",
        project_id=p.project_id,
    )


@pytest.fixture
def project(tmp_path: Path, tmp_db: Store) -> Project:
    return build_project(tmp_path, tmp_db)


def by_path(items: list[Any], attr: str = "path") -> dict[str, Any]:
    return {getattr(i, attr): i for i in items}


# --------------------------------------------------------------------------- the tests


def test_overview_counts_index_and_history(project: Project) -> None:
    r = data.collect(project.store, project.root, project.settings)
    ov = r.overview
    assert ov.known and ov.name == "ws" and ov.root == str(project.root)
    # indexed: core, util, app, __init__ (README.md is no language we index)
    assert ov.indexed_files == 4
    assert ov.languages == {"python": 4}
    assert ov.git_status == "ok"
    assert ov.commits_counted == 5
    assert ov.commits_ignored == {"bot": 1, "large": 1}
    assert abs(ov.generated_at - time.time()) < 120


def test_hotspots_are_commits_times_complexity(project: Project) -> None:
    r = data.collect(project.store, project.root, project.settings)
    hs = r.hotspots
    assert hs.empty is None
    assert "commits × complexity" in hs.formula and "more than 4 files" in hs.formula
    # history: core, util, app, __init__, README; README has no symbols so is not ranked
    assert hs.files_with_history == 5
    assert hs.files_ranked == 4
    assert [h.path for h in hs.items] == [
        "pkg/core.py",
        "pkg/util.py",
        "pkg/app.py",
        "pkg/__init__.py",
    ]
    h = by_path(hs.items)
    # core: module 1 + f 2 + h 3 + C 1 + run 2 = 9; counted commits c1..c5 = 5
    assert (h["pkg/core.py"].complexity, h["pkg/core.py"].commits) == (9, 5)
    assert h["pkg/core.py"].score == 45
    assert h["pkg/core.py"].churn == 4 + 6 + 1 + 5 + 1  # the ignored c7 line is not churn
    assert h["pkg/core.py"].symbols == 5
    final_core = CORE_V1 + CORE_H + CORE_BOB + CORE_C + CORE_CAROL + TWEAK
    assert h["pkg/core.py"].lines == lines(final_core)
    # util: module 1 + g + k + m = 4; c1, c2, c3 (the bot's c6 and c7 are ignored)
    assert (h["pkg/util.py"].complexity, h["pkg/util.py"].commits, h["pkg/util.py"].score) == (
        4,
        3,
        12,
    )
    assert h["pkg/util.py"].churn == 6
    # app: module 1 + main + extra = 3; c4, c5
    assert (h["pkg/app.py"].complexity, h["pkg/app.py"].commits, h["pkg/app.py"].score) == (
        3,
        2,
        6,
    )
    assert h["pkg/__init__.py"].score == 1 and h["pkg/__init__.py"].churn == 0
    day = dt.datetime.fromtimestamp(h["pkg/app.py"].last_change_at, dt.UTC)
    assert h["pkg/app.py"].last_change_at == project.t0 - 10 * DAY - DAY // 2, day


def test_coupling_pairs_from_counted_commits(project: Project) -> None:
    r = data.collect(project.store, project.root, project.settings)
    c = r.coupling
    assert c.empty is None
    # core+util share c1, c2, c3; core+app share c4, c5; every other pair shares one commit
    # (below cochange.minShared 2) or only ignored commits
    assert c.total_pairs == 2
    # Each pair once, seen from the file with fewer commits (its c/a is the higher one);
    # equal confidence 1.0, then more shared commits first.
    pairs = [(p.file_a, p.file_b) for p in c.pairs]
    assert pairs == [("pkg/util.py", "pkg/core.py"), ("pkg/app.py", "pkg/core.py")]
    cu, ca = c.pairs
    assert cu.shared == 3 and (cu.commits_a, cu.commits_b) == (3, 5)
    assert cu.confidence == pytest.approx(1.0)
    assert cu.jaccard == pytest.approx(3 / (5 + 3 - 3))
    assert cu.dice == pytest.approx(2 * 3 / (5 + 3))
    assert ca.shared == 2 and (ca.commits_a, ca.commits_b) == (2, 5)
    assert ca.confidence == pytest.approx(1.0)
    assert ca.jaccard == pytest.approx(2 / (5 + 2 - 2))
    assert ca.dice == pytest.approx(4 / 7)
    assert not cu.strong and not ca.strong  # fewer than cochange.strongShared (5) commits
    assert ca.last_at == project.t0 - 10 * DAY - DAY // 2


def test_ownership_and_fragmentation_per_directory(project: Project) -> None:
    r = data.collect(project.store, project.root, project.settings)
    o = r.ownership
    assert o.empty is None
    assert [d.path for d in o.directories] == ["", "pkg"]
    root, pkg = o.directories
    # whole repository, lines added in counted commits: Alice 9 + 8 = 17, Bob 3, Carol 11
    assert (root.commits, root.authors, root.lines_added) == (5, 3, 31)
    assert root.fragmentation == pytest.approx(1 - (17**2 + 3**2 + 11**2) / 31**2, abs=1e-6)
    assert root.main_owners == 1  # Alice alone wrote 17 of 31 lines
    assert [(x.author, x.lines_added) for x in root.owners] == [
        ("Alice", 17),
        ("Carol", 11),
        ("Bob", 3),
    ]
    assert root.owners[0].share == pytest.approx(17 / 31)
    # pkg/ (README.md is outside): Alice 6 + 8 = 14, Bob 3, Carol 11
    assert (pkg.commits, pkg.lines_added) == (5, 28)
    assert pkg.fragmentation == pytest.approx(1 - (14**2 + 3**2 + 11**2) / 28**2, abs=1e-6)
    assert pkg.main_owners == 1  # Alice wrote exactly half


def test_knowledge_loss_uses_wall_clock_recency(project: Project) -> None:
    r = data.collect(project.store, project.root, project.settings)  # now = wall clock
    k = r.knowledge
    assert k.empty is None
    # Alice (last commit 700 days ago) and Bob (600) are inactive, Carol (3) is not; the bot
    # has no counted commit, so it is no author here
    assert (k.inactive_authors, k.authors) == (2, 3)
    # considered: core, util, app (__init__ got no lines in counted commits; README.md is
    # not in the index)
    assert k.files_considered == 3
    assert k.files_at_risk == 2
    assert [f.path for f in k.files] == ["pkg/util.py", "pkg/core.py"]
    util, core = k.files
    # util: Alice 4 of 6 lines is the main owner; Alice and Bob wrote everything
    assert util.abandoned_share == pytest.approx(1.0)
    assert [(o.author, o.days_inactive) for o in util.main_owners] == [("Alice", 700)]
    assert util.main_owners[0].share == pytest.approx(4 / 6)
    assert util.lines_added == 6
    # core: Alice 10 of 17 lines (main owner, inactive), Bob 1, Carol 6 (active)
    assert core.abandoned_share == pytest.approx(11 / 17, abs=1e-6)
    assert [(o.author, o.days_inactive) for o in core.main_owners] == [("Alice", 700)]
    assert core.main_owners[0].last_active_at == project.t0 - 700 * DAY - DAY // 2


def test_knowledge_loss_moves_with_the_clock(project: Project) -> None:
    """Seen from 400 days ago, Alice (then 300 days inactive) was still around."""
    earlier = data.collect(
        project.store, project.root, project.settings, now=project.t0 - 400 * DAY
    )
    # Alice's last commit was 300 days before that, Bob's 200: both active then
    assert earlier.knowledge.files_at_risk == 0
    assert earlier.knowledge.inactive_authors == 0


def test_report_json_is_plain_data(project: Project) -> None:
    r = data.collect(project.store, project.root, project.settings)
    doc = json.loads(json.dumps(r.as_json()))
    assert set(doc) == {
        "overview",
        "hotspots",
        "coupling",
        "ownership",
        "knowledge",
        "builds",
        "budget",
        "clusters",
        "patterns",
    }
    assert doc["hotspots"]["items"][0]["path"] == "pkg/core.py"
    assert doc["hotspots"]["items"][0]["score"] == 45
    assert doc["builds"]["empty"].startswith("No builds run yet")
    assert doc["budget"]["empty"].startswith("No LLM requests recorded yet")


def test_build_trends_from_real_runs(project: Project) -> None:
    add_builds(project)
    b = data.collect(project.store, project.root, project.settings).builds
    assert b.empty is None
    assert (b.runs, b.failed_runs) == (2, 2)
    assert (b.open_errors, b.resolved_errors) == (1, 1)
    assert [(x.errors, x.status, x.name) for x in b.recent_runs] == [
        (2, "failed", "ruff"),
        (1, "failed", "ruff"),
    ]
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert [(d.day, d.runs, d.failed, d.errors) for d in b.days] == [(today, 2, 2, 3)]
    cats = {c.category: (c.open, c.resolved, c.occurrences) for c in b.categories}
    assert cats == {"name": (1, 0, 2), "lint": (0, 1, 1)}
    assert [(e.code, e.occurrences, e.status) for e in b.top_errors] == [
        ("F821", 2, "open"),
        ("F401", 1, "resolved"),
    ]
    assert b.top_errors[0].location == "scratch/lint.py:2"


def test_budget_and_cache_figures_in_dollars(project: Project) -> None:
    add_llm_usage(project)
    b = data.collect(project.store, project.root, project.settings).budget
    assert b.empty is None
    today = dt.datetime.fromtimestamp(project.t0, dt.UTC)
    assert b.day.period == today.strftime("%Y-%m-%d")
    assert (b.day.cost_micro, b.day.requests, b.day.cache_hits, b.day.saved_micro) == (
        SPEND_TODAY,
        2,  # the settled request and the cache hit
        1,
        SPEND_TODAY,
    )
    old_month = dt.datetime.fromtimestamp(project.t0 - 2 * DAY, dt.UTC).strftime("%Y-%m")
    same_month = old_month == today.strftime("%Y-%m")
    assert b.month.cost_micro == SPEND_TODAY + (SPEND_OLD if same_month else 0)
    assert b.all_time.cost_micro == SPEND_OLD + SPEND_TODAY
    assert (b.daily_limit_micro, b.monthly_limit_micro) == (5_000_000, 150_000_000)
    assert len(b.days) == data.SPEND_DAYS
    assert b.days[-1].cost_micro == SPEND_TODAY and b.days[-3].cost_micro == SPEND_OLD
    assert sum(d.cost_micro for d in b.days) == SPEND_OLD + SPEND_TODAY
    assert (b.cache_entries, b.cache_live_entries) == (1, 1)
    assert b.cache_bytes >= len("The answer.")
    assert (b.cache_hits, b.cache_misses, b.cache_saved_micro) == (1, 1, SPEND_TODAY)
    assert b.cache_hit_rate == pytest.approx(0.5)
