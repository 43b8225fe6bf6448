"""The layering, as the reference's own unit tests use it: a Sandbox is a
SandboxClient (here a fake one) and two records, each method a call on the
client; agentfense.sandbox.SandboxClient can be patched; SessionWrapper
over any object with destroy_session.  No sandbox is made here."""
import asyncio
import inspect
from datetime import timedelta
from unittest.mock import AsyncMock, MagicMock, patch

import pytest

import agentfense
from agentfense.client import SessionWrapper
from agentfense.exceptions import CommandExecutionError
from agentfense.sandbox import Sandbox
from agentfense.types import (Codebase, ExecResult, FileInfo, RuntimeType, Sandbox as SandboxInfo,
                              SandboxStatus, Session, SessionStatus)


def info(status=SandboxStatus.RUNNING, **kw):
    return SandboxInfo(id="sb_123", codebase_id="cb_456", status=status, **kw)


CODEBASE = Codebase(id="cb_456", name="test", owner_id="user_1")


def make(client=None, status=SandboxStatus.RUNNING, **kw):
    return Sandbox(client=client or MagicMock(), sandbox_info=info(status),
                   codebase=CODEBASE, **kw)


def test_properties():
    sb = Sandbox(MagicMock(), info(runtime=RuntimeType.DOCKER), CODEBASE)
    assert (sb.id, sb.codebase_id, sb.status, sb.runtime) == (
        "sb_123", "cb_456", SandboxStatus.RUNNING, RuntimeType.DOCKER)
    assert sb.info.id == "sb_123" and sb.codebase is CODEBASE
    r = repr(sb)
    assert "sb_123" in r and "running" in r and "docker" in r


def test_start_stop_refresh_call_the_client():
    client = MagicMock()
    client.start_sandbox.return_value = info(SandboxStatus.RUNNING)
    client.stop_sandbox.return_value = info(SandboxStatus.STOPPED)
    client.get_sandbox.return_value = info(SandboxStatus.ERROR)
    sb = make(client, SandboxStatus.PENDING)
    assert sb.start() is sb
    client.start_sandbox.assert_called_once_with("sb_123")
    assert sb.status == SandboxStatus.RUNNING
    assert sb.start() is sb                          # already running: no call
    assert client.start_sandbox.call_count == 1
    assert sb.stop() is sb
    client.stop_sandbox.assert_called_once_with("sb_123")
    assert sb.status == SandboxStatus.STOPPED
    assert sb.refresh() is sb
    client.get_sandbox.assert_called_once_with("sb_123")
    assert sb.status == SandboxStatus.ERROR


def test_destroy_owns_client_and_codebase():
    client = MagicMock()
    sb = make(client, owns_client=True, owns_codebase=True)
    sb.destroy()
    client.destroy_sandbox.assert_called_once_with("sb_123")
    client.delete_codebase.assert_called_once_with("cb_456")
    client.close.assert_called_once_with()
    sb.destroy()                                     # once only
    assert client.destroy_sandbox.call_count == 1


def test_destroy_without_ownership():
    client = MagicMock()
    make(client).destroy()
    client.destroy_sandbox.assert_called_once_with("sb_123")
    client.delete_codebase.assert_not_called()
    client.close.assert_not_called()
    client = MagicMock()
    make(client).destroy(delete_codebase=True)
    client.delete_codebase.assert_called_once_with("cb_456")


def test_context_manager_destroys():
    client = MagicMock()
    with make(client, owns_client=True) as sb:
        assert isinstance(sb, Sandbox)
    client.destroy_sandbox.assert_called_once_with("sb_123")
    client = MagicMock()
    with pytest.raises(RuntimeError):
        with make(client, owns_client=True):
            raise RuntimeError("x")
    client.destroy_sandbox.assert_called_once_with("sb_123")
    client.close.assert_called_once_with()


def test_run_and_exec_call_client_exec():
    client = MagicMock()
    client.exec.return_value = ExecResult(stdout="Hello", stderr="", exit_code=0)
    sb = make(client)
    r = sb.run("echo Hello", timeout=30)
    assert (r.stdout, r.exit_code) == ("Hello", 0)
    client.exec.assert_called_once_with(sandbox_id="sb_123", command="echo Hello",
                                        timeout=timedelta(seconds=30), env=None, workdir=None)
    client.exec.reset_mock()
    sb.run("x")
    assert client.exec.call_args.kwargs["timeout"] == timedelta(seconds=60)
    client.exec.reset_mock()
    sb.exec("cat", stdin="in", env={"A": "1"}, workdir="w", timeout=timedelta(seconds=2))
    client.exec.assert_called_once_with(sandbox_id="sb_123", command="cat", stdin="in",
                                        env={"A": "1"}, workdir="w",
                                        timeout=timedelta(seconds=2))


def test_sandbox_env_is_merged_under_the_calls():
    # afs's own sandbox.env: empty, the calls are the reference's exactly.
    client = MagicMock()
    client.exec.return_value = ExecResult("", "", 0)
    sb = make(client)
    assert sb.env == {}
    sb.env["A"] = "1"
    sb.run("x", env={"B": "2"})
    assert client.exec.call_args.kwargs["env"] == {"A": "1", "B": "2"}
    sb.session(env={"A": "3"})
    assert client.create_session.call_args.kwargs["env"] == {"A": "3"}


