"""Tasks benchmark: prints one JSON object.

Context restore on resume (target p95 <= 50 ms) on the click repository with 1,000 tasks
and 10,000 operations (4 events each) stored. Each round pauses the task (not timed), the
repository moves on by one commit and an uncommitted edit (not timed), then the timed part
runs: ``core.start`` (the task session, git for what changed since the pause, the writes)
and the chat-context section built from it (``task_section``). Both parts are reported
apart as well.

Usage: python bench/tasks_bench.py [--click /path/to/click.bundle|dir] [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mira_ls.config import Settings
from mira_ls.index import indexer
from mira_ls.store import Store
from mira_ls.store import operations as op_store
from mira_ls.store import projects as project_store
from mira_ls.store import tasks as task_store
from mira_ls.tasks import core
from mira_ls.tasks.context_section import task_section
from tests.support.repo import git

CLICK_BUNDLE = Path("/work/shared/corpus/click.bundle")


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def ms(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(samples, 50) * 1000, 3),
        "p95_ms": round(pct(samples, 95) * 1000, 3),
        "max_ms": round(max(samples) * 1000, 3),
        "n": len(samples),
    }


def seed(store: Store, pid: int, tasks: int, ops: int) -> list[int]:
    """``tasks`` tasks (a tenth of them parents of the rest) with a snapshot each, and
    ``ops`` operations spread over them, each with its four status events."""
    now = int(time.time()) - 86400
    ids: list[int] = []
    snap = {
        "at": now, "branch": "main", "head": None, "modified": [f"src/f{i}.py" for i in range(20)],
        "errors": [{"file": "src/f1.py", "line": 3, "code": "E1", "message": "bad"}] * 5,
        "symbols": [f"click.core.Sym{i}" for i in range(12)], "chat_session": None, "notes": "n",
    }  # fmt: skip
    with store.write() as conn:
        parents: list[int] = []
        for i in range(tasks):
            parent = parents[i % len(parents)] if parents and i % 10 else None
            tid = task_store.insert_task(conn, pid, f"task {i}", description="d" * 200,
                                         parent_id=parent, now=now)  # fmt: skip
            if parent is None:
                parents.append(tid)
            task_store.add_context(conn, tid, "snapshot", snap, now)
            ids.append(tid)
        for i in range(ops):
            oid = uuid.uuid4().hex[:12]
            op_store.insert(conn, oid, kind="chat", command="chat", request=f"q {i}",
                            project_id=pid, task_id=ids[i % len(ids)], now=now + i)  # fmt: skip
            for st, data in (("pending", {}), ("running", {"symbol": f"click.core.S{i % 50}"}),
                             ("streaming", {}), ("done", {"cost_micro": 100})):  # fmt: skip
                op_store.add_event(conn, oid, st, data, now + i)
    return ids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--click", default=str(CLICK_BUNDLE))
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--ops", type=int, default=10000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mira-tasks-bench-"))
    try:
        root = tmp / "click"
        subprocess.run(
            ["git", "-c", "advice.detachedHead=false", "clone", "-q", args.click, str(root)],
            check=True,
        )
        git(root, "config", "user.name", "Bench")
        git(root, "config", "user.email", "bench@example.com")
        store = Store(tmp / "mira.db")
        settings = Settings()
        t0 = time.perf_counter()
        indexer.index_workspace(store, root, settings.index)
        index_s = time.perf_counter() - t0
        project = project_store.by_root(store.conn(), root)
        assert project is not None
        pid = project.id
        t0 = time.perf_counter()
        ids = seed(store, pid, args.tasks, args.ops)
        seed_s = time.perf_counter() - t0
        target = ids[len(ids) // 2]
        core.start(store, pid, root, target)
        resume, section, total = [], [], []
        readme = root / "README.md"
        for i in range(args.rounds):
            core.pause(store, pid, root, target, f"round {i}")
            (root / f"bench_{i}.py").write_text(f"X = {i}\n")
            git(root, "add", f"bench_{i}.py")
            git(root, "commit", "-q", "-m", f"bench round {i}")
            readme.write_text(readme.read_text() + f"\nround {i}\n")  # an uncommitted edit
            t0 = time.perf_counter()
            r = core.start(store, pid, root, target)
            t1 = time.perf_counter()
            s = task_section(store, pid)
            t2 = time.perf_counter()
            assert r.changes is not None and len(r.changes.commits) == 1 and s is not None
            assert f"bench round {i}" in s.body
            resume.append(t1 - t0)
            section.append(t2 - t1)
            total.append(t2 - t0)
        conn = store.conn()
        counts = {
            "tasks": conn.execute("SELECT count(*) FROM project_tasks").fetchone()[0],
            "operations": conn.execute("SELECT count(*) FROM operations").fetchone()[0],
            "operation_events": conn.execute("SELECT count(*) FROM operation_events").fetchone()[0],
            "task_context": conn.execute("SELECT count(*) FROM task_context").fetchone()[0],
        }
        store.close()
        p95 = pct(total, 95) * 1000
        out = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "corpus": "click",
            "stored": counts,
            "index_s": round(index_s, 2),
            "seed_s": round(seed_s, 2),
            "restore_on_resume": ms(total),
            "resume_with_git": ms(resume),
            "context_section": ms(section),
            "target_p95_ms": 50,
            "meets_target": p95 <= 50,
        }
        print(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
