"""AsyncSandbox: the Sandbox API for asyncio.  Commands are asyncio
subprocesses; mounting and unmounting (a few milliseconds of blocking
work) run in a thread."""
import asyncio
import subprocess

from . import _afs
from .exceptions import SessionNotFoundError
from .sandbox import Sandbox, Session, _check_error
from .types import RuntimeType


async def _run(argv, env=None):
    p = await asyncio.create_subprocess_exec(*argv, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             env=env)
    try:
        out, err = await p.communicate()
    except BaseException:
        # Cancelled: the command must not outlive us (afs-launch cleans up
        # on SIGTERM).
        if p.returncode is None:
            p.terminate()
            await p.wait()
        raise
    return out, err, p.returncode


class AsyncSession:
    def __init__(self, session):
        self._s = session

    @property
    def id(self):
        return self._s.id

    async def exec(self, command, timeout=None, raise_on_error=False):
        if self._s.closed:
            raise SessionNotFoundError(self._s.id, "closed")
        out, err, code = await _run(_afs.session_exec_argv(self._s.id, command, timeout),
                                    env=_afs.session_env(self._s.sandbox._mount))
        res = _afs.session_result(self._s.id, out, err, code, command, timeout)
        return _check_error(res, raise_on_error)

    run = exec

    async def close(self):
        await asyncio.to_thread(self._s.close)

    async def __aenter__(self):
        if self._s.closed:
            await asyncio.to_thread(self._s.start)
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False


class AsyncSandbox:
    def __init__(self, sandbox):
        self._sb = sandbox

    @classmethod
    async def from_local(cls, path, preset="view-only", permissions=None,
                         runtime=RuntimeType.BWRAP, image=None, resources=None, env=None):
        sb = await asyncio.to_thread(Sandbox.from_local, path, preset=preset,
                                     permissions=permissions, runtime=runtime, image=image,
                                     resources=resources, env=env)
        return cls(sb)

    @property
    def id(self):
        return self._sb.id

    @property
    def status(self):
        return self._sb.status

    async def run(self, command, timeout=None, env=None, workdir=None, raise_on_error=False):
        self._sb._require_running()
        argv = self._sb._mount.launch_argv(command, timeout, env, workdir, self._sb._options())
        out, err, code = await _run(argv)
        res = _afs.result_from(out, err, code, command, timeout)
        return _check_error(res, raise_on_error)

    exec = run

    async def session(self, shell="/bin/sh", env=None):
        return AsyncSession(self._sb.session(shell=shell, env=env))

    async def read_file(self, path, binary=False):
        return await asyncio.to_thread(self._sb.read_file, path, binary)

    async def write_file(self, path, content):
        return await asyncio.to_thread(self._sb.write_file, path, content)

    async def list_files(self, path="/", recursive=False):
        return await asyncio.to_thread(self._sb.list_files, path, recursive)

    async def close(self):
        await asyncio.to_thread(self._sb.close)

    stop = destroy = close

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False
