"""SandboxClient: the reference's low-level API, on this machine.

There is no server: the client keeps its state in a directory of the
user's own (mode 0700; $AFS_CLIENT_DIR, else /var/lib/afs/client for root,
else $XDG_STATE_HOME/afs/client), so that every client of that user, in
this process or another, sees the same codebases, sandboxes and sessions:

    codebases/ID/codebase.json    name, owner, and either files/ (uploaded)
                                  or the local directory it stands for
    sandboxes/ID/sandbox.json     the record: rules, runtime, status, the
                                  mount point and the afs-fuse pid
    sandboxes/ID/policy.yaml      the afs-policy(5) file of its rules
    sandboxes/ID/delta/           its writes (afs-fuse -d), kept until destroy
    sandboxes/ID/audit.log        afs-fuse's and afs-launch's audit records
    sandboxes/ID/sessions/        afs-session's state (AFS_RUNTIME_DIR)
    sandboxes/ID/session-SID.json a session's record

Records are JSON, written to a temporary file and renamed.  A running
sandbox is a detached afs-fuse (it outlives the process that started it)
mounted on a directory of its own in TMPDIR (mode 0711: the sandbox's user
must reach it); it is running while that afs-fuse lives and the mount is
in /proc/self/mountinfo, and `error` when either is gone.  Nothing here
ever stats the mount itself, which could hang on a dead FUSE mount.
"""
import builtins
import fcntl
import hashlib
import json
import os
import posixpath
import secrets
import shutil
import stat
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterator, List, Optional, TypeVar, Union

from . import _afs, _delta
from .exceptions import (CodebaseNotFoundError, CommitConflictError, FileNotFoundError, InvalidConfigurationError,
                         SandboxError, SandboxNotFoundError, SandboxNotRunningError,
                         SessionNotFoundError, UploadError)
from .presets import to_rule
from .types import (Codebase, ExecResult, FileInfo, PermissionRule, ResourceLimits,
                    RuntimeType, Sandbox, SandboxStatus, Session, SessionStatus, UploadResult)
from .utils import ignore_globs, is_ignored, local_ignore_patterns

T = TypeVar("T")


def default_state_dir():
    if os.environ.get("AFS_CLIENT_DIR"):
        return os.path.abspath(os.environ["AFS_CLIENT_DIR"])
    if os.geteuid() == 0:
        return "/var/lib/afs/client"
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "afs", "client")


def _now():
    return datetime.now(timezone.utc)


def _iso(d):
    return d.isoformat() if d else None


def _dt(s):
    return datetime.fromisoformat(s) if s else None


def _write_json(path, data):
    tmp = "%s.%s.tmp" % (path, secrets.token_hex(4))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _valid_id(prefix, v):
    return (isinstance(v, str) and v.startswith(prefix) and len(v) < 64
            and all(c.isalnum() or c == "_" for c in v))


def _rel(path):
    """A codebase path: /workspace/x, /x and x are all x; / and /workspace
    are the root ("")."""
    p = os.fspath(path or "")
    if p == "/workspace" or p.startswith("/workspace/"):
        p = p[len("/workspace"):]
    rel = posixpath.normpath("/" + p).lstrip("/")
    if rel in ("", "."):
        return ""
    if rel == ".." or rel.startswith("../"):
        raise ValueError("path %s leaves the codebase" % path)
    return rel


class SessionWrapper:
    """A session of a sandbox: a shell that keeps its state (cwd, variables)
    between exec calls (afs-session).  Every call goes to its client."""

    def __init__(self, client: "SandboxClient", session: Session):
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

    def exec(self, command: str, timeout: Optional[timedelta] = None) -> ExecResult:
        return self._client.session_exec(self.id, command, timeout=timeout)

    def close(self):
        if self._session.status != SessionStatus.CLOSED:
            try:
                self._client.destroy_session(self.id)
            except SessionNotFoundError:
                pass                    # ended with its sandbox: closed all the same
            self._session.status = SessionStatus.CLOSED
            self._session.closed_at = _now()

    def __enter__(self) -> "SessionWrapper":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()

    def __repr__(self):
        return "SessionWrapper(id=%r, sandbox_id=%r, status=%r)" % (
            self.id, self.sandbox_id, getattr(self.status, "value", self.status))


