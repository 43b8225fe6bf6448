"""AsyncSandbox: Sandbox for asyncio, over an AsyncSandboxClient."""
import asyncio
import functools
import json
import os
from datetime import timedelta
from typing import AsyncIterator, Dict, List, Optional, Union

from .. import _afs
from ..client import _rel
from ..exceptions import InvalidConfigurationError
from ..presets import get_preset_dicts
from ..sandbox import _check_dir
from ..types import (Codebase, ExecResult, PermissionRule, ResourceLimits, RuntimeType,
                     Sandbox as SandboxInfo, SandboxStatus)
from ..utils import generate_codebase_name, generate_owner_id, walk_directory
from . import client as _client_mod
from .client import AsyncSandboxClient, AsyncSessionWrapper


def _ours(client):
    return isinstance(client, _client_mod.AsyncSandboxClient)


async def _create(client, net, **kw):
    """As agentfense.sandbox._create, for an AsyncSandboxClient."""
    if net is None:
        return await client.create_sandbox(**kw)
    if not _ours(client):
        raise InvalidConfigurationError("network= needs afs's own AsyncSandboxClient",
                                        "%s keeps no network allowlist"
                                        % type(client).__name__)
    return await asyncio.to_thread(functools.partial(client._sync._create_sandbox, net=net,
                                                     **kw))


