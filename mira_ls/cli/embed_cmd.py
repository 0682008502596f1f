"""``mira-ls embed PATH``: embed a workspace's code and git history for semantic search
(cost said first, for each collection)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mira_ls.cli import common
from mira_ls.cli.common import CliError, UsageError
from mira_ls.cli.index_cmds import _StderrProgress
from mira_ls.index import indexer
from mira_ls.llm.pricing import usd
from mira_ls.vectors import code as code_vectors
from mira_ls.vectors import git as git_vectors
from mira_ls.vectors.embeddings import Embedder, Estimate, semantic_off_reason
from mira_ls.vectors.sqlite_vec import unavailable_reason
from mira_ls.vectors.stores import QdrantUnavailable, VectorIndex, open_index

COLLECTIONS = ("code", "git", "all")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help="embed a workspace's code and git history for semantic search (only what is missing)",
    )
    p.add_argument("path", metavar="PATH", help="workspace folder (indexed first if needed)")
    p.add_argument(
        "--collection",
        default="all",
        help="code (definitions), git (mined commits and past fixes) or all (the default)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what it would cost, embed nothing")
    p.add_argument(
        "--yes", action="store_true", help="do not ask when above vectors.confirmAboveUsd"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_embed)


def _confirm(prompt: str) -> bool:
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


@dataclass
class _Part:
    """One collection's plan, what it would cost, and (after the run) what it did."""

    name: str
    plan: code_vectors.CodePlan | git_vectors.GitPlan
    estimate: Estimate
    done: code_vectors.CodeSync | git_vectors.GitSync | None = None

    @property
    def entries(self) -> int:
        return self.plan.entries

    def said(self, emb: Embedder) -> str:
        p, est = self.plan, self.estimate
        if isinstance(p, git_vectors.GitPlan):
            if not p.entries:
                return "git: no mined history (run `mira-ls mine PATH` first)"
            what = f"git: {p.commits} commits and {p.fixes} past fixes"
        else:
            what = f"code: {p.entries} definitions"
        return (
            f"{what}, {p.current} already embedded; {len(p.texts)} to point at vectors, "
            f"{est.texts} texts to embed ({est.tokens} tokens, about {usd(est.cost_micro)} "
            f"with {emb.model} at {emb.dimensions} dimensions)"
        )

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "entries": self.entries,
            "current": self.plan.current,
            "to_embed": self.estimate.texts,
            "tokens": self.estimate.tokens,
            "estimated_usd": self.estimate.cost_micro / 1_000_000,
        }
        if isinstance(self.plan, git_vectors.GitPlan):
            out.update(commits=self.plan.commits, fixes=self.plan.fixes)
        if self.done is not None:
            r = self.done.run
            out.update(
                embedded=r.embedded,
                reused=r.reused,
                calls=r.calls,
                cost_usd=r.cost_micro / 1_000_000,
                points=self.done.points,
                stopped=r.stopped,
            )
        return out


def _plans(emb: Embedder, project_id: int, collection: str) -> list[_Part]:
    parts: list[_Part] = []
    if collection in ("code", "all"):
        cp = code_vectors.plan(emb, project_id)
        parts.append(_Part("code", cp, code_vectors.estimate(emb, cp)))
    if collection in ("git", "all"):
        gp = git_vectors.plan(emb, project_id)
        parts.append(_Part("git", gp, git_vectors.estimate(emb, gp)))
    return parts


def _sync(part: _Part, emb: Embedder, index: VectorIndex, project_id: int, quiet: bool) -> None:
    bar = _StderrProgress(not quiet)
    try:
        if isinstance(part.plan, git_vectors.GitPlan):
            part.done = git_vectors.sync(emb, index, project_id, part.plan, progress=bar)
        else:
            part.done = code_vectors.sync(emb, index, project_id, part.plan, progress=bar)
    finally:
        bar.close()


def _totals(parts: list[_Part], emb: Embedder) -> dict[str, Any]:
    """The collections' numbers summed (the shape before the git collection) and each."""
    each = [p.data() for p in parts]
    keys = ["entries", "current", "to_embed", "tokens", "estimated_usd"]
    if all(p.done is not None for p in parts):
        keys += ["embedded", "reused", "calls", "cost_usd", "points"]
    data: dict[str, Any] = {k: sum(d[k] for d in each) for k in keys}
    if "embedded" in keys:
        data["stopped"] = next((d["stopped"] for d in each if d["stopped"]), None)
    data.update(model=emb.model, dimensions=emb.dimensions)
    data["collections"] = {p.name: d for p, d in zip(parts, each, strict=True)}
    return data


def cmd_embed(args: argparse.Namespace) -> int:
    if args.collection not in COLLECTIONS:
        raise UsageError(
            f"--collection must be one of {', '.join(COLLECTIONS)}, not {args.collection!r}"
        )
    root = Path(args.path).expanduser()
    if not root.is_dir():
        raise CliError(f"{root} is not a folder; pass the folder of a workspace to embed")
    settings = common.settings(args)
    progress = _StderrProgress(not args.quiet)
    with common.open_db(args) as store:
        try:
            stats = indexer.index_workspace(store, root, settings.index, progress=progress)
        except indexer.WorkspaceError as exc:
            raise CliError(str(exc)) from exc
        finally:
            progress.close()
        emb = Embedder(store, settings)
        parts = _plans(emb, stats.project_id, args.collection)
        said = "\n".join(p.said(emb) for p in parts)
        if args.dry_run:
            common.emit(args, _totals(parts, emb), said)
            return 0
        if not args.quiet:
            print(said, file=sys.stderr)
        cost = sum(p.estimate.cost_micro for p in parts)
        reason = unavailable_reason()
        if any(p.estimate.texts for p in parts) and reason is None:
            reason = semantic_off_reason(settings)
        if reason is not None:
            raise CliError(reason)
        limit = settings.vectors.confirm_above_usd
        if cost > limit * 1_000_000 and not args.yes:
            question = f"Embedding will cost about {usd(cost)}. Continue? [y/N] "
            if not _confirm(question):
                raise CliError(
                    f"not embedded: the estimate {usd(cost)} is above "
                    f"vectors.confirmAboveUsd ({usd(round(limit * 1_000_000))}); run again "
                    "with --yes to go ahead"
                )
        try:
            index = open_index(store, settings, emb.model, emb.dimensions)
        except QdrantUnavailable as exc:
            raise CliError(str(exc)) from exc
        try:
            for part in parts:
                if part.name == "git" and not part.entries:
                    continue  # nothing mined: no run, no operation
                _sync(part, emb, index, stats.project_id, args.quiet)
                if part.done is not None and part.done.run.stopped:
                    break  # the budget or the endpoint said no: the rest waits too
        except QdrantUnavailable as exc:
            raise CliError(f"{exc} The vectors made so far are kept in the database.") from exc
        finally:
            index.close()
    ran = [p for p in parts if p.done is not None]
    data = _totals(ran, emb) if ran else _totals([], emb)
    data["collections"] = {p.name: p.data() for p in parts}
    lines = []
    for p in ran:
        assert p.done is not None
        r = p.done.run
        what = "definitions" if p.name == "code" else "commits and fixes"
        lines.append(
            f"{p.name}: embedded {r.embedded} texts in {r.calls} calls ({usd(r.cost_micro)}), "
            f"{r.reused} reused; {p.done.points} {what} now point at vectors"
        )
    common.emit(args, data, "\n".join(lines) or "nothing to embed")
    stopped = data.get("stopped")
    if stopped:
        raise CliError(f"{stopped} Run `mira-ls embed` again to go on from here.")
    return 0
