"""Quality metrics on hand-written functions in Python, Go and TypeScript (values computed
by hand), issues with severities and sentences, churn from a mined history, the CLI."""

from __future__ import annotations

import argparse
import json

from mira_ls.config import IndexSettings
from mira_ls.index import indexer
from mira_ls.store import quality as qs
from mira_ls.understand import quality
from tests.support.cli import run_cli
from tests.support.repo import DAY, T0, Repo, fixtures, mine_repo

git_isolation, store, repo = fixtures()

PY = '''\
def simple(a):
    return a


class Shop:
    def price(self, item, qty, *, discount=0):
        """if / elif / for / if / and: 5 decision points."""
        if qty > 10:
            for i in item:
                if i and discount:
                    return 1
        elif qty > 5:
            return 2
        return 3

    def nested(self):
        def inner(x):
            while x:
                if x > 1:
                    x -= 2
            return x
        return inner
'''
GO = """\
package shop

func Price(a int, b string) int {
	if a > 0 && b != "" {
		for i := 0; i < a; i++ {
			if i > 2 {
				return 1
			} else if i > 1 {
				return 2
			}
		}
	}
	return 0
}
"""
TS = """\
export function total(a: number, b?: string, c = 1): number {
  if (a > 1 || b) {
    switch (a) {
      case 1:
        return c;
      case 2:
        return a > 3 ? 1 : 2;
    }
  }
  return 0;
}
"""


def _measured(store, root):
    stats = indexer.index_workspace(store, root, IndexSettings())
    run = quality.measure_project(store, stats.project_id, root)
    return stats.project_id, {m.symbol: m for m in run.functions}


def test_metrics_match_hand_computed_values(store, repo: Repo):
    repo.commit("code", {"shop.py": PY, "shop.go": GO, "total.ts": TS})
    _, m = _measured(store, repo.root)
    # complexity = decision points + 1; nesting = deepest control structure; params
    # without self; length = lines of the span.
    assert (m["shop.simple"].complexity, m["shop.simple"].nesting, m["shop.simple"].params) == (
        1, 0, 1,
    )  # fmt: skip
    price = m["shop.Shop.price"]
    assert (price.complexity, price.nesting, price.params, price.length) == (6, 3, 3, 9)
    inner = m["shop.Shop.nested.inner"]
    assert (inner.complexity, inner.nesting, inner.params) == (3, 2, 1)
    assert (m["shop.Shop.nested"].complexity, m["shop.Shop.nested"].nesting) == (1, 0)
    go = next(v for k, v in m.items() if k.endswith("Price"))
    # if, &&, for, if, else-if: 5 points; the else-if chain is one level
    assert (go.complexity, go.nesting, go.params) == (6, 3, 2)
    ts = next(v for k, v in m.items() if k.endswith("total"))
    # if, ||, case, case, ?: -> 5 points
    assert (ts.complexity, ts.nesting, ts.params) == (6, 2, 3)


def test_the_index_stores_shapes_and_older_rows_are_measured_once(store, repo: Repo):
    repo.commit("code", {"shop.py": PY, "shop.go": GO, "total.ts": TS})
    pid, first = _measured(store, repo.root)
    conn = store.conn()
    stored = dict(
        conn.execute(
            "SELECT qualified_name, nesting || ',' || params FROM code_elements "
            "WHERE kind IN ('function', 'method')"
        ).fetchall()
    )
    assert stored["shop.Shop.price"] == "3,3" and stored["shop.Shop.nested.inner"] == "2,1"
    classes = conn.execute("SELECT nesting, params FROM code_elements WHERE kind = 'class'")
    assert set(classes.fetchall()) == {(None, None)}
    # rows indexed before migration 045: measured from the file, the same, and kept
    with store.write() as w:
        w.execute("UPDATE code_elements SET nesting = NULL, params = NULL")
    again = {m.symbol: m for m in quality.measure_project(store, pid, repo.root).functions}
    assert {k: (v.nesting, v.params) for k, v in again.items()} == {
        k: (v.nesting, v.params) for k, v in first.items()
    }
    after = dict(
        conn.execute(
            "SELECT qualified_name, nesting || ',' || params FROM code_elements "
            "WHERE kind IN ('function', 'method')"
        ).fetchall()
    )
    assert after == stored


