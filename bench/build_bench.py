"""Build intelligence benchmark: prints one JSON object.

- parse_ms_per_10k: each parser on 10,000 diagnostics, made by repeating the real captured
  outputs in tests/data/build with varied files and lines; ``baseline_splitlines_ms`` is
  splitting the same text into lines, so the ratio says what parsing costs beyond reading.
- store_10k: group (normalize + hash) and store a run of 10,000 distinct errors into a
  fresh database, then the same errors again (the upsert path), then a whole pipeline step
  whose real subprocess prints them.
- code_actions: latency of the code-action function the server calls, on a file with 100
  build diagnostics that all have past resolutions: per line (p50/p95 over every line,
  several rounds) and for a whole-file range; ``baseline_occurrences_ms`` is the query
  that finds the diagnostics alone.

Usage: python bench/build_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mira_ls.build import errors as build_errors
from mira_ls.build.model import BuildCommand, ParseContext, ParsedError, ToolOutput
from mira_ls.build.parsers import PARSERS
from mira_ls.build.pipeline import run_build, run_step
from mira_ls.config import BuildSettings, Settings
from mira_ls.features import build_actions
from mira_ls.features.build_diagnostics import latest_occurrences
from mira_ls.features.session import Located, ProjectRoot, Session
from mira_ls.store import Store, projects
from mira_ls.store import build_errors as error_store
from mira_ls.store import build_runs as run_store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "build"
N = 10_000


def timed(fn: Any, *args: Any, repeat: int = 3) -> tuple[float, Any]:
    """Best of ``repeat`` wall times in ms, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args)
        best = min(best, (time.perf_counter() - t0) * 1000)
    return best, result


# -- synthetic outputs from the captured real ones ----------------------------------------


def _lines(rel: str) -> list[str]:
    return (DATA / rel).read_text().splitlines()


def ruff_text() -> str:
    items = json.loads((DATA / "ruff/check.json").read_text())
    out = []
    for i in range(N):
        d = dict(items[i % len(items)])
        d["filename"] = f"/w/pkg/mod{i // 50}.py"
        d["location"] = {"row": i % 500 + 1, "column": 8}
        out.append(d)
    return json.dumps(out, indent=2)


def mypy_text() -> str:
    rows = [json.loads(x) for x in _lines("mypy/errors.jsonl")]
    out = []
    for i in range(N):
        d = dict(rows[i % len(rows)])
        d["file"], d["line"] = f"pkg/mod{i // 50}.py", i % 500 + 1
        out.append(json.dumps(d))
    return "\n".join(out) + "\n"


def tsc_text() -> str:
    base = [ln for ln in _lines("tsc/type_errors.txt") if not ln.startswith(" ")]
    out = []
    for i in range(N):
        line = base[i % len(base)]
        msg = line.split("): ", 1)[1]
        out.append(f"src/mod{i // 50}.ts({i % 500 + 1},3): {msg}")
    return "\n".join(out) + "\n"


def cargo_text() -> str:
    msgs = [json.loads(x) for x in _lines("cargo/resolve_errors.jsonl")][:3]
    out = []
    for i in range(N):
        d = json.loads(json.dumps(msgs[i % 3]))
        for s in d["message"]["spans"]:
            s["file_name"] = f"src/mod{i // 50}.rs"
            s["line_start"] = s["line_end"] = i % 500 + 1
        out.append(json.dumps(d))
    return "\n".join(out) + "\n"


def go_text() -> str:
    base = [ln for ln in _lines("go/build.txt") if not ln.startswith("#")]
    out = []
    for i in range(N):
        msg = base[i % len(base)].split(": ", 1)[1]
        out.append(f"./pkg{i // 50}/m.go:{i % 500 + 1}:2: {msg}")
    return "\n".join(out) + "\n"


def generic_text() -> str:
    return "".join(
        f"src/m{i // 50}.c:{i % 500 + 1}:5: error: thing {i % 7} is wrong [W{i % 9}]\n"
        for i in range(N)
    )


