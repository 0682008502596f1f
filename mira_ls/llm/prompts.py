"""System prompt and the user-message templates of each command."""

from __future__ import annotations

SYSTEM = (
    "You are Mira, a programming assistant inside the user's editor. You know the "
    "workspace through the context below and through read-only tools over its symbol "
    "index, call graph, git history, build errors and files. Answer precisely and "
    "briefly in Markdown; cite code as `path:line`; say when the context is not enough "
    "instead of guessing. When you propose a code change, give it as a unified diff in a "
    "```diff block against the current file, with paths relative to the workspace root."
)


def chat(question: str) -> str:
    return question.strip()


def explain(symbol: str) -> str:
    return (
        f"Explain `{symbol}`: what it does, how it is used by its callers, what it "
        "depends on, and anything surprising in its history. Be concise."
    )


def explain_here() -> str:
    return (
        "Explain the code at the cursor: what it does, how it is used, and anything "
        "surprising. Be concise."
    )


def fix_error(message: str, where: str) -> str:
    return (
        f"Fix this error at {where}:\n\n{message}\n\nExplain the cause in two or three "
        "sentences, then give the fix as a unified diff (```diff) against the current "
        "file. Use past resolutions and fixes from the context when they apply."
    )


def refactor(message: str, where: str) -> str:
    """A quality diagnostic's "Ask Mira to refactor": its sentences say what is hard and
    what to split."""
    return (
        f"Refactor the function at {where}; a quality check says:\n\n{message}\n\nSay in two "
        "or three sentences why it is hard to change and what you split out, then give the "
        "refactoring as a unified diff (```diff) against the current file. Keep its behaviour "
        "and its signature for callers; change nothing else."
    )


def review(stat: str) -> str:
    return (
        "Review these uncommitted changes (working tree against HEAD). Point out bugs, "
        "risky edits, files that usually change together with these but were not "
        "changed, and who should review. Be concise and concrete.\n\n" + stat
    )


def with_context(context: str, request: str) -> str:
    if not context.strip():
        return request
    return f"# Context\n\n{context}\n\n# Request\n\n{request}"