def test_run_raise_on_error():
    client = MagicMock()
    client.exec.return_value = ExecResult(stdout="", stderr="Error!", exit_code=1)
    with pytest.raises(CommandExecutionError) as ei:
        make(client).run("failing-command", raise_on_error=True)
    assert (ei.value.exit_code, ei.value.command, ei.value.stderr) == (
        1, "failing-command", "Error!")
    assert not isinstance(ei.value, agentfense.PermissionDeniedError)


def test_exec_stream_calls_the_client():
    client = MagicMock()
    client.exec_stream.return_value = iter([b"a", b"b"])
    assert list(make(client).exec_stream("x")) == [b"a", b"b"]
    client.exec_stream.assert_called_once_with(sandbox_id="sb_123", command="x", stdin=None,
                                               env=None, workdir=None, timeout=None)


def test_session_calls_create_session():
    client = MagicMock()
    make(client).session(shell="/bin/sh", env={"FOO": "bar"})
    client.create_session.assert_called_once_with(sandbox_id="sb_123", shell="/bin/sh",
                                                  env={"FOO": "bar"})


def test_files_call_the_codebase_on_another_client():
    client = MagicMock()
    client.download_file.return_value = b"Hello World"
    sb = make(client)
    assert sb.read_file("/workspace/test.txt") == "Hello World"
    client.download_file.assert_called_once_with("cb_456", "test.txt")
    assert sb.read_file_bytes("/test.txt") == b"Hello World"
    assert client.download_file.call_args.args == ("cb_456", "test.txt")
    sb.write_file("/workspace/test.txt", "Hello")
    client.upload_file.assert_called_once_with("cb_456", "test.txt", b"Hello")
    client.list_files.return_value = [
        FileInfo(path="/a.txt", name="a.txt", is_dir=False, size=100),
        FileInfo(path="/b.txt", name="b.txt", is_dir=False, size=200)]
    assert sb.list_files(recursive=True) == ["/a.txt", "/b.txt"]
    client.list_files.assert_called_once_with("cb_456", "", True)


@patch("agentfense.sandbox.SandboxClient")
def test_from_local_with_a_patched_client(mock_class, tmp_path):
    client = MagicMock()
    mock_class.return_value = client
    client.create_codebase.return_value = Codebase(id="cb_123", name="test", owner_id="u")
    client.create_sandbox.return_value = SandboxInfo(id="sb_456", codebase_id="cb_123",
                                                     status=SandboxStatus.PENDING)
    client.start_sandbox.return_value = SandboxInfo(id="sb_456", codebase_id="cb_123",
                                                    status=SandboxStatus.RUNNING)
    (tmp_path / "test.py").write_text("print('hello')")
    (tmp_path / "x.pyc").write_text("ignored")
    sb = Sandbox.from_local(str(tmp_path), preset="read-only", endpoint="localhost:9000",
                            labels={"k": "v"}, owner_id="u", codebase_name="named")
    mock_class.assert_called_once_with(endpoint="localhost:9000", secure=False)
    client.create_codebase.assert_called_once_with(name="named", owner_id="u")
    # Another client gets the files uploaded, as the reference does.
    client.upload_file.assert_called_once_with("cb_123", "test.py", b"print('hello')")
    client.create_sandbox.assert_called_once_with(
        codebase_id="cb_123", permissions=[{"pattern": "**/*", "permission": "read",
                                            "priority": "0"}],
        runtime=RuntimeType.BWRAP, image=None, resources=None, labels={"k": "v"})
    client.start_sandbox.assert_called_once_with("sb_456")
    assert (sb.id, sb.status, sb._owns_client, sb._owns_codebase) == (
        "sb_456", SandboxStatus.RUNNING, True, True)
    sb._destroyed = True


@patch("agentfense.sandbox.SandboxClient")
def test_from_local_cleans_up_on_failure(mock_class, tmp_path):
    client = MagicMock()
    mock_class.return_value = client
    client.create_codebase.return_value = Codebase(id="cb_1", name="t", owner_id="u")
    client.create_sandbox.side_effect = agentfense.InvalidConfigurationError("bad")
    with pytest.raises(agentfense.InvalidConfigurationError):
        Sandbox.from_local(str(tmp_path), preset=None, auto_start=False)
    # preset=None is view-only
    assert client.create_sandbox.call_args.kwargs["permissions"] == [
        {"pattern": "**/*", "permission": "view", "priority": "0"}]
    client.delete_codebase.assert_called_once_with("cb_1")
    client.close.assert_called_once_with()
    client.start_sandbox.assert_not_called()


