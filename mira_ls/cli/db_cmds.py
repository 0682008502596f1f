"""``mira-ls db status``: where the data lives and what is in it."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from mira_ls import dates
from mira_ls.cli import common
from mira_ls.store import search as search_store
from mira_ls.store import vectors as vstore
from mira_ls.store.status import status


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database upkeep")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    p = dbsub.add_parser("status", help="path, SQLite backend, migrations and row counts")
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_status)
    p = dbsub.add_parser(
        "prune",
        help="drop expired LLM cache entries, blame of old file versions, unneeded build snapshots",
    )
    common.add_common(p, json_flag=True)
    p.set_defaults(func=cmd_prune)
    db.set_defaults(func=lambda args: (db.print_help(), 2)[1])


def cmd_status(args: argparse.Namespace) -> int:
    settings = common.settings(args)
    v = settings.vectors
    vec_backend = (
        "qdrant" if v.backend == "qdrant" or v.qdrant_url or v.qdrant_path else ("sqlite-vec")
    )
    with common.open_db(args) as store:
        st = status(store)
        conn = store.conn()
        keyword = search_store.counts(conn)
        collections: list[dict[str, Any]] = [
            {
                "collection": c,
                "backend": vec_backend,
                "model": m,
                "dimensions": d,
                "vectors": n,
                "bytes": b,
            }
            for c, m, d, n, b in vstore.collection_counts(conn)
        ]
        git_kinds = vstore.kind_counts(conn, "git")
        for c in collections:  # the git collection says how many commits and past fixes
            if c["collection"] == "git":
                kinds = git_kinds.get((c["model"], c["dimensions"]), {})
                c["commits"], c["fixes"] = kinds.get("commit", 0), kinds.get("fix", 0)
    lines = [
        f"database:    {st.path} ({st.size_bytes / 1e6:.1f} MB)",
        f"backend:     {st.backend} (SQLite {st.sqlite_version}), journal {st.journal_mode}",
        f"sqlite-vec:  {st.sqlite_vec_version or 'unavailable'}",
        "migrations:",
    ]
    for m in st.migrations:
        at = dates.minute(m["applied_at"])
        lines.append(f"  {m['version']:03d} {m['name']:<24} {m['checksum']}  {at}")
    lines.append("rows:")
    width = max((len(t) for t in st.tables), default=10)
    for t, n in st.tables.items():
        lines.append(f"  {t:<{width}} {n}")
    lines.append(f"keyword index: {keyword['symbols']} symbols, {keyword['commits']} commits")
    lines.append("vector collections:" + ("" if collections else " none (mira-ls embed PATH)"))
    for c in collections:
        lines.append(
            f"  {c['collection']:<12} {c['backend']:<10} {c['model']} ({c['dimensions']} dims)"
            f"  {c['vectors']} vectors, {c['bytes'] / 1e6:.1f} MB"
            + (f" ({c['commits']} commits, {c['fixes']} past fixes)" if "commits" in c else "")
        )
    data = dataclasses.asdict(st)
    data["keyword_index"] = keyword
    data["collections"] = collections
    common.emit(args, data, "\n".join(lines))
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from mira_ls.features.upkeep import prune

    with common.open_db(args) as store:
        r = prune(store)
        store.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    text = (
        f"removed {r.cache_entries} expired cache entries, blame of {r.blame_versions} old file "
        f"versions ({r.blame_rows} rows), {r.build_snapshots} build snapshots "
        f"({r.build_run_files} run-file rows)"
    )
    common.emit(args, dataclasses.asdict(r), text)
    return 0
