"""SandboxClient: the SDK's low-level API, locally.

Codebases are directories under a state directory; a sandbox ties one to
a policy and a runtime, and has a delta of its own once started (so two
sandboxes of one codebase never see each other's writes); sessions are
afs-session shells in a running sandbox.
"""
import json
import os
import posixpath
import secrets
import shutil
from dataclasses import dataclass, field
from typing import List, Optional

from . import _afs
from .exceptions import (CodebaseNotFoundError, SandboxNotFoundError, SandboxNotRunningError,
                         SessionNotFoundError)
from .sandbox import Sandbox
from .types import PermissionRule, ResourceLimits, RuntimeType


@dataclass
class Codebase:
    id: str
    name: str
    owner_id: Optional[str]
    path: str


@dataclass
class SandboxInfo:
    id: str
    codebase_id: str
    status: str
    preset: str = "view-only"
    permissions: List[PermissionRule] = field(default_factory=list)
    runtime: RuntimeType = RuntimeType.BWRAP
    image: Optional[str] = None
    resources: Optional[ResourceLimits] = None


@dataclass
class SessionInfo:
    id: str
    sandbox_id: str
    shell: str


def _default_state():
    if os.environ.get("AFS_CLIENT_DIR"):
        return os.environ["AFS_CLIENT_DIR"]
    if os.geteuid() == 0:
        return "/var/lib/afs/client"
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "afs", "client")


