"""Advisory locks beside the database, for work two processes must not do at once.

``mira.db.locks/index.lock`` is held with ``fcntl.flock`` for as long as a full index of
that database runs. The kernel drops a flock when its process dies, however it dies, so a
lock never outlives a ``kill -9``; the file itself stays and means nothing on its own.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mira_ls.store.errors import StoreError

POLL_S = 0.1


class Busy(StoreError):
    """Another process holds the lock (str(exc) says which work and what to do)."""


def lock_path(db_path: Path, name: str) -> Path:
    return Path(f"{db_path}.locks") / f"{name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def hold(
    db_path: Path,
    name: str,
    *,
    what: str,
    wait_s: float = 0.0,
    cancel: Callable[[], bool] | None = None,
    hint: str = "",
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold lock ``name`` of the database at ``db_path``; wait up to ``wait_s`` seconds for
    another holder (``cancel()`` polled meanwhile), then raise Busy with a sentence naming
    ``what`` is running. ``on_wait(sentence)`` is told once when the wait begins. A
    database that is not a file (``:memory:``) needs no lock."""
    if str(db_path) == ":memory:":
        yield
        return
    path = lock_path(db_path, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the lock file {path} ({exc.strerror or exc}); check that the "
            "database's folder is writable."
        ) from exc
    try:
        deadline = time.monotonic() + max(0.0, wait_s)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if time.monotonic() >= deadline or (cancel is not None and cancel()):
                waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
                raise Busy(
                    f"Another mira-ls is {what} with this database{_holder(path)}{waited}; "
                    f"try again when it has finished{hint}."
                )
            if on_wait is not None and not told:
                told = True
                on_wait(
                    f"Another mira-ls is {what} with this database{_holder(path)}; "
                    f"waiting up to {wait_s:g} s for it."
                )
            time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        yield
    finally:
        os.close(fd)  # releases the flock
