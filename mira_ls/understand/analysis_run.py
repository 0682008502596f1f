"""An LLM analysis the user asked for (``mira-ls analyze``, ``mira.analyze``): the semantic
analysis of a folder as one operation, so ``mira-ls ops`` shows its calls, tokens and a
cost equal to its budget rows, and a run that fails keeps the sentence the user saw.

A run stops at the first error the endpoint or the budget gives (the batches stored before
it are kept and not asked again); an answer invalid twice fails its batch and the run."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mira_ls.llm.errors import LlmError
from mira_ls.llm.pricing import usd
from mira_ls.llm.service import LlmService
from mira_ls.llm.structured import STRUCTURED_EFFORT
from mira_ls.store import Store
from mira_ls.tasks.operations import Operation, Outcome
from mira_ls.understand import semantic

COMMAND = "analysis"


@dataclass
class AnalysisRun:
    plan: semantic.Plan
    done: semantic.Analysed = field(default_factory=semantic.Analysed)
    operation_id: str | None = None
    stopped: str | None = None  # the sentence a run ended on, when it did not finish
    cancelled: bool = False

    def message(self, what: str) -> str:
        d = self.done
        if not self.plan.pending:
            return f"{what}: all {self.plan.analysed} definitions are analysed already."
        text = (
            f"Analysed {d.symbols} of {len(self.plan.pending)} definitions of {what} in "
            f"{d.calls} calls ({usd(d.cost_micro)})"
        )
        if d.cached_answers:
            text += f", {d.cached_answers} answers from the cache"
        text += "."
        if self.cancelled:
            text += " Cancelled; run it again to go on."
        elif self.stopped:
            text += f" Stopped: {self.stopped} Run it again to go on from here."
        return text

    def as_json(self, what: str) -> dict[str, Any]:
        data = semantic.as_json(self.plan, self.done)
        data.update(
            {"operation": self.operation_id, "stopped": self.stopped, "message": self.message(what)}
        )
        return data


def analyse(
    store: Store,
    svc: LlmService,
    project_id: int,
    plan: semantic.Plan,
    what: str,
    cancelled: Callable[[], bool] | None = None,
    progress: semantic.Progress | None = None,
    *,
    operation: str = "analyze",
    command: str = COMMAND,
) -> AnalysisRun:
    """Run the plan as one operation (none when there is nothing to ask); ``operation``
    names its budget rows, ``command`` its operation row."""
    out = AnalysisRun(plan)
    if not plan.prompts:
        return out
    n = len(plan.pending)
    op = Operation(
        store, uuid.uuid4().hex[:12], command,
        f"analyse {n} definition{'s' * (n != 1)} of {what}", project_id,
    )  # fmt: skip
    out.operation_id = op.id
    op.running(
        model=svc.settings.llm.model, effort=STRUCTURED_EFFORT, planned_calls=len(plan.prompts)
    )
    try:
        semantic.run(
            store, svc, project_id, plan, cancelled,
            into=out.done, on_request=op.on_request, progress=progress, operation=operation,
        )  # fmt: skip
    except LlmError as exc:  # the budget, the endpoint, an answer invalid twice
        out.stopped = str(exc)
    except BaseException as exc:
        sentence = f"mira-ls failed while analysing {what}: {type(exc).__name__}."
        op.failed(sentence, _outcome(out, svc))
        raise
    out.cancelled = out.stopped is None and cancelled is not None and cancelled()
    if out.stopped:
        op.failed(out.stopped, _outcome(out, svc))
    elif out.cancelled:
        op.cancelled(_outcome(out, svc))
    else:
        op.done(_outcome(out, svc))
    return out


def _outcome(run: AnalysisRun, svc: LlmService) -> Outcome:
    d = run.done
    return Outcome(
        d.model or svc.settings.llm.model, STRUCTURED_EFFORT, d.input_tokens, d.output_tokens,
        cached=d.calls == 0 and d.cached_answers > 0,
        summary=f"{d.symbols} of {len(run.plan.pending)} definitions analysed in {d.calls} calls",
        from_budget=True,
    )  # fmt: skip
