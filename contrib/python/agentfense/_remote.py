"""The ssh:// endpoint: a SandboxClient whose sandboxes live on another
machine, reached with the user's own OpenSSH (afs-remote(1)).

One master connection per destination (ControlMaster, under the client's
0700 state directory, kept ControlPersist seconds after its last use) is
shared by every client of this user; each client keeps a few channels on
it, each running `afs-remote serve` on the far side, and a call takes one
of them for its length: a command costs a request and a reply on an open
channel, not a handshake.

Environment: AFS_SSH, the ssh command and options to use (default
"ssh"; split like a shell would); AFS_REMOTE_COMMAND, the far side's
afs-remote (default "afs-remote", found on the remote PATH);
AFS_SSH_CONNECT_TIMEOUT, seconds for the TCP connection and the
handshake (default 10).
"""
import base64
import fcntl
import hashlib
import json
import os
import posixpath
import re
import shlex
import stat
import subprocess
import tarfile
import threading
import time
import weakref
from typing import Dict, Iterator, List, Optional, Union

from . import _wire
from .client import SandboxClient, SessionWrapper
from .exceptions import ConnectionError, SandboxError, UploadError
from .types import (Codebase, ExecResult, FileInfo, PermissionRule, ResourceLimits,
                    RuntimeType, Sandbox, Session, UploadResult)
from .utils import is_ignored, local_ignore_patterns

CONTROL_PERSIST = 60
MAX_CHANNELS = 8                # sshd's MaxSessions is 10 by default
MAX_IDLE = 2
_ENDPOINT = re.compile(r"^ssh://(?:([^@/:\s\[\]]+)@)?(\[[0-9A-Fa-f:.]+\]|[^@/:\s\[\]]+)"
                       r"(?::(\d{1,5}))?/?$")


def parse(endpoint):
    """(user or None, host, port or None) of ssh://[user@]host[:port]."""
    m = _ENDPOINT.match(endpoint)
    if not m or m.group(2).startswith("-") or (m.group(1) or "").startswith("-"):
        raise ConnectionError(endpoint, "an ssh endpoint is ssh://[USER@]HOST[:PORT]")
    port = int(m.group(3)) if m.group(3) else None
    if port is not None and not 0 < port < 65536:
        raise ConnectionError(endpoint, "port %d is out of range" % port)
    host = m.group(2)
    return m.group(1), host[1:-1] if host.startswith("[") else host, port


def connect_timeout():
    try:
        t = int(os.environ.get("AFS_SSH_CONNECT_TIMEOUT", "10"))
    except ValueError:
        t = 10
    return max(1, t)