def pytest_junit() -> str:
    case = (
        '<testcase classname="tests.test_m{m}" name="test_{i}" file="tests/test_m{m}.py" '
        'line="{ln}" time="0.001"><failure message="assert {i} == 0">def test_{i}():\n'
        "&gt;       assert f({i}) == 0\nE       assert {i} == 0\n\n"
        "tests/test_m{m}.py:{ln2}: AssertionError</failure></testcase>"
    )
    cases = "".join(case.format(i=i, m=i // 50, ln=i % 500, ln2=i % 500 + 2) for i in range(N))
    return (
        f'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
        f'failures="{N}" tests="{N}">{cases}</testsuite></testsuites>'
    )


def pytest_terminal() -> str:
    parts = ["=" * 20 + " FAILURES " + "=" * 20]
    summary = []
    for i in range(N):
        m = i // 50
        parts += [
            f"{'_' * 10} test_{i} {'_' * 10}",
            "",
            f"    def test_{i}():",
            f">       assert f({i}) == 0",
            f"E       assert {i} == 0",
            "",
            f"tests/test_m{m}.py:{i % 500 + 2}: AssertionError",
        ]
        summary.append(f"FAILED tests/test_m{m}.py::test_{i} - assert {i} == 0")
    parts += ["=" * 20 + " short test summary info " + "=" * 20, *summary]
    return "\n".join(parts) + "\n"


def bench_parsers() -> dict[str, Any]:
    ctx = ParseContext(Path("/w"), Path("/w"))
    cases = {
        "ruff": (ruff_text(), {}),
        "mypy": (mypy_text(), {}),
        "tsc": (tsc_text(), {}),
        "cargo": (cargo_text(), {}),
        "go": (go_text(), {}),
        "generic": (generic_text(), {}),
        "pytest_junit": ("", {"junitxml": pytest_junit()}),
        "pytest_terminal": (pytest_terminal(), {}),
    }
    out: dict[str, Any] = {}
    for name, (text, files) in cases.items():
        parser = PARSERS[name.split("_")[0]]
        output = ToolOutput(text, "", 1, files)
        ms, errors = timed(parser.parse, output, ctx)
        raw = text or files["junitxml"]
        base, _ = timed(str.splitlines, raw)
        out[name] = {
            "ms": round(ms, 1),
            "diagnostics": len(errors),
            "bytes": len(raw.encode()),
            "baseline_splitlines_ms": round(base, 2),
            "ratio": round(ms / base, 1) if base else None,
        }
        assert len(errors) == N, (name, len(errors))
    return out


# -- dedup + store ------------------------------------------------------------------------


def bench_store(tmp: Path) -> dict[str, Any]:
    store = Store(tmp / "store.db")
    root = tmp / "ws"
    root.mkdir()
    with store.write() as c:
        pid = projects.get_or_create(c, root).id
    parsed = [
        ParsedError(
            "generic",
            f"W{i % 9}",
            "error",
            f"thing {i} is wrong in {i % 7}",
            f"src/m{i // 50}.c",
            i % 500 + 1,
            5,
        )
        for i in range(N)
    ]

    def one_run() -> float:
        t0 = time.perf_counter()
        grouped = build_errors.group(parsed)
        with store.write() as c:
            run_id = run_store.start_run(c, pid, "bench", "generic", ["x"], ".", 0, None, None)
            error_store.record_errors(
                c, pid, run_id, int(time.time()), grouped.records, grouped.occurrences
            )
        return (time.perf_counter() - t0) * 1000

    group_ms, grouped = timed(build_errors.group, parsed)
    first = one_run()
    second = one_run()
    assert len(grouped.records) == N
    # the whole step: a real subprocess printing the 10,000 errors, parsed and stored
    out_file = tmp / "out.txt"
    out_file.write_text(generic_text())
    cmd = BuildCommand(
        "cat",
        (sys.executable, "-c", f"import sys; sys.stdout.write(open({str(out_file)!r}).read())"),
        "generic",
    )
    t0 = time.perf_counter()
    step = run_step(store, pid, root, cmd, BuildSettings(), None, None)
    step_ms = (time.perf_counter() - t0) * 1000
    assert step.error_count == N
    store.close()
    return {
        "errors": N,
        "group_ms": round(group_ms, 1),
        "first_run_ms": round(first, 1),
        "repeat_run_ms": round(second, 1),
        "pipeline_step_ms": round(step_ms, 1),
    }


# -- code action latency ------------------------------------------------------------------


def bench_code_actions(tmp: Path, rounds: int) -> dict[str, Any]:
    root = tmp / "ca"
    root.mkdir()
    store = Store(tmp / "ca.db")
    with store.write() as c:
        pid = projects.get_or_create(c, root).id
    bad = "".join(f"x{i} = undefined_{i}  # BUG{i % 5}\n" for i in range(100))
    good = "".join(f"x{i} = {i}\n" for i in range(100))
    (root / "big.py").write_text(bad)
    script = (
        "import re\n"
        "for n, line in enumerate(open('big.py'), 1):\n"
        "    m = re.search(r'BUG(\\d)', line)\n"
        "    if m: print(f'big.py:{n}:1: error: name {line.split()[2]} is unknown [N{m[1]}]')\n"
    )
    cmd = BuildCommand("check", (sys.executable, "-c", script), "generic")
    settings = BuildSettings()
    run_build(store, pid, root, [cmd], settings)  # 100 errors
    (root / "big.py").write_text(good)
    run_build(store, pid, root, [cmd], settings)  # all resolved, with diffs
    (root / "big.py").write_text(bad)
    run_build(store, pid, root, [cmd], settings)  # back: every line has a past fix
    session = Session(store, Settings(), [ProjectRoot(pid, root)])
    loc = Located(ProjectRoot(pid, root), "big.py")
    text = bad

    def text_of(path: str) -> str | None:
        return (root / path).read_text()

    def actions(first: int, last: int) -> list[Any]:
        return build_actions.code_actions(session, loc, text, first, last, "utf-16", text_of)

    per_line: list[float] = []
    offered = 0
    for _ in range(rounds):
        for line in range(1, 101):
            t0 = time.perf_counter()
            got = actions(line, line)
            per_line.append((time.perf_counter() - t0) * 1000)
            offered += sum(1 for a in got if a.edit is not None)
    whole_ms, whole = timed(actions, 1, 100)
    base_ms, occ = timed(latest_occurrences, session, pid, "big.py")
    assert len(occ) == 100
    per_line.sort()
    store.close()
    return {
        "diagnostics_in_file": len(occ),
        "per_line_p50_ms": round(statistics.median(per_line), 2),
        "per_line_p95_ms": round(per_line[int(len(per_line) * 0.95) - 1], 2),
        "per_line_max_ms": round(per_line[-1], 2),
        "apply_fix_offered_per_line": round(offered / (rounds * 100), 2),
        "whole_file_ms": round(whole_ms, 1),
        "whole_file_actions": len(whole),
        "baseline_occurrences_ms": round(base_ms, 2),
        "target_p95_ms": 20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mira-build-bench-") as d:
        tmp = Path(d)
        result = {
            "parse_ms_per_10k": bench_parsers(),
            "store_10k": bench_store(tmp),
            "code_actions": bench_code_actions(tmp, args.rounds),
            "python": sys.version.split()[0],
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
