"""The streaming git log parser on real repositories."""

from __future__ import annotations

import io
from pathlib import Path

from mira_ls.git.log import LOG_OPTIONS, parse_tokens, stream_log, tokens_from_stream
from mira_ls.git.repo import popen_git
from tests.support.repo import ALICE, BOB, T0, Repo, fixtures

git_isolation, store, repo = fixtures()


def test_fields_of_each_commit(repo: Repo) -> None:
    repo.write("a.py", "one\ntwo\n")
    first = repo.commit("Add a\n\nLonger body\nwith lines", author=ALICE, at=T0)
    repo.write("a.py", "one\n")
    repo.write("b.bin", b"\x00\x01\x02binary")
    second = repo.commit("Trim a, add a binary", author=BOB, at=T0 + 60)
    commits = list(stream_log(repo.root, ["HEAD"]))
    assert [c.hash for c in commits] == [second, first]
    newest, oldest = commits
    assert (newest.author_name, newest.author_email) == BOB
    assert newest.authored_at == T0 + 60 and newest.committed_at == T0 + 60
    assert newest.parent_count == 1 and oldest.parent_count == 0
    assert oldest.message == "Add a\n\nLonger body\nwith lines"
    assert oldest.subject == "Add a"
    files = {f.path: (f.added, f.deleted, f.old_path) for f in newest.files}
    assert files == {"a.py": (0, 1, None), "b.bin": (None, None, None)}


def test_renames_and_odd_names_are_unambiguous(repo: Repo) -> None:
    odd = "dir with space/naïve\tfile ünïcødé.py"
    repo.write(odd, "".join(f"line {i}\n" for i in range(20)))
    repo.write("new\nline.txt", "x\n")
    repo.commit("odd names")
    (repo.root / "renamed dir").mkdir()
    repo.git("mv", odd, "renamed dir/ö.py")
    repo.commit("rename it")
    commits = list(stream_log(repo.root, ["HEAD"]))
    rename = commits[0].files
    assert len(rename) == 1
    assert rename[0].path == "renamed dir/ö.py" and rename[0].old_path == odd
    assert {f.path for f in commits[1].files} == {odd, "new\nline.txt"}


def test_stream_split_at_every_byte_gives_the_same_commits(repo: Repo) -> None:
    """Chunk boundaries anywhere (inside a hash, a path, a NUL) change nothing."""
    for i in range(5):
        repo.write(f"f{i}.py", f"v{i}\n")
        repo.commit(f"commit {i}\n\nbody {i}")
    repo.git("mv", "f0.py", "g0.py")
    repo.commit("rename")
    proc = popen_git(repo.root, *LOG_OPTIONS, "HEAD", "--")
    raw = proc.stdout.read()
    proc.wait()
    whole = list(parse_tokens(tokens_from_stream(io.BytesIO(raw).read)))
    one_byte = list(parse_tokens(tokens_from_stream(lambda _n, b=io.BytesIO(raw): b.read(1))))
    assert len(whole) == 6
    assert [(c.hash, c.message, c.files) for c in whole] == [
        (c.hash, c.message, c.files) for c in one_byte
    ]


def test_non_utf8_author_and_message_are_kept_readable(repo: Repo, tmp_path: Path) -> None:
    repo.write("a.py", "x\n")
    repo.git("add", "-A")
    msg = tmp_path / "msg"
    msg.write_bytes("Fix caf\xe9 crash\n".encode("latin-1"))
    repo.git(
        "-c",
        "i18n.commitEncoding=ISO-8859-1",
        "commit",
        "-q",
        "-F",
        str(msg),
        env={"GIT_AUTHOR_NAME": "Jos\xe9".encode("latin-1").decode("latin-1")},
    )
    (c,) = list(stream_log(repo.root, ["HEAD"]))
    # git re-encodes to UTF-8 for a commit that declares its encoding.
    assert c.message == "Fix café crash"
    assert c.author_name.startswith("Jos")


def raw_commit(repo: Repo, author: bytes, message: bytes) -> str:
    """A commit object written byte for byte (git commit would repair invalid UTF-8)."""
    import subprocess

    repo.git("add", "-A")
    tree = repo.git("write-tree").strip()
    parent = (
        repo.git("rev-parse", "-q", "--verify", "HEAD^{commit}").strip()
        if (repo.root / ".git" / "refs" / "heads" / "main").exists()
        else ""
    )
    body = b"tree " + tree.encode() + b"\n"
    if parent:
        body += b"parent " + parent.encode() + b"\n"
    who = author + b" <jose@example.com> 1700000000 +0000\n"
    body += b"author " + who + b"committer " + who + b"\n" + message
    proc = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"],
        cwd=repo.root,
        input=body,
        capture_output=True,
        check=True,
    )
    h = proc.stdout.decode().strip()
    repo.git("update-ref", "refs/heads/main", h)
    return h


def test_raw_latin1_bytes_without_declared_encoding(repo: Repo) -> None:
    """Bytes that are not UTF-8 (no encoding header) decode with replacement, never crash."""
    repo.write("a.py", "x\n")
    raw_commit(repo, b"Jos\xe9", b"Fix caf\xe9 crash\n")
    (c,) = list(stream_log(repo.root, ["HEAD"]))
    assert c.message == "Fix caf\ufffd crash"
    assert c.author_name == "Jos\ufffd"
    assert c.author_email == "jose@example.com"
    assert [f.path for f in c.files] == ["a.py"]
