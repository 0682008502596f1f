"""``mira-ls embed PATH``: embed a workspace's code for semantic search (cost said first)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.cli.index_cmds import _StderrProgress
from mira_ls.index import indexer
from mira_ls.llm.pricing import usd
from mira_ls.vectors import code as code_vectors
from mira_ls.vectors.embeddings import Embedder, semantic_off_reason
from mira_ls.vectors.sqlite_vec import unavailable_reason
from mira_ls.vectors.stores import QdrantUnavailable, open_index


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed", help="embed a workspace's code for semantic search (only what is missing)"
    )
    p.add_argument("path", metavar="PATH", help="workspace folder (indexed first if needed)")
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


def cmd_embed(args: argparse.Namespace) -> int:
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
        p = code_vectors.plan(emb, stats.project_id)
        est = code_vectors.estimate(emb, p)
        data = {
            "entries": p.entries,
            "current": p.current,
            "to_embed": est.texts,
            "tokens": est.tokens,
            "estimated_usd": est.cost_micro / 1_000_000,
            "model": emb.model,
            "dimensions": emb.dimensions,
        }
        said = (
            f"{p.entries} definitions, {p.current} already embedded; {len(p.texts)} to point "
            f"at vectors, {est.texts} texts to embed ({est.tokens} tokens, about "
            f"{usd(est.cost_micro)} with {emb.model} at {emb.dimensions} dimensions)"
        )
        if args.dry_run:
            common.emit(args, data, said)
            return 0
        if not args.quiet:
            print(said, file=sys.stderr)
        reason = unavailable_reason()
        if est.texts and reason is None:
            reason = semantic_off_reason(settings)
        if reason is not None:
            raise CliError(reason)
        limit = settings.vectors.confirm_above_usd
        if est.cost_micro > limit * 1_000_000 and not args.yes:
            question = f"Embedding will cost about {usd(est.cost_micro)}. Continue? [y/N] "
            if not _confirm(question):
                raise CliError(
                    f"not embedded: the estimate {usd(est.cost_micro)} is above "
                    f"vectors.confirmAboveUsd ({usd(round(limit * 1_000_000))}); run again "
                    "with --yes to go ahead"
                )
        try:
            index = open_index(store, settings, emb.model, emb.dimensions)
        except QdrantUnavailable as exc:
            raise CliError(str(exc)) from exc
        bar = _StderrProgress(not args.quiet)
        try:
            done = code_vectors.sync(emb, index, stats.project_id, p, progress=bar)
        except QdrantUnavailable as exc:
            raise CliError(f"{exc} The vectors made so far are kept in the database.") from exc
        finally:
            bar.close()
            index.close()
    run = done.run
    data.update(
        {
            "embedded": run.embedded,
            "reused": run.reused,
            "calls": run.calls,
            "cost_usd": run.cost_micro / 1_000_000,
            "points": done.points,
            "stopped": run.stopped,
        }
    )
    text = (
        f"embedded {run.embedded} texts in {run.calls} calls ({usd(run.cost_micro)}), "
        f"{run.reused} reused; {done.points} definitions now point at vectors"
    )
    common.emit(args, data, text)
    if run.stopped:
        raise CliError(f"{run.stopped} Run `mira-ls embed` again to go on from here.")
    return 0
