"""Running git and finding out what kind of repository a workspace folder is.

Every git call in mira-ls goes through ``run_git`` / ``popen_git`` so the environment is the
same everywhere: no pager, no prompts, no optional locks (a background ``git status`` must
never take the index lock from under the user), signatures and colour off, and stdin closed
(the server's stdin is the LSP pipe; a hook reading it would stall).

Unless the workspace is trusted, nothing a repository's own config names is executed: a
workspace handed over as an archive carries its ``.git/config``, and git would otherwise run
its fsmonitor, hooks, filter drivers, textconv and external diff commands, pagers, editors,
ssh and credential helpers as the user. Trust (``git.trustRepositoryConfig``) restores git's
own behaviour.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

# Options that keep user config from changing the output we parse.
GIT_CONFIG_OVERRIDES = (
    "-c",
    "core.quotePath=off",
    "-c",
    "log.showSignature=false",
    "-c",
    "color.ui=never",
    "-c",
    "diff.noprefix=false",
)

# Always set for an untrusted repository: hooks need no config to exist (.git/hooks), and
# these cost nothing when the repository does not use them.
UNTRUSTED_FIXED = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),  # /dev/null/<hook> never exists
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("sequence.editor", ":"),
    ("core.sshCommand", "false"),
    ("core.askPass", ""),
    ("core.alternateRefsCommand", ""),
    ("credential.helper", ""),  # an empty value resets the list of helpers
    ("gpg.program", "false"),
    ("protocol.ext.allow", "never"),
    ("diff.external", ""),
)
# The last part of a repository-local key that names a program git may run (git-config(1),
# 2.39): filter.<d>.clean/smudge/process, diff.<d>.textconv/command, merge.<d>.driver,
# gpg.<fmt>.program, credential.<url>.helper, difftool/mergetool/browser/man.<x>.cmd,
# remote.<r>.uploadpack/receivepack, core.gitProxy, ...
EXECUTING_NAMES = frozenset(
    {
        "textconv",
        "command",
        "clean",
        "smudge",
        "process",
        "driver",
        "program",
        "helper",
        "cmd",
        "sshcommand",
        "askpass",
        "editor",
        "pager",
        "hookspath",
        "fsmonitor",
        "external",
        "alternaterefscommand",
        "uploadpack",
        "receivepack",
        "gitproxy",
        "packobjectshook",
    }
)
# Subcommands that run diff drivers: told not to, in addition to the config overrides.
_DIFF_COMMANDS = frozenset({"diff", "log", "show"})
# Sections whose ``.path`` names a file to read, not a program: left alone.
_PATH_IS_DATA = frozenset({"include", "includeif"})
_TOOL_SECTIONS = frozenset({"difftool", "mergetool", "man"})


class GitError(Exception):
    """A git command failed; str() is a sentence for the user."""


class NotARepository(GitError):
    pass


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_PAGER="cat",
        PAGER="cat",
        LC_ALL="C",
        LANGUAGE="C",
    )
    for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_PARAMETERS"):
        env.pop(k, None)
    for k in [
        k for k in env if k.startswith("GIT_CONFIG_KEY_") or k.startswith("GIT_CONFIG_VALUE_")
    ]:
        env.pop(k)
    env.pop("GIT_CONFIG_COUNT", None)
    return env


def local_config_keys(root: Path | str, env: dict[str, str] | None = None) -> list[str]:
    """The keys the repository's own config (``.git/config``, ``config.worktree`` and what
    they include) sets, as git spells them. Reading config runs nothing."""
    try:
        proc = subprocess.run(
            ["git", "config", "--list", "--null", "--show-scope", "--includes"],
            cwd=str(root),
            env=env if env is not None else _base_env(),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git config --list failed in %s: %s", root, exc)
        return []
    if proc.returncode != 0:
        return []
    fields = proc.stdout.split(b"\0")
    out: list[str] = []
    # --show-scope --null: "scope\0key\nvalue\0" per entry.
    for scope, entry in zip(fields[0::2], fields[1::2], strict=False):
        if scope in (b"local", b"worktree"):
            key = entry.partition(b"\n")[0].decode("utf-8", "surrogateescape")
            out.append(key)
    return out


def untrusted_overrides(local_keys: list[str]) -> list[tuple[str, str]]:
    """Config (key, value) pairs that stop git from running anything the repository's own
    config names; given through GIT_CONFIG_COUNT they outrank repository config."""
    pairs = dict(UNTRUSTED_FIXED)
    for key in local_keys:
        section, _, rest = key.partition(".")
        name = rest.rpartition(".")[2].lower()
        section = section.lower()
        if section in _PATH_IS_DATA:
            continue
        if name == "path" and section in _TOOL_SECTIONS:
            pairs[key] = ""  # difftool/mergetool/man.<tool>.path is the program to run
        elif section == "pager":
            pairs[key] = "false"  # pager.<cmd>=false: no pager for that command
        elif section == "filter" and name in ("clean", "smudge", "process"):
            pairs[key] = ""  # an empty filter command is no filter
            pairs[key.rpartition(".")[0] + ".required"] = "false"
        elif section == "diff" and name == "textconv":
            pairs[key] = "cat"  # textconv is given a file name: cat shows it unchanged
        elif section == "core" and name == "fsmonitor":
            pairs[key] = "false"
        elif section == "core" and name == "hookspath":
            pairs[key] = os.devnull
        elif name in ("editor",):
            pairs[key] = ":"
        elif name in EXECUTING_NAMES:
            pairs[key] = ""
    return list(pairs.items())


def git_env(root: Path | str | None = None, *, trusted: bool = False) -> dict[str, str]:
    """The environment of every git child; untrusted (the default) neutralises what the
    repository at ``root`` could make git execute."""
    env = _base_env()
    if trusted:
        return env
    pairs = untrusted_overrides(local_config_keys(root, env) if root is not None else [])
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for i, (k, v) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = k
        env[f"GIT_CONFIG_VALUE_{i}"] = v
    return env


def git_command(args: tuple[str, ...] | list[str], *, trusted: bool = False) -> list[str]:
    """``git`` with the output-shaping options and, untrusted, diff drivers switched off."""
    args = list(args)
    if not trusted and args:
        if args[0] in _DIFF_COMMANDS:
            args[1:1] = ["--no-ext-diff", "--no-textconv"]
        elif args[0] == "blame":
            args[1:1] = ["--no-textconv"]
    return ["git", *GIT_CONFIG_OVERRIDES, *args]


def run_git(
    root: Path | str,
    *args: str,
    check: bool = True,
    timeout: float | None = 120.0,
    input_bytes: bytes | None = None,
    trusted: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run git in ``root`` and return raw bytes; raise GitError with git's own message.
    Untrusted (the default), nothing the repository's config names is executed."""
    cmd = git_command(args, trusted=trusted)
    try:
        env = git_env(root, trusted=trusted)
        if input_bytes is None:  # never the server's stdin, which is the LSP pipe
            proc = subprocess.run(
                cmd,
                cwd=str(root),
                env=env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        else:
            proc = subprocess.run(
                cmd,
                cwd=str(root),
                env=env,
                capture_output=True,
                input=input_bytes,
                timeout=timeout,
                check=False,
            )
    except FileNotFoundError as exc:
        raise GitError(
            "git is not installed or not on PATH; install git to use history features."
        ) from exc
    except NotADirectoryError as exc:
        raise GitError(f"{root} is not a directory.") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"git {args[0]} took longer than {timeout:.0f} s in {root} and was stopped."
        ) from exc
    if check and proc.returncode != 0:
        raise GitError(_message(proc.stderr, args, root))
    return proc


