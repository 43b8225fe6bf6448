"""AsyncSandboxClient: SandboxClient's methods as coroutines.

Commands (exec, exec_stream, session_exec) are asyncio subprocesses, so
that cancelling one ends it (afs-launch ends its sandbox on SIGTERM); the
rest is the synchronous client's work (records, a mount that takes
milliseconds) run in a thread.
"""
import asyncio
import subprocess
from datetime import timedelta
from typing import AsyncIterator, Dict, List, Optional, TypeVar, Union

from .. import _afs, _remote, _wire
from ..client import SandboxClient
from ..exceptions import CommandTimeoutError, SessionNotFoundError
from ..types import (Codebase, ExecResult, FileInfo, PermissionRule, ResourceLimits,
                     RuntimeType, Sandbox, Session, SessionStatus, UploadResult)

T = TypeVar("T")


async def _run(argv, data=None, env=None):
    p = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = await p.communicate(data)
    except BaseException:
        if p.returncode is None:
            p.terminate()
            await p.wait()
        raise
    return out, err, p.returncode


async def _take(client):
    """A channel of CLIENT's pool (a RemoteClient), taken in a thread; when
    the wait is cancelled, the channel the thread takes is given back."""
    fut = asyncio.ensure_future(asyncio.to_thread(client._take))
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        def back(f):
            if not f.cancelled() and f.exception() is None:
                client._give(f.result())
        fut.add_done_callback(back)
        raise


def _drop(client, ch):
    """End channel CH of CLIENT now (a cancelled call): the far side sees
    the end and ends the call's command; the pool loses the channel."""
    ch.abort()
    client._broken(ch)


async def _remote_call(client, verb, args, decode):
    """VERB on a RemoteClient, its exchange in a thread and every release
    of the channel here: cancelled, the channel is ended (and with it the
    command on the far side); an error reply gives it back whole."""
    ch = await _take(client)
    try:
        r = await asyncio.to_thread(client._exchange, ch, verb, args)
    except asyncio.CancelledError:
        _drop(client, ch)
        raise
    client._give(ch)
    return client._result(r, decode)


async def _remote_stream(client, args, command):
    """exec_stream on a RemoteClient: each frame read in a thread, the
    channel released here; cancelled or closed early, the channel is ended
    (the far side ends the command)."""
    ch = await _take(client)
    done = False
    try:
        try:
            await asyncio.to_thread(ch.ch.write_json, _wire.REQUEST,
                                    {"verb": "exec_stream", "args": args})
            while True:
                t, payload = await asyncio.to_thread(ch.ch.read)
                if _remote.stream_frame(t, payload) != "data":
                    break
                yield payload
            if not payload and t == _wire.DATA:
                t, payload = await asyncio.to_thread(ch.ch.read)
            r = _remote.stream_reply(t, payload)
        except (_wire.ProtocolError, OSError, ValueError, RecursionError):
            done = True
            raise client._broken(ch) from None
        done = True
        client._give(ch)
        client._stream_done(r, args, command)
    finally:
        if not done:
            _drop(client, ch)


class AsyncSessionWrapper:
    def __init__(self, client: "AsyncSandboxClient", session: Session):
        self._client = client
        self._session = session

    @property
    def id(self) -> str:
        return self._session.id

    @property
    def sandbox_id(self) -> str:
        return self._session.sandbox_id

    @property
    def status(self) -> SessionStatus:
        return self._session.status

    @property
    def shell(self) -> str:
        return self._session.shell

    async def exec(self, command: str, timeout: Optional[timedelta] = None) -> ExecResult:
        return await self._client.session_exec(self.id, command, timeout=timeout)

    async def close(self):
        if self._session.status != SessionStatus.CLOSED:
            try:
                await self._client.destroy_session(self.id)
            except SessionNotFoundError:
                pass
            self._session.status = SessionStatus.CLOSED

    async def __aenter__(self) -> "AsyncSessionWrapper":
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        await self.close()


