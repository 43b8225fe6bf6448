"""exec with stdin, and exec_stream: output as it comes, not after."""
import asyncio
import time
from datetime import timedelta

import pytest

from agentfense import AsyncSandbox, CommandTimeoutError, Sandbox, SandboxClient


def test_exec_feeds_stdin(project):
    with Sandbox.from_local(str(project), preset="read-only") as sandbox:
        r = sandbox.exec("tr a-z A-Z; echo done >&2", stdin="hello\nworld\n")
        assert (r.stdout, r.stderr, r.exit_code, r.command) == (
            "HELLO\nWORLD\n", "done\n", 0, "tr a-z A-Z; echo done >&2")
        assert isinstance(r.duration, timedelta)
        # Without stdin the command reads an empty input.
        assert sandbox.exec("wc -c").stdout.strip() == "0"
        # A large input, whole.
        big = "x" * 300000 + "\n"
        assert sandbox.exec("wc -c", stdin=big).stdout.strip() == "300001"
        # exec never raises on the exit status.
        assert sandbox.exec("exit 7").exit_code == 7
        with pytest.raises(CommandTimeoutError) as ei:
            sandbox.exec("sleep 30", timeout=timedelta(seconds=1))
        assert (ei.value.command, ei.value.timeout_seconds) == ("sleep 30", 1.0)


def test_client_exec_stdin():
    client = SandboxClient()
    cb = client.create_codebase("stdin", "me")
    sb = client.create_sandbox(cb.id, permissions=[{"pattern": "**/*", "permission": "read"}])
    try:
        client.start_sandbox(sb.id)
        r = client.exec(sb.id, "cat", stdin="via client")
        assert (r.stdout, r.exit_code) == ("via client", 0)
    finally:
        client.destroy_sandbox(sb.id)
        client.delete_codebase(cb.id)


def test_exec_stream_yields_while_running(project):
    with Sandbox.from_local(str(project), preset="read-only") as sandbox:
        t0 = time.monotonic()
        chunks = []
        first_at = None
        for chunk in sandbox.exec_stream("echo first; sleep 2; echo second >&2; echo third"):
            if first_at is None:
                first_at = time.monotonic() - t0
            chunks.append(chunk)
        total = time.monotonic() - t0
        assert all(isinstance(c, bytes) for c in chunks)
        assert b"".join(chunks) == b"first\nsecond\nthird\n"
        assert chunks[0] == b"first\n"
        # The first chunk came before the command ended (it sleeps 2 s).
        assert first_at < total - 1.5, (first_at, total)


def test_exec_stream_stdin_env_workdir(project):
    with Sandbox.from_local(str(project), preset="read-only") as sandbox:
        out = b"".join(sandbox.exec_stream('cat; echo "$V"; pwd', stdin="in\n",
                                           env={"V": "v"}, workdir="src"))
        assert out == b"in\nv\n/workspace/src\n"


def test_exec_stream_closed_early_ends_the_command(project, leaks):
    with Sandbox.from_local(str(project), preset="read-only") as sandbox:
        t0 = time.monotonic()
        it = sandbox.exec_stream("echo go; sleep 60")
        assert next(it) == b"go\n"
        it.close()
        assert time.monotonic() - t0 < 20
    leaks.assert_clean("after a stream closed early")


def test_exec_stream_timeout(project):
    with Sandbox.from_local(str(project), preset="read-only") as sandbox:
        got = []
        with pytest.raises(CommandTimeoutError):
            for c in sandbox.exec_stream("echo a; sleep 30", timeout=timedelta(seconds=1)):
                got.append(c)
        assert got == [b"a\n"]


def test_async_exec_stream_and_stdin(project):
    async def main():
        async with await AsyncSandbox.from_local(str(project), preset="read-only") as sandbox:
            r = await sandbox.exec("cat", stdin="async in")
            t0 = time.monotonic()
            first_at = None
            chunks = []
            async for chunk in sandbox.exec_stream("echo one; sleep 3; echo two"):
                if first_at is None:
                    first_at = time.monotonic() - t0
                chunks.append(chunk)
            return r, chunks, first_at, time.monotonic() - t0
    r, chunks, first_at, total = asyncio.run(main())
    assert (r.stdout, r.exit_code) == ("async in", 0), r
    assert b"".join(chunks) == b"one\ntwo\n" and chunks[0] == b"one\n", chunks
    # The first line came as it was written, not with the last.
    assert first_at < total - 1.0, (first_at, total)