def popen_git(
    root: Path | str, *args: str, stderr: IO[bytes] | None = None, trusted: bool = False
) -> subprocess.Popen[bytes]:
    """A streaming git process; stderr goes to a file so a chatty git can never block."""
    cmd = git_command(args, trusted=trusted)
    try:
        return subprocess.Popen(
            cmd,
            cwd=str(root),
            env=git_env(root, trusted=trusted),
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            bufsize=0,
        )
    except FileNotFoundError as exc:
        raise GitError(
            "git is not installed or not on PATH; install git to use history features."
        ) from exc


def _message(stderr: bytes, args: tuple[str, ...], root: Path | str) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    first = first.removeprefix("fatal: ").removeprefix("error: ")
    if "dubious ownership" in text:
        return (
            f"git refuses to read {root} because it is owned by another user; run "
            f"`git config --global --add safe.directory {root}` if you trust it."
        )
    return f"git {args[0]} failed in {root}: {first or 'no message'}."


@dataclass(frozen=True)
class RepoInfo:
    """Where a workspace folder sits in its repository."""

    root: str  # the workspace folder (absolute)
    toplevel: str  # the repository work tree top (absolute)
    prefix: str  # root relative to toplevel, '' or 'sub/dir/' (with trailing slash)
    git_dir: str  # absolute
    is_shallow: bool
    object_format: str  # 'sha1' or 'sha256'
    head: str | None  # None: no commit yet (empty repository)
    head_ref: str | None  # None: detached HEAD


