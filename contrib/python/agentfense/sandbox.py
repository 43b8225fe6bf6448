"""Sandbox: the reference's high-level API, a SandboxClient and two records.

Every method is a call on the client with the sandbox's id (so a Sandbox can
be built over any object with the client's methods, and
agentfense.sandbox.SandboxClient can be patched).  The file methods act for
the trusted caller: on afs's own client they read and write the sandbox's
view (the codebase with the sandbox's delta over it, the policy not
applying); on any other client they call download_file, upload_file and
list_files on the codebase, as the reference does.
"""
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

from . import client as _client_mod
from .client import SandboxClient, SessionWrapper, _rel
from .exceptions import InvalidConfigurationError
from .presets import get_preset_dicts
from .types import (Codebase, ExecResult, PermissionRule, ResourceLimits, RuntimeType,
                    Sandbox as SandboxInfo, SandboxStatus)
from .utils import generate_codebase_name, generate_owner_id, walk_directory
from . import _afs


def _check_dir(path):
    p = Path(os.fspath(path)).resolve()
    if not p.exists():
        raise ValueError("Path does not exist: %s" % path)
    if not p.is_dir():
        raise ValueError("Path is not a directory: %s" % path)
    return p


def _ours(client):
    return isinstance(client, _client_mod.SandboxClient)


def _create(client, net, **kw):
    """client.create_sandbox(**KW), with afs's own network allowlist NET
    (see _afs.check_network) when there is one: only afs's own client
    keeps one; any other would run the sandbox without it."""
    if net is None:
        return client.create_sandbox(**kw)
    if not _ours(client):
        raise InvalidConfigurationError("network= needs afs's own SandboxClient",
                                        "%s keeps no network allowlist"
                                        % type(client).__name__)
    return client._create_sandbox(net=net, **kw)