def _why(text, code, remote_cmd):
    """What ssh's or the far side's standard error says went wrong."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    # ssh's own noise is not the cause: skip it.
    lines = [x for x in lines if not x.startswith(("Warning: Permanently added",
                                                   "mux_client_", "ControlSocket"))]
    if code == 127 or any(x.endswith(("not found", "No such file or directory"))
                          and remote_cmd.split()[0] in x for x in lines):
        return ("%s is not installed there (or not on its PATH): install afs on that host "
                "(make install), or set AFS_REMOTE_COMMAND" % remote_cmd.split()[0])
    return "; ".join(lines[-3:]) or "ssh exited with status %d" % code


class _Chan:
    """One `ssh HOST afs-remote serve`, through the master connection."""

    def __init__(self, remote, argv):
        self.remote = remote
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.ch = _wire.Channel(self.p.stdout.fileno(), self.p.stdin.fileno())
        self.err = bytearray()
        self._t = threading.Thread(target=self._drain, daemon=True)
        self._t.start()
        self.hello = None

    def _drain(self):
        try:
            while True:
                b = os.read(self.p.stderr.fileno(), 65536)
                if not b:
                    break
                if len(self.err) < 65536:
                    self.err += b
        except OSError:
            pass

    def greet(self, timeout):
        try:
            h = self.ch.read_json(_wire.HELLO, deadline=time.monotonic() + timeout)
        except (_wire.ProtocolError, OSError) as e:
            if str(e) == "no frame in time":
                self.abort()
                self.close()
                raise ConnectionError(self.remote.endpoint,
                                      "no answer from afs-remote in %d s" % timeout) from None
            if str(e) == "end of stream":
                e = self.failure()
                if self.p.returncode != 0:
                    raise e from None
            self.close()
            raise ConnectionError(self.remote.endpoint, "%s does not speak afs-remote's "
                                  "protocol (a shell start-up file that prints to standard "
                                  "output breaks it)" % self.remote.remote_cmd.split()[0]
                                  ) from None
        if not isinstance(h.get("protocol"), int) or "afs-remote" not in h:
            self.close()
            raise ConnectionError(self.remote.endpoint, "%s does not speak afs-remote's "
                                  "protocol" % self.remote.remote_cmd.split()[0])
        if h["protocol"] != _wire.PROTOCOL:
            self.close()
            raise ConnectionError(self.remote.endpoint,
                                  "afs %s there speaks protocol %d, this client %d: install "
                                  "the same afs version on both machines"
                                  % (h.get("afs-remote"), h["protocol"], _wire.PROTOCOL))
        if "error" in h:
            self.close()
            raise ConnectionError(self.remote.endpoint,
                                  str(_wire.rebuild(h["error"], self.remote.endpoint)))
        self.hello = h
        return h

    def failure(self):
        """The ConnectionError for a channel that ended."""
        self.close()
        self._t.join(2)
        return ConnectionError(self.remote.endpoint,
                               _why(self.err.decode("utf-8", "replace"), self.p.returncode,
                                    self.remote.remote_cmd))

    def close(self):
        for f in (self.p.stdin,):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        try:
            self.p.stdout.close()
        except OSError:
            pass

    def abort(self):
        """End the channel now (a call cancelled from another thread): the
        far side sees the end and stops the call's command."""
        try:
            self.p.kill()
        except OSError:
            pass


