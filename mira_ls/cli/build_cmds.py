"""``mira-ls build PATH``, ``mira-ls errors [PATH]`` and ``mira-ls resolutions ERROR_HASH``:
the build intelligence the server offers, from a terminal, on the same database."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from mira_ls.build import consent, detect, pipeline, report
from mira_ls.build import resolutions as ranking
from mira_ls.cli import common
from mira_ls.cli.common import CliError
from mira_ls.config import Settings
from mira_ls.store import Store
from mira_ls.store import build_errors as error_store
from mira_ls.store import projects as project_store
from mira_ls.store.build_errors import ErrorRow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="run the build/check commands of a workspace and record their errors",
        description="Run the configured (mira.build.commands) or detected build/check "
        "commands of a workspace, record their errors and how earlier ones were fixed. "
        "Exit code 0 when every command succeeded without errors, 1 otherwise.",
    )
    p.add_argument("path", metavar="PATH", nargs="?", default=".", help="workspace folder")
    p.add_argument(
        "--name",
        action="append",
        dest="names",
        metavar="NAME",
        help="run only this command (repeatable)",
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help="run commands detected from the repository without asking",
    )
    p.add_argument("--dry-run", action="store_true", help="list the commands, run nothing")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("errors", help="list the build errors of a workspace (open ones by default)")
    p.add_argument("path", metavar="PATH", nargs="?", default=".", help="workspace folder")
    p.add_argument("--all", action="store_true", help="also resolved errors")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_errors)

    p = sub.add_parser("resolutions", help="past resolutions and fix commits of a build error")
    p.add_argument("error_hash", metavar="ERROR_HASH", help="the error's hash (a prefix is enough)")
    p.add_argument("--path", default=".", help="workspace folder (default: current directory)")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_resolutions)


def _root(path: str) -> Path:
    root = Path(path).resolve()
    if not root.is_dir():
        raise CliError(f"{path} is not a folder; give the workspace folder to build.")
    return root


def _project(store: Store, root: Path, create: bool) -> project_store.Project:
    conn = store.conn()
    found = project_store.by_root(conn, root) or project_store.for_path(conn, root)
    if found is not None:
        return found
    if not create:
        raise CliError(f"mira-ls has no build data for {root}; run `mira-ls build {root}` first.")
    with store.write() as c:
        return project_store.get_or_create(c, root)


def _confirm(
    store: Store, project: project_store.Project, plan: detect.CommandPlan, yes: bool
) -> None:
    """Detected commands run the repository's code: confirmed once per project."""
    if not consent.needs_consent(store, project.id, plan):
        return
    listing = consent.listing(plan, "\n  ")
    listing = f"  {listing}"
    if not yes:
        if not sys.stdin.isatty():
            raise CliError(
                f"These build commands were found in {project.root_path} and run its own code:\n"
                f"{listing}\nRun again with --yes to allow them (remembered for this project), "
                "or set mira.build.commands."
            )
        print(
            f"Build commands found in {project.root_path} (they run its own code):\n{listing}",
            file=sys.stderr,
        )
        answer = input("Run them? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise CliError("Not confirmed; nothing was run.")
    consent.remember(store, project.id)


def _error_json(e: ErrorRow) -> dict[str, Any]:
    return {
        "hash": e.error_hash,
        "tool": e.tool,
        "code": e.code,
        "category": e.category,
        "severity": e.severity,
        "message": e.message,
        "file": e.file_path,
        "line": e.line,
        "col": e.col,
        "count": e.occurrence_count,
        "first_seen_at": e.first_seen_at,
        "last_seen_at": e.last_seen_at,
        "status": e.status,
    }


def _error_line(e: ErrorRow) -> str:
    where = e.file_path or "-"
    if e.line:
        where += f":{e.line}" + (f":{e.col}" if e.col else "")
    first = e.message.splitlines()[0] if e.message else ""
    return (
        f"{where}: {e.severity}: {first} [{e.tool} {e.code}]".replace(" ]", "]")
        + f" x{e.occurrence_count} {e.error_hash[:12]}"
    )


def cmd_build(args: argparse.Namespace) -> int:
    root = _root(args.path)
    settings = common.settings(args)
    plan = detect.plan_commands(root, settings.build.commands, args.names)
    for problem in plan.problems:
        print(f"mira-ls: {problem}", file=sys.stderr)
    if not plan.commands:
        raise CliError(
            plan.empty_reason(
                str(root),
                "set mira.build.commands (or the MIRA_BUILD_COMMANDS environment variable)",
            )
        )
    source = "detected" if plan.detected else "configured"
    print(f"{source} build commands:", file=sys.stderr)
    for c in plan.commands:
        print(f"  {c.describe()}", file=sys.stderr)
    if args.dry_run:
        common.emit(
            args,
            {"commands": [dataclasses.asdict(c) for c in plan.commands]},
            "\n".join(c.describe() for c in plan.commands),
        )
        return 0
    with common.open_db(args) as store:
        project = _project(store, root, create=True)
        _confirm(store, project, plan, args.yes)

        def progress(done: int, total: int, message: str) -> None:
            print(f"[{done}/{total}] {message}", file=sys.stderr)

        result = pipeline.run_build(
            store,
            project.id,
            root,
            plan.commands,
            settings.build,
            progress=progress,
            trust_git=settings.git.trust_repository_config,
            learn=settings.learning.enabled,
        )
        errors = error_store.list_errors(store.conn(), project.id)
        if any(st.error_count for st in result.steps):
            _embed_errors(store, settings, project.id)
    data = {
        "steps": [dataclasses.asdict(s) for s in result.steps],
        "errors": [_error_json(e) for e in errors],
    }
    lines = [_error_line(e) for e in errors]
    for s in result.steps:
        if s.message:
            print(f"mira-ls: {s.message}", file=sys.stderr)
    lines.append(result.summary())
    common.emit(args, data, "\n".join(lines))
    clean = all(s.status == "succeeded" and s.error_count == 0 for s in result.steps)
    return 0 if clean else 1


def _embed_errors(store: Store, settings: Settings, project_id: int) -> None:
    """The new errors' texts get vectors when the project's fixes have some, so past fixes
    blend meaning in for them (mira_ls.vectors.git.embed_build_errors)."""
    from mira_ls.vectors import git as git_vectors

    run = git_vectors.embed_build_errors(store, settings, project_id)
    if run is not None and run.stopped:
        print(f"mira-ls: the build errors were not embedded: {run.stopped}", file=sys.stderr)


def cmd_errors(args: argparse.Namespace) -> int:
    root = _root(args.path)
    with common.open_db(args) as store:
        project = _project(store, root, create=False)
        errors = error_store.list_errors(
            store.conn(), project.id, status=None if args.all else "open"
        )
    common.emit(
        args,
        [_error_json(e) for e in errors],
        "\n".join(_error_line(e) for e in errors) or "no open build errors",
    )
    return 0


def cmd_resolutions(args: argparse.Namespace) -> int:
    root = _root(args.path)
    prefix = args.error_hash.strip().lower()
    if len(prefix) < 4:
        raise CliError("Give at least 4 characters of the error hash (see `mira-ls errors`).")
    with common.open_db(args) as store:
        project = _project(store, root, create=False)
        conn = store.conn()
        found = error_store.by_hash_prefix(conn, project.id, prefix)
        if not found:
            raise CliError(f"No build error {prefix} in {root}; see `mira-ls errors --all`.")
        if len(found) > 1:
            raise CliError(
                f"{prefix} matches several errors ("
                + ", ".join(e.error_hash[:12] for e in found)
                + "); give more of it."
            )
        err = found[0]
        fixes = ranking.rank(conn, project.id, err, limit=10)
        md = report.render(root, err, fixes)
    data = {
        "error": _error_json(err),
        "fixes": [
            {
                "score": f.score,
                "match": f.match,
                "at": f.at,
                "commit": f.commit,
                "subject": f.subject,
                "files": f.files,
                "diff": f.diff,
                "resolution_id": f.resolution.id if f.resolution else None,
            }
            for f in fixes
        ],
    }
    common.emit(args, data, md)
    return 0
