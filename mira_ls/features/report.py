"""Build the insight report of a workspace and write it where commands open it from."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from mira_ls import paths
from mira_ls.config import Settings
from mira_ls.report import data, html
from mira_ls.store import Store

__all__ = ["collect", "default_path", "render", "write", "write_workspace_report"]

collect = data.collect
render = html.render


def default_path(root: Path | str) -> Path:
    """Under the state dir, never inside the workspace; one file per workspace root."""
    root_p = Path(root).expanduser().resolve()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", root_p.name).strip("-") or "workspace"
    digest = hashlib.sha256(str(root_p).encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return paths.answers_dir() / "reports" / f"{slug}-{digest}.html"


def write(text: str, path: Path) -> Path:
    """Write atomically (a reader never sees half a report); parents are created."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mira-report-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # a document to open in a browser, like any file a CLI writes
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_workspace_report(
    store: Store, root: Path | str, settings: Settings, out: Path | None = None
) -> tuple[Path, data.Report]:
    """Collect, render and write the report of one workspace root; returns where it went."""
    report = collect(store, root, settings)
    return write(render(report), out or default_path(root)), report
