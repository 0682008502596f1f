"""The runner on real processes: missing programs, hangs (the whole tree is stopped),
cancellation, 20 MB of output, bytes that are not UTF-8, report-file placeholders."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import psutil

from mira_ls.build.model import BuildCommand
from mira_ls.build.runners import CappedBuffer, run_command

PY = sys.executable


def cmd(*argv: str, name: str = "step", parser: str = "generic") -> BuildCommand:
    return BuildCommand(name, tuple(argv), parser)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_missing_program_is_named_in_the_message(tmp_path: Path) -> None:
    out = run_command(
        cmd("mira-no-such-tool-4711", "check", name="lint"), tmp_path, timeout_s=5, cap_bytes=10_000
    )
    assert out.state == "not_found"
    assert out.exit_code is None
    assert "'mira-no-such-tool-4711'" in (out.message or "")
    assert "'lint'" in (out.message or "")
    assert "not installed or not on PATH" in (out.message or "")


def test_missing_working_directory(tmp_path: Path) -> None:
    c = BuildCommand("sub", (PY, "-c", "pass"), "generic", cwd="does/not/exist")
    out = run_command(c, tmp_path, timeout_s=5, cap_bytes=10_000)
    assert out.state == "start_failed"
    assert "not a directory" in (out.message or "")


HANG = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
# a grandchild in its own session, outside the process group
escaped = subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(60)"])
print(child.pid, escaped.pid, flush=True)
time.sleep(60)
"""


def test_hanging_command_times_out_and_its_process_tree_is_killed(tmp_path: Path) -> None:
    t0 = time.monotonic()
    out = run_command(cmd(PY, "-c", HANG, name="hang"), tmp_path, timeout_s=1.5, cap_bytes=10_000)
    elapsed = time.monotonic() - t0
    assert out.state == "timeout"
    assert "did not finish within 1.5 s" in (out.message or "")
    assert "mira.build.timeoutSeconds" in (out.message or "")
    assert elapsed < 10
    child, escaped = (int(x) for x in out.output.stdout.split())
    assert child in out.stopped_pids and escaped in out.stopped_pids
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (gone(child) and gone(escaped)):
        time.sleep(0.05)
    assert gone(child) and gone(escaped)


def test_cancel_stops_the_command(tmp_path: Path) -> None:
    flag = threading.Event()
    threading.Timer(0.5, flag.set).start()
    out = run_command(
        cmd(PY, "-c", "import time; print('started', flush=True); time.sleep(60)"),
        tmp_path,
        timeout_s=30,
        cap_bytes=10_000,
        cancel=flag.is_set,
    )
    assert out.state == "cancelled"
    assert out.output.stdout.strip() == "started"
    assert all(gone(p) for p in out.stopped_pids)


BIG = """
import sys
line = "src/mod{i}.py:{i}:1: error: problem number {i} in a very long build log\\n"
w = sys.stdout.write
for i in range(300_000):  # about 20 MB
    w(line.format(i=i))
sys.stderr.write("done\\n")
"""


def test_twenty_megabytes_are_capped_and_counted(tmp_path: Path) -> None:
    t0 = time.monotonic()
    out = run_command(cmd(PY, "-c", BIG), tmp_path, timeout_s=60, cap_bytes=1_000_000)
    assert out.state == "finished" and out.exit_code == 0
    assert out.output_bytes > 20_000_000
    assert out.truncated
    assert len(out.output.stdout) < 1_100_000
    lines = out.output.stdout.splitlines()
    # the first and the last lines survive, whole; the marker says what was left out
    assert lines[0] == "src/mod0.py:0:1: error: problem number 0 in a very long build log"
    assert lines[-1].startswith("src/mod299999.py:299999:1: error: problem number 299999")
    assert any(ln.startswith("[mira-ls: ") and "bytes of output omitted" in ln for ln in lines)
    assert out.output.stderr == "done\n"
    assert time.monotonic() - t0 < 30


def test_bytes_that_are_not_utf8_are_replaced_not_fatal(tmp_path: Path) -> None:
    script = (
        "import sys; sys.stdout.buffer.write("
        "b'src/caf\\xe9.py:3:1: error: bad \\xff\\xfe byte\\n'); "
        "sys.stderr.buffer.write(b'\\x80oops\\n')"
    )
    out = run_command(cmd(PY, "-c", script), tmp_path, timeout_s=10, cap_bytes=10_000)
    assert out.state == "finished"
    assert out.output.stdout == "src/caf\ufffd.py:3:1: error: bad \ufffd\ufffd byte\n"
    assert out.output.stderr == "\ufffdoops\n"


def test_junitxml_placeholder_is_a_private_file_read_back(tmp_path: Path) -> None:
    script = "import sys; open(sys.argv[1].split('=', 1)[1], 'w').write('<testsuites/>')"
    out = run_command(
        cmd(PY, "-c", script, "--junitxml={junitxml}"), tmp_path, timeout_s=10, cap_bytes=10_000
    )
    assert out.state == "finished", out.output.stderr
    assert out.output.files == {"junitxml": "<testsuites/>"}
    report = Path(out.argv[-1].split("=", 1)[1])
    assert not report.parent.exists()  # the temporary directory is removed afterwards
    assert not (tmp_path / "junit.xml").exists()


def test_command_is_never_a_shell_string(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    out = run_command(
        cmd(PY, "-c", "import sys; print(sys.argv[1:])", f"; touch {marker}"),
        tmp_path,
        timeout_s=10,
        cap_bytes=10_000,
    )
    assert out.output.stdout.strip() == f"['; touch {marker}']"
    assert not marker.exists()


def test_capped_buffer_keeps_head_and_tail() -> None:
    buf = CappedBuffer(100)
    for i in range(50):
        buf.feed(f"line {i:02d}\n".encode())
    text = buf.text()
    assert buf.total == 400 and buf.truncated
    assert text.startswith("line 00\nline 01\n")
    assert text.endswith("line 48\nline 49\n")
    assert "bytes of output omitted" in text
    small = CappedBuffer(100)
    small.feed(b"short\n")
    assert small.text() == "short\n" and not small.truncated
