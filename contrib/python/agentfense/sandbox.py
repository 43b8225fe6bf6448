"""Sandbox: a codebase mounted with a policy; commands and sessions in it."""
import os
import secrets
import subprocess

from . import _afs
from .exceptions import (CommandExecutionError, PermissionDeniedError, SandboxNotRunningError,
                         SessionNotFoundError)
from .types import RuntimeType


def _check_error(res, raise_on_error):
    if raise_on_error and not res.success:
        path = _afs.denied_path(res.stderr)
        if path:
            raise PermissionDeniedError(path, res.command, res.exit_code, res.stderr)
        raise CommandExecutionError(res.command, res.exit_code, res.stdout, res.stderr)
    return res


class Session:
    """A persistent shell in the sandbox (afs-session): cwd, variables and
    exports persist between exec calls."""

    def __init__(self, sandbox, shell="/bin/sh", env=None):
        self.sandbox = sandbox
        self.shell = shell
        self.env = dict(env or {})
        self.id = "py-" + secrets.token_hex(4)
        self.closed = True

    def _start_argv(self):
        return _afs.session_start_argv(self.sandbox._mount, self.id, self.shell,
                                       self.sandbox._options(self.env))

    def start(self):
        self.sandbox._require_running()
        # afs-session start waits 30 s at most for the shell itself.
        p = subprocess.run(self._start_argv(), env=_afs.session_env(self.sandbox._mount),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
        if p.returncode != 0:
            raise _afs.SandboxError(p.stderr.decode("utf-8", "replace").strip()
                                    or "afs-session start failed (%d)" % p.returncode)
        self.closed = False
        self.sandbox._sessions.append(self)
        return self

    def exec(self, command, timeout=None, raise_on_error=False):
        if self.closed:
            raise SessionNotFoundError(self.id, "closed")
        p = subprocess.run(_afs.session_exec_argv(self.id, command, timeout),
                           env=_afs.session_env(self.sandbox._mount),
                           stdin=subprocess.DEVNULL, capture_output=True)
        res = _afs.session_result(self.id, p.stdout, p.stderr, p.returncode, command, timeout)
        return _check_error(res, raise_on_error)

    run = exec

    def close(self):
        if self.closed:
            return
        self.closed = True
        subprocess.run([_afs.find("afs-session"), "stop", self.id],
                       env=_afs.session_env(self.sandbox._mount), stdin=subprocess.DEVNULL,
                       capture_output=True)
        if self in self.sandbox._sessions:
            self.sandbox._sessions.remove(self)

    def __enter__(self):
        if self.closed:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Sandbox:
    """A codebase mounted through afs-fuse under a preset and rules; its
    writes go to a private delta; everything goes at close()."""

    def __init__(self, mount, runtime=RuntimeType.BWRAP, image=None, resources=None, env=None):
        self._mount = mount
        self.runtime = RuntimeType(runtime)
        self.image = image
        self.resources = resources
        self.env = dict(env or {})
        self._sessions = []
        self.status = "running"
        # Checked now, not at the first run.
        _afs.launch_options(self.runtime, image, resources, self.env)

    @classmethod
    def from_local(cls, path, preset="view-only", permissions=None, runtime=RuntimeType.BWRAP,
                   image=None, resources=None, env=None, **_compat):
        if _compat:
            raise TypeError("unexpected arguments: %s" % ", ".join(sorted(_compat)))
        mount = _afs.Mount(path, preset=preset, permissions=permissions)
        try:
            return cls(mount, runtime=runtime, image=image, resources=resources, env=env)
        except BaseException:
            mount.close()
            raise

    @property
    def id(self):
        return self._mount.name

    @property
    def audit_log(self):
        return self._mount.audit

    def _options(self, extra_env=None):
        env = dict(self.env)
        env.update(extra_env or {})
        return _afs.launch_options(self.runtime, self.image, self.resources, env)

    def _require_running(self):
        if self.status != "running":
            raise SandboxNotRunningError(self.status, self.id)

    def run(self, command, timeout=None, env=None, workdir=None, raise_on_error=False):
        self._require_running()
        argv = self._mount.launch_argv(command, timeout, env, workdir, self._options())
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True)
        res = _afs.result_from(p.stdout, p.stderr, p.returncode, command, timeout)
        return _check_error(res, raise_on_error)

    exec = run

    def session(self, shell="/bin/sh", env=None):
        self._require_running()
        return Session(self, shell=shell, env=env)

    # ---- files, through the mount: the policy and the delta apply ----
    def read_file(self, path, binary=False):
        self._require_running()
        try:
            with open(self._mount.path(path), "rb") as f:
                data = f.read()
        except OSError as e:
            raise _afs.os_error(e, path) from None
        return data if binary else data.decode("utf-8", "replace")

    def write_file(self, path, content):
        self._require_running()
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        try:
            with open(self._mount.path(path), "wb") as f:
                f.write(data)
        except OSError as e:
            raise _afs.os_error(e, path) from None

    def list_files(self, path="/", recursive=False):
        self._require_running()
        top = self._mount.path(path)
        try:
            if not recursive:
                return sorted(os.listdir(top))
            os.stat(top)  # a hidden dir raises, rather than listing nothing
            out = []
            for d, dirs, files in os.walk(top):
                rel = os.path.relpath(d, top)
                for n in dirs + files:
                    out.append(n if rel == "." else os.path.join(rel, n))
            return sorted(out)
        except OSError as e:
            raise _afs.os_error(e, path) from None

    def close(self):
        for s in list(self._sessions):
            s.close()
        self._mount.close()
        self.status = "stopped"

    stop = destroy = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            if self.status == "running":
                self.close()
        except Exception:
            pass