class SandboxClient:
    """The reference's SandboxClient over afs on this machine.

    endpoint: None or a loopback HOST:PORT (the reference's default,
    localhost:9000) mean this machine; ssh://[USER@]HOST[:PORT], the
    sandboxes of USER on HOST, reached with the user's own OpenSSH (the
    object is then an agentfense._remote.RemoteClient: afs-remote(1));
    any other raises ConnectionError.  secure is accepted and has nothing
    to secure: there is no connection here, and ssh's is always secure.
    """

    remote = False

    def __new__(cls, endpoint: str = "localhost:9000", secure: bool = False):
        # ssh://[user@]host[:port]: the sandboxes of another machine, over
        # OpenSSH (agentfense._remote, afs-remote(1)).
        if cls is SandboxClient and isinstance(endpoint, str) and endpoint.startswith("ssh://"):
            from ._remote import RemoteClient
            return super().__new__(RemoteClient)
        return super().__new__(cls)

    def __init__(self, endpoint: str = "localhost:9000", secure: bool = False):
        _afs.check_endpoint(endpoint)
        self.endpoint = endpoint
        self.secure = secure
        self.state_dir = default_state_dir()
        for d in (self.state_dir, os.path.join(self.state_dir, "codebases"),
                  os.path.join(self.state_dir, "sandboxes")):
            os.makedirs(d, mode=0o700, exist_ok=True)
        st = os.lstat(self.state_dir)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise ConnectionError(str(endpoint), "state directory %s is not a directory of "
                                  "this user's" % self.state_dir)
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(self.state_dir, 0o700)
        self._closed = False

    def close(self):
        """Nothing to close: sandboxes outlive their client (destroy them)."""
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()

    # ---- codebases ------------------------------------------------------------
    def _cb_dir(self, codebase_id):
        if not _valid_id("cb_", codebase_id):
            raise CodebaseNotFoundError(str(codebase_id))
        d = os.path.join(self.state_dir, "codebases", codebase_id)
        if not os.path.isfile(os.path.join(d, "codebase.json")):
            raise CodebaseNotFoundError(codebase_id)
        return d

    def _cb_record(self, codebase_id):
        return _read_json(os.path.join(self._cb_dir(codebase_id), "codebase.json"))

    def _cb_source(self, rec):
        """(directory, ignore patterns) of a codebase record."""
        if rec.get("source"):
            return rec["source"], rec.get("ignore") or []
        return os.path.join(self.state_dir, "codebases", rec["id"], "files"), []

    def _codebase(self, rec, count=True):
        size = n = 0
        if count:
            src, ignore = self._cb_source(rec)
            for d, dirs, files in os.walk(src):
                r = os.path.relpath(d, src)
                r = "" if r == "." else r
                if ignore:
                    dirs[:] = [x for x in dirs if not is_ignored(posixpath.join(r, x), ignore)]
                for f in files:
                    if ignore and is_ignored(posixpath.join(r, f), ignore):
                        continue
                    st = _delta._lstat(os.path.join(d, f))
                    if st is not None and stat.S_ISREG(st.st_mode):
                        n += 1
                        size += st.st_size
        return Codebase(id=rec["id"], name=rec["name"], owner_id=rec["owner_id"], size=size,
                        file_count=n, created_at=_dt(rec.get("created_at")),
                        updated_at=_dt(rec.get("updated_at")))

    def create_codebase(self, name: str, owner_id: str) -> Codebase:
        cid = "cb_" + secrets.token_hex(6)
        d = os.path.join(self.state_dir, "codebases", cid)
        os.mkdir(d, 0o700)
        os.mkdir(os.path.join(d, "files"), 0o755)
        now = _iso(_now())
        rec = {"id": cid, "name": name, "owner_id": owner_id, "source": None, "ignore": [],
               "created_at": now, "updated_at": now}
        _write_json(os.path.join(d, "codebase.json"), rec)
        return self._codebase(rec, count=False)

    def _link_local(self, codebase_id, path, ignore_patterns=None):
        """Make CODEBASE_ID stand for the local directory PATH, in place:
        nothing is copied, and nothing of PATH is ever written (but by
        Sandbox.commit).  What from_local skips becomes `none` rules."""
        d = self._cb_dir(codebase_id)
        rec = self._cb_record(codebase_id)
        path = os.path.realpath(path)
        rec["source"] = path
        rec["ignore"] = local_ignore_patterns(path, ignore_patterns)
        rec["updated_at"] = _iso(_now())
        _write_json(os.path.join(d, "codebase.json"), rec)
        shutil.rmtree(os.path.join(d, "files"), ignore_errors=True)
        return self._codebase(rec)

    def get_codebase(self, codebase_id: str) -> Codebase:
        return self._codebase(self._cb_record(codebase_id))

    def list_codebases(self, owner_id: Optional[str] = None) -> List[Codebase]:
        out = []
        for cid in sorted(os.listdir(os.path.join(self.state_dir, "codebases"))):
            try:
                rec = self._cb_record(cid)
            except (CodebaseNotFoundError, OSError, ValueError):
                continue
            if owner_id is None or rec["owner_id"] == owner_id:
                out.append(self._codebase(rec))
        return out

    def delete_codebase(self, codebase_id: str) -> None:
        """Delete the codebase and destroy its sandboxes.  A codebase that
        stands for a local directory loses its record only: the directory
        is the caller's and is never removed."""
        d = self._cb_dir(codebase_id)
        for sid in self._sandbox_ids():
            try:
                rec = self._sb_record(sid)
            except SandboxNotFoundError:
                continue
            if rec["codebase_id"] == codebase_id:
                self.destroy_sandbox(sid)
        shutil.rmtree(d)

    def _cb_path(self, codebase_id, file_path):
        rec = self._cb_record(codebase_id)
        rel = _rel(file_path)
        if not rel:
            raise ValueError("a file path is needed, not the root")
        return rec, rel

    def upload_file(self, codebase_id: str, file_path: str, content: bytes,
                    chunk_size: int = 64 * 1024) -> UploadResult:
        rec, rel = self._cb_path(codebase_id, file_path)
        if rec.get("source"):
            raise UploadError(file_path, codebase_id,
                              "the codebase is the local directory %s, which afs never "
                              "writes: write through a sandbox (write_file) and commit"
                              % rec["source"])
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        root, _ = self._cb_source(rec)
        try:
            # Uploaded files are the codebase's own: written in place.
            _delta.write(os.path.join(self._cb_dir(codebase_id), ".none"), root, rel, data)
        except (_delta.Unsupported, _delta.Missing, OSError) as e:
            raise UploadError(file_path, codebase_id, str(e))
        rec["updated_at"] = _iso(_now())
        _write_json(os.path.join(self._cb_dir(codebase_id), "codebase.json"), rec)
        return UploadResult(codebase_id=codebase_id, file_path=rel, size=len(data),
                            checksum=hashlib.sha256(data).hexdigest())

    def download_file(self, codebase_id: str, file_path: str) -> bytes:
        rec, rel = self._cb_path(codebase_id, file_path)
        root, ignore = self._cb_source(rec)
        try:
            return _delta.read(root, os.path.join(self._cb_dir(codebase_id), ".none"), rel,
                               ignore)
        except (_delta.Missing, _delta.Unsupported, OSError) as e:
            raise FileNotFoundError(codebase_id, rel, str(e) if str(e) != rel else None)

    def list_files(self, codebase_id: str, path: str = "",
                   recursive: bool = False) -> List[FileInfo]:
        rec = self._cb_record(codebase_id)
        root, ignore = self._cb_source(rec)
        rel = _rel(path)
        try:
            entries = _delta.walk(root, os.path.join(self._cb_dir(codebase_id), ".none"), rel,
                                  recursive, ignore)
        except (_delta.Missing, _delta.Unsupported, OSError) as e:
            raise FileNotFoundError(codebase_id, rel, str(e) if str(e) != rel else None)
        return [_file_info(p, st) for p, st in entries]

    # ---- sandboxes ------------------------------------------------------------------
    def _sb_dir(self, sandbox_id):
        if not _valid_id("sb_", sandbox_id):
            raise SandboxNotFoundError(str(sandbox_id))
        return os.path.join(self.state_dir, "sandboxes", sandbox_id)

    def _sb_record(self, sandbox_id):
        try:
            return _read_json(os.path.join(self._sb_dir(sandbox_id), "sandbox.json"))
        except (OSError, ValueError):
            raise SandboxNotFoundError(sandbox_id) from None

    def _sb_save(self, rec):
        _write_json(os.path.join(self._sb_dir(rec["id"]), "sandbox.json"), rec)

    def _sandbox_ids(self):
        d = os.path.join(self.state_dir, "sandboxes")
        return sorted(n for n in os.listdir(d) if _valid_id("sb_", n))

    @contextmanager
    def _locked(self, sandbox_id):
        """The sandbox's lock (flock), held across a start, stop or destroy,
        so that two processes never mount or unmount it at once."""
        d = self._sb_dir(sandbox_id)
        try:
            fd = os.open(os.path.join(d, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            raise SandboxNotFoundError(sandbox_id) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._sb_record(sandbox_id)
        finally:
            os.close(fd)

    @staticmethod
    def _live(rec):
        return (_afs.fuse_alive(rec.get("fuse_pid"), rec.get("fuse_start"))
                and _afs.mounted(rec.get("mnt") or ""))

    def _status(self, rec):
        if rec["status"] == "running":
            return SandboxStatus.RUNNING if self._live(rec) else SandboxStatus.ERROR
        return SandboxStatus(rec["status"])

    def _info(self, rec):
        res = rec.get("resources")
        return Sandbox(id=rec["id"], codebase_id=rec["codebase_id"], status=self._status(rec),
                       permissions=[to_rule(r) for r in rec["permissions"]],
                       labels=dict(rec.get("labels") or {}),
                       runtime=RuntimeType(rec["runtime"]), image=rec.get("image"),
                       resources=ResourceLimits.from_dict(res) if res is not None else None,
                       created_at=_dt(rec.get("created_at")),
                       started_at=_dt(rec.get("started_at")),
                       stopped_at=_dt(rec.get("stopped_at")),
                       expires_at=_dt(rec.get("expires_at")))

    def create_sandbox(self, codebase_id: str,
                       permissions: Optional[List[Union[PermissionRule, Dict]]] = None,
                       labels: Optional[Dict[str, str]] = None,
                       expires_in: Optional[timedelta] = None,
                       runtime: RuntimeType = RuntimeType.BWRAP, image: Optional[str] = None,
                       resources: Optional[ResourceLimits] = None) -> Sandbox:
        return self._create_sandbox(codebase_id, permissions, labels, expires_in, runtime,
                                    image, resources)

    def _create_sandbox(self, codebase_id, permissions=None, labels=None, expires_in=None,
                        runtime=RuntimeType.BWRAP, image=None, resources=None, net=None):
        """create_sandbox, and afs's own: NET, the network allowlist in the
        form _afs.check_network gives (None: no network), kept in the
        record so that every command and session of the sandbox, from any
        process, gets it (afs-launch --allow-host)."""
        cb = self._cb_record(codebase_id)
        try:
            rules = [to_rule(r) for r in (permissions or [])]
            runtime = RuntimeType(runtime or RuntimeType.BWRAP)
            _afs.launch_options(runtime, image, resources, None, net)
        except (ValueError, TypeError) as e:
            raise InvalidConfigurationError("invalid sandbox configuration", str(e)) from None
        sid = "sb_" + secrets.token_hex(6)
        d = self._sb_dir(sid)
        os.mkdir(d, 0o700)
        try:
            os.mkdir(os.path.join(d, "delta"), 0o700)
            os.mkdir(os.path.join(d, "sessions"), 0o700)
            policy = os.path.join(d, "policy.yaml")
            _, ignore = self._cb_source(cb)
            with open(policy, "w", encoding="utf-8") as f:
                f.write(_afs.policy_text(rules, ignore_globs(ignore)))
            os.chmod(policy, 0o600)
            _afs.check_policy(policy)
            now = _now()
            rec = {"id": sid, "codebase_id": codebase_id, "status": "pending",
                   "permissions": [r.to_dict() for r in rules], "labels": dict(labels or {}),
                   "runtime": runtime.value, "image": image,
                   "resources": resources.to_dict() if resources is not None else None,
                   "network": net,
                   "created_at": _iso(now), "started_at": None, "stopped_at": None,
                   "expires_at": _iso(now + expires_in) if expires_in else None,
                   "mount_dir": None, "mnt": None, "fuse_pid": None, "fuse_start": None}
            self._sb_save(rec)
        except BaseException:
            shutil.rmtree(d, ignore_errors=True)
            raise
        return self._info(rec)

    def get_sandbox(self, sandbox_id: str) -> Sandbox:
        return self._info(self._sb_record(sandbox_id))

    def list_sandboxes(self, codebase_id: Optional[str] = None) -> List[Sandbox]:
        out = []
        for sid in self._sandbox_ids():
            try:
                rec = self._sb_record(sid)
            except SandboxNotFoundError:
                continue
            if codebase_id is None or rec["codebase_id"] == codebase_id:
                out.append(self._info(rec))
        return out

    def start_sandbox(self, sandbox_id: str) -> Sandbox:
        with self._locked(sandbox_id) as rec:
            if rec["status"] == "running":
                if self._live(rec):
                    return self._info(rec)
                self._teardown(rec)            # an error: start again from clean
            cb = self._cb_record(rec["codebase_id"])
            source, _ = self._cb_source(cb)
            if not os.path.isdir(source):
                raise SandboxError("cannot start sandbox %s: codebase directory %s is gone"
                                   % (sandbox_id, source))
            d = self._sb_dir(sandbox_id)
            # The sandbox's uid (65534 under root) must reach the mount: a
            # directory of mode 0711 of its own, not in the 0700 state dir.
            mdir = tempfile.mkdtemp(prefix="agentfense.%s." % sandbox_id)
            try:
                os.chmod(mdir, 0o711)
                mnt = os.path.join(mdir, "mnt")
                os.mkdir(mnt, 0o755)
                rec.update(mount_dir=mdir, mnt=mnt)
                self._sb_save(rec)             # so that a failure below is cleaned up
                pid, start = _afs.mount_detached(
                    source, mnt, os.path.join(d, "policy.yaml"), os.path.join(d, "delta"),
                    os.path.join(d, "audit.log"), sandbox_id, os.path.join(d, "afs-fuse.err"))
            except BaseException:
                self._teardown(rec)
                rec.update(status="error" if rec["status"] == "running" else rec["status"])
                self._sb_save(rec)
                raise
            rec.update(status="running", fuse_pid=pid, fuse_start=start,
                       started_at=_iso(_now()), stopped_at=None)
            self._sb_save(rec)
            return self._info(rec)

    def _teardown(self, rec):
        """End the sessions and the mount of REC, remove its mount dir."""
        d = self._sb_dir(rec["id"])
        for name in sorted(os.listdir(d)):
            if name.startswith("session-") and name.endswith(".json"):
                self._stop_session(rec["id"], name[len("session-"):-len(".json")])
        _afs.unmount(rec.get("fuse_pid"), rec.get("fuse_start"), rec.get("mnt"))
        mdir = rec.get("mount_dir")
        if mdir and not _afs.mounted(rec.get("mnt") or ""):
            for p in (rec.get("mnt"), mdir):
                try:
                    os.rmdir(p)
                except OSError:
                    pass
        rec.update(mount_dir=None, mnt=None, fuse_pid=None, fuse_start=None)

    def stop_sandbox(self, sandbox_id: str) -> Sandbox:
        with self._locked(sandbox_id) as rec:
            self._teardown(rec)
            if rec["status"] != "pending":
                rec.update(status="stopped", stopped_at=_iso(_now()))
            self._sb_save(rec)
            return self._info(rec)

    def destroy_sandbox(self, sandbox_id: str) -> None:
        with self._locked(sandbox_id) as rec:
            self._teardown(rec)
            shutil.rmtree(self._sb_dir(sandbox_id))

    def _running(self, sandbox_id):
        rec = self._sb_record(sandbox_id)
        status = self._status(rec)
        if status != SandboxStatus.RUNNING:
            raise SandboxNotRunningError(sandbox_id, status.value)
        return rec

    @staticmethod
    def _launch_options(rec, env):
        return _afs.launch_options(rec["runtime"], rec.get("image"),
                                   ResourceLimits.from_dict(rec["resources"])
                                   if rec.get("resources") is not None else None, env,
                                   rec.get("network"))

    def _exec_argv(self, rec, command, env, workdir, timeout, json_out=True):
        opts = self._launch_options(rec, None)
        d = self._sb_dir(rec["id"])
        return _afs.launch_argv(rec["mnt"], os.path.join(d, "audit.log"), rec["id"], command,
                                _afs.seconds(timeout), env, workdir, opts, json_out)

    def exec(self, sandbox_id: str, command: str, stdin: Optional[str] = None,
             env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
             timeout: Optional[timedelta] = None) -> ExecResult:
        rec = self._running(sandbox_id)
        argv = self._exec_argv(rec, command, env, workdir, timeout)
        data = None if stdin is None else (stdin.encode("utf-8") if isinstance(stdin, str)
                                           else bytes(stdin))
        p = subprocess.run(argv, input=data,
                           stdin=subprocess.DEVNULL if data is None else None,
                           capture_output=True)
        return _afs.result_from(p.stdout, p.stderr, p.returncode, command,
                                _afs.seconds(timeout))

    def exec_stream(self, sandbox_id: str, command: str, stdin: Optional[str] = None,
                    env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
                    timeout: Optional[timedelta] = None) -> Iterator[bytes]:
        """The command's output (stdout and stderr, as they come) in chunks,
        while it runs.  Closing the iterator early ends the command."""
        rec = self._running(sandbox_id)
        argv = self._exec_argv(rec, command, env, workdir, timeout, json_out=False)
        return _stream(argv, stdin, command, _afs.seconds(timeout))

    # ---- sessions ------------------------------------------------------------------
    def _session_env(self, sandbox_id):
        env = dict(os.environ)
        env["AFS_RUNTIME_DIR"] = os.path.join(self._sb_dir(sandbox_id), "sessions")
        return env

    def _session_file(self, session_id):
        """(sandbox id, record path) of SESSION_ID, or SessionNotFoundError."""
        if _valid_id("ss_", session_id):
            for sid in self._sandbox_ids():
                p = os.path.join(self._sb_dir(sid), "session-%s.json" % session_id)
                if os.path.isfile(p):
                    return sid, p
        raise SessionNotFoundError(str(session_id))

    def _session_state(self, sandbox_id, session_id):
        try:
            p = subprocess.run([_afs.find("afs-session"), "list", "--json"],
                               env=self._session_env(sandbox_id), stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=30)
            for s in json.loads(p.stdout or b"[]"):
                if s.get("name") == session_id:
                    return s.get("state")
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        return None

    def _session(self, sandbox_id, path):
        r = _read_json(path)
        state = self._session_state(sandbox_id, r["id"])
        return Session(id=r["id"], sandbox_id=sandbox_id,
                       status=SessionStatus.ACTIVE if state == "running" else SessionStatus.CLOSED,
                       shell=r["shell"], created_at=_dt(r.get("created_at")))

    def create_session(self, sandbox_id: str, shell: str = "/bin/sh",
                       env: Optional[Dict[str, str]] = None) -> SessionWrapper:
        rec = self._running(sandbox_id)
        ssid = "ss_" + secrets.token_hex(6)
        d = self._sb_dir(sandbox_id)
        opts = self._launch_options(rec, env)
        path = os.path.join(d, "session-%s.json" % ssid)
        now = _now()
        _write_json(path, {"id": ssid, "shell": shell, "created_at": _iso(now)})
        try:
            # afs-session start waits 30 s at most for the shell itself.
            p = subprocess.run(_afs.session_start_argv(ssid, shell, rec["mnt"],
                                                       os.path.join(d, "audit.log"), opts),
                               env=self._session_env(sandbox_id), stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=90)
        except BaseException:
            self._stop_session(sandbox_id, ssid)
            raise
        if p.returncode != 0:
            self._stop_session(sandbox_id, ssid)
            raise SandboxError("cannot start a session in sandbox %s" % sandbox_id,
                               p.stderr.decode("utf-8", "replace").strip() or None)
        return SessionWrapper(self, Session(id=ssid, sandbox_id=sandbox_id,
                                            status=SessionStatus.ACTIVE, shell=shell,
                                            created_at=now))

    def session(self, sandbox_id: str, shell: str = "/bin/sh",
                env: Optional[Dict[str, str]] = None) -> SessionWrapper:
        return self.create_session(sandbox_id, shell=shell, env=env)

    def get_session(self, session_id: str) -> Session:
        sid, path = self._session_file(session_id)
        return self._session(sid, path)

    def list_sessions(self, sandbox_id: str) -> List[Session]:
        self._sb_record(sandbox_id)
        d = self._sb_dir(sandbox_id)
        return [self._session(sandbox_id, os.path.join(d, n)) for n in sorted(os.listdir(d))
                if n.startswith("session-") and n.endswith(".json")]

    def _stop_session(self, sandbox_id, session_id):
        subprocess.run([_afs.find("afs-session"), "stop", session_id],
                       env=self._session_env(sandbox_id), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
        try:
            os.unlink(os.path.join(self._sb_dir(sandbox_id), "session-%s.json" % session_id))
        except OSError:
            pass

    def destroy_session(self, session_id: str) -> None:
        sid, _ = self._session_file(session_id)
        self._stop_session(sid, session_id)

    def session_exec(self, session_id: str, command: str,
                     timeout: Optional[timedelta] = None) -> ExecResult:
        sid, _ = self._session_file(session_id)
        t = _afs.seconds(timeout)
        p = subprocess.run(_afs.session_exec_argv(session_id, command, t),
                           env=self._session_env(sid), stdin=subprocess.DEVNULL,
                           capture_output=True)
        if p.returncode == 125 and not p.stdout.strip():
            raise SessionNotFoundError(session_id, p.stderr.decode("utf-8", "replace").strip())
        return _afs.result_from(p.stdout, p.stderr, p.returncode, command, t)

    # ---- the trusted caller's files of a sandbox (Sandbox.read_file & co) --------
    def _layers(self, sandbox_id):
        rec = self._sb_record(sandbox_id)
        source, ignore = self._cb_source(self._cb_record(rec["codebase_id"]))
        return rec, source, os.path.join(self._sb_dir(sandbox_id), "delta"), ignore

    def _sandbox_read(self, sandbox_id, path):
        rec, source, delta, ignore = self._layers(sandbox_id)
        rel = _rel(path)
        try:
            return _delta.read(source, delta, rel, ignore)
        except (_delta.Missing, _delta.Unsupported, OSError) as e:
            raise FileNotFoundError(rec["codebase_id"], rel,
                                    str(e) if str(e) != rel else None) from None

    def _sandbox_write(self, sandbox_id, path, content):
        rec, source, delta, _ = self._layers(sandbox_id)
        rel = _rel(path)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        try:
            _delta.write(source, delta, rel, data)
        except (_delta.Missing, _delta.Unsupported, OSError) as e:
            raise UploadError(rel, rec["codebase_id"], str(e)) from None
        _afs.reload_fuse(rec.get("fuse_pid"), rec.get("fuse_start"))

    def _sandbox_list(self, sandbox_id, path, recursive):
        rec, source, delta, ignore = self._layers(sandbox_id)
        rel = _rel(path)
        try:
            entries = _delta.walk(source, delta, rel, recursive, ignore)
        except (_delta.Missing, _delta.Unsupported, OSError) as e:
            raise FileNotFoundError(rec["codebase_id"], rel,
                                    str(e) if str(e) != rel else None) from None
        return [_file_info(p, st) for p, st in entries]

    # ---- afs's own: the delta and the audit log ---------------------------------------
    def _sandbox_diff(self, sandbox_id, mode):
        _, source, delta, _ = self._layers(sandbox_id)
        p = subprocess.run([_afs.find("afs-audit"), "diff", mode, source, delta],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        if p.returncode != 0:
            raise SandboxError("afs-audit diff failed",
                               p.stderr.decode("utf-8", "replace").strip() or None)
        return p.stdout.decode("utf-8", "replace")

    def _sandbox_apply(self, sandbox_id, what, paths, force=False, branch=None, message=None):
        """afs-fuse --commit, --commit-git BRANCH or --discard of the
        sandbox's delta, with the mount down while it runs (afs-fuse(1):
        never on a live delta).  Returns --commit-git's commit id."""
        if branch is not None and paths:
            raise ValueError("a commit to a git branch takes the whole delta: no paths")
        if (force or message is not None) and what != "--commit":
            raise ValueError("force and message are for commit")
        if message is not None and branch is None:
            raise ValueError("a message is for a commit to a git branch")
        with self._locked(sandbox_id) as rec:
            d = self._sb_dir(sandbox_id)
            was_running = rec["status"] == "running" and self._live(rec)
            if was_running and any(n.startswith("session-") for n in os.listdir(d)):
                raise SandboxError("sandbox %s has open sessions: close them before %s"
                                   % (sandbox_id, what[2:]))
            if was_running:
                self._teardown(rec)
                rec.update(status="stopped")
                self._sb_save(rec)
        try:
            _, source, delta, _ = self._layers(sandbox_id)
            if branch is not None:
                argv = [_afs.find("afs-fuse"), "--commit-git", branch, "-d", delta, source]
                argv += ["-m", message] if message is not None else []
            else:
                argv = [_afs.find("afs-fuse"), what] + (["--force"] if force else [])
                argv += ["-d", delta, source] + ["/" + _rel(p) for p in (paths or [])]
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
            err = p.stderr.decode("utf-8", "replace").strip() or None
            if p.returncode == 3 and what == "--commit" and branch is None:
                raise CommitConflictError(self._conflicts(source, delta, paths), err)
            if p.returncode != 0:
                raise SandboxError("afs-fuse %s failed"
                                   % ("--commit-git" if branch is not None else what), err)
            return p.stdout.decode("utf-8", "replace").strip() if branch is not None else None
        finally:
            if was_running:
                self.start_sandbox(sandbox_id)

    def _conflicts(self, source, delta, paths):
        """The conflicts `afs-audit diff --json` lists, at or below PATHS."""
        p = subprocess.run([_afs.find("afs-audit"), "diff", "--json", source, delta],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        sel = ["/" + _rel(x) for x in (paths or [])]
        out = []
        for line in p.stdout.decode("utf-8", "replace").splitlines():
            c = json.loads(line)
            if c.get("change") != "C":
                continue
            if sel and not any(s == "/" or c["path"] == s or c["path"].startswith(s + "/")
                               for s in sel):
                continue
            out.append({"path": c["path"], "delta": c["delta"], "source": c["source"]})
        return out

    def _audit_path(self, sandbox_id):
        self._sb_record(sandbox_id)
        return os.path.join(self._sb_dir(sandbox_id), "audit.log")

    def _audit_read(self, sandbox_id):
        try:
            with open(self._audit_path(sandbox_id), "rb") as f:
                return f.read()
        except builtins.FileNotFoundError:
            return b""

    def _export(self, sandbox_id, dest):
        """A copy of the sandbox's delta (afs-fuse(1)'s format, with its base
        journal) in DEST, a new directory."""
        self._sb_record(sandbox_id)
        os.mkdir(dest, 0o700)
        shutil.copytree(os.path.join(self._sb_dir(sandbox_id), "delta"), dest, symlinks=True,
                        dirs_exist_ok=True)


def _file_info(path, st):
    return FileInfo(path=path, name=posixpath.basename(path), is_dir=stat.S_ISDIR(st.st_mode),
                    size=st.st_size if not stat.S_ISDIR(st.st_mode) else 0,
                    modified_at=datetime.fromtimestamp(st.st_mtime, timezone.utc))


def _stream(argv, stdin, command, timeout):
    """Run ARGV (afs-launch without --json: the command's output is its
    own, a pipe) and yield what it writes as it comes."""
    data = None if stdin is None else (stdin.encode("utf-8") if isinstance(stdin, str)
                                       else bytes(stdin))
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    feeder = None
    if data is not None:
        def feed():
            try:
                p.stdin.write(data)
            except OSError:
                pass
            finally:
                try:
                    p.stdin.close()
                except OSError:
                    pass
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    try:
        fd = p.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            yield chunk
        p.wait()
    finally:
        if p.poll() is None:
            p.terminate()               # afs-launch ends the sandbox on SIGTERM
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        p.stdout.close()
        if feeder is not None:
            feeder.join(5)
    if timeout is not None and p.returncode == 124:
        from .exceptions import CommandTimeoutError
        raise CommandTimeoutError(command, timeout)
