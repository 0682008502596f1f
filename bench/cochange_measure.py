"""Measure co-change settings on a mined repository: prints one JSON object.

    python bench/cochange_measure.py DB PROJECT_ROOT [--show FILE ...]

Reads the counted commits the miner stored and, for each candidate setting, reports how many
files with at least 20 counted commits keep a partner, how many pairs would make the save
diagnostic fire, and which partners chosen files get. Used to choose the defaults written
in the README (co-change section).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mira_ls.config import CochangeSettings
from mira_ls.git.cochange import directional, top_partners
from mira_ls.store import Store, git_history, projects


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("root")
    ap.add_argument("--show", nargs="*", default=[])
    ap.add_argument("--min-commits", type=int, default=20)
    args = ap.parse_args()
    store = Store(Path(args.db))
    conn = store.conn()
    pid = projects.get_or_create(conn, Path(args.root)).id
    stats = {p: (c, last) for p, c, last in git_history.all_file_stats(conn, pid)}
    total = conn.execute(
        "SELECT count(*) FROM git_commits WHERE project_id = ? AND ignored_reason IS NULL",
        (pid,),
    ).fetchone()[0]
    busy = sorted((f for f, (c, _) in stats.items() if c >= args.min_commits))
    cands = {f: git_history.co_counts(conn, pid, f) for f in busy + args.show}
    base = CochangeSettings()
    out: dict = {"counted_commits": total, "files_min_commits": len(busy), "settings": []}
    for min_shared in (2, 3, 5):
        for min_conf in (0.1, 0.2, 0.3):
            s = replace(base, min_shared=min_shared, min_confidence=min_conf, top_partners=10)
            with_partner = 0
            fired = 0
            fired_hot = 0
            by_partner: dict[str, int] = {}
            for f in busy:
                kept = top_partners(f, stats[f][0], cands[f], stats, s)
                with_partner += bool(kept)
                for p in kept:
                    if p.shared >= base.strong_shared and p.confidence >= base.strong_confidence:
                        if p.partner_commits / total > base.diagnostic_max_share:
                            fired_hot += 1
                        else:
                            fired += 1
                            by_partner[p.partner] = by_partner.get(p.partner, 0) + 1
            out["settings"].append(
                {
                    "min_shared": min_shared,
                    "min_confidence": min_conf,
                    "files_with_partners": with_partner,
                    "diagnostic_pairs": fired,
                    "diagnostic_pairs_left_out_as_too_common": fired_hot,
                    "diagnostic_top_partners": sorted(by_partner.items(), key=lambda x: -x[1])[:4],
                }
            )
    shares = sorted(((c / total, f) for f, (c, _) in stats.items()), reverse=True)[:5]
    out["most_common_files"] = [{"file": f, "share": round(sh, 3)} for sh, f in shares]
    shown = {}
    for f in args.show:
        if f not in stats:
            continue
        kept = top_partners(f, stats[f][0], cands[f], stats, base)
        shown[f] = {
            "commits": stats[f][0],
            "partners": [
                f"{p.partner} {p.shared}/{p.commits} conf {p.confidence:.2f} "
                f"rev {directional(p.shared, p.partner_commits):.2f} jac {p.jaccard:.2f}"
                for p in kept
            ],
        }
    out["shown"] = shown
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
