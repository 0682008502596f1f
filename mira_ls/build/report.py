"""The markdown summary of an error's past resolutions and matching fix commits, as opened
by "Show past resolutions" and printed by ``mira-ls resolutions``."""

from __future__ import annotations

from pathlib import Path

from mira_ls.build import vcs
from mira_ls.build.resolutions import RankedFix
from mira_ls.dates import day
from mira_ls.store.build_errors import ErrorRow

DIFF_CHARS = 20_000


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}diff\n{text.rstrip()}\n{fence}"


def render(root: Path, error: ErrorRow, fixes: list[RankedFix]) -> str:
    where = (
        f"{error.file_path}:{error.line}"
        if error.file_path and error.line
        else (error.file_path or "no file")
    )
    n = error.occurrence_count
    lines = [
        f"# Past resolutions: {error.tool} {error.code}".rstrip(),
        "",
        f"**{error.message.strip()}**",
        "",
        f"{where} · {error.category} · seen {n} time{'s' * (n != 1)} since "
        f"{day(error.first_seen_at)} · {error.status} · error `{error.error_hash[:12]}`",
        "",
    ]
    if not fixes:
        lines.append(
            "No recorded resolution or fix commit matches this error yet. When a "
            "build no longer reports it, the change that fixed it is recorded here."
        )
        return "\n".join(lines) + "\n"
    for i, f in enumerate(fixes, 1):
        head = f"## {i}. {f.match} · score {f.score:.2f} · {day(f.at)}"
        if f.commit:
            head += f" · commit `{f.commit[:10]}`"
        lines += [head, ""]
        if f.subject:
            lines += [f"> {f.subject}", ""]
        r = f.resolution
        if r is not None:
            lines += [
                f"Fixed {r.tool} {r.code} “{r.error_message.strip()}”"
                + (f" in {r.error_file}" if r.error_file else "")
                + ".",
                "",
            ]
        if f.files:
            lines += ["Files: " + ", ".join(f"`{p}`" for p in f.files), ""]
        diff = f.diff
        if diff is None and f.commit:
            diff = vcs.show_commit(root, f.commit, f.files, DIFF_CHARS)
        if diff:
            lines += [_fence(diff[:DIFF_CHARS]), ""]
        else:
            lines += ["_No diff was recorded (the files did not change between the runs)._", ""]
    return "\n".join(lines) + "\n"
