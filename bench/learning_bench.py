"""Learning benchmark (issue 20): prints one JSON object.

Pattern lookup for a fixError ("What worked before": the live patterns that match the error
best by signature, formatted, with the tool steps of the best one that has any) with 10,000
reasoning patterns (each with a signature; a third with tool steps) and 20,000
pattern_usage rows stored in one project (target p95 <= 10 ms); and the overhead of adding
that section to the context assembly of a fixError, as a ratio of assembly with it to
assembly without (target <= 1.1). The assembly is mira.fixError's own: a repository of
mira-ls's real sources (mira_ls/features and mira_ls/llm, 46 files) indexed, a build run
whose checker reports an error in features/chat.py, and the context assembled as
features/chat.py's _prepare_fix does (the diagnostic section, the error's text for the
sections found by it; with the section, the lookup is chat._what_worked for that build
error). With --tiny, a 15-line file and no error text.

Usage: python bench/learning_bench.py [--rounds 200] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mira_ls.build.model import BuildCommand
from mira_ls.build.pipeline import run_build
from mira_ls.config import BuildSettings, Settings
from mira_ls.features import chat
from mira_ls.features.session import ProjectRoot, Session
from mira_ls.index import indexer
from mira_ls.learning import approach, matching, outcomes
from mira_ls.llm import context as ctx
from mira_ls.store import Store
from mira_ls.store import learning as q
from mira_ls.store import llm_queries as lq
from mira_ls.store import projects as project_store
from tests.support.llm_world import APP
from tests.support.repo import Repo

CATEGORIES = ("type", "import", "syntax", "name", "attribute", "test-failure", "lint", "other")
HASHES, CODES = 2000, 40  # distinct error hashes and tool codes the patterns' fixes had
CONCEPTS = ("parsing", "config", "http", "cache", "auth", "io")
TOOL_STEPS = [("get_symbol", {"name": "app.helper"}), ("callers", {"name": "app.helper"})]


def problem(i: int) -> matching.Problem:
    """The i-th looked-up error: a category, a hash and a code some patterns' fixes had."""
    return matching.Problem(
        CATEGORIES[i % len(CATEGORIES)], f"h{(i * 37) % HASHES:05d}", f"tool:C{i % CODES:02d}",
        "python", (CONCEPTS[i % len(CONCEPTS)],), f"C{i % CODES:02d} message",
    )  # fmt: skip


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.95 * len(s)))]


