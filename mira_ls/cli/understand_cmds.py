"""``mira-ls quality [PATH]``: functions whose complexity, nesting, length or parameters
pass the thresholds, worst first, weighed by the file's churn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.cli.index_cmds import _StderrProgress
from mira_ls.config import QualitySettings, Settings, env_name, get
from mira_ls.index import indexer
from mira_ls.store import projects


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser(
        "analyze", help="what each definition is for, asked of the LLM (cost said first)"
    )
    a.add_argument(
        "path", nargs="?", default=".", metavar="PATH",
        help="a workspace, or a folder or file inside one (default: the current folder)",
    )  # fmt: skip
    a.add_argument("--dry-run", action="store_true", help="say what it would cost, ask nothing")
    a.add_argument(
        "--yes", action="store_true", help="do not ask when above analysis.confirmAboveUsd"
    )
    a.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common.add_common(a, json_flag=True)
    a.set_defaults(func=cmd_analyze)

    p = sub.add_parser(
        "quality", help="complex, deeply nested, long or many-parameter functions, worst first"
    )
    p.add_argument(
        "path", nargs="?", default=".", metavar="PATH",
        help="a workspace, or a folder or file inside one (default: the current folder)",
    )  # fmt: skip
    p.add_argument("--all", action="store_true", help="list every function, not only issues")
    for flag, metavar, key in (
        ("--max-complexity", "N", "maxComplexity"),
        ("--max-nesting", "N", "maxNesting"),
        ("--max-length", "LINES", "maxLength"),
        ("--max-params", "N", "maxParams"),
    ):
        p.add_argument(
            flag, type=int, default=None, metavar=metavar,
            help=f"threshold for this run (default: {env_name('quality.' + key)}, else "
            f"{get(Settings(), 'quality.' + key)})",
        )  # fmt: skip
    p.add_argument(
        "--findings", action="store_true",
        help=f"ask the LLM why the {TOP_FINDINGS} worst hotspot functions are hard to change "
        "and what to split (cached per function text; the cost is said first)",
    )  # fmt: skip
    p.add_argument(
        "--yes", action="store_true", help="do not ask when above analysis.confirmAboveUsd"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_quality)


def cmd_quality(args: argparse.Namespace) -> int:
    from mira_ls.understand import quality

    target = Path(args.path).expanduser().resolve()
    if not target.exists():
        raise CliError(f"{args.path} does not exist; pass a workspace folder or a file in one")
    for flag in ("max_complexity", "max_nesting", "max_length", "max_params"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise common.UsageError(f"--{flag.replace('_', '-')} must be at least 1")
    settings = common.settings(args)
    limits = thresholds(args, settings.quality)
    with common.open_db(args) as store:
        root, project_id, prefix = _workspace(store, target, settings, args.quiet)
        run = quality.measure_project(store, project_id, root, prefix, limits)
        if args.findings:
            _ask_findings(args, store, settings, project_id, root, run)
        shown = run.functions if args.all else run.with_issues
        found = {m.symbol_id: _finding(store, m) for m in shown}
    for s in run.skipped:
        print(f"mira-ls: skipped {s}", file=sys.stderr)
    if not args.quiet:
        print(
            f"{len(run.functions)} functions in {run.files} files measured in "
            f"{run.seconds:.2f} s; {len(run.with_issues)} with issues",
            file=sys.stderr,
        )
    lines = []
    for m in shown:
        head = (
            f"{m.path}:{m.line}: {m.symbol} [{m.severity or 'ok'}] complexity {m.complexity}, "
            f"nesting {m.nesting}, {m.length} lines, {m.params} params"
            + (f", {m.churn} commits" if m.churn else "")
        )
        lines.append(head)
        lines.extend(f"    {i.message}" for i in m.issues)
        f = found[m.symbol_id]
        if f is not None:
            lines.append(f"    Why it is hard to change: {f['why_hard']}")
            lines.append(f"    What to split: {f['what_to_split']}")
    data = [{**m.as_json(), "finding": found[m.symbol_id]} for m in shown]
    common.emit(args, data, "\n".join(lines) or "no issues found")
    return 0


TOP_FINDINGS = 3


def _finding(store: Any, m: Any) -> dict[str, str] | None:
    from mira_ls.understand import findings

    f = findings.finding_of(store, m.symbol_id, m.issues[0].content_hash) if m.issues else None
    return {"why_hard": f.why_hard, "what_to_split": f.what_to_split} if f else None


def _ask_findings(
    args: argparse.Namespace, store: Any, settings: Any, project_id: int, root: Path, run: Any
) -> None:
    """The LLM's finding for the worst hotspot functions without one at their text."""
    from mira_ls.cli.embed_cmd import _confirm
    from mira_ls.features import chat
    from mira_ls.features.session import Session
    from mira_ls.llm.errors import LlmError
    from mira_ls.llm.pricing import usd
    from mira_ls.understand import findings

    worst = findings.worst_hotspots(run, TOP_FINDINGS)
    if not worst:
        if not args.quiet:
            print("mira-ls: no function with issues in a hotspot to ask about", file=sys.stderr)
        return
    svc = chat.ChatState().service(Session(store, settings))
    fp = findings.plan(svc, root, worst)
    if not fp.pending:
        return
    said = (
        f"asking about {len(fp.pending)} hotspot functions ({fp.cached} answered already), at "
        f"most {usd(fp.cost_micro)} with {settings.llm.model}"
    )
    if not args.quiet:
        print(f"mira-ls: {said}", file=sys.stderr)
    limit = settings.analysis.confirm_above_usd
    question = f"The findings may cost up to {usd(fp.cost_micro)}. Continue? [y/N] "
    if fp.cost_micro > limit * 1_000_000 and not args.yes and not _confirm(question):
        raise CliError(
            f"no findings asked: the estimate {usd(fp.cost_micro)} is above "
            "analysis.confirmAboveUsd; run again with --yes to go ahead"
        )
    try:
        done = findings.run(store, svc, project_id, fp)
    except LlmError as exc:
        raise CliError(str(exc)) from exc
    if not args.quiet:
        print(f"mira-ls: {done.calls} calls, {usd(done.cost_micro)}", file=sys.stderr)


