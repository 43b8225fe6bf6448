"""Clean-up: nothing of a sandbox is left (no afs mount, no afs-fuse,
afs-launch or afs-session process, no sandbox process, no temp dir, no
session state) after a normal exit, an exception in the body, a
KeyboardInterrupt (raised in the body, or by SIGINT during a command),
for sessions, for AsyncSandbox and for SandboxClient."""
import asyncio
import os
import signal
import threading
import time

import pytest

from agentfense import (AsyncSandbox, PatternType, Permission, PermissionRule, Sandbox,
                        SandboxClient, SandboxError, SandboxNotFoundError,
                        SandboxNotRunningError, SessionNotFoundError, get_preset_dicts)

from conftest import Leaks


def sub_snapshot(tmp_path):
    """A Leaks snapshot taken now (within a running sandbox), to check that
    what was started after it (a session, say) is gone, apart from the
    sandbox itself."""
    return Leaks("/nonexistent/afs-pytest", [str(tmp_path), os.environ["TMPDIR"]],
                 os.environ["AFS_PYTEST_MARK"])


def use(sandbox):
    """Use each part of a sandbox once."""
    assert sandbox.run("cat README.md").stdout == "hello\n"
    assert sandbox.list_files("src") == ["src/app"]
    sandbox.write_file("output/x.txt", "x")
    assert sandbox.read_file("output/x.txt") == "x"


def sigint_after(seconds):
    """SIGINT to this process after SECONDS (Ctrl-C): KeyboardInterrupt in
    the main thread, wherever it is then.  Cancel the timer when done."""
    t = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    t.start()
    return t


def test_the_check_sees_a_running_sandbox(project, leaks):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        use(sandbox)
        now = leaks.now()
        assert any(line.startswith("afs mount: ") for line in now), now
        assert any(line.startswith("in the test's TMPDIR: ") for line in now), now
        assert "client state: sandboxes/" + sandbox.id in now, now
        assert "client state: codebases/" + sandbox.codebase_id in now, now
    leaks.assert_clean("after a normal exit")


def test_normal_exit(project, leaks):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        use(sandbox)
        with sandbox.session() as s:
            assert s.exec("cd src && pwd").stdout == "/workspace/src\n"
    leaks.assert_clean("after a normal exit")
    with pytest.raises(SandboxNotFoundError):
        sandbox.run("true")


def test_exception_in_the_body(project, leaks):
    with pytest.raises(RuntimeError, match="boom"):
        with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
            use(sandbox)
            raise RuntimeError("boom")
    leaks.assert_clean("after an exception in the body")
    with pytest.raises(SandboxNotFoundError) as ei:
        sandbox.run("true")
    assert ei.value.sandbox_id == sandbox.id


def test_sandbox_error_in_the_body(project, leaks):
    with pytest.raises(SandboxError):
        with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
            sandbox.run("sleep 30", timeout=0.5)
    leaks.assert_clean("after a timeout ended the body")


def test_keyboard_interrupt_in_the_body(project, leaks):
    with pytest.raises(KeyboardInterrupt):
        with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
            use(sandbox)
            raise KeyboardInterrupt()
    leaks.assert_clean("after a KeyboardInterrupt in the body")
    with pytest.raises(SandboxNotFoundError):
        sandbox.run("true")


def test_keyboard_interrupt_during_a_run(project, leaks):
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
            timer = sigint_after(1)
            try:
                sandbox.run("sleep 30")
            finally:
                timer.cancel()
    assert time.monotonic() - t0 < 20
    leaks.assert_clean("after SIGINT during a run")


def test_session_close(project, tmp_path, leaks):
    with Sandbox.from_local(str(project)) as sandbox:
        sub = sub_snapshot(tmp_path)
        with sandbox.session() as s:
            assert s.exec("sleep 60 & echo started").stdout == "started\n"
            assert sub.now(), "a session runs: something new is there"
        sub.assert_clean("of a closed session")
        with pytest.raises(SessionNotFoundError):
            s.exec("true")
        assert sandbox.run("echo still").stdout == "still\n"
    leaks.assert_clean("after a session and its sandbox")


def test_exception_in_a_session(project, leaks):
    with pytest.raises(RuntimeError):
        with Sandbox.from_local(str(project)) as sandbox:
            with sandbox.session() as s:
                s.exec("cd src")
                raise RuntimeError("in a session")
    leaks.assert_clean("after an exception in a session")
    with pytest.raises(SessionNotFoundError):
        s.exec("true")