class AsyncSandbox:
    def __init__(self, client: AsyncSandboxClient, sandbox_info: SandboxInfo,
                 codebase: Codebase, owns_client: bool = False, owns_codebase: bool = False):
        self._client = client
        self._sandbox_info = sandbox_info
        self._codebase = codebase
        self._owns_client = owns_client
        self._owns_codebase = owns_codebase
        self._destroyed = False
        # afs's own: variables for every run, exec, exec_stream and session
        # of this object, under those given to the call (no reference
        # signature changes for it).
        self.env: Dict[str, str] = {}

    def _env(self, env):
        if not self.env:
            return env
        merged = dict(self.env)
        merged.update(env or {})
        return merged

    @classmethod
    async def from_local(cls, path: str, preset: Optional[str] = "view-only",
                         permissions: Optional[List[Union[PermissionRule, Dict]]] = None,
                         runtime: RuntimeType = RuntimeType.BWRAP, image: Optional[str] = None,
                         resources: Optional[ResourceLimits] = None,
                         endpoint: str = "localhost:9000", secure: bool = False,
                         owner_id: Optional[str] = None, codebase_name: Optional[str] = None,
                         ignore_patterns: Optional[List[str]] = None,
                         labels: Optional[Dict[str, str]] = None,
                         auto_start: bool = True, *, network: Optional[List[str]] = None,
                         network_max_connections: Optional[int] = None,
                         network_max_bytes: Optional[int] = None) -> "AsyncSandbox":
        """As Sandbox.from_local, network= and its limits included."""
        net = _afs.check_network(network, network_max_connections, network_max_bytes)
        dir_path = _check_dir(path)
        client = AsyncSandboxClient(endpoint=endpoint, secure=secure)
        codebase = None
        try:
            if owner_id is None:
                owner_id = generate_owner_id()
            if codebase_name is None:
                codebase_name = generate_codebase_name(str(dir_path))
            if _ours(client) and client._sync.remote:
                rules = list(get_preset_dicts(preset or "view-only")) + list(permissions or [])
                sb = client._sync._sandbox_args(None, rules, labels, None, runtime, image,
                                                resources, net)
                codebase, info = await asyncio.to_thread(
                    client._sync._from_tree, str(dir_path), codebase_name, owner_id,
                    ignore_patterns, sb, auto_start)
                return cls(client=client, sandbox_info=info, codebase=codebase,
                           owns_client=True, owns_codebase=True)
            codebase = await client.create_codebase(name=codebase_name, owner_id=owner_id)
            if _ours(client):
                codebase = await asyncio.to_thread(client._sync._link_local, codebase.id,
                                                   str(dir_path), ignore_patterns)
            else:
                for rel, content in walk_directory(str(dir_path), ignore_patterns):
                    await client.upload_file(codebase.id, rel, content)
            rules = list(get_preset_dicts(preset or "view-only")) + list(permissions or [])
            info = await _create(client, net, codebase_id=codebase.id, permissions=rules,
                                 runtime=runtime, image=image, resources=resources,
                                 labels=labels)
            if auto_start:
                info = await client.start_sandbox(info.id)
            return cls(client=client, sandbox_info=info, codebase=codebase, owns_client=True,
                       owns_codebase=True)
        except BaseException:
            if codebase is not None:
                try:
                    await asyncio.shield(client.delete_codebase(codebase.id))
                except BaseException:
                    pass
            await client.close()
            raise

    @classmethod
    async def from_codebase(cls, codebase_id: str, preset: Optional[str] = "view-only",
                            permissions: Optional[List[Union[PermissionRule, Dict]]] = None,
                            runtime: RuntimeType = RuntimeType.BWRAP,
                            image: Optional[str] = None,
                            resources: Optional[ResourceLimits] = None,
                            endpoint: str = "localhost:9000", secure: bool = False,
                            labels: Optional[Dict[str, str]] = None,
                            auto_start: bool = True, *, network: Optional[List[str]] = None,
                            network_max_connections: Optional[int] = None,
                            network_max_bytes: Optional[int] = None) -> "AsyncSandbox":
        """As Sandbox.from_codebase, network= and its limits included."""
        net = _afs.check_network(network, network_max_connections, network_max_bytes)
        client = AsyncSandboxClient(endpoint=endpoint, secure=secure)
        info = None
        try:
            codebase = await client.get_codebase(codebase_id)
            rules = list(get_preset_dicts(preset or "view-only")) + list(permissions or [])
            info = await _create(client, net, codebase_id=codebase_id, permissions=rules,
                                 runtime=runtime, image=image, resources=resources,
                                 labels=labels)
            if auto_start:
                info = await client.start_sandbox(info.id)
            return cls(client=client, sandbox_info=info, codebase=codebase, owns_client=True,
                       owns_codebase=False)
        except BaseException:
            if info is not None:
                try:
                    await asyncio.shield(client.destroy_sandbox(info.id))
                except BaseException:
                    pass
            await client.close()
            raise

    @classmethod
    async def connect(cls, sandbox_id: str, endpoint: str = "localhost:9000",
                      secure: bool = False) -> "AsyncSandbox":
        client = AsyncSandboxClient(endpoint=endpoint, secure=secure)
        try:
            info = await client.get_sandbox(sandbox_id)
            codebase = await client.get_codebase(info.codebase_id)
            return cls(client=client, sandbox_info=info, codebase=codebase, owns_client=True,
                       owns_codebase=False)
        except BaseException:
            await client.close()
            raise

    @property
    def id(self) -> str:
        return self._sandbox_info.id

    @property
    def codebase_id(self) -> str:
        return self._codebase.id

    @property
    def status(self) -> SandboxStatus:
        return self._sandbox_info.status

    @property
    def runtime(self) -> RuntimeType:
        return self._sandbox_info.runtime

    @property
    def info(self) -> SandboxInfo:
        return self._sandbox_info

    @property
    def codebase(self) -> Codebase:
        return self._codebase

    @property
    def audit_log(self) -> str:
        return self._client._sync._audit_path(self.id)

    async def start(self) -> "AsyncSandbox":
        if self._sandbox_info.status != SandboxStatus.RUNNING:
            self._sandbox_info = await self._client.start_sandbox(self.id)
        return self

    async def stop(self) -> "AsyncSandbox":
        if self._sandbox_info.status in (SandboxStatus.RUNNING, SandboxStatus.ERROR):
            self._sandbox_info = await self._client.stop_sandbox(self.id)
        return self

    async def refresh(self) -> "AsyncSandbox":
        self._sandbox_info = await self._client.get_sandbox(self.id)
        return self

    async def destroy(self, delete_codebase: Optional[bool] = None) -> None:
        if self._destroyed:
            return
        try:
            await self._client.destroy_sandbox(self.id)
            if delete_codebase if delete_codebase is not None else self._owns_codebase:
                await self._client.delete_codebase(self.codebase_id)
        finally:
            if self._owns_client:
                await self._client.close()
            self._destroyed = True

    async def run(self, command: str, timeout: int = 60, env: Optional[Dict[str, str]] = None,
                  workdir: Optional[str] = None, raise_on_error: bool = False) -> ExecResult:
        result = await self._client.exec(sandbox_id=self.id, command=command,
                                         timeout=timedelta(seconds=timeout)
                                         if timeout is not None else None,
                                         env=self._env(env), workdir=workdir)
        if raise_on_error and result.exit_code != 0:
            if result.command is None:
                result.command = command
            raise _afs.execution_error(result)
        return result

    async def exec(self, command: str, stdin: Optional[str] = None,
                   env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
                   timeout: Optional[timedelta] = None) -> ExecResult:
        return await self._client.exec(sandbox_id=self.id, command=command, stdin=stdin,
                                       env=self._env(env), workdir=workdir, timeout=timeout)

    async def exec_stream(self, command: str, stdin: Optional[str] = None,
                          env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
                          timeout: Optional[timedelta] = None) -> AsyncIterator[bytes]:
        agen = self._client.exec_stream(sandbox_id=self.id, command=command, stdin=stdin,
                                        env=self._env(env), workdir=workdir, timeout=timeout)
        try:
            async for chunk in agen:
                yield chunk
        finally:
            await agen.aclose()

    async def session(self, shell: str = "/bin/sh",
                      env: Optional[Dict[str, str]] = None) -> AsyncSessionWrapper:
        return await self._client.create_session(sandbox_id=self.id, shell=shell,
                                                 env=self._env(env))

    async def read_file(self, path: str) -> str:
        return (await self.read_file_bytes(path)).decode("utf-8", "replace")

    async def read_file_bytes(self, path: str) -> bytes:
        if _ours(self._client):
            return await asyncio.to_thread(self._client._sync._sandbox_read, self.id, _rel(path))
        return await self._client.download_file(self.codebase_id, _rel(path))

    async def write_file(self, path: str, content: Union[str, bytes]) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if _ours(self._client):
            await asyncio.to_thread(self._client._sync._sandbox_write, self.id, _rel(path), data)
        else:
            await self._client.upload_file(self.codebase_id, _rel(path), data)

    async def list_files(self, path: str = "", recursive: bool = False) -> List[str]:
        if _ours(self._client):
            infos = await asyncio.to_thread(self._client._sync._sandbox_list, self.id,
                                            _rel(path), recursive)
        else:
            infos = await self._client.list_files(self.codebase_id, _rel(path), recursive)
        return [f.path for f in infos]

    # afs's own, as in Sandbox
    async def diff(self, stat: bool = False) -> str:
        return await asyncio.to_thread(self._client._sync._sandbox_diff, self.id,
                                       "--stat" if stat else "--name-status")

    async def commit(self, paths: Optional[List[str]] = None, force: bool = False,
                     branch: Optional[str] = None,
                     message: Optional[str] = None) -> Optional[str]:
        return await asyncio.to_thread(self._client._sync._sandbox_apply, self.id, "--commit",
                                       paths, force, branch, message)

    async def discard(self, paths: Optional[List[str]] = None) -> None:
        await asyncio.to_thread(self._client._sync._sandbox_apply, self.id, "--discard", paths)

    async def audit(self) -> List[Dict]:
        def read():
            out = []
            data = self._client._sync._audit_read(self.id)
            for line in data.decode("utf-8", "replace").splitlines():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
            return out
        return await asyncio.to_thread(read)

    async def export(self, dest: str) -> None:
        """As Sandbox.export."""
        await asyncio.to_thread(self._client._sync._export, self.id, os.fspath(dest))

    async def __aenter__(self) -> "AsyncSandbox":
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb) -> None:
        # Cancelled or interrupted, the sandbox still goes.
        await asyncio.shield(self.destroy())

    def __repr__(self) -> str:
        return "AsyncSandbox(id=%r, status=%r, runtime=%r)" % (
            self.id, getattr(self.status, "value", self.status),
            getattr(self.runtime, "value", self.runtime))
