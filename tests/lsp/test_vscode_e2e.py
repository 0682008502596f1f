"""VS Code as a real client: code-server (VS Code 1.100.3 in a browser) with the packaged
extension, driven from headless Chromium.

One run (module fixture) installs editors/vscode/mira-ls.vsix into a fresh code-server,
opens a git repository with two authors, and editors/vscode/e2e/drive.js (playwright-core)
hovers a function, asks "Mira: Chat" a question answered by the loopback OpenAI server and
reads the status bar. Meanwhile this module reads /proc/<pid>/environ of the `mira-ls serve`
that code-server started. Screenshots of each step (and of any failure) are listed in the
assertion messages.

Needs code-server 4.100.3 (editors/vscode/e2e/install-code-server.sh; .ci/run runs it),
Chromium, Node and npm; skips saying which is missing. The .vsix is built with
editors/vscode/ci.sh when it is missing or older than the extension's sources.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.openai_server import Answer, OpenAIServer
from tests.support.repo import T0, Repo

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"
E2E = VSCODE / "e2e"
VSIX = VSCODE / "mira-ls.vsix"
CODE_SERVER_VERSION = "4.100.3"
DEFAULT_PREFIX = Path.home() / ".cache" / "mira-ls" / f"code-server-{CODE_SERVER_VERSION}"


def _code_server() -> str | None:
    explicit = os.environ.get("MIRA_TEST_CODE_SERVER")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    local = DEFAULT_PREFIX / "node_modules" / ".bin" / "code-server"
    if local.exists():
        return str(local)
    return shutil.which("code-server")


CODE_SERVER = _code_server()
CHROMIUM = (
    os.environ.get("MIRA_TEST_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
NPM = shutil.which("npm")
MIRA_LS = Path(sys.executable).parent / "mira-ls"

QUESTION = "What does total_price return?"
ANSWER = "Loopback model: total_price returns the subtotal with tax, rounded to cents."
API_KEY = "sk-e2e-vscode-0123456789"

pytestmark = [
    pytest.mark.skipif(
        CODE_SERVER is None,
        reason=(
            f"code-server is not installed (CI installs {CODE_SERVER_VERSION} with "
            "editors/vscode/e2e/install-code-server.sh into "
            f"{DEFAULT_PREFIX}; or set MIRA_TEST_CODE_SERVER to its launcher)"
        ),
    ),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (CI installs it: apt-get install chromium)",
    ),
    pytest.mark.skipif(NPM is None, reason="npm is not installed (needed for playwright-core)"),
    pytest.mark.skipif(not MIRA_LS.exists(), reason=f"{MIRA_LS} is missing: pip install -e ."),
    pytest.mark.timeout(420),
]

CORE_V1 = '''"""Pricing helpers."""


def total_price(items, tax):
    """Sum of item prices with tax applied."""
    subtotal = sum(i.price for i in items)
    return subtotal * (1 + tax)
'''

CORE_V2 = CORE_V1.replace(
    "    return subtotal * (1 + tax)\n",
    '    if tax < 0:\n        raise ValueError("tax must not be negative")\n'
    "    return round(subtotal * (1 + tax), 2)\n",
)

APP = """from shop.pricing import total_price


def checkout(cart):
    return total_price(cart.items, 0.2)
"""


def _make_repo(root: Path) -> Repo:
    repo = Repo(root)
    repo.commit(
        "Add pricing",
        {"shop/__init__.py": "", "shop/pricing.py": CORE_V1, "shop/app.py": APP},
        author=("Alice Martin", "alice@example.com"),
        at=T0,
    )
    repo.commit(
        "Fix rounding of total prices",
        {"shop/pricing.py": CORE_V2},
        author=("Bob Chen", "bob@example.com"),
        at=T0 + 86400 * 3,
    )
    return repo


def _ensure_vsix() -> Path:
    """The packaged extension, rebuilt (editors/vscode/ci.sh) when older than its sources."""
    sources = [VSCODE / "package.json", *(VSCODE / "src").glob("*.ts")]
    newest = max(p.stat().st_mtime for p in sources)
    if not VSIX.exists() or VSIX.stat().st_mtime < newest:
        proc = subprocess.run(
            ["bash", str(VSCODE / "ci.sh")], capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, (
            f"editors/vscode/ci.sh failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return VSIX


def _ensure_playwright() -> None:
    if (E2E / "node_modules" / "playwright-core" / "package.json").exists():
        return
    proc = subprocess.run(
        [str(NPM), "ci", "--no-audit", "--no-fund"],
        cwd=E2E,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"npm ci in {E2E} failed:\n{proc.stderr[-3000:]}"


def _tail(path: Path, n: int) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(
        f"code-server did not listen on {port} within {timeout} s:\n{log.read_text()[-3000:]}"
    )


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descends_from(pid: int, ancestor: int) -> bool:
    seen = 0
    while pid > 1 and seen < 50:
        if pid == ancestor:
            return True
        parent = _ppid(pid)
        if parent is None:
            return False
        pid, seen = parent, seen + 1
    return False


def _server_processes(ancestor: int) -> list[tuple[int, list[str], dict[str, str]]]:
    """(pid, argv, environ) of every `mira-ls serve` below the code-server process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            raw = (entry / "environ").read_bytes()
        except OSError:
            continue
        args = [a.decode("utf-8", "replace") for a in argv if a]
        if "serve" not in args or not any("mira" in a for a in args[:3]):
            continue
        if not _descends_from(pid, ancestor):
            continue
        env = {}
        for item in raw.split(b"\0"):
            if b"=" in item:
                k, _, v = item.decode("utf-8", "replace").partition("=")
                env[k] = v
        found.append((pid, args, env))
    return found