class Sandbox:
    def __init__(self, client: SandboxClient, sandbox_info: SandboxInfo, codebase: Codebase,
                 owns_client: bool = False, owns_codebase: bool = False):
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

    # ---- making one -------------------------------------------------------------
    @classmethod
    def from_local(cls, path: str, preset: Optional[str] = "view-only",
                   permissions: Optional[List[Union[PermissionRule, Dict]]] = None,
                   runtime: RuntimeType = RuntimeType.BWRAP, image: Optional[str] = None,
                   resources: Optional[ResourceLimits] = None,
                   endpoint: str = "localhost:9000", secure: bool = False,
                   owner_id: Optional[str] = None, codebase_name: Optional[str] = None,
                   ignore_patterns: Optional[List[str]] = None,
                   labels: Optional[Dict[str, str]] = None,
                   auto_start: bool = True, *, network: Optional[List[str]] = None,
                   network_max_connections: Optional[int] = None,
                   network_max_bytes: Optional[int] = None) -> "Sandbox":
        """A sandbox over the local directory PATH, which is never written:
        afs mounts it in place (nothing is copied), and the sandbox's writes
        go to its delta.  What the reference would not upload (the default
        ignores, PATH's .gitignore and .sandboxignore, IGNORE_PATTERNS) is
        hidden by `none` rules.  The sandbox owns its client and codebase.

        afs's own, keyword-only: NETWORK, a list of PATTERN[:PORTS]
        ("pypi.org:443", "*.example.org", "[2001:db8::1]:8000-8100"), the
        hosts its commands and sessions may reach through afs-proxy (each
        an afs-launch --allow-host); None or [], no network.
        NETWORK_MAX_CONNECTIONS and NETWORK_MAX_BYTES (bytes each way of one
        connection) are afs-launch's --net-max-connections and
        --net-max-bytes."""
        net = _afs.check_network(network, network_max_connections, network_max_bytes)
        dir_path = _check_dir(path)
        client = SandboxClient(endpoint=endpoint, secure=secure)
        codebase = None
        try:
            if owner_id is None:
                owner_id = generate_owner_id()
            if codebase_name is None:
                codebase_name = generate_codebase_name(str(dir_path))
            if _ours(client) and client.remote:
                return cls._from_local_remote(client, dir_path, preset, permissions, runtime,
                                              image, resources, owner_id, codebase_name,
                                              ignore_patterns, labels, auto_start, net)
            codebase = client.create_codebase(name=codebase_name, owner_id=owner_id)
            if _ours(client):
                codebase = client._link_local(codebase.id, str(dir_path), ignore_patterns)
            else:
                for rel, content in walk_directory(str(dir_path), ignore_patterns):
                    client.upload_file(codebase.id, rel, content)
            rules: List[Union[PermissionRule, Dict]] = list(get_preset_dicts(preset or
                                                                             "view-only"))
            rules += list(permissions or [])
            info = _create(client, net, codebase_id=codebase.id, permissions=rules,
                           runtime=runtime, image=image, resources=resources, labels=labels)
            if auto_start:
                info = client.start_sandbox(info.id)
            return cls(client=client, sandbox_info=info, codebase=codebase, owns_client=True,
                       owns_codebase=True)
        except BaseException:
            if codebase is not None:
                try:
                    client.delete_codebase(codebase.id)
                except Exception:
                    pass
            client.close()
            raise

    @classmethod
    def _from_local_remote(cls, client, dir_path, preset, permissions, runtime, image,
                           resources, owner_id, codebase_name, ignore_patterns, labels,
                           auto_start, net):
        """from_local on an ssh:// endpoint: the files from_local would take
        go to the far side as one tar stream, which makes the codebase, the
        sandbox and (AUTO_START) its mount in one call, all or nothing."""
        rules: List[Union[PermissionRule, Dict]] = list(get_preset_dicts(preset or "view-only"))
        rules += list(permissions or [])
        sb = client._sandbox_args(None, rules, labels, None, runtime, image, resources, net)
        codebase, info = client._from_tree(str(dir_path), codebase_name, owner_id,
                                           ignore_patterns, sandbox=sb, start=auto_start)
        return cls(client=client, sandbox_info=info, codebase=codebase, owns_client=True,
                   owns_codebase=True)

    @classmethod
    def from_codebase(cls, codebase_id: str, preset: Optional[str] = "view-only",
                      permissions: Optional[List[Union[PermissionRule, Dict]]] = None,
                      runtime: RuntimeType = RuntimeType.BWRAP, image: Optional[str] = None,
                      resources: Optional[ResourceLimits] = None,
                      endpoint: str = "localhost:9000", secure: bool = False,
                      labels: Optional[Dict[str, str]] = None,
                      auto_start: bool = True, *, network: Optional[List[str]] = None,
                      network_max_connections: Optional[int] = None,
                      network_max_bytes: Optional[int] = None) -> "Sandbox":
        """A sandbox over the codebase CODEBASE_ID; NETWORK and its limits
        as for from_local."""
        net = _afs.check_network(network, network_max_connections, network_max_bytes)
        client = SandboxClient(endpoint=endpoint, secure=secure)
        info = None
        try:
            codebase = client.get_codebase(codebase_id)
            rules: List[Union[PermissionRule, Dict]] = list(get_preset_dicts(preset or
                                                                             "view-only"))
            rules += list(permissions or [])
            info = _create(client, net, codebase_id=codebase_id, permissions=rules,
                           runtime=runtime, image=image, resources=resources, labels=labels)
            if auto_start:
                info = client.start_sandbox(info.id)
            return cls(client=client, sandbox_info=info, codebase=codebase, owns_client=True,
                       owns_codebase=False)
        except BaseException:
            if info is not None:
                try:
                    client.destroy_sandbox(info.id)
                except Exception:
                    pass
            client.close()
            raise

    @classmethod
    def connect(cls, sandbox_id: str, endpoint: str = "localhost:9000",
                secure: bool = False) -> "Sandbox":
        """The sandbox SANDBOX_ID, made by this process or another; the
        Sandbox owns neither client nor codebase."""
        client = SandboxClient(endpoint=endpoint, secure=secure)
        try:
            info = client.get_sandbox(sandbox_id)
            codebase = client.get_codebase(info.codebase_id)
            return cls(client=client, sandbox_info=info, codebase=codebase, owns_client=True,
                       owns_codebase=False)
        except BaseException:
            client.close()
            raise

    # ---- properties ------------------------------------------------------------
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
        """afs's own: the path of the sandbox's audit log (afs-audit(1)); on
        an ssh:// endpoint, a path on that machine (`afs-remote audit`
        streams it here)."""
        return self._client._audit_path(self.id)

    # ---- lifecycle ------------------------------------------------------------------
    def start(self) -> "Sandbox":
        if self._sandbox_info.status != SandboxStatus.RUNNING:
            self._sandbox_info = self._client.start_sandbox(self.id)
        return self

    def stop(self) -> "Sandbox":
        if self._sandbox_info.status in (SandboxStatus.RUNNING, SandboxStatus.ERROR):
            self._sandbox_info = self._client.stop_sandbox(self.id)
        return self

    def refresh(self) -> "Sandbox":
        self._sandbox_info = self._client.get_sandbox(self.id)
        return self

    def destroy(self, delete_codebase: Optional[bool] = None) -> None:
        if self._destroyed:
            return
        try:
            self._client.destroy_sandbox(self.id)
            if delete_codebase if delete_codebase is not None else self._owns_codebase:
                self._client.delete_codebase(self.codebase_id)
        finally:
            if self._owns_client:
                self._client.close()
            self._destroyed = True

    # ---- commands ------------------------------------------------------------------
    def run(self, command: str, timeout: int = 60, env: Optional[Dict[str, str]] = None,
            workdir: Optional[str] = None, raise_on_error: bool = False) -> ExecResult:
        """COMMAND under sh -c; past TIMEOUT seconds, CommandTimeoutError.
        With RAISE_ON_ERROR a non-zero exit raises CommandExecutionError (a
        CommandPermissionDeniedError, also a PermissionDeniedError, when the
        policy denied it a path)."""
        result = self._client.exec(sandbox_id=self.id, command=command,
                                   timeout=timedelta(seconds=timeout)
                                   if timeout is not None else None,
                                   env=self._env(env), workdir=workdir)
        if raise_on_error and result.exit_code != 0:
            if result.command is None:
                result.command = command
            raise _afs.execution_error(result)
        return result

    def exec(self, command: str, stdin: Optional[str] = None,
             env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
             timeout: Optional[timedelta] = None) -> ExecResult:
        return self._client.exec(sandbox_id=self.id, command=command, stdin=stdin,
                                 env=self._env(env), workdir=workdir, timeout=timeout)

    def exec_stream(self, command: str, stdin: Optional[str] = None,
                    env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
                    timeout: Optional[timedelta] = None) -> Iterator[bytes]:
        return self._client.exec_stream(sandbox_id=self.id, command=command, stdin=stdin,
                                        env=self._env(env), workdir=workdir, timeout=timeout)

    def session(self, shell: str = "/bin/sh",
                env: Optional[Dict[str, str]] = None) -> SessionWrapper:
        return self._client.create_session(sandbox_id=self.id, shell=shell,
                                           env=self._env(env))

    # ---- files, for the trusted caller ----------------------------------------------
    def read_file(self, path: str) -> str:
        return self.read_file_bytes(path).decode("utf-8", "replace")

    def read_file_bytes(self, path: str) -> bytes:
        if _ours(self._client):
            return self._client._sandbox_read(self.id, _rel(path))
        return self._client.download_file(self.codebase_id, _rel(path))

    def write_file(self, path: str, content: Union[str, bytes]) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if _ours(self._client):
            self._client._sandbox_write(self.id, _rel(path), data)
        else:
            self._client.upload_file(self.codebase_id, _rel(path), data)

    def list_files(self, path: str = "", recursive: bool = False) -> List[str]:
        if _ours(self._client):
            infos = self._client._sandbox_list(self.id, _rel(path), recursive)
        else:
            infos = self._client.list_files(self.codebase_id, _rel(path), recursive)
        return [f.path for f in infos]

    # ---- afs's own -------------------------------------------------------------------
    def diff(self, stat: bool = False) -> str:
        """What the sandbox changed: `afs-audit diff --name-status` (or
        --stat) of the codebase and the sandbox's delta."""
        return self._client._sandbox_diff(self.id, "--stat" if stat else "--name-status")

    def commit(self, paths: Optional[List[str]] = None, force: bool = False,
               branch: Optional[str] = None, message: Optional[str] = None) -> Optional[str]:
        """Apply the delta's changes (all, or those at and below PATHS) to
        the codebase's directory, the caller's for from_local
        (afs-fuse --commit).  Where the codebase changed a path too since
        the sandbox first changed it, nothing is applied and
        CommitConflictError lists the paths; FORCE applies over them.
        With BRANCH (a git work tree), the whole delta becomes one git
        commit on that new branch, from the HEAD the sandbox began at,
        and its id is returned; the working tree is not touched
        (afs-fuse --commit-git, -m MESSAGE).  A running sandbox is
        unmounted for it and mounted again; it must have no open
        session."""
        return self._client._sandbox_apply(self.id, "--commit", paths, force=force,
                                           branch=branch, message=message)

    def discard(self, paths: Optional[List[str]] = None) -> None:
        """Drop the delta's changes (all, or at and below PATHS)."""
        self._client._sandbox_apply(self.id, "--discard", paths)

    def audit(self) -> List[Dict]:
        """The sandbox's audit records (afs-fuse(1), AUDIT LOG), as dicts."""
        out = []
        for line in self._client._audit_read(self.id).decode("utf-8", "replace").splitlines():
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def export(self, dest: str) -> None:
        """afs's own: a copy of the sandbox's delta in DEST, a new local
        directory, in afs-fuse(1)'s delta format with its base journal:
        review it with `afs-audit diff SOURCE DEST` and apply it to a copy
        of the codebase with `afs-fuse --commit -d DEST SOURCE`.  On an
        ssh:// endpoint this is how a remote sandbox's work comes back."""
        self._client._export(self.id, os.fspath(dest))

    # ---- context manager --------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return "Sandbox(id=%r, status=%r, runtime=%r)" % (
            self.id, getattr(self.status, "value", self.status),
            getattr(self.runtime, "value", self.runtime))