class RemoteClient(SandboxClient):
    """SandboxClient over ssh://[user@]host[:port]."""

    remote = True

    def __init__(self, endpoint: str = "localhost:9000", secure: bool = False):
        from .client import default_state_dir
        self.endpoint = endpoint
        self.secure = secure
        self.user, self.host, self.port = parse(endpoint)
        self.state_dir = default_state_dir()
        sshdir = os.path.join(self.state_dir, "ssh")
        for d in (self.state_dir, sshdir):
            os.makedirs(d, mode=0o700, exist_ok=True)
        st = os.lstat(self.state_dir)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise ConnectionError(endpoint, "state directory %s is not a directory of this "
                                  "user's" % self.state_dir)
        for d in (self.state_dir, sshdir):
            if stat.S_IMODE(os.lstat(d).st_mode) != 0o700:
                os.chmod(d, 0o700)
        self._sshdir = sshdir
        self._sock = os.path.join(self._sockdir(sshdir, endpoint), hashlib.sha1(json.dumps(
            [os.environ.get("AFS_SSH") or "ssh", self.user, self.host, self.port]).encode()
        ).hexdigest()[:16])
        try:
            self.ssh = shlex.split(os.environ.get("AFS_SSH") or "ssh")
        except ValueError as e:
            raise ConnectionError(endpoint, "AFS_SSH: %s" % e) from None
        if not self.ssh:
            raise ConnectionError(endpoint, "AFS_SSH is empty")
        self.remote_cmd = os.environ.get("AFS_REMOTE_COMMAND") or "afs-remote"
        self._lock = threading.Condition()
        self._idle = []
        self._busy = 0
        self._closed = False
        self._master()
        # The first channel: it says whether afs is there and what it is.
        ch = self._open()
        self.remote_user = ch.hello.get("user")
        self.remote_state_dir = ch.hello.get("state_dir")
        self._idle.append(ch)
        self._finalizer = weakref.finalize(self, RemoteClient._close_all, self._idle)

    # ---- the connection ----------------------------------------------------------------
    @staticmethod
    def _sockdir(sshdir, endpoint):
        """Where the master's socket goes: SSHDIR, or when its path would not
        fit a socket's (108 bytes), /tmp/afs-ssh-UID, made 0700 and checked
        to be this user's own."""
        # The socket's name is 16 bytes, and ssh adds a 17-byte suffix to it
        # while it makes it.
        if len(os.fsencode(sshdir)) + 1 + 16 + 17 < 108:
            return sshdir
        d = "/tmp/afs-ssh-%d" % os.geteuid()
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(d)
        if (not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid()
                or stat.S_IMODE(st.st_mode) & 0o077):
            raise ConnectionError(endpoint, "%s is not a private directory of this user's: "
                                  "remove it, or use a shorter AFS_CLIENT_DIR" % d)
        return d

    def _dest(self):
        args = []
        if self.port is not None:
            args += ["-p", str(self.port)]
        if self.user is not None:
            args += ["-l", self.user]
        return args + ["--", self.host]

    def _opts(self):
        t = connect_timeout()
        return ["-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % t,
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                "-o", "ControlPath=" + self._sock.replace("%", "%%")]

    def _master(self):
        """A live master connection, started if there is none (under a lock,
        so that two clients never start two)."""
        fd = os.open(os.path.join(self._sshdir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self._check():
                return
            # A socket no master answers on (one killed, a reboot): ssh -M would
            # not replace it, but go on as a plain connection of its own.
            try:
                os.unlink(self._sock)
            except FileNotFoundError:
                pass
            errpath = os.path.join(self._sshdir, "master.%d.err" % os.getpid())
            t = connect_timeout()
            with open(errpath, "w+b") as err:
                try:
                    # -f: into the background once authenticated; its standard
                    # error is this file, never a pipe that would stay open.
                    p = subprocess.run(self.ssh + self._opts() + [
                        "-M", "-N", "-f", "-T", "-o", "ControlMaster=yes",
                        "-o", "ControlPersist=%d" % CONTROL_PERSIST,
                        "-o", "ExitOnForwardFailure=yes"] + self._dest(),
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                        timeout=2 * t + 10)
                    code = p.returncode
                except subprocess.TimeoutExpired:
                    code = None
                err.seek(0)
                text = err.read().decode("utf-8", "replace")
            os.unlink(errpath)
            if code != 0:
                raise ConnectionError(self.endpoint,
                                      _why(text, code, self.remote_cmd) if code is not None
                                      else "no connection in %d s" % (2 * t + 10))
            if not self._check():
                raise ConnectionError(self.endpoint, "ssh's master connection does not "
                                      "answer on %s: %s" % (self._sock, text.strip()))
        except subprocess.TimeoutExpired:
            raise ConnectionError(self.endpoint, "ssh -O check did not answer") from None
        except OSError as e:
            raise ConnectionError(self.endpoint, "cannot run %s: %s"
                                  % (self.ssh[0], e.strerror)) from None
        finally:
            os.close(fd)

    def _check(self):
        """Whether a master connection answers on the socket."""
        p = subprocess.run(self.ssh + self._opts() + ["-O", "check"] + self._dest(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        return p.returncode == 0

    def _open(self):
        argv = self.ssh + self._opts() + ["-T", "-o", "ControlMaster=no"] + self._dest() + [
            self.remote_cmd + " serve"]
        try:
            ch = _Chan(self, argv)
        except OSError as e:
            raise ConnectionError(self.endpoint, "cannot run %s: %s"
                                  % (self.ssh[0], e.strerror)) from None
        ch.greet(connect_timeout() + 20)
        return ch

    def _take(self):
        with self._lock:
            if self._closed:
                raise SandboxError("the client of %s is closed" % self.endpoint)
            while not self._idle and self._busy >= MAX_CHANNELS:
                self._lock.wait()
            self._busy += 1
            if self._idle:
                return self._idle.pop()
        try:
            return self._open()
        except BaseException:
            self._give(None)
            raise

    def _give(self, ch):
        with self._lock:
            self._busy -= 1
            if ch is not None:
                if len(self._idle) < MAX_IDLE and not self._closed:
                    self._idle.append(ch)
                else:
                    ch.close()
            self._lock.notify()

    def _broken(self, ch):
        e = ch.failure()
        self._give(None)
        return e

    def _exchange(self, ch, verb, args=None, stream_in=None, on_data=None):
        """The reply (a dict) to VERB on channel CH: STREAM_IN(writer) sends a
        stream after the request, ON_DATA(bytes) takes the stream that
        follows an "ok" reply.  A channel that broke is released
        (ConnectionError); an error of STREAM_IN's own (a local file that
        cannot be read) is raised after the exchange, the channel intact."""
        local = None
        try:
            ch.ch.write_json(_wire.REQUEST, {"verb": verb, "args": args or {}})
            if stream_in is not None:
                w = _wire.DataWriter(ch.ch, watch=True)
                try:
                    stream_in(w)
                except _wire.Stopped:
                    pass                # refused midway: the reply says why
                except (_wire.ProtocolError, BrokenPipeError):
                    raise
                except Exception as e:  # noqa: B902 - after the exchange
                    local = e
                w.close()
            r = ch.ch.read_json(_wire.REPLY)
            if on_data is not None and "ok" in r:
                rd = _wire.DataReader(ch.ch)
                while True:
                    b = rd.read(_wire.CHUNK)
                    if not b:
                        break
                    on_data(b)
        except (_wire.ProtocolError, OSError):
            raise self._broken(ch) from None
        except BaseException:
            ch.abort()
            self._broken(ch)
            raise
        if local is not None:
            self._give(ch)
            raise local
        return r

    def _result(self, r, decode):
        """The value of reply R, decoded; an error reply raised."""
        if "error" in r:
            raise _wire.rebuild(r["error"], self.endpoint)
        try:
            return decode(r.get("ok")) if decode else r.get("ok")
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
            raise ConnectionError(self.endpoint, "a reply that is not afs-remote's: %s: %s"
                                  % (type(e).__name__, e)) from None

    def _call(self, verb, args=None, stream_in=None, on_data=None, decode=None):
        """VERB's result, on a channel of the pool (see _exchange)."""
        ch = self._take()
        r = self._exchange(ch, verb, args, stream_in, on_data)
        self._give(ch)
        return self._result(r, decode)

    def close(self):
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle[:], []
        RemoteClient._close_all(idle)

    @staticmethod
    def _close_all(chans):
        for ch in chans:
            ch.close()
        del chans[:]

    # ---- codebases ------------------------------------------------------------------
    def create_codebase(self, name: str, owner_id: str) -> Codebase:
        return self._call("create_codebase", {"name": name, "owner_id": owner_id},
                          decode=_wire.codebase)

    def get_codebase(self, codebase_id: str) -> Codebase:
        return self._call("get_codebase", {"codebase_id": codebase_id}, decode=_wire.codebase)

    def list_codebases(self, owner_id: Optional[str] = None) -> List[Codebase]:
        return self._call("list_codebases", {"owner_id": owner_id},
                          decode=_wire.many(_wire.codebase))

    def delete_codebase(self, codebase_id: str) -> None:
        self._call("delete_codebase", {"codebase_id": codebase_id})

    def upload_file(self, codebase_id: str, file_path: str, content: bytes,
                    chunk_size: int = 64 * 1024) -> UploadResult:
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        return self._call("upload_file", {"codebase_id": codebase_id, "file_path": file_path},
                          stream_in=lambda w: w.write(data), decode=_wire.upload_result)

    def download_file(self, codebase_id: str, file_path: str) -> bytes:
        out = bytearray()
        self._call("download_file", {"codebase_id": codebase_id, "file_path": file_path},
                   on_data=out.extend)
        return bytes(out)

    def list_files(self, codebase_id: str, path: str = "",
                   recursive: bool = False) -> List[FileInfo]:
        return self._call("list_files", {"codebase_id": codebase_id, "path": path,
                                         "recursive": bool(recursive)},
                          decode=_wire.many(_wire.file_info))

    def _from_tree(self, path, name, owner_id, ignore_patterns, sandbox=None, start=False):
        """A codebase of the files below PATH (those from_local would take:
        the same ignore rules), sent as one tar stream, and with SANDBOX
        (create_sandbox's arguments) its sandbox, started when START: one
        call, all or nothing on the far side.  (Codebase, Sandbox or None)."""
        root = os.path.realpath(path)
        pats = local_ignore_patterns(root, ignore_patterns)

        def send(w):
            with tarfile.open(fileobj=w, mode="w|", format=tarfile.PAX_FORMAT) as tf:
                _add_tree(tf, root, pats)
        try:
            return self._call("from_tree", {"name": name, "owner_id": owner_id,
                                            "sandbox": sandbox, "start": bool(start)},
                              stream_in=send,
                              decode=lambda r: (_wire.codebase(r["codebase"]),
                                                _wire.sandbox(r["sandbox"])
                                                if r.get("sandbox") else None))
        except OSError as e:
            # One of PATH's files, here: the far side made nothing of it.
            raise UploadError(path, "-", "%s: %s" % (e.filename or path, e.strerror)) from None

    # ---- sandboxes -------------------------------------------------------------------
    @staticmethod
    def _sandbox_args(codebase_id, permissions, labels, expires_in, runtime, image,
                      resources, net):
        from .presets import to_rule
        rules = [to_rule(r).to_dict() for r in (permissions or [])]
        if resources is not None and not isinstance(resources, ResourceLimits):
            raise TypeError("resources must be a ResourceLimits")
        return {"codebase_id": codebase_id, "permissions": rules,
                "labels": dict(labels or {}),
                "expires_in": expires_in.total_seconds() if expires_in else None,
                "runtime": RuntimeType(runtime or RuntimeType.BWRAP).value, "image": image,
                "resources": resources.to_dict() if resources is not None else None,
                "net": net}

    def _create_sandbox(self, codebase_id, permissions=None, labels=None, expires_in=None,
                        runtime=RuntimeType.BWRAP, image=None, resources=None, net=None):
        return self._call("create_sandbox", self._sandbox_args(
            codebase_id, permissions, labels, expires_in, runtime, image, resources, net),
            decode=_wire.sandbox)

    def get_sandbox(self, sandbox_id: str) -> Sandbox:
        return self._call("get_sandbox", {"sandbox_id": sandbox_id}, decode=_wire.sandbox)

    def list_sandboxes(self, codebase_id: Optional[str] = None) -> List[Sandbox]:
        return self._call("list_sandboxes", {"codebase_id": codebase_id},
                          decode=_wire.many(_wire.sandbox))

    def start_sandbox(self, sandbox_id: str) -> Sandbox:
        return self._call("start_sandbox", {"sandbox_id": sandbox_id}, decode=_wire.sandbox)

    def stop_sandbox(self, sandbox_id: str) -> Sandbox:
        return self._call("stop_sandbox", {"sandbox_id": sandbox_id}, decode=_wire.sandbox)

    def destroy_sandbox(self, sandbox_id: str) -> None:
        self._call("destroy_sandbox", {"sandbox_id": sandbox_id})

    @staticmethod
    def _exec_args(sandbox_id, command, stdin, env, workdir, timeout):
        from . import _afs
        data = None if stdin is None else (stdin.encode("utf-8") if isinstance(stdin, str)
                                           else bytes(stdin))
        return {"sandbox_id": sandbox_id, "command": command,
                "stdin": None if data is None else base64.b64encode(data).decode(),
                "env": dict(env) if env else None, "workdir": workdir,
                "timeout": _afs.seconds(timeout)}

    def exec(self, sandbox_id: str, command: str, stdin: Optional[str] = None,
             env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
             timeout=None) -> ExecResult:
        return self._call("exec", self._exec_args(sandbox_id, command, stdin, env, workdir,
                                                  timeout), decode=_wire.exec_result)

    def exec_stream(self, sandbox_id: str, command: str, stdin: Optional[str] = None,
                    env: Optional[Dict[str, str]] = None, workdir: Optional[str] = None,
                    timeout=None) -> Iterator[bytes]:
        """The command's output as it comes; closing the iterator early ends
        the command (X: the far side sends SIGTERM to afs-launch)."""
        args = self._exec_args(sandbox_id, command, stdin, env, workdir, timeout)
        return self._stream(args, command)

    def _stream(self, args, command):
        ch = self._take()
        done = False
        try:
            try:
                ch.ch.write_json(_wire.REQUEST, {"verb": "exec_stream", "args": args})
                while True:
                    t, payload = ch.ch.read()
                    if stream_frame(t, payload) != "data":
                        break
                    yield payload
                if not payload and t == _wire.DATA:
                    t, payload = ch.ch.read()
                r = stream_reply(t, payload)
            except (_wire.ProtocolError, OSError, ValueError, RecursionError):
                done = True
                raise self._broken(ch) from None
            done = True
            self._give(ch)
            self._stream_done(r, args, command)
        finally:
            if not done:
                self._cancel(ch)

    def _stream_done(self, r, args, command):
        """The end of an exec_stream whose final reply is R: its error
        raised, or CommandTimeoutError for a command that ran out of time."""
        from .exceptions import CommandTimeoutError
        code = self._result(r, lambda v: int(v["exit_code"]))
        if args["timeout"] is not None and code == 124:
            raise CommandTimeoutError(command, args["timeout"])

    def _cancel(self, ch):
        """End the running call of CH (X), read it to its reply, and give
        the channel back; a channel that does not answer is ended."""
        try:
            ch.ch.write(_wire.CANCEL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and ch.ch.readable(deadline - time.monotonic()):
                t, _ = ch.ch.read()
                if t == _wire.REPLY:
                    self._give(ch)
                    return
            raise _wire.ProtocolError("no reply to a cancel")
        except (_wire.ProtocolError, OSError):
            ch.abort()
            self._broken(ch)

    # ---- sessions ---------------------------------------------------------------------
    def create_session(self, sandbox_id: str, shell: str = "/bin/sh",
                       env: Optional[Dict[str, str]] = None) -> SessionWrapper:
        s = self._call("create_session", {"sandbox_id": sandbox_id, "shell": shell,
                                          "env": dict(env) if env else None},
                       decode=_wire.session)
        return SessionWrapper(self, s)

    def session(self, sandbox_id: str, shell: str = "/bin/sh",
                env: Optional[Dict[str, str]] = None) -> SessionWrapper:
        return self.create_session(sandbox_id, shell=shell, env=env)

    def get_session(self, session_id: str) -> Session:
        return self._call("get_session", {"session_id": session_id}, decode=_wire.session)

    def list_sessions(self, sandbox_id: str) -> List[Session]:
        return self._call("list_sessions", {"sandbox_id": sandbox_id},
                          decode=_wire.many(_wire.session))

    def destroy_session(self, session_id: str) -> None:
        self._call("destroy_session", {"session_id": session_id})

    def session_exec(self, session_id: str, command: str, timeout=None) -> ExecResult:
        from . import _afs
        return self._call("session_exec", {"session_id": session_id, "command": command,
                                           "timeout": _afs.seconds(timeout)},
                          decode=_wire.exec_result)

    # ---- the trusted caller's files, the delta, the log ----------------------------------
    def _link_local(self, codebase_id, path, ignore_patterns=None):
        raise SandboxError("a codebase on %s cannot stand for the local directory %s: "
                           "from_local sends its files (Sandbox.from_local)"
                           % (self.endpoint, path))

    def _sandbox_read(self, sandbox_id, path):
        out = bytearray()
        self._call("sandbox_read", {"sandbox_id": sandbox_id, "path": path},
                   on_data=out.extend)
        return bytes(out)

    def _sandbox_write(self, sandbox_id, path, content):
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        self._call("sandbox_write", {"sandbox_id": sandbox_id, "path": path},
                   stream_in=lambda w: w.write(data))

    def _sandbox_list(self, sandbox_id, path, recursive):
        return self._call("sandbox_list", {"sandbox_id": sandbox_id, "path": path,
                                           "recursive": bool(recursive)},
                          decode=_wire.many(_wire.file_info))

    def _sandbox_diff(self, sandbox_id, mode):
        return self._call("sandbox_diff", {"sandbox_id": sandbox_id, "mode": mode},
                          decode=_wire.text)

    def _sandbox_apply(self, sandbox_id, what, paths, force=False, branch=None, message=None):
        return self._call("sandbox_apply", {"sandbox_id": sandbox_id, "what": what,
                                            "paths": list(paths) if paths else None,
                                            "force": bool(force), "branch": branch,
                                            "message": message})

    def _audit_path(self, sandbox_id):
        return self._call("audit_path", {"sandbox_id": sandbox_id}, decode=_wire.text)

    def _audit_read(self, sandbox_id):
        out = bytearray()
        self._call("audit_read", {"sandbox_id": sandbox_id}, on_data=out.extend)
        return bytes(out)

    def _export(self, sandbox_id, dest):
        """The sandbox's delta, unpacked into DEST (a new directory) as it
        comes, by the far side's own unpacker (_serve.untar: nothing outside
        DEST, whatever the stream holds)."""
        from ._serve import untar
        os.mkdir(dest, 0o700)
        r, w = os.pipe()
        box = {}

        def unpack():
            try:
                with os.fdopen(r, "rb") as f:
                    untar(f, dest)
                    while f.read(1 << 16):
                        pass            # the end of the tar: padding
            except BaseException as e:           # noqa: B902 - carried to the caller
                box["e"] = e
        t = threading.Thread(target=unpack, daemon=True)
        t.start()
        wf = os.fdopen(w, "wb")

        def put(b):
            if "e" not in box:
                try:
                    wf.write(b)
                except OSError:
                    pass                # the unpacker stopped: its error says why
        try:
            self._call("export", {"sandbox_id": sandbox_id}, on_data=put)
        finally:
            try:
                wf.close()
            except OSError:
                pass
            t.join()
        if "e" in box:
            raise SandboxError("cannot unpack the delta of %s into %s" % (sandbox_id, dest),
                               "%s: %s" % (type(box["e"]).__name__, box["e"]))

    # afs-launch's argv has no meaning here: the far side builds it.
    def _running(self, sandbox_id):
        raise SandboxError("a remote sandbox runs its commands on %s" % self.endpoint)


def stream_frame(t, payload):
    """What frame (T, PAYLOAD) is in an exec_stream: "data" (output to
    pass on), "end" (the empty D: the reply follows) or "reply" (an error
    before the command ran); anything else is a ProtocolError."""
    if t == _wire.REPLY:
        return "reply"
    if t != _wire.DATA:
        raise _wire.ProtocolError("a %s frame in a stream" % t.decode())
    return "data" if payload else "end"


def stream_reply(t, payload):
    """The final reply of an exec_stream, as a dict (ValueError or
    ProtocolError when it is not one)."""
    if t != _wire.REPLY:
        raise _wire.ProtocolError("no reply after a stream")
    r = json.loads(payload)
    if not isinstance(r, dict):
        raise ValueError("not an object")
    return r


def _add_tree(tf, root, pats):
    """Directories, regular files and symbolic links below ROOT that the
    ignore patterns PATS leave, in sorted order, into the tar TF."""
    for d, dirs, files in os.walk(root):
        reld = os.path.relpath(d, root)
        reld = "" if reld == "." else reld.replace(os.sep, "/")
        keep = []
        for n in sorted(dirs):
            rel = posixpath.join(reld, n)
            if is_ignored(rel, pats):
                continue
            full = os.path.join(d, n)
            if os.path.islink(full):
                files.append(n)         # a link to a directory: sent as a link
                continue
            keep.append(n)
            _add(tf, full, rel)
        dirs[:] = keep
        for n in sorted(files):
            rel = posixpath.join(reld, n)
            if is_ignored(rel, pats):
                continue
            _add(tf, os.path.join(d, n), rel)


def _add(tf, full, rel):
    try:
        ti = tf.gettarinfo(full, rel)
    except FileNotFoundError:
        return                          # gone since the listing
    if ti is None or not (ti.isreg() or ti.isdir() or ti.issym()):
        return                          # sockets, fifos, devices: not a codebase's
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if ti.isreg():
        with open(full, "rb") as f:
            tf.addfile(ti, f)
    else:
        tf.addfile(ti)