def test_keyboard_interrupt_with_a_session_left_open(project, leaks):
    with pytest.raises(KeyboardInterrupt):
        with Sandbox.from_local(str(project)) as sandbox:
            s = sandbox.session().__enter__()      # never closed by the body
            s.exec("cd src; sleep 60 &")
            raise KeyboardInterrupt()
    leaks.assert_clean("after a KeyboardInterrupt with a session open")


def test_keyboard_interrupt_during_a_session_exec(project, leaks):
    with pytest.raises(KeyboardInterrupt):
        with Sandbox.from_local(str(project)) as sandbox:
            with sandbox.session() as s:
                timer = sigint_after(1)
                try:
                    s.exec("sleep 30")
                finally:
                    timer.cancel()
    leaks.assert_clean("after SIGINT during a session's exec")


def test_failed_from_local_leaves_nothing(project, leaks):
    with pytest.raises((SandboxError, ValueError)):
        Sandbox.from_local(str(project), permissions=[
            PermissionRule("([unclosed", Permission.NONE, type=PatternType.REGEX)])
    with pytest.raises(ValueError):
        Sandbox.from_local(str(project), preset="no-such-preset")
    leaks.assert_clean("after from_local failed")


def test_many_sandboxes_in_a_row(project, leaks):
    for i in range(15):
        with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
            assert sandbox.run("echo %d" % i).stdout == "%d\n" % i
    leaks.assert_clean("after 15 sandboxes")


def test_async_exception_in_the_body(project, leaks):
    async def main():
        async with await AsyncSandbox.from_local(str(project), preset="agent-safe") as sandbox:
            assert (await sandbox.run("cat README.md")).stdout == "hello\n"
            async with await sandbox.session() as s:
                await s.exec("cd src")
                raise RuntimeError("async boom")
    with pytest.raises(RuntimeError, match="async boom"):
        asyncio.run(main())
    leaks.assert_clean("after an exception in an async body")


def test_async_keyboard_interrupt_in_the_body(project, leaks):
    async def main():
        async with await AsyncSandbox.from_local(str(project)) as sandbox:
            await sandbox.run("true")
            raise KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    leaks.assert_clean("after a KeyboardInterrupt in an async body")


def test_client_destroy_and_delete(tmp_path, leaks):
    client = SandboxClient()
    cb = client.create_codebase("cleanup", "me")
    client.upload_file(cb.id, "a.txt", b"a\n")
    sb = client.create_sandbox(cb.id, permissions=get_preset_dicts("read-only"))
    client.start_sandbox(sb.id)
    sub = sub_snapshot(tmp_path)
    s = client.create_session(sb.id)
    assert client.session_exec(s.id, "cat a.txt").stdout == "a\n"
    client.destroy_session(s.id)
    sub.assert_clean("of a destroyed session")
    assert client.exec(sb.id, "cat a.txt").stdout == "a\n"
    sb2 = client.create_sandbox(cb.id, permissions=get_preset_dicts("full-access"))
    client.start_sandbox(sb2.id)
    client.create_session(sb2.id)                  # left open: stop_sandbox ends it
    client.stop_sandbox(sb2.id)
    client.destroy_sandbox(sb.id)
    client.destroy_sandbox(sb2.id)
    client.delete_codebase(cb.id)
    leaks.assert_clean("after destroy_sandbox and delete_codebase")


def test_the_check_leaves_other_runs_sandboxes_alone(leaks):
    # A process of the sandbox's uid whose ancestry reaches pid 1 without
    # passing through this pytest (a subreaper, see conftest.py) is another
    # run's: not counted, never killed.  One below this pytest is ours.
    me = os.getpid()
    procs = {
        (1, "1"): {"pid": 1, "ppid": 0, "comm": "init", "argv0": "init", "uid": 0,
                   "state": "S", "cmdline": "init"},
        (50, "1"): {"pid": 50, "ppid": 1, "comm": "sleep", "argv0": "sleep", "uid": 65534,
                    "state": "S", "cmdline": "sleep 300"},
        (60, "1"): {"pid": 60, "ppid": me, "comm": "sleep", "argv0": "sleep", "uid": 65534,
                    "state": "S", "cmdline": "sleep 300"},
        (me, "1"): {"pid": me, "ppid": 1, "comm": "python3", "argv0": "python3", "uid": 0,
                    "state": "R", "cmdline": "pytest"},
    }
    assert leaks._ours(procs[(50, "1")], procs) is False
    assert leaks._ours(procs[(60, "1")], procs) is True