def thresholds(args: argparse.Namespace, qs: QualitySettings) -> Any:
    """The settings' thresholds, each flag given overriding its own."""
    from mira_ls.understand import quality

    base = quality.Thresholds.from_settings(qs)
    return quality.Thresholds(
        *(
            getattr(base, m) if getattr(args, f"max_{m}") is None else getattr(args, f"max_{m}")
            for m in ("complexity", "nesting", "length", "params")
        )
    )


def _workspace(store: Any, target: Path, settings: Any, quiet: bool) -> tuple[Path, int, str]:
    """(root, project id, prefix of ``target`` in it), the workspace indexed first."""
    project = projects.for_path(store.conn(), target)
    root = Path(project.root_path) if project else target
    if not root.is_dir():
        raise CliError(f"{target} is not inside an indexed workspace; index its folder first")
    bar = _StderrProgress(not quiet)
    try:
        stats = indexer.index_workspace(store, root, settings.index, progress=bar)
    except indexer.WorkspaceError as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    prefix = "" if target == root else target.relative_to(root).as_posix()
    return root, stats.project_id, prefix


def cmd_analyze(args: argparse.Namespace) -> int:
    from mira_ls.cli.embed_cmd import _confirm
    from mira_ls.features import chat
    from mira_ls.features.session import Session
    from mira_ls.llm.pricing import usd
    from mira_ls.understand import analysis_run, semantic

    target = Path(args.path).expanduser().resolve()
    if not target.exists():
        raise CliError(f"{args.path} does not exist; pass a workspace folder or a file in one")
    settings = common.settings(args)
    with common.open_db(args) as store:
        root, project_id, prefix = _workspace(store, target, settings, args.quiet)
        what = prefix or root.name
        svc = chat.ChatState().service(Session(store, settings))
        plan = semantic.plan(svc, root, project_id, prefix)
        said = (
            f"{what}: {len(plan.pending)} definitions to analyse, {plan.analysed} analysed "
            f"already; {len(plan.prompts)} calls, about {plan.input_tokens} input tokens, at "
            f"most {usd(plan.cost_micro)} with {settings.llm.model}"
        )
        if not plan.prompts:
            nothing = analysis_run.AnalysisRun(plan)
            common.emit(args, nothing.as_json(what), nothing.message(what))
            return 0
        if args.dry_run:
            common.emit(args, semantic.as_json(plan, None), said)
            return 0
        if not args.quiet:
            print(said, file=sys.stderr)
        limit = settings.analysis.confirm_above_usd
        if plan.cost_micro > limit * 1_000_000 and not args.yes:
            question = f"The analysis may cost up to {usd(plan.cost_micro)}. Continue? [y/N] "
            if not _confirm(question):
                raise CliError(
                    f"not analysed: the estimate {usd(plan.cost_micro)} is above "
                    f"analysis.confirmAboveUsd ({usd(round(limit * 1_000_000))}); run again "
                    "with --yes to go ahead"
                )
        bar = _StderrProgress(not args.quiet)
        try:
            run = analysis_run.analyse(store, svc, project_id, plan, what, progress=bar)
        finally:
            bar.close()
    common.emit(args, run.as_json(what), run.message(what))
    if run.stopped:
        raise CliError(run.stopped)
    return 0