class ServerWatch(threading.Thread):
    """Records the first `mira-ls serve` process code-server starts, while the UI runs."""

    def __init__(self, ancestor: int) -> None:
        super().__init__(daemon=True)
        self.ancestor = ancestor
        self.seen: tuple[int, list[str], dict[str, str]] | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.seen is None:
            procs = _server_processes(self.ancestor)
            if procs:
                self.seen = procs[0]
                return
            self.stop.wait(0.3)


@pytest.fixture(scope="module")
def vscode_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    assert CODE_SERVER is not None and CHROMIUM is not None
    vsix = _ensure_vsix()
    _ensure_playwright()
    tmp = tmp_path_factory.mktemp("vscode")
    repo = _make_repo(tmp / "ws")
    home, user_data, extensions, shots = (tmp / n for n in ("home", "user-data", "ext", "shots"))
    for d in (home, user_data / "User", extensions, shots):
        d.mkdir(parents=True)
    server_log = tmp / "server.log"
    (user_data / "User" / "settings.json").write_text(
        json.dumps(
            {
                "workbench.startupEditor": "none",
                "workbench.tips.enabled": False,
                "telemetry.telemetryLevel": "off",
                "extensions.autoUpdate": False,
                "extensions.autoCheckUpdates": False,
                "update.mode": "none",
                "git.enabled": False,
                "editor.hover.delay": 300,
                # What a user with mira-ls in a virtualenv sets (VS Code's PATH comes from
                # the login shell, which does not have the virtualenv).
                "mira.server.path": str(MIRA_LS),
                "mira.server.logFile": str(server_log),
                "mira.budget.dailyUsd": 3,
                "mira.ui.budgetPollSeconds": 0,
            },
            indent=2,
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIRA_", "OPENAI_", "VSCODE_"))}
    with OpenAIServer(
        reply=lambda body: Answer(text=ANSWER, prompt_tokens=1200, completion_tokens=40)
    ) as llm:
        env.update(
            {
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(tmp / "config"),
                "XDG_DATA_HOME": str(tmp / "data"),
                "XDG_STATE_HOME": str(tmp / "state"),
                "XDG_CACHE_HOME": str(tmp / "cache"),
                "MIRA_DB": str(tmp / "db" / "mira.db"),
                # The user's key and endpoint, exported in the shell VS Code starts from.
                "MIRA_OPENAI_API_KEY": API_KEY,
                "OPENAI_BASE_URL": llm.base_url,
                "MIRA_LLM_TIMEOUT_SECONDS": "20",
                "MIRA_E2E_MARKER": "from-the-users-shell",
            }
        )
        install = subprocess.run(
            [
                CODE_SERVER,
                "--user-data-dir",
                str(user_data),
                "--extensions-dir",
                str(extensions),
                "--install-extension",
                str(vsix),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert install.returncode == 0 and "successfully installed" in install.stdout, (
            install.stdout + install.stderr
        )
        port = _free_port()
        cs_log = tmp / "code-server.log"
        with cs_log.open("wb") as log:
            cs = subprocess.Popen(
                [
                    CODE_SERVER,
                    "--bind-addr",
                    f"127.0.0.1:{port}",
                    "--auth",
                    "none",
                    "--disable-telemetry",
                    "--disable-update-check",
                    "--disable-workspace-trust",
                    "--user-data-dir",
                    str(user_data),
                    "--extensions-dir",
                    str(extensions),
                    str(repo.root),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        watch = ServerWatch(cs.pid)
        try:
            _wait_http(port, cs, cs_log)
            watch.start()
            out_file = tmp / "drive.json"
            drive_cfg = {
                "url": f"http://127.0.0.1:{port}/?folder={repo.root}",
                "chromium": CHROMIUM,
                "file": "shop/pricing.py",
                "symbol": "total_price",
                "wantHover": ["Experts", "Last changed", "Bob Chen"],
                "question": QUESTION,
                "wantAnswer": ANSWER,
                "shots": str(shots),
                "out": str(out_file),
                "hoverTimeoutMs": 120000,
                "answerTimeoutMs": 60000,
            }
            drive = subprocess.run(
                ["node", str(E2E / "drive.js")],
                cwd=E2E,
                env={**env, "MIRA_E2E_CONFIG": json.dumps(drive_cfg)},
                capture_output=True,
                text=True,
                timeout=360,
            )
            data: dict[str, Any] = (
                json.loads(out_file.read_text()) if out_file.exists() else {"errors": ["no result"]}
            )
            watch.join(timeout=5)
            data["server"] = watch.seen
            data["llm_requests"] = [
                {
                    "auth": r.headers.get("Authorization") or r.headers.get("authorization"),
                    "body": r.body,
                }
                for r in llm.chat_requests()
            ]
            data["_env"] = env
            data["_tmp"] = str(tmp)
            data["_diagnostics"] = (
                f"screenshots: {data.get('screenshots')}\nsteps: {data.get('steps')}\n"
                f"drive stderr: {drive.stderr[-1500:]}\n"
                f"code-server log: {cs_log.read_text(errors='replace')[-1500:]}\n"
                f"server log: {_tail(server_log, 2000)}"
            )
            yield data
        finally:
            watch.stop.set()
            # code-server and everything it started (extension host, mira-ls) form the
            # session this test started: end that process group only.
            try:
                os.killpg(cs.pid, 15)
                cs.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(cs.pid, 9)
                except ProcessLookupError:
                    pass


def test_ui_steps_ran_without_errors(vscode_run: dict[str, Any]) -> None:
    assert vscode_run["errors"] == [], vscode_run["_diagnostics"]


def test_server_runs_with_the_users_environment(vscode_run: dict[str, Any]) -> None:
    assert vscode_run["server"] is not None, (
        "no mira-ls serve below code-server\n" + vscode_run["_diagnostics"]
    )
    _pid, argv, environ = vscode_run["server"]
    user = vscode_run["_env"]
    assert argv[:2] == [str(MIRA_LS), "serve"] or argv[1:3] == [str(MIRA_LS), "serve"], argv
    # The variables the user exported reach the server, not only the secret-storage key.
    for key in (
        "HOME",
        "MIRA_DB",
        "XDG_STATE_HOME",
        "XDG_DATA_HOME",
        "OPENAI_BASE_URL",
        "MIRA_E2E_MARKER",
    ):
        assert environ.get(key) == user[key], (key, sorted(environ))
    assert environ.get("MIRA_OPENAI_API_KEY") == API_KEY
    assert environ.get("PATH"), "the server has no PATH"
    assert len(environ) > 10, sorted(environ)


def test_hover_shows_the_git_sections(vscode_run: dict[str, Any]) -> None:
    hover = vscode_run.get("hover") or ""
    assert hover, vscode_run.get("hoverSeen") or vscode_run["_diagnostics"]
    assert "def total_price(items, tax)" in hover, hover
    assert "Sum of item prices with tax applied." in hover, hover
    assert "Experts" in hover and "Alice Martin" in hover and "Bob Chen" in hover, hover
    assert "Last changed" in hover and "Fix rounding of total prices" in hover, hover


def test_chat_answers_from_the_loopback_model(vscode_run: dict[str, Any]) -> None:
    chat = vscode_run.get("chat") or ""
    assert ANSWER in chat, vscode_run["_diagnostics"]
    assert QUESTION in chat, chat
    requests = vscode_run["llm_requests"]
    assert requests, "the loopback model got no request"
    # The exported key (not one from secret storage) authenticated the request.
    assert requests[-1]["auth"] == f"Bearer {API_KEY}"
    asked = json.dumps(requests[-1]["body"]["messages"])
    assert QUESTION in asked and "total_price" in asked
    # The answer file went to the user's XDG state dir and is linked as a real link.
    state = Path(vscode_run["_env"]["XDG_STATE_HOME"]) / "mira-ls" / "answers"
    files = list(state.rglob("*.md"))
    assert files and any(ANSWER in f.read_text() for f in files), files
    links = vscode_run.get("chatLinks") or []
    assert any(
        (link["href"] or "").startswith("file://") and link["href"].endswith(".md")
        for link in links
    ), links
    assert "](file://" not in chat, chat
    # Clicking it opened the file in an editor tab.
    opened = vscode_run.get("openedAnswerTab") or ""
    assert opened and opened.endswith(".md"), vscode_run["_diagnostics"]


def test_thumbs_under_the_answer_send_feedback(vscode_run: dict[str, Any]) -> None:
    assert vscode_run.get("feedback") == "Thanks: marked helpful.", vscode_run["_diagnostics"]
    db = sqlite3.connect(vscode_run["_env"]["MIRA_DB"])
    try:
        rows = db.execute(
            "SELECT f.helpful, o.request FROM operation_feedback f "
            "JOIN operations o ON o.id = f.operation_id"
        ).fetchall()
    finally:
        db.close()
    assert rows == [(1, QUESTION)], rows


def test_status_bar_shows_the_budget(vscode_run: dict[str, Any]) -> None:
    before = vscode_run.get("statusBefore") or ""
    after = vscode_run.get("statusAfter") or ""
    assert "Mira $0.00 / $3.00" in before, vscode_run["_diagnostics"]
    # After the answer: what it cost (a fraction of a cent), against the user's limit.
    assert re.search(r"Mira \$0\.\d*[1-9]\d* / \$3\.00", after), after