def median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--patterns", type=int, default=10_000)
    ap.add_argument(
        "--tiny", dest="real", action="store_false",
        help="assemble the context of the 15-line test file instead of a fixError's in "
        "mira-ls's own sources",
    )  # fmt: skip
    ap.add_argument("--budget", type=int, default=Settings().llm.context_tokens,
                    help="the context token budget (default: llm.contextTokens)")  # fmt: skip
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the lookups (between assemblies)")  # fmt: skip
    args = ap.parse_args()
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        here = Path(__file__).resolve().parent.parent
        if args.real:  # mira-ls's own sources, as a workspace to fix an error in
            files = {
                str(f.relative_to(here)): f.read_text()
                for d in ("mira_ls/features", "mira_ls/llm")
                for f in sorted((here / d).glob("*.py"))
            }
            rel = "mira_ls/features/chat.py"
            line = 10 + next(
                i for i, x in enumerate(files[rel].splitlines(), 1) if "def _prepare_fix" in x
            )
            message = 'Argument "budget" to "assemble" has incompatible type "str"'
            files["checker.py"] = (
                f"print('{rel}:{line}:9: error: {message}  [arg-type]')\nraise SystemExit(1)\n"
            )
        else:
            files, rel, line, message = {"app.py": APP}, "app.py", 6, ""
        Repo(root).commit("initial", files)
        settings = Settings()
        settings.llm.context_tokens = args.budget
        store = Store(Path(tmp) / "mira.db")
        indexer.index_workspace(store, root, settings.index)
        project = project_store.by_root(store.conn(), root)
        assert project is not None
        pid = project.id
        err = None
        if args.real:  # the build error a fixError is asked about, from a real build run
            cmd = BuildCommand("check", (sys.executable, "checker.py"), "generic")
            run_build(store, pid, root, [cmd], BuildSettings())
            err = lq.build_error_at(store.conn(), pid, rel, line, message)
            assert err is not None, "the checker's error was not stored"
        categories = (
            CATEGORIES if err is None or err.category in CATEGORIES else (*CATEGORIES, err.category)
        )
        keys = list(approach.LABELS)
        now = int(time.time())
        hashes = [f"h{i:05d}" for i in range(HASHES)]
        codes = [f"tool:C{i:02d}" for i in range(CODES)]
        if err is not None:  # some patterns fixed this very error, more one with its code
            hashes[0] = q.error_hash_of(store.conn(), err.id) or hashes[0]
            codes[0] = matching.code_of(err.tool, err.code) or codes[0]
        with store.write() as conn:
            for i in range(args.patterns):
                cat, key = rnd.choice(categories), rnd.choice(keys)
                use = rnd.randint(0, 20)
                p = q.insert_pattern(
                    conn, pid, name=f"p{i}", description=f"For a {cat} error, {key} {i}.",
                    category=cat, approach=key, template="-    return x * 2\n+    return x * 4",
                    steps=[("act", key, None)], now=now - rnd.randint(0, 10**7),
                )  # fmt: skip
                q.add_signature(conn, p, [
                    ("error_hash", rnd.choice(hashes)), ("code", rnd.choice(codes)),
                    ("language", "python"), ("concept", rnd.choice(CONCEPTS)),
                    ("text", matching.text_key(f"C{i % CODES:02d} message {i}")),
                ], now)  # fmt: skip
                if i % 3 == 0:  # a third have the tool calls of their fix as steps
                    q.set_tool_steps(conn, p, TOOL_STEPS, now)
                conn.execute(
                    "UPDATE reasoning_patterns SET use_count = ?, success_count = ?, "
                    "last_success_at = ? WHERE id = ?",
                    (use, rnd.randint(0, use), now - rnd.randint(0, 10**7), p),
                )
                conn.executemany(
                    "INSERT INTO pattern_usage(pattern_id, project_id, match_score, used_at) "
                    "VALUES (?, ?, 1.0, ?)",
                    [(p, pid, now)] * 2,
                )
        # the lookup as mira.fixError makes it: signature and the embedding space (with no
        # vector stored for the errors' texts, as with no endpoint: the signature alone)
        space = (settings.llm.embedding_model, int(settings.llm.embedding_dimensions))
        lookups = []
        lookups_cpu = []
        for i in range(args.rounds):
            t0, c0 = time.perf_counter(), time.thread_time()
            worked = outcomes.what_worked(store, pid, problem(i), space=space)
            body, ids = worked.body, worked.ids
            lookups.append((time.perf_counter() - t0) * 1000)
            lookups_cpu.append((time.thread_time() - c0) * 1000)
            assert ids and body
        session = Session(store, settings, [ProjectRoot(pid, root)])
        text = (root / rel).read_text()
        where = ctx.Where(pid, root, rel, text, line, 4)
        fx = session.parse(rel, text)
        budget = settings.llm.context_tokens

        def diagnostic() -> list[ctx.Section]:  # as _prepare_fix makes it
            ids = [(err.id, None)] if err else []
            return [ctx.Section("diagnostic", f"The error ({rel}:{line})", message, 0,
                                error_ids=ids)]  # fmt: skip

        def bare() -> ctx.ContextBundle:
            return ctx.assemble(
                store, where, fx, budget=budget, extra=diagnostic(), error_text=message
            )

        def lookup(i: int, extra: list[ctx.Section]) -> None:
            if err is not None:  # mira.fixError's own lookup for the build error
                chat._what_worked(session, pid, err, extra)
                return
            body = outcomes.what_worked(store, pid, problem(i), space=space).body
            extra.append(ctx.Section("what_worked", "What worked before", body, 3, redacted=True))

        def seeded_(i: int) -> ctx.ContextBundle:
            extra = diagnostic()
            lookup(i, extra)
            return ctx.assemble(store, where, fx, budget=budget, extra=extra, error_text=message)

        found: dict[int, list[ctx.Section]] = {}
        for i in range(64):
            found[i] = []
            lookup(i, found[i])
        assert all(found.values()), "no pattern was found"

        def section_only(i: int) -> ctx.ContextBundle:  # the section found beforehand
            w = found[i % 64][0]
            extra = [*diagnostic(), ctx.Section(w.kind, w.title, w.body, 3, redacted=True)]
            return ctx.assemble(store, where, fx, budget=budget, extra=extra, error_text=message)

        plain, seeded = [], []
        for i in range(20):  # warm all three
            bare(), seeded_(i), section_only(i)

        # interleaved, the order alternating, so the machine's load falls on both alike
        # (the thread's CPU time too: on a shared machine wall time also counts other
        # processes' turns, and at a few ms per assembly that noise can swamp the difference)
        plain_cpu: list[float] = []
        seeded_cpu: list[float] = []
        section_cpu: list[float] = []
        for i in range(args.rounds):
            for which in ("b", "s", "o") if i % 2 else ("o", "s", "b"):
                t0, c0 = time.perf_counter(), time.thread_time()
                if which == "b":
                    plain_bundle = bare()
                    plain.append(time.perf_counter() - t0)
                    plain_cpu.append(time.thread_time() - c0)
                elif which == "s":
                    with_bundle = seeded_(i)
                    seeded.append(time.perf_counter() - t0)
                    seeded_cpu.append(time.thread_time() - c0)
                else:
                    section_only(i)
                    section_cpu.append(time.thread_time() - c0)
        if args.profile:  # the lookup alone, between assemblies as in the rounds
            import cProfile
            import pstats

            prof = cProfile.Profile()
            for i in range(args.rounds):
                bare()
                extra = diagnostic()
                prof.enable()
                lookup(i, extra)
                prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        store.close()
    plain_med = sorted(plain)[len(plain) // 2]
    seeded_med = sorted(seeded)[len(seeded) // 2]
    print(json.dumps({
        "patterns": args.patterns,
        "rounds": args.rounds,
        "lookup_p50_ms": round(sorted(lookups)[len(lookups) // 2], 3),
        "lookup_p95_ms": round(p95(lookups), 3),
        "lookup_cpu_p50_ms": round(median(lookups_cpu), 3),
        "assembly_median_ms": round(plain_med * 1000, 3),
        "assembly_with_patterns_median_ms": round(seeded_med * 1000, 3),
        "overhead_ratio": round(seeded_med / plain_med, 3),
        "assembly_cpu_median_ms": round(median(plain_cpu) * 1000, 3),
        "assembly_with_patterns_cpu_median_ms": round(median(seeded_cpu) * 1000, 3),
        "overhead_ratio_cpu": round(median(seeded_cpu) / median(plain_cpu), 3),
        # the section found beforehand: what adding it costs the assembly, lookup excluded
        "assembly_with_section_only_cpu_median_ms": round(median(section_cpu) * 1000, 3),
        "overhead_ratio_cpu_section_only": round(median(section_cpu) / median(plain_cpu), 3),
        "budget_tokens": args.budget,
        "sections_with": [x.kind for x in with_bundle.sections],
        "sections_without": [x.kind for x in plain_bundle.sections],
        "file": f"{rel}:{line} of mira_ls/features + mira_ls/llm ({len(files) - 1} files)"
        if args.real
        else "a 15-line file",
        "error": f"{err.category} {err.tool}:{err.code}" if err else None,
        "python": platform.python_version(),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