@patch("agentfense.sandbox.SandboxClient")
def test_from_codebase_and_connect(mock_class):
    client = MagicMock()
    mock_class.return_value = client
    client.get_codebase.return_value = CODEBASE
    client.create_sandbox.return_value = info(SandboxStatus.PENDING)
    client.get_sandbox.return_value = info(SandboxStatus.RUNNING)
    sb = Sandbox.from_codebase("cb_456", preset="agent-safe", auto_start=False,
                               permissions=[{"pattern": "/x", "permission": "write"}])
    client.get_codebase.assert_called_once_with("cb_456")
    perms = client.create_sandbox.call_args.kwargs["permissions"]
    assert perms[0]["pattern"] == "**/*" and perms[-1] == {"pattern": "/x",
                                                           "permission": "write"}
    client.start_sandbox.assert_not_called()
    assert (sb._owns_client, sb._owns_codebase) == (True, False)
    sb2 = Sandbox.connect("sb_123")
    client.get_sandbox.assert_called_once_with("sb_123")
    assert (sb2.id, sb2.status, sb2._owns_codebase) == ("sb_123", SandboxStatus.RUNNING, False)


# ---- SessionWrapper over any client ---------------------------------------------------------
class FakeClient:
    def __init__(self):
        self.destroyed = []
        self.execs = []

    def destroy_session(self, session_id):
        self.destroyed.append(session_id)

    def session_exec(self, session_id, command, timeout=None):
        self.execs.append((session_id, command, timeout))
        return ExecResult("ok", "", 0, command=command)


def test_session_wrapper():
    s = Session(id="sess_123", sandbox_id="sb_456", status=SessionStatus.ACTIVE,
                shell="/bin/sh")
    client = FakeClient()
    w = SessionWrapper(client, s)
    assert (w.id, w.sandbox_id, w.status, w.shell) == ("sess_123", "sb_456",
                                                       SessionStatus.ACTIVE, "/bin/sh")
    assert w.exec("ls", timeout=timedelta(seconds=3)).stdout == "ok"
    assert client.execs == [("sess_123", "ls", timedelta(seconds=3))]
    with pytest.raises(ValueError):
        with w:
            raise ValueError("x")
    assert client.destroyed == ["sess_123"]
    assert Session(id="a", sandbox_id="b", status=SessionStatus.ACTIVE).shell == "/bin/bash"


def test_client_has_every_session_method():
    for name in ("create_session", "session", "get_session", "list_sessions",
                 "destroy_session", "session_exec"):
        assert callable(getattr(agentfense.SandboxClient, name))


# ---- the async layering -----------------------------------------------------------------------
def test_async_sandbox_over_a_fake_client():
    from agentfense import AsyncSandbox
    client = MagicMock()
    for name in ("start_sandbox", "stop_sandbox", "get_sandbox", "destroy_sandbox",
                 "delete_codebase", "close", "exec", "create_session", "download_file",
                 "upload_file", "list_files"):
        setattr(client, name, AsyncMock())
    client.exec.return_value = ExecResult("hi", "", 0)
    client.download_file.return_value = b"data"
    client.list_files.return_value = [FileInfo("a", "a", False, 1)]

    async def gen(**kw):
        yield b"x"
        yield b"y"
    client.exec_stream = MagicMock(side_effect=lambda **kw: gen(**kw))

    async def main():
        async with AsyncSandbox(client, info(), CODEBASE, owns_client=True,
                                owns_codebase=True) as sb:
            r = await sb.run("echo hi")
            assert r.stdout == "hi"
            assert client.exec.call_args.kwargs == {"sandbox_id": "sb_123",
                                                    "command": "echo hi",
                                                    "timeout": timedelta(seconds=60),
                                                    "env": None, "workdir": None}
            assert [c async for c in sb.exec_stream("x")] == [b"x", b"y"]
            assert await sb.read_file("/workspace/f") == "data"
            client.download_file.assert_called_once_with("cb_456", "f")
            await sb.write_file("f", b"z")
            client.upload_file.assert_called_once_with("cb_456", "f", b"z")
            assert await sb.list_files() == ["a"]
            await sb.session(env={"A": "1"})
            client.create_session.assert_called_once_with(sandbox_id="sb_123",
                                                          shell="/bin/sh", env={"A": "1"})
    asyncio.run(main())
    client.destroy_sandbox.assert_called_once_with("sb_123")
    client.delete_codebase.assert_called_once_with("cb_456")
    client.close.assert_called_once_with()


def test_async_names_are_the_same_objects():
    import agentfense._async as a
    assert a.AsyncSandbox is agentfense.AsyncSandbox
    assert a.AsyncSandboxClient is agentfense.AsyncSandboxClient
    assert a.AsyncSessionWrapper is agentfense.AsyncSessionWrapper
    assert a.__all__ == ["AsyncSandboxClient", "AsyncSessionWrapper", "AsyncSandbox"]


@pytest.mark.asyncio
async def test_async_client_under_pytest_asyncio():
    client = agentfense.AsyncSandboxClient(endpoint="localhost:9000")
    assert await client.list_sandboxes() == []
    await client.close()
    async with agentfense.AsyncSandboxClient(endpoint="localhost:9000") as c:
        assert inspect.isasyncgenfunction(type(c).exec_stream)
