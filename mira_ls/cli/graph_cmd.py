"""``mira-ls graph [PATH] [--of NAME] [--rebuild] [--json]``: the semantic graph of an indexed
workspace (node and edge counts), or the edges of one node: a file path, a module
(``module:NAME``) or a concept (``concept:NAME``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.store import projects


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "graph",
        help="the semantic graph of a workspace: counts, or the edges of a file or concept",
        description=(
            "Show the semantic graph built from the index, the analyses, the clusters and "
            "the co-change pairs (nodes: symbols, files, modules, concepts; edges: calls, "
            "imports, uses_concept, same_domain, changes_with). It is built on the first "
            "`mira-ls index` and kept up to date by parts; --rebuild builds it again."
        ),
    )
    p.add_argument(
        "path", nargs="?", default=".", metavar="PATH",
        help="the workspace folder or a path inside it (default: the current folder)",
    )  # fmt: skip
    p.add_argument(
        "--of", default=None, metavar="NAME",
        help="a file path (repository-relative), module:NAME or concept:NAME",
    )  # fmt: skip
    p.add_argument("--rebuild", action="store_true", help="build the whole graph again")
    p.add_argument("--limit", type=int, default=50, help="edges shown with --of (default 50)")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_graph)


def cmd_graph(args: argparse.Namespace) -> int:
    from mira_ls.store import semantic_graph as sg
    from mira_ls.understand import graph

    target = Path(args.path).expanduser().resolve()
    if not target.exists():
        raise CliError(f"{args.path} does not exist; pass a workspace folder")
    with common.open_db(args) as store:
        project = projects.for_path(store.conn(), target)
        if project is None:
            raise CliError(
                f"{target} is not inside an indexed workspace; run `mira-ls index` on its "
                "folder first"
            )
        if args.rebuild or not sg.built(store.conn(), project.id):
            took = graph.refresh_all(store, project.id).seconds
            print(f"semantic graph built in {took:.2f} s", file=sys.stderr)
        if args.of is None:
            st = sg.stats(store.conn(), project.id)
            text = "nodes: " + ", ".join(f"{k} {v}" for k, v in st.nodes.items())
            text += "\nedges: " + ", ".join(f"{k} {v}" for k, v in st.edges.items())
            common.emit(args, st.as_json(), text)
            return 0
        kind, _, name = args.of.partition(":")
        if kind not in ("module", "concept") or not name:
            kind, name = "file", args.of
        if kind == "concept":
            name = " ".join(name.split()).lower()
        near = sg.neighbours(store.conn(), project.id, kind, name, max(1, args.limit))
    if not near:
        raise CliError(f"the graph has no {kind} {name!r} (or it has no edges)")
    data: list[dict[str, Any]] = [
        {"relationship": n.relationship, "direction": n.direction, "kind": n.node_kind,
         "name": n.name, "path": n.file_path, "strength": round(n.strength, 4)}
        for n in near
    ]  # fmt: skip
    lines = [
        f"{'->' if n.direction == 'out' else '<-'} {n.relationship:<13} {n.node_kind:<8} "
        f"{n.name}" + (f" ({n.file_path})" if n.file_path and n.file_path != n.name else "")
        for n in near
    ]
    common.emit(args, data, "\n".join(lines))
    return 0