def discover(root: Path | str) -> RepoInfo:
    """Describe the repository containing ``root``; NotARepository when there is none."""
    root_p = Path(root).resolve()
    if not root_p.is_dir():
        raise NotARepository(f"{root_p} is not a directory.")
    # One git call: layout, HEAD and its branch; an empty repository fails on HEAD but
    # still prints the layout lines first.
    proc = run_git(
        root_p,
        "rev-parse",
        "--show-toplevel",
        "--show-prefix",
        "--absolute-git-dir",
        "--is-shallow-repository",
        "--show-object-format",
        "HEAD",
        "--symbolic-full-name",
        "HEAD",
        check=False,
    )
    text = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0 and "not a git repository" in text.lower():
        raise NotARepository(f"{root_p} is not inside a git repository; history features are off.")
    lines = proc.stdout.decode("utf-8", "replace").split("\n")
    if len(lines) < 5:
        raise GitError(_message(proc.stderr, ("rev-parse",), root_p))
    toplevel, prefix, git_dir, shallow, fmt = lines[:5]
    head = head_ref = None
    if proc.returncode == 0 and len(lines) >= 7:
        head = lines[5].strip() or None
        head_ref = lines[6].strip() or None
        if head_ref == "HEAD":
            head_ref = None
    else:
        # Empty repository (or a path named HEAD made the argument ambiguous).
        head = head_commit(root_p)
        ref_proc = run_git(root_p, "symbolic-ref", "-q", "HEAD", check=False)
        head_ref = ref_proc.stdout.decode("utf-8", "replace").strip() or None
    return RepoInfo(
        root=str(root_p),
        toplevel=toplevel,
        prefix=prefix,
        git_dir=git_dir,
        is_shallow=shallow.strip() == "true",
        object_format=fmt.strip() or "sha1",
        head=head,
        head_ref=head_ref,
    )


def is_ancestor(root: Path | str, older: str, newer: str) -> bool:
    proc = run_git(root, "merge-base", "--is-ancestor", older, newer, check=False)
    return proc.returncode == 0


def head_commit(root: Path | str) -> str | None:
    """HEAD's commit, or None in an empty repository or outside git (cheap: one rev-parse)."""
    try:
        proc = run_git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
    except GitError:
        return None
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def blob_id(data: bytes, object_format: str = "sha1") -> str:
    """The id git gives these bytes as a blob (without clean filters): the blame cache key."""
    import hashlib

    h = hashlib.sha256() if object_format == "sha256" else hashlib.sha1()
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def head_blobs(root: Path | str) -> set[tuple[str, str]] | None:
    """(path relative to ``root``, blob id) of every file in HEAD's tree below ``root``;
    None when there is no repository or no commit."""
    try:
        proc = run_git(root, "ls-tree", "-r", "-z", "HEAD", "--", ".", check=False, timeout=60)
    except GitError:
        return None
    if proc.returncode != 0:
        return None
    out: set[tuple[str, str]] = set()
    for entry in proc.stdout.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            out.add((path.decode("utf-8", "replace"), parts[2].decode()))
    return out


def modified_against_head(root: Path | str, *, trusted: bool = False) -> set[str] | None:
    """Files under ``root`` whose work-tree or staged content differs from HEAD (paths
    relative to ``root``); None when that cannot be known (no repository, no commit)."""
    try:
        proc = run_git(
            root,
            "diff",
            "HEAD",
            "--name-only",
            "-z",
            "--no-renames",
            "--relative",
            "--no-ext-diff",
            "--",
            ".",
            check=False,
            timeout=60,
            trusted=trusted,
        )
    except GitError:
        return None
    if proc.returncode != 0:
        return None
    return {p.decode("utf-8", "replace") for p in proc.stdout.split(b"\0") if p}


class CommitCounter:
    """``git rev-list --count`` running beside the log (for progress percentages), read
    when it is done instead of delaying the start of mining."""

    def __init__(
        self, root: Path | str, rev: str, pathspec: list[str], *, trusted: bool = False
    ) -> None:
        self._value: int | None = None
        try:
            self._proc: subprocess.Popen[bytes] | None = popen_git(
                root, "rev-list", "--count", rev, "--", *pathspec, trusted=trusted
            )
        except GitError:
            self._proc = None

    def result(self) -> int | None:
        """The count once git has answered, else None (never waits)."""
        proc = self._proc
        if self._value is None and proc is not None and proc.poll() is not None:
            assert proc.stdout is not None
            try:
                self._value = int(proc.stdout.read().strip() or 0) if proc.returncode == 0 else 0
            except ValueError:
                self._value = 0
            proc.stdout.close()
            self._proc = None
        return self._value or None

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
