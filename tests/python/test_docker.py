"""The docker runtime, in the local python:3.11-slim image made by
tests/python/mkimage.sh (skipped when AFS_TEST_DOCKER=0)."""
import asyncio
import time

import pytest

from agentfense import (AsyncSandbox, CommandTimeoutError, PermissionDeniedError, ResourceLimits,
                        RuntimeType, Sandbox)

from conftest import DOCKER_IMAGE, PROJECT_VISIBLE_TOP, tree_state

pytestmark = pytest.mark.docker


def docker_sandbox(project, **kw):
    kw.setdefault("preset", "agent-safe")
    return Sandbox.from_local(str(project), runtime=RuntimeType.DOCKER, image=DOCKER_IMAGE, **kw)


def cgroup_cmd(v1, v2):
    return "cat /sys/fs/cgroup/%s 2>/dev/null || cat /sys/fs/cgroup/%s" % (v2, v1)


def test_docker_run(project):
    before = tree_state(project)
    with docker_sandbox(project) as sandbox:
        r = sandbox.run("python3 -c 'import sys; print(sys.version_info[:2])'; pwd; id -u; "
                        "LC_ALL=C ls -A")
        assert r.exit_code == 0, r.output
        lines = r.stdout.split()
        assert r.stdout.splitlines()[0] == "(3, 11)"
        assert r.stdout.splitlines()[1] == "/workspace"
        assert r.stdout.splitlines()[2] != "0"
        assert r.stdout.splitlines()[3:] == PROJECT_VISIBLE_TOP, lines
        r = sandbox.run("cat .env")
        assert (r.exit_code, r.stdout) == (1, "")
        assert "No such file or directory" in r.stderr
        r = sandbox.run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
        assert r.stdout == "lo\n"
        assert sandbox.run("echo d > output/d.txt && cat output/d.txt").stdout == "d\n"
        assert sandbox.read_file("output/d.txt") == "d\n"
        with pytest.raises(PermissionDeniedError) as ei:
            sandbox.run("echo x > README.md", raise_on_error=True)
        assert ei.value.path == "README.md"
    assert tree_state(project) == before


def test_docker_resource_limits(project):
    limits = ResourceLimits(memory_bytes=64 * 1024 * 1024, cpu_quota=50000, pids_limit=50)
    with docker_sandbox(project, resources=limits) as sandbox:
        r = sandbox.run(cgroup_cmd("memory/memory.limit_in_bytes", "memory.max"))
        assert r.stdout.strip() == str(64 * 1024 * 1024), r.output
        r = sandbox.run(cgroup_cmd("pids/pids.max", "pids.max"))
        assert r.stdout.strip() in ("50", "51"), r.output
        r = sandbox.run("cat /sys/fs/cgroup/cpu.max 2>/dev/null || "
                        "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) "
                        "$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)")
        assert r.stdout.split() == ["50000", "100000"], r.output


def test_docker_memory_limit_enforced(project):
    limits = ResourceLimits(memory_bytes=64 * 1024 * 1024)
    with docker_sandbox(project, resources=limits) as sandbox:
        r = sandbox.run("python3 -c 'x = bytearray(256 * 1024 * 1024); print(len(x))'")
        assert r.exit_code != 0
        assert str(256 * 1024 * 1024) not in r.stdout


def test_docker_timeout(project):
    with docker_sandbox(project) as sandbox:
        t0 = time.monotonic()
        with pytest.raises(CommandTimeoutError) as ei:
            sandbox.run("sleep 30", timeout=1)
        assert time.monotonic() - t0 < 15
        assert (ei.value.command, ei.value.timeout_seconds) == ("sleep 30", 1)
        assert sandbox.run("echo after").stdout == "after\n"


@pytest.mark.timeout_seconds(40)
def test_docker_session(project):
    with docker_sandbox(project) as sandbox:
        with sandbox.session(env={"FROM_SANDBOX": "s"}) as s:
            s.exec("cd src/app && export V=1")
            r = s.exec('pwd; echo "$V$FROM_SANDBOX"; cat util.py')
            assert (r.exit_code, r.stdout) == (0, "/workspace/src/app\n1s\nX = 1\n")


def test_docker_exception_leaves_nothing(project, leaks):
    with pytest.raises(KeyboardInterrupt):
        with docker_sandbox(project) as sandbox:
            sandbox.run("true")
            raise KeyboardInterrupt()
    leaks.assert_clean("after a KeyboardInterrupt in a docker sandbox")


def test_docker_async(project):
    async def main():
        async with await AsyncSandbox.from_local(
                str(project), preset="agent-safe", runtime=RuntimeType.DOCKER, image=DOCKER_IMAGE,
                resources=ResourceLimits(pids_limit=20)) as sandbox:
            return await asyncio.gather(sandbox.run("cat README.md"),
                                        sandbox.run(cgroup_cmd("pids/pids.max", "pids.max")))
    readme, pids = asyncio.run(main())
    assert (readme.exit_code, readme.stdout) == (0, "hello\n")
    assert pids.stdout.strip() in ("20", "21"), pids.output