def test_issues_stored_with_severity_sentence_and_churn(store, repo: Repo):
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(24))
    big = f"def router(x, a, b, c, d, e, f):\n{branches}\n    return -1\n"
    repo.commit("one", {"hot.py": big, "calm.py": big.replace("router", "quiet")}, at=T0)
    for n in range(4):
        repo.commit(f"hot {n}", touch=["hot.py"], at=T0 + (n + 1) * DAY)
    repo.commit("other", {"x.py": "X = 1\n"}, at=T0 + 9 * DAY)
    pid, _ = mine_repo(store, repo.root)
    stats = indexer.index_workspace(store, repo.root, IndexSettings())
    assert stats.project_id == pid
    run = quality.measure_project(store, pid, repo.root)
    worst = run.with_issues
    assert [w.symbol for w in worst] == ["hot.router", "calm.quiet"]
    hot, calm = worst
    assert hot.churn == 5 and hot.hotspot and not calm.hotspot
    by_metric = {i.metric: i for i in hot.issues}
    assert set(by_metric) == {"complexity", "params"}
    # complexity 25 over 10 is "medium" (<= 2.5 times); a hotspot makes it "high"
    assert by_metric["complexity"].severity == "high"
    assert {i.metric: i.severity for i in calm.issues}["complexity"] == "medium"
    assert "changed in 5 commits" in by_metric["complexity"].message
    assert "takes 7 parameters (threshold 5)" in by_metric["params"].message
    # what the editor's diagnostics read back: the hotspot from the severity's extra step
    sites = qs.issue_sites(store.conn(), pid, "hot.py")
    assert {(s.name, s.name_line, s.name_col) for s in sites} == {("router", 1, 4)}
    assert all(quality.in_hotspot(s.issue) for s in sites)
    assert not any(quality.in_hotspot(i) for i in calm.issues)
    assert qs.issue_sites(store.conn(), pid, "hot.py", (2, 9)) == []
    stored = qs.open_issues(store.conn(), pid, "hot.py")
    assert {(s.metric, s.value, s.threshold, s.start_line) for s in stored} == {
        ("complexity", 25, 10, 1), ("params", 7, 5, 1)
    }  # fmt: skip
    # fixed code: measuring again replaces the file's issues
    repo.commit("split", {"hot.py": "def router(x):\n    return x\n"}, at=T0 + 10 * DAY)
    indexer.index_workspace(store, repo.root, IndexSettings())
    quality.measure_project(store, pid, repo.root)
    assert qs.open_issues(store.conn(), pid, "hot.py") == []
    assert len(qs.open_issues(store.conn(), pid, "calm.py")) == 2


def test_cli_json_and_text(tmp_path, repo: Repo):
    repo.commit("code", {"shop.py": PY, "pkg/deep.py": "def f(a, b, c):\n    return a\n"})
    db = str(tmp_path / "cli.db")
    out = run_cli("quality", str(repo.root), "--json", "--db", db, "--max-nesting", "2")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [d["symbol"] for d in data] == ["shop.Shop.price"]
    assert data[0]["line"] == 6 and data[0]["path"] == "shop.py"
    assert data[0]["issues"][0]["metric"] == "nesting"
    sub = run_cli("quality", str(repo.root / "pkg"), "--all", "--json", "--db", db)
    assert [d["symbol"] for d in json.loads(sub.stdout)] == ["pkg.deep.f"]
    text = run_cli("quality", str(repo.root), "--db", db, "--max-params", "2", "--quiet")
    assert "pkg/deep.py:1: pkg.deep.f [low]" in text.stdout
    assert "takes 3 parameters (threshold 2)" in text.stdout
    bad = run_cli("quality", str(repo.root), "--db", db, "--max-length", "0")
    assert bad.returncode == 2 and "--max-length must be at least 1" in bad.stderr


def test_settings_defaults_and_env_feed_the_cli_flags_override(tmp_path, repo: Repo):
    from mira_ls import config
    from mira_ls.cli.understand_cmds import thresholds

    s, problems = config.load(env={})
    assert problems == [] and s.quality.diagnostics is False
    assert quality.Thresholds.from_settings(s.quality) == quality.Thresholds(10, 4, 60, 5)
    env = {"MIRA_QUALITY_MAX_NESTING": "2", "MIRA_QUALITY_DIAGNOSTICS": "true"}
    s, _ = config.load(env=env, init_options={"mira": {"quality": {"maxParams": 7}}})
    assert s.quality.diagnostics is True
    assert quality.Thresholds.from_settings(s.quality) == quality.Thresholds(10, 2, 60, 7)
    args = argparse.Namespace(max_complexity=3, max_nesting=None, max_length=None, max_params=None)
    assert thresholds(args, s.quality) == quality.Thresholds(3, 2, 60, 7)

    # the command line: the environment's threshold is the default, a flag still wins
    repo.commit("code", {"shop.py": PY, "pkg/deep.py": "def f(a, b, c):\n    return a\n"})
    db = str(tmp_path / "cli.db")
    out = run_cli(
        "quality", str(repo.root), "--json", "--db", db, env={"MIRA_QUALITY_MAX_NESTING": "2"}
    )
    assert out.returncode == 0, out.stderr
    assert [d["symbol"] for d in json.loads(out.stdout)] == ["shop.Shop.price"]
    out = run_cli(
        "quality", str(repo.root), "--json", "--db", db, "--max-nesting", "4",
        env={"MIRA_QUALITY_MAX_NESTING": "2", "MIRA_QUALITY_MAX_PARAMS": "2"},
    )  # fmt: skip
    assert [d["symbol"] for d in json.loads(out.stdout)] == ["shop.Shop.price", "pkg.deep.f"]
    assert [i["metric"] for i in json.loads(out.stdout)[0]["issues"]] == ["params"]
    # no environment: the built-in defaults (nesting 4) find nothing
    out = run_cli(
        "quality", str(repo.root), "--json", "--db", db, unset=["MIRA_QUALITY_MAX_NESTING"]
    )
    assert json.loads(out.stdout) == []