class AsyncSandboxClient:
    def __init__(self, endpoint: str = "localhost:9000", secure: bool = False):
        self._sync = SandboxClient(endpoint=endpoint, secure=secure)
        self.endpoint = endpoint
        self.secure = secure

    @property
    def state_dir(self):
        return self._sync.state_dir

    async def close(self):
        self._sync.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        await self.close()

    async def create_sandbox(self, codebase_id: str,
                             permissions: Optional[List[Union[PermissionRule, Dict]]] = None,
                             labels: Optional[Dict[str, str]] = None,
                             expires_in: Optional[timedelta] = None,
                             runtime: RuntimeType = RuntimeType.BWRAP,
                             image: Optional[str] = None,
                             resources: Optional[ResourceLimits] = None) -> Sandbox:
        return await asyncio.to_thread(self._sync.create_sandbox, codebase_id, permissions,
                                       labels, expires_in, runtime, image, resources)

    async def get_sandbox(self, sandbox_id: str) -> Sandbox:
        return await asyncio.to_thread(self._sync.get_sandbox, sandbox_id)

    async def list_sandboxes(self, codebase_id: Optional[str] = None) -> List[Sandbox]:
        return await asyncio.to_thread(self._sync.list_sandboxes, codebase_id)

    async def start_sandbox(self, sandbox_id: str) -> Sandbox:
        return await asyncio.to_thread(self._sync.start_sandbox, sandbox_id)

    async def stop_sandbox(self, sandbox_id: str) -> Sandbox:
        return await asyncio.to_thread(self._sync.stop_sandbox, sandbox_id)

    async def destroy_sandbox(self, sandbox_id: str) -> None:
        return await asyncio.to_thread(self._sync.destroy_sandbox, sandbox_id)

    async def exec(self, sandbox_id: str, command: str, stdin: Optional[str] = None,
                   env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
                   timeout: Optional[timedelta] = None) -> ExecResult:
        if self._sync.remote:
            return await _remote_call(self._sync, "exec", self._sync._exec_args(
                sandbox_id, command, stdin, env, workdir, timeout), _wire.exec_result)
        rec = await asyncio.to_thread(self._sync._running, sandbox_id)
        argv = self._sync._exec_argv(rec, command, env, workdir, timeout)
        data = None if stdin is None else (stdin.encode("utf-8") if isinstance(stdin, str)
                                           else bytes(stdin))
        out, err, code = await _run(argv, data)
        return _afs.result_from(out, err, code, command, _afs.seconds(timeout))

    async def exec_stream(self, sandbox_id: str, command: str, stdin: Optional[str] = None,
                          env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
                          timeout: Optional[timedelta] = None) -> AsyncIterator[bytes]:
        if self._sync.remote:
            async for chunk in _remote_stream(self._sync, self._sync._exec_args(
                    sandbox_id, command, stdin, env, workdir, timeout), command):
                yield chunk
            return
        rec = await asyncio.to_thread(self._sync._running, sandbox_id)
        argv = self._sync._exec_argv(rec, command, env, workdir, timeout, json_out=False)
        data = None if stdin is None else (stdin.encode("utf-8") if isinstance(stdin, str)
                                           else bytes(stdin))
        p = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        feeder = None
        if data is not None:
            async def feed():
                try:
                    p.stdin.write(data)
                    await p.stdin.drain()
                except (OSError, ConnectionError):
                    pass
                finally:
                    p.stdin.close()
            feeder = asyncio.ensure_future(feed())
        try:
            while True:
                chunk = await p.stdout.read(65536)
                if not chunk:
                    break
                yield chunk
            await p.wait()
        finally:
            if p.returncode is None:
                p.terminate()
                await p.wait()
            if feeder is not None and not feeder.done():
                feeder.cancel()
        if timeout is not None and p.returncode == 124:
            raise CommandTimeoutError(command, _afs.seconds(timeout))

    async def create_session(self, sandbox_id: str, shell: str = "/bin/sh",
                             env: Optional[Dict[str, str]] = None) -> AsyncSessionWrapper:
        w = await asyncio.to_thread(self._sync.create_session, sandbox_id, shell, env)
        return AsyncSessionWrapper(self, w._session)

    async def session(self, sandbox_id: str, shell: str = "/bin/sh",
                      env: Optional[Dict[str, str]] = None) -> AsyncSessionWrapper:
        return await self.create_session(sandbox_id, shell=shell, env=env)

    async def get_session(self, session_id: str) -> Session:
        return await asyncio.to_thread(self._sync.get_session, session_id)

    async def list_sessions(self, sandbox_id: str) -> List[Session]:
        return await asyncio.to_thread(self._sync.list_sessions, sandbox_id)

    async def destroy_session(self, session_id: str) -> None:
        return await asyncio.to_thread(self._sync.destroy_session, session_id)

    async def session_exec(self, session_id: str, command: str,
                           timeout: Optional[timedelta] = None) -> ExecResult:
        if self._sync.remote:
            return await _remote_call(self._sync, "session_exec", {
                "session_id": session_id, "command": command,
                "timeout": _afs.seconds(timeout)}, _wire.exec_result)
        sid, _ = await asyncio.to_thread(self._sync._session_file, session_id)
        t = _afs.seconds(timeout)
        out, err, code = await _run(_afs.session_exec_argv(session_id, command, t),
                                    env=self._sync._session_env(sid))
        if code == 125 and not out.strip():
            raise SessionNotFoundError(session_id, err.decode("utf-8", "replace").strip())
        return _afs.result_from(out, err, code, command, t)

    async def create_codebase(self, name: str, owner_id: str) -> Codebase:
        return await asyncio.to_thread(self._sync.create_codebase, name, owner_id)

    async def get_codebase(self, codebase_id: str) -> Codebase:
        return await asyncio.to_thread(self._sync.get_codebase, codebase_id)

    async def list_codebases(self, owner_id: Optional[str] = None) -> List[Codebase]:
        return await asyncio.to_thread(self._sync.list_codebases, owner_id)

    async def delete_codebase(self, codebase_id: str) -> None:
        return await asyncio.to_thread(self._sync.delete_codebase, codebase_id)

    async def upload_file(self, codebase_id: str, file_path: str, content: bytes,
                          chunk_size: int = 64 * 1024) -> UploadResult:
        return await asyncio.to_thread(self._sync.upload_file, codebase_id, file_path, content,
                                       chunk_size)

    async def download_file(self, codebase_id: str, file_path: str) -> bytes:
        return await asyncio.to_thread(self._sync.download_file, codebase_id, file_path)

    async def list_files(self, codebase_id: str, path: str = "",
                         recursive: bool = False) -> List[FileInfo]:
        return await asyncio.to_thread(self._sync.list_files, codebase_id, path, recursive)
