"""AsyncSandbox: the Sandbox API under asyncio."""
import asyncio
import os
import time

import pytest

from agentfense import (AsyncSandbox, CommandExecutionError, CommandTimeoutError, Permission,
                        PermissionDeniedError, PermissionRule, SandboxNotFoundError,
                        SandboxNotRunningError,
                        SessionNotFoundError)

from conftest import PROJECT_VISIBLE_TOP, tree_state, write_tree


def test_async_run(project):
    async def main():
        async with await AsyncSandbox.from_local(str(project), preset="agent-safe") as sandbox:
            r1 = await sandbox.run("cat README.md; echo e >&2; exit 2")
            r2 = await sandbox.exec("LC_ALL=C ls -A")
            return r1, r2
    r1, r2 = asyncio.run(main())
    assert (r1.exit_code, r1.stdout, r1.stderr, r1.success) == (2, "hello\n", "e\n", False)
    assert r1.command == "cat README.md; echo e >&2; exit 2"
    assert r2.stdout.split() == PROJECT_VISIBLE_TOP


def test_async_parameters(project):
    rules = [PermissionRule("/docs/**", Permission.WRITE)]

    async def main():
        async with await AsyncSandbox.from_local(str(project), preset="read-only",
                                                 permissions=rules) as sandbox:
            return (await sandbox.run('echo "$A$B" > docs/x && cat docs/x',
                                      env={"A": "1", "B": "2"}, workdir="."),
                    await sandbox.run("pwd", workdir="src"))
    r, pwd = asyncio.run(main())
    assert (r.exit_code, r.stdout) == (0, "12\n"), r.output
    assert pwd.stdout == "/workspace/src\n"
    assert not (project / "docs" / "x").exists()


def test_async_errors(project):
    async def main():
        async with await AsyncSandbox.from_local(str(project), preset="agent-safe") as sandbox:
            with pytest.raises(CommandTimeoutError) as ei:
                await sandbox.run("sleep 30", timeout=1)
            assert (ei.value.command, ei.value.timeout_seconds) == ("sleep 30", 1)
            with pytest.raises(CommandExecutionError) as ei:
                await sandbox.run("echo no >&2; exit 6", raise_on_error=True)
            assert (ei.value.exit_code, ei.value.stderr) == (6, "no\n")
            with pytest.raises(PermissionDeniedError) as ei:
                await sandbox.run("echo x > README.md", raise_on_error=True)
            assert ei.value.path == "README.md"
            return sandbox
    t0 = time.monotonic()
    sandbox = asyncio.run(main())
    assert time.monotonic() - t0 < 15

    async def after():
        await sandbox.run("true")
    with pytest.raises(SandboxNotFoundError) as ei:
        asyncio.run(after())
    assert ei.value.sandbox_id == sandbox.id


def test_async_from_local_errors(tmp_path):
    (tmp_path / "f").write_text("x")

    async def main(p):
        return await AsyncSandbox.from_local(p)
    with pytest.raises(ValueError, match="does not exist"):
        asyncio.run(main(str(tmp_path / "nope")))
    with pytest.raises(ValueError, match="not a directory"):
        asyncio.run(main(str(tmp_path / "f")))


def test_async_session(project):
    async def main():
        async with await AsyncSandbox.from_local(str(project)) as sandbox:
            async with await sandbox.session() as s:
                await s.exec("cd src/app && export V=1")
                r = await s.exec('pwd; echo "$V"')
                with pytest.raises(CommandTimeoutError):
                    await s.exec("sleep 30", timeout=1)
                r2 = await s.exec("pwd")
            with pytest.raises(SessionNotFoundError):
                await s.exec("true")
            return r, r2
    r, r2 = asyncio.run(main())
    assert (r.exit_code, r.stdout) == (0, "/workspace/src/app\n1\n")
    assert r2.stdout == "/workspace/src/app\n"


def test_async_gather_is_concurrent(tmp_path):
    roots = [write_tree(tmp_path / ("p%d" % i), {"id": "%d\n" % i}) for i in range(10)]

    async def one(root):
        async with await AsyncSandbox.from_local(str(root), preset="read-only") as sandbox:
            return await sandbox.run("sleep 1; cat id")

    async def main():
        return await asyncio.gather(*[one(r) for r in roots])
    t0 = time.monotonic()
    results = asyncio.run(main())
    elapsed = time.monotonic() - t0
    assert [r.stdout for r in results] == ["%d\n" % i for i in range(10)]
    assert all(r.exit_code == 0 for r in results)
    assert elapsed < 6, "10 runs of sleep 1 took %.1f s: not concurrent" % elapsed


def test_async_runs_in_one_sandbox_are_concurrent(project):
    async def main():
        async with await AsyncSandbox.from_local(str(project), preset="agent-safe") as sandbox:
            return await asyncio.gather(*[sandbox.run("sleep 1; echo %d" % i)
                                          for i in range(5)])
    t0 = time.monotonic()
    results = asyncio.run(main())
    assert [r.stdout for r in results] == ["%d\n" % i for i in range(5)]
    assert time.monotonic() - t0 < 4


def test_async_cancelled_run_leaves_nothing(project, leaks):
    async def main():
        async with await AsyncSandbox.from_local(str(project)) as sandbox:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sandbox.run("sleep 30"), 1)
            return await sandbox.run("echo still")
    t0 = time.monotonic()
    assert asyncio.run(main()).stdout == "still\n"
    assert time.monotonic() - t0 < 15
    leaks.assert_clean("by a cancelled run")


def test_async_codebase_untouched(project):
    before = tree_state(project)

    async def main():
        async with await AsyncSandbox.from_local(str(project), preset="full-access") as sandbox:
            r = await sandbox.run("rm -r src docs && echo x > README.md && ls")
            return r
    r = asyncio.run(main())
    assert r.exit_code == 0, r.output
    assert tree_state(project) == before
    assert os.path.isdir(project / "src")
