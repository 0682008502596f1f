"""Consent to run detected build commands, remembered per project.

Detected commands (a Makefile target, ``npm test``) run the repository's own code, so they
run only once the user said yes for that project; configured commands (mira.build.commands)
are the user's own and need no question. The server asks with showMessageRequest, the CLI
on its terminal or with --yes; both read and record the answer here.
"""

from __future__ import annotations

from mira_ls.build.detect import CommandPlan
from mira_ls.store import Store
from mira_ls.store import projects as project_store


def needs_consent(store: Store, project_id: int, plan: CommandPlan) -> bool:
    """Whether running ``plan`` must wait for the user's yes."""
    if not plan.detected:
        return False
    record = project_store.by_id(store.conn(), project_id)
    return record is None or not record.build_confirmed


def remember(store: Store, project_id: int) -> None:
    """The user said yes: do not ask again for this project."""
    with store.write() as conn:
        project_store.set_build_confirmed(conn, project_id, True)


def listing(plan: CommandPlan, sep: str = "; ") -> str:
    return sep.join(c.describe() for c in plan.commands)


def question(project_name: str, plan: CommandPlan) -> str:
    """What the editor asks, naming every command that would run."""
    return (
        f"mira-ls found build commands in {project_name}. They run this project's "
        f"own code: {listing(plan)}. Run them? (Your answer is remembered for this project.)"
    )


def cannot_ask(project_name: str, root: str, plan: CommandPlan) -> str:
    """For an editor without showMessageRequest: how to consent another way."""
    return (
        f"mira-ls needs your confirmation to run the build commands found in "
        f"{project_name} ({listing(plan)}); this editor cannot ask. Run "
        f"'mira-ls build {root} --yes' once, or set mira.build.commands."
    )


def declined(project_name: str) -> str:
    return f"The build of {project_name} was not run: the detected commands were not confirmed."
