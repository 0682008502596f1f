"""The synthesized tools of one question: the approved ones are offered to the model, a
call of any other is refused with a sentence; each run is recorded (arguments, success,
duration, output), and an approved tool whose recent runs mostly failed is withdrawn from
the model with a note for the answer."""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mira_ls.config import ToolsSettings
from mira_ls.learning.command import clean_env, run_command
from mira_ls.learning.synthesis import PLACEHOLDER, STATUS_SHOWN
from mira_ls.llm.redact import redact
from mira_ls.llm.tools import LISTING, NAMES, ToolBox, ToolReply, found_names
from mira_ls.llm.workspace_files import FileRefused
from mira_ls.store import Store, StoreError
from mira_ls.store import synth_tools as q
from mira_ls.store.synth_tools import ToolRow

KEPT_OUTPUT = 4000  # characters of a run's output kept in tool_executions
RECENT_RUNS = 10  # the withdrawal check looks at this many latest runs


class _Bad(Exception):
    """The model's arguments do not fit the tool: it is told, the run is not counted."""


@dataclass
class Offered:
    """The synthesized tools of one project for one question (llm.tools.ExtraTools)."""

    store: Store
    project_id: int
    root: Path
    settings: ToolsSettings
    secrets: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _offered: list[ToolRow] | None = None

    def schemas(self) -> list[dict[str, Any]]:
        if self._offered is None:
            try:
                self._offered = q.offered(self.store.conn(), self.project_id)
            except StoreError:
                self._offered = []
        return [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": f"{t.description} (a tool the user approved)",
                    "parameters": t.parameters,
                },
            }
            for t in self._offered
        ]

    def call(self, name: str, args: dict[str, Any], box: ToolBox) -> ToolReply | None:
        row = q.tool_named(self.store.conn(), self.project_id, name)
        if row is None:
            return None
        if row.status != "active" or row.approved_version != row.version:
            why = STATUS_SHOWN.get(row.status, row.status)
            if row.status == "active":
                why = "changed since it was approved"
            return ToolReply(
                f"Refused: {name} is a synthesized tool that is {why}; only tools the user "
                "approved can run. Use the built-in tools instead.",
                True,
            )
        start = time.monotonic()
        try:
            if row.kind == "command":
                box.volatile = True  # its output is of this moment: the answer is not cached
                ok, text, error = self._command(row, args, box)
            else:
                ok, text, error = self._composition(row, args, box)
        except _Bad as exc:
            return ToolReply(f"Error: bad arguments for {name}: {exc}", True)
        ms = int((time.monotonic() - start) * 1000)
        self._record(row, args, box, ok, text, error, ms)
        return ToolReply(text, not ok)

    # -- running ------------------------------------------------------------------------

    def _composition(
        self, row: ToolRow, args: dict[str, Any], box: ToolBox
    ) -> tuple[bool, str, str | None]:
        steps = row.definition.get("steps", [])
        extra = sorted(set(args) - set(row.parameters.get("properties", {})))
        if extra:
            raise _Bad(f"unknown argument {', '.join(extra)}")
        found: list[list[str]] = []
        parts = []
        for i, step in enumerate(steps):
            if step.get("tool") not in NAMES:  # only mira-ls's own read-only tools compose
                return False, f"step {i + 1} names no built-in tool", "not a built-in tool"
            call: dict[str, Any] = {}
            for k, b in step["arguments"].items():
                if "param" in b:
                    if b["param"] not in args:
                        raise _Bad(f"{b['param']} is required")
                    call[k] = args[b["param"]]
                elif "from_step" in b:
                    names = found[b["from_step"]]
                    if not names:
                        parts.append(
                            f"[{i + 1}] {step['tool']}: not run, step {b['from_step'] + 1} "
                            "found nothing"
                        )
                        return True, "\n\n".join(parts), None
                    call[k] = names[0]
                else:
                    call[k] = b.get("value")
            reply = box.call(step["tool"], call)
            parts.append(f"[{i + 1}] {step['tool']}({json.dumps(call)}):\n{reply.text}")
            if reply.is_error:
                return False, "\n\n".join(parts), f"step {i + 1} ({step['tool']}) failed"
            found.append(found_names(reply.text) if step["tool"] in LISTING else [])
        return True, "\n\n".join(parts), None

    def _command(
        self, row: ToolRow, args: dict[str, Any], box: ToolBox
    ) -> tuple[bool, str, str | None]:
        d = row.definition
        params = set(row.parameters.get("properties", {}))
        extra = sorted(set(args) - params)
        if extra:
            raise _Bad(f"unknown argument {', '.join(extra)}")
        values: dict[str, str] = {}
        for p in sorted(params):
            v = args.get(p)
            if v is None:
                raise _Bad(f"{p} is required")
            text = str(v)
            if text.startswith("-") or "\x00" in text or "\n" in text:
                raise _Bad(f"{p} cannot start with '-' or hold a NUL or newline")
            if p in d.get("paths", []):
                try:
                    text = box.workspace_path(text) or "."
                except FileRefused as exc:  # outside the workspace
                    raise _Bad(str(exc)) from None
            values[p] = text
        argv = [d["argv"][0]] + [
            PLACEHOLDER.sub(lambda m: values[m.group(1)], a) for a in d["argv"][1:]
        ]
        timeout = float(d.get("timeout_s") or self.settings.command_timeout_seconds)
        env = clean_env(self.environ, self.secrets)
        run = run_command(argv, self.root, env, timeout, self.settings.output_max_bytes)
        head = f"$ {shlex.join(argv)}\n"
        if run.error is not None:
            head += f"{run.error}"
        else:
            head += f"exit {run.returncode} in {run.seconds:.2f} s"
        if run.truncated:
            head += f" (output cut at {self.settings.output_max_bytes} of {run.output_bytes} bytes)"
        error = run.error or (None if run.ok else f"exit {run.returncode}")
        return run.ok, f"{head}\n{run.output}", error

    # -- recording ----------------------------------------------------------------------

    def _record(
        self,
        row: ToolRow,
        args: dict[str, Any],
        box: ToolBox,
        ok: bool,
        text: str,
        error: str | None,
        ms: int,
    ) -> None:
        now = int(time.time())
        kept = redact(text, self.secrets)[:KEPT_OUTPUT]
        try:
            with self.store.write() as conn:
                q.record_execution(
                    conn, row.id, row.version, operation_id=box.operation_id, arguments=args,
                    success=ok, output=kept, error=error, duration_ms=ms, now=now,
                )  # fmt: skip
                if ok:
                    return
                recent = q.recent_results(
                    conn, row.id, row.version, row.approved_at or 0, RECENT_RUNS
                )
                rate = sum(recent) / len(recent) if recent else 1.0
                if len(recent) < self.settings.min_executions:
                    return
                if rate >= self.settings.min_success_rate:
                    return
                reason = (
                    f"withdrawn: {sum(recent)} of its last {len(recent)} runs succeeded, "
                    f"below tools.minSuccessRate ({self.settings.min_success_rate:g})"
                )
                if q.withdraw(conn, row.id, reason, now):
                    box.notes.append(
                        f"Mira withdrew the tool {row.name} (id {row.id}) from the model: "
                        f"{sum(recent)} of its last {len(recent)} runs succeeded. "
                        f"`mira-ls tools show {row.id}` shows its runs; "
                        f"`mira-ls tools approve {row.id}` gives it back."
                    )
        except StoreError as exc:  # the answer goes on; the run is just not counted
            box.notes.append(f"the run of {row.name} could not be recorded: {exc}")