class SandboxClient:
    def __init__(self, endpoint=None):
        if endpoint is not None and not os.path.isabs(os.fspath(endpoint)):
            raise ValueError("afs runs on this machine: endpoint is None or the absolute path "
                             "of a state directory, not %r" % (endpoint,))
        self.state = os.fspath(endpoint) if endpoint is not None else _default_state()
        os.makedirs(os.path.join(self.state, "codebases"), mode=0o700, exist_ok=True)
        self._sandboxes = {}   # id -> (SandboxInfo, Sandbox or None)
        self._sessions = {}    # id -> (SessionInfo, Session)

    # ---- codebases ------------------------------------------------------
    def _cb_dir(self, codebase_id):
        if not codebase_id or "/" in codebase_id or codebase_id.startswith("."):
            raise CodebaseNotFoundError(codebase_id)
        d = os.path.join(self.state, "codebases", codebase_id)
        if not os.path.isfile(os.path.join(d, "meta.json")):
            raise CodebaseNotFoundError(codebase_id)
        return d

    def create_codebase(self, name, owner_id=None):
        cid = "cb_" + secrets.token_hex(6)
        d = os.path.join(self.state, "codebases", cid)
        os.makedirs(os.path.join(d, "files"), mode=0o700)
        os.chmod(os.path.join(d, "files"), 0o755)
        with open(os.path.join(d, "meta.json"), "w", encoding="utf-8") as f:
            json.dump({"name": name, "owner_id": owner_id}, f)
        return Codebase(cid, name, owner_id, os.path.join(d, "files"))

    def get_codebase(self, codebase_id):
        d = self._cb_dir(codebase_id)
        with open(os.path.join(d, "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
        return Codebase(codebase_id, meta["name"], meta.get("owner_id"), os.path.join(d, "files"))

    def _file(self, codebase_id, path):
        root = os.path.join(self._cb_dir(codebase_id), "files")
        rel = posixpath.normpath("/" + path).lstrip("/")
        if not rel or rel.startswith(".."):
            raise ValueError("bad path %r" % path)
        return root, os.path.join(root, rel)

    def upload_file(self, codebase_id, path, content):
        root, p = self._file(codebase_id, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o644)
        return len(data)

    def download_file(self, codebase_id, path):
        _, p = self._file(codebase_id, path)
        with open(p, "rb") as f:
            return f.read()

    def list_files(self, codebase_id, path="/", recursive=False):
        root = os.path.join(self._cb_dir(codebase_id), "files")
        rel = posixpath.normpath("/" + path).lstrip("/")
        top = os.path.join(root, rel) if rel not in ("", ".") else root
        if not recursive:
            return sorted(os.listdir(top))
        out = []
        for d, dirs, files in os.walk(top):
            r = os.path.relpath(d, top)
            out += [n if r == "." else os.path.join(r, n) for n in dirs + files]
        return sorted(out)

    def delete_codebase(self, codebase_id):
        d = self._cb_dir(codebase_id)
        for sid, (info, _) in list(self._sandboxes.items()):
            if info.codebase_id == codebase_id:
                self.destroy_sandbox(sid)
        shutil.rmtree(d)

    # ---- sandboxes -------------------------------------------------------
    def _get(self, sandbox_id):
        if sandbox_id not in self._sandboxes:
            raise SandboxNotFoundError(sandbox_id)
        return self._sandboxes[sandbox_id]

    def create_sandbox(self, codebase_id, permissions=None, preset="view-only",
                       runtime=RuntimeType.BWRAP, image=None, resources=None):
        self._cb_dir(codebase_id)
        _afs.policy_text(preset, permissions)            # a bad preset or rule: now
        _afs.launch_options(runtime, image, resources, None)
        sid = "sb_" + secrets.token_hex(6)
        info = SandboxInfo(sid, codebase_id, "pending", preset, list(permissions or []),
                           RuntimeType(runtime), image, resources)
        self._sandboxes[sid] = (info, None)
        return info

    def get_sandbox(self, sandbox_id):
        return self._get(sandbox_id)[0]

    def start_sandbox(self, sandbox_id):
        info, sb = self._get(sandbox_id)
        if info.status == "running":
            return info
        files = os.path.join(self._cb_dir(info.codebase_id), "files")
        sb = Sandbox.from_local(files, preset=info.preset, permissions=info.permissions,
                                runtime=info.runtime, image=info.image, resources=info.resources)
        info.status = "running"
        self._sandboxes[sandbox_id] = (info, sb)
        return info

    def exec(self, sandbox_id, command, timeout=None, env=None, workdir=None,
             raise_on_error=False):
        info, sb = self._get(sandbox_id)
        if info.status != "running":
            raise SandboxNotRunningError(info.status, sandbox_id)
        return sb.run(command, timeout=timeout, env=env, workdir=workdir,
                      raise_on_error=raise_on_error)

    def stop_sandbox(self, sandbox_id):
        info, sb = self._get(sandbox_id)
        for ssid, (sinfo, _) in list(self._sessions.items()):
            if sinfo.sandbox_id == sandbox_id:
                self.destroy_session(ssid)
        if sb is not None:
            sb.close()
        info.status = "stopped"
        self._sandboxes[sandbox_id] = (info, None)
        return info

    def destroy_sandbox(self, sandbox_id):
        self.stop_sandbox(sandbox_id)
        del self._sandboxes[sandbox_id]

    # ---- sessions ----------------------------------------------------------
    def create_session(self, sandbox_id, shell="/bin/sh", env=None):
        info, sb = self._get(sandbox_id)
        if info.status != "running":
            raise SandboxNotRunningError(info.status, sandbox_id)
        s = sb.session(shell=shell, env=env).start()
        sinfo = SessionInfo(s.id, sandbox_id, shell)
        self._sessions[s.id] = (sinfo, s)
        return sinfo

    def session_exec(self, session_id, command, timeout=None, raise_on_error=False):
        if session_id not in self._sessions:
            raise SessionNotFoundError(session_id)
        return self._sessions[session_id][1].exec(command, timeout=timeout,
                                                  raise_on_error=raise_on_error)

    def destroy_session(self, session_id):
        if session_id not in self._sessions:
            raise SessionNotFoundError(session_id)
        _, s = self._sessions.pop(session_id)
        s.close()

    def close(self):
        for sid in list(self._sandboxes):
            self.destroy_sandbox(sid)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
