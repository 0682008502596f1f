"""A repository whose own config names programs (issue 10.1): nothing runs unless the
workspace is trusted, through every path that runs git; and links out of the workspace
are never read (issue 10.6)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mira_ls.build import pipeline
from mira_ls.build.model import BuildCommand
from mira_ls.config import Settings
from mira_ls.git import blame
from mira_ls.git.repo import GitError, local_config_keys, run_git
from mira_ls.llm import review
from mira_ls.store import Store, build_runs, git_blame, projects
from mira_ls.store import code as code_store
from tests.support.cli import run_cli
from tests.support.hostile import KEYS, fired, hostile_repo
from tests.support.repo import Repo, git_env

TRUST_ENV = "MIRA_GIT_TRUST_REPOSITORY_CONFIG"


@pytest.fixture(autouse=True)
def _no_user_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in git_env().items():
        if k.startswith("GIT_CONFIG"):
            monkeypatch.setenv(k, v)
    monkeypatch.delenv(TRUST_ENV, raising=False)


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "MIRA_DB": str(tmp_path / "mira.db"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        **extra,
    }


GIT_COMMANDS = [
    ("ls-files", "-co", "--exclude-standard", "-z"),
    ("status", "--porcelain"),
    ("diff", "HEAD"),
    ("diff", "HEAD", "--name-only"),
    ("log", "-p", "-2"),
    ("show", "HEAD"),
    ("blame", "--porcelain", "app.py"),
    ("blame", "--porcelain", "README.md"),
]


def test_the_runner_runs_nothing_the_repository_config_names(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    keys = {k.lower() for k in local_config_keys(repo.root)}
    # Every planted key is seen, also the ones reached through include.path.
    assert {k.lower() for k in KEYS} <= keys
    assert {"filter.inc.clean", "diff.inc.textconv"} <= keys
    for args in GIT_COMMANDS:
        proc = run_git(repo.root, *args, check=False)
        assert proc.returncode == 0, (args, proc.stderr)
        assert fired(markers) == set(), args
    diff = run_git(repo.root, "diff", "HEAD").stdout.decode()
    assert "+def added():" in diff and "+more" in diff  # the real change, unfiltered


def test_trusted_the_repository_config_runs_as_git_would(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    run_git(repo.root, "blame", "--porcelain", "app.py", trusted=True, check=False)
    assert {"fsmonitor", "filter-clean", "textconv"} <= fired(markers)
    run_git(repo.root, "diff", "HEAD", trusted=True, check=False)
    assert "diff-external" in fired(markers)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown the repository"
)
def test_a_refused_repository_still_gets_the_safe_directory_sentence(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    for dirpath, dirnames, filenames in os.walk(repo.root):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), 12345, 12345)
    os.chown(repo.root, 12345, 12345)
    with pytest.raises(GitError) as exc:
        run_git(repo.root, "log")
    assert str(exc.value) == (
        f"git refuses to read {repo.root} because it is owned by another user; run "
        f"`git config --global --add safe.directory {repo.root}` if you trust it."
    )
    assert fired(markers) == set()


def test_mira_ls_index_runs_nothing_and_trust_lets_fsmonitor_run(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    proc = run_cli("index", str(repo.root), env=cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert fired(markers) == set()
    found = run_cli("symbols", "brand_new", "--json", env=cli_env(tmp_path), cwd=repo.root)
    assert "brand_new" in found.stdout, found.stderr
    trusted = run_cli("index", str(repo.root), env=cli_env(tmp_path, **{TRUST_ENV: "1"}))
    assert trusted.returncode == 0, trusted.stderr
    assert "fsmonitor" in fired(markers)


def test_mira_ls_mine_runs_nothing(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    proc = run_cli("mine", str(repo.root), "--json", env=cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert '"commits"' in proc.stdout or "commit" in proc.stdout
    assert fired(markers) == set()
    fixes = run_cli("fixes", "helper returns", env=cli_env(tmp_path), cwd=repo.root)
    assert "helper returns 6" in fixes.stdout, (fixes.stdout, fixes.stderr)
    assert fired(markers) == set()


def test_blame_runs_nothing(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    with Store(tmp_path / "mira.db") as store:
        with store.write() as c:
            pid = projects.get_or_create(c, repo.root).id
        for rel in ("app.py", "README.md", "notes.txt"):
            blame.ensure_blame(store, pid, repo.root, rel, Settings())
            cur = git_blame.current(store.conn(), pid, rel)
            assert cur is not None and cur.status == "ok", (rel, cur)
    assert fired(markers) == set()


def test_review_diff_runs_nothing_and_trust_runs_the_external_diff(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    tree = review.working_tree(repo.root)
    assert {"app.py", "notes.txt", "README.md", "new.py"} <= set(tree.files)
    assert "+def added():" in tree.diff and "def brand_new" in tree.diff
    assert fired(markers) == set()
    with pytest.raises(review.ReviewError, match="external diff died"):
        review.working_tree(repo.root, trusted=True)  # the planted diff.external ran
    assert "diff-external" in fired(markers)


def test_build_records_head_and_dirty_without_running_anything(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    cmd = BuildCommand("noop", (sys.executable, "-c", "pass"), "generic")
    with Store(tmp_path / "mira.db") as store:
        with store.write() as c:
            pid = projects.get_or_create(c, repo.root).id
        report = pipeline.run_build(store, pid, repo.root, [cmd], Settings().build)
        assert report.steps and report.steps[0].status == "succeeded", report.steps
        run = build_runs.get_run(store.conn(), report.steps[0].run_id)
        assert run is not None and run.commit_hash == repo.git("rev-parse", "HEAD").strip()
        assert run.tree_dirty is True
        assert fired(markers) == set()
        pipeline.run_build(store, pid, repo.root, [cmd], Settings().build, trust_git=True)
    assert "fsmonitor" in fired(markers)  # git status with trust: the repository's own


def test_mira_ls_build_cli_runs_nothing(tmp_path: Path) -> None:
    markers = tmp_path / "m"
    repo = hostile_repo(tmp_path / "repo", markers)
    commands = f'[{{"name": "noop", "command": ["{sys.executable}", "-c", "pass"]}}]'
    proc = run_cli("build", str(repo.root), env=cli_env(tmp_path, MIRA_BUILD_COMMANDS=commands))
    assert proc.returncode == 0, proc.stderr
    assert fired(markers) == set()


# --- links out of the workspace -------------------------------------------------------


def linked_workspace(tmp_path: Path) -> tuple[Repo, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.py"
    secret.write_text("def outside_only_symbol():\n    return 'root:x:0:0'\n")
    repo = Repo(tmp_path / "ws")
    repo.write("app.py", "def inside_symbol():\n    return 1\n")
    (repo.root / "link.py").symlink_to(secret)
    (repo.root / "linkdir").symlink_to(outside, target_is_directory=True)
    (repo.root / "inner.py").symlink_to(repo.root / "app.py")  # a link inside is fine
    return repo, secret


@pytest.mark.parametrize("committed", [True, False], ids=["git-listing", "walk"])
def test_a_link_to_a_file_outside_the_workspace_is_not_indexed(
    tmp_path: Path, committed: bool
) -> None:
    repo, _ = linked_workspace(tmp_path)
    if committed:
        repo.commit("init")
    else:
        import shutil

        shutil.rmtree(repo.root / ".git")
    proc = run_cli("index", str(repo.root), "--json", env=cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    with Store(tmp_path / "mira.db") as store:
        conn = store.conn()
        assert code_store.search_symbols(conn, None, "outside_only_symbol") == []
        assert [s.name for s in code_store.search_symbols(conn, None, "inside_symbol")][:1] == [
            "inside_symbol"
        ]


def test_chat_file_through_a_link_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    from tests.support.openai_server import Answer, OpenAIServer

    repo, secret = linked_workspace(tmp_path)
    repo.commit("init")
    with OpenAIServer() as srv:
        srv.script(Answer(text="it returns a password line"))
        proc = run_cli(
            "chat",
            "what is this?",
            "--file",
            str(repo.root / "link.py"),
            env=cli_env(tmp_path, MIRA_OPENAI_API_KEY="sk-test", MIRA_LLM_BASE_URL=srv.base_url),
            unset=["OPENAI_API_KEY"],
        )
        assert proc.returncode != 0
        assert "outside the workspace" in proc.stderr and "symbolic link" in proc.stderr
        assert str(secret) in proc.stderr
        assert srv.chat_requests() == []
