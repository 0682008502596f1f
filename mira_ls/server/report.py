"""mira.openReport: the HTML insight report of a workspace, opened in the browser."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

from mira_ls.features import report as report_feature
from mira_ls.server.base import Handlers, MiraServer, command_arg, uri_to_path
from mira_ls.store import StoreError

log = logging.getLogger(__name__)
handlers = Handlers()
register = handlers.register


@handlers.command("mira.openReport")
async def cmd_open_report(ls: MiraServer, *args: Any) -> dict[str, Any]:
    """Write the insight report of the workspace ({uri?} picks the folder) under the state
    dir and ask the client to open it in a browser; without showDocument, say where it is."""
    a = command_arg(args)
    if ls.session.store is None:
        msg = "mira-ls has no database, so there is nothing to report; see the earlier error."
        ls.show(msg, once=False)
        return {"opened": False, "message": msg}
    uri = a.get("uri")
    target = uri_to_path(uri) if isinstance(uri, str) else None
    loc = ls.session.locate(target) if target is not None else None
    root = loc.project.root if loc else (ls.session.roots[0].root if ls.session.roots else None)
    if root is None:
        msg = "mira-ls has no workspace folder to report on; open a folder first."
        ls.show(msg, types.MessageType.Warning, once=False)
        return {"opened": False, "message": msg}
    try:
        path, _ = await asyncio.to_thread(
            report_feature.write_workspace_report, ls.session.store, root, ls.session.settings
        )
    except StoreError as exc:
        ls.show(str(exc), once=False)
        return {"opened": False, "message": str(exc)}
    except Exception as exc:
        log.exception("the report failed")
        msg = f"mira-ls could not write the report: {exc}. Details are in the server log."
        ls.show(msg, once=False)
        return {"opened": False, "message": msg}
    file_uri = path.as_uri()
    opened = await ls.show_document(
        file_uri,
        external=True,
        fallback=f"mira-ls wrote the report to {path}; open it in a browser.",
    )
    return {"opened": opened, "path": str(path), "uri": file_uri}
