"""afs-remote: the far side of an ssh:// endpoint (afs-remote(1)).

`afs-remote serve` speaks the protocol of _wire on its standard input and
output: each verb is a call on a SandboxClient of this machine, under this
user's state directory, so that a remote sandbox is a local sandbox of the
remote user, with the same records, mounts and programs.  The verbs are a
fixed list (VERBS); nothing else is reachable, so that an authorized_keys
command="afs-remote --restrict" limits a key to afs.
"""
import base64
import json
import os
import posixpath
import select
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import threading
import time
from datetime import timedelta

from . import __version__, _afs, _wire
from . import client as _client
from . import _delta
from .exceptions import (CodebaseNotFoundError, FileNotFoundError, InvalidConfigurationError,
                         SandboxError, SandboxNotFoundError, SessionNotFoundError, UploadError)
from .types import ResourceLimits

USAGE = """usage: afs-remote [--restrict] [--no-network] [--no-docker] serve
       afs-remote version
       afs-remote list
       afs-remote audit [-f] SANDBOX_ID

The far side of the agentfense module's ssh:// endpoint.  serve speaks
afs-remote(1)'s protocol on standard input and output; list prints this
user's sandboxes; audit prints a sandbox's audit log (JSON Lines), and
with -f follows it.  --restrict takes the verb from SSH_ORIGINAL_COMMAND
(an authorized_keys command="afs-remote --restrict"); --no-network and
--no-docker refuse sandboxes with a network allowlist or the docker
runtime.  See afs-remote(1).
"""


class Refused(Exception):
    pass


def _b64(s):
    return base64.b64decode(s.encode("ascii"), validate=True)


def _arg(args, name, kinds, default=...):
    v = args.get(name, default)
    if v is ...:
        raise ValueError("%s is required" % name)
    if v is not None and not isinstance(v, kinds):
        raise TypeError("%s: %s is not allowed here" % (name, type(v).__name__))
    return v


# ---- a codebase from a tar stream -------------------------------------------------------
class _Tree:
    """Extract a tar stream into ROOT, a new empty directory, never outside
    it: names are relative, with no `..` (and with NO_GIT, no `.git`: git
    run on the codebase later would obey what it holds); only directories,
    regular files and symbolic links; every parent is opened without
    following a link (O_NOFOLLOW), so that a link the stream made earlier
    is never gone through; nothing is ever overwritten."""

    MAX_FDS = 64

    def __init__(self, root, no_git=False):
        self.root = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        self.no_git = no_git
        self.dirs = {}

    def close(self):
        for fd in self.dirs.values():
            os.close(fd)
        self.dirs = {}
        if self.root is not None:
            os.close(self.root)
            self.root = None

    def _dir(self, rel):
        """An fd of directory REL (made if missing), walked from the root one
        component at a time; a few are kept for the next members."""
        if not rel:
            return self.root
        fd = self.dirs.get(rel)
        if fd is not None:
            return fd
        if len(self.dirs) >= self.MAX_FDS:
            for x in self.dirs.values():
                os.close(x)
            self.dirs = {}
        cur = os.dup(self.root)
        try:
            for name in rel.split("/"):
                try:
                    os.mkdir(name, 0o755, dir_fd=cur)
                except FileExistsError:
                    pass
                nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=cur)
                os.close(cur)
                cur = nxt
        except BaseException:
            os.close(cur)
            raise
        self.dirs[rel] = cur
        return cur

    def name(self, m):
        n = m.name
        rel = posixpath.normpath(n)
        parts = n.split("/")
        if (not n or n.startswith("/") or rel in (".", "..") or rel.startswith("../")
                or "\0" in n or ".." in parts):
            raise Refused("tar member %r: not a relative path inside the codebase" % n)
        if self.no_git and any(p.lower() == ".git" for p in rel.split("/")):
            raise Refused("tar member %r: a .git directory is not taken (afs-remote(1))" % n)
        return rel

    def add(self, m, data):
        rel = self.name(m)
        parent, base = posixpath.split(rel)
        if m.isdir():
            self._dir(rel)
            return
        pfd = self._dir(parent)
        if m.issym():
            if "\0" in m.linkname:
                raise Refused("tar member %r: a NUL in its target" % m.name)
            os.symlink(m.linkname, base, dir_fd=pfd)
        elif m.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o755 if m.mode & 0o111 else 0o644, dir_fd=pfd)
            try:
                left = m.size
                while left > 0:
                    b = data.read(min(left, 1 << 20))
                    if not b:
                        raise Refused("tar member %r: the stream ended inside it" % m.name)
                    os.write(fd, b)
                    left -= len(b)
                os.utime(fd, ns=(int(m.mtime * 1e9),) * 2)
            finally:
                os.close(fd)
        else:
            raise Refused("tar member %r: only directories, files and symbolic links" % m.name)


class _TarInfo(tarfile.TarInfo):
    """tarfile's member, but a pax or GNU long-name header of more than
    64 KiB is refused before it is read into memory."""

    def _proc_member(self, tf):
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                         tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK) and \
                self.size > 64 << 10:
            raise Refused("a tar extended header of %d bytes" % self.size)
        return super()._proc_member(tf)


def untar(src, root, no_git=False):
    """The tar stream of SRC (a file: read(n)) into ROOT (see _Tree)."""
    tree = _Tree(root, no_git)
    try:
        with tarfile.open(fileobj=src, mode="r|", tarinfo=_TarInfo) as tf:
            for m in tf:
                f = tf.extractfile(m) if m.isreg() else None
                tree.add(m, f)
    finally:
        tree.close()


# ---- commands, ended when the client goes away --------------------------------------------
def _watched(chan, argv, data=None, env=None, out_chan=False):
    """Run ARGV to its end, or until the client cancels (X) or goes away
    (the end of the channel): then SIGTERM (afs-launch and afs-session
    exec end their command on it).  (stdout, stderr, status); with
    OUT_CHAN the output goes to the client as D frames instead."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT if out_chan else subprocess.PIPE, env=env)
    box = {}

    def run():
        try:
            if out_chan:
                if data is not None:
                    threading.Thread(target=_feed, args=(p, data), daemon=True).start()
                w = _wire.DataWriter(chan)
                fd = p.stdout.fileno()
                while True:
                    b = os.read(fd, _wire.CHUNK)
                    if not b:
                        break
                    chan.write(_wire.DATA, b)
                p.wait()
                w.close()
                box["r"] = (b"", b"", p.returncode)
            else:
                out, err = p.communicate(data)
                box["r"] = (out, err, p.returncode)
        except BaseException as e:       # noqa: B902 - carried to the caller
            box["e"] = e

    wake_r, wake_w = os.pipe()

    def work():
        try:
            run()
        finally:
            os.write(wake_w, b"x")
    t = threading.Thread(target=work, daemon=True)
    t.start()
    gone = False
    try:
        while not gone:
            if not chan.buffered():
                r, _, _ = select.select([chan.rfd, wake_r], [], [])
                if wake_r in r:
                    break                # the command ended
            try:
                chan.read()              # X, or anything: the call is over
            except (_wire.ProtocolError, OSError):
                pass
            gone = True
            _end(p)
        t.join()
    finally:
        os.close(wake_r)
        os.close(wake_w)
    if "e" in box:
        raise box["e"]
    if gone:
        raise _Cancelled()
    return box["r"]


class _Cancelled(Exception):
    pass


def _feed(p, data):
    try:
        p.stdin.write(data)
    except OSError:
        pass
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass


def _end(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---- the verbs ---------------------------------------------------------------------------
class _FarClient(_client.SandboxClient):
    """The SandboxClient afs-remote calls: a codebase that stands for a
    directory of this machine (from_local run here) is not there for a
    remote client, nor are its sandboxes; only what clients sent is."""

    def _cb_record(self, codebase_id):
        rec = super()._cb_record(codebase_id)
        if rec.get("source"):
            raise CodebaseNotFoundError(codebase_id)
        return rec

    def _sb_record(self, sandbox_id):
        rec = super()._sb_record(sandbox_id)
        try:
            self._cb_record(rec["codebase_id"])
        except CodebaseNotFoundError:
            raise SandboxNotFoundError(sandbox_id) from None
        return rec

    def _sandbox_ids(self):
        out = []
        for sid in super()._sandbox_ids():
            try:
                self._sb_record(sid)
            except SandboxNotFoundError:
                continue
            out.append(sid)
        return out


def _has_git(rel):
    return any(p.lower() == ".git" for p in rel.split("/"))


class Server:
    def __init__(self, chan, no_network=False, no_docker=False, restrict=False):
        self.chan = chan
        self.no_network = no_network
        self.no_docker = no_docker
        self.restrict = restrict
        self.c = _FarClient(endpoint=None)

    def _stream_out(self, fd):
        """Reply with the size of the file FD, then its bytes as D frames."""
        with os.fdopen(fd, "rb") as f:
            self.chan.write_json(_wire.REPLY, {"ok": {"size": os.fstat(f.fileno()).st_size}})
            w = _wire.DataWriter(self.chan)
            while True:
                b = f.read(_wire.CHUNK)
                if not b:
                    break
                w.write(b)
            w.close()
        return _Replied

    def _stream_in(self, fn):
        """FN(reader) over the D frames that follow the request; the rest of
        them is read and dropped when FN fails, so the channel goes on."""
        src = _wire.DataReader(self.chan)
        try:
            return fn(src)
        finally:
            src.drain()

    def _no_git(self, path):
        if _has_git(_client._rel(path)):
            raise InvalidConfigurationError("refused: %s" % path,
                                            "afs-remote writes no .git (afs-remote(1))")

    def _check_create(self, args):
        net = args.get("net")
        if net is not None:
            if not isinstance(net, dict) or not isinstance(net.get("allow"), list):
                raise InvalidConfigurationError("invalid sandbox configuration",
                                                "net must be {\"allow\": [PATTERN, ...]}")
            try:
                args["net"] = _afs.check_network(net["allow"], net.get("max_connections"),
                                                 net.get("max_bytes"))
            except (TypeError, ValueError) as e:
                raise InvalidConfigurationError("invalid sandbox configuration",
                                                str(e)) from None
        if self.no_network and args.get("net"):
            raise InvalidConfigurationError("invalid sandbox configuration",
                                            "this host's afs-remote runs with --no-network: "
                                            "no network allowlist")
        if self.no_docker and args.get("runtime") == "docker":
            raise InvalidConfigurationError("invalid sandbox configuration",
                                            "this host's afs-remote runs with --no-docker")

    def _create(self, a):
        self._check_create(a)
        res = _arg(a, "resources", dict, None)
        exp = _arg(a, "expires_in", (int, float), None)
        return self.c._create_sandbox(
            _arg(a, "codebase_id", str), _arg(a, "permissions", list, None),
            _arg(a, "labels", dict, None), timedelta(seconds=exp) if exp else None,
            _arg(a, "runtime", str, "bwrap"), _arg(a, "image", str, None),
            ResourceLimits.from_dict(res) if res is not None else None,
            _arg(a, "net", dict, None))

    # -- codebases
    def v_create_codebase(self, a):
        return self.c.create_codebase(_arg(a, "name", str), _arg(a, "owner_id", str))

    def v_get_codebase(self, a):
        return self.c.get_codebase(_arg(a, "codebase_id", str))

    def v_list_codebases(self, a):
        return self.c.list_codebases(_arg(a, "owner_id", str, None))

    def v_delete_codebase(self, a):
        return self.c.delete_codebase(_arg(a, "codebase_id", str))

    def v_upload_file(self, a):
        """The content is the D frames after the request."""
        def up(src):
            cid, path = _arg(a, "codebase_id", str), _arg(a, "file_path", str)
            self._no_git(path)
            data = src.read(_wire.MAX_UPLOAD + 1)
            if len(data) > _wire.MAX_UPLOAD:
                raise UploadError(path, cid, "over %d bytes: send a tree (from_local)"
                                  % _wire.MAX_UPLOAD)
            return self.c.upload_file(cid, path, data)
        return self._stream_in(up)

    def v_download_file(self, a):
        cid, path = _arg(a, "codebase_id", str), _arg(a, "file_path", str)
        rec, rel = self.c._cb_path(cid, path)
        root, ignore = self.c._cb_source(rec)
        try:
            fd = _delta.open_file(root, os.path.join(self.c._cb_dir(cid), ".none"), rel, ignore)
        except (_delta.Missing, _delta.Unsupported, OSError) as e:
            raise FileNotFoundError(cid, rel, str(e) if str(e) != rel else None) from None
        return self._stream_out(fd)

    def v_list_files(self, a):
        return self.c.list_files(_arg(a, "codebase_id", str), _arg(a, "path", str, ""),
                                 bool(_arg(a, "recursive", bool, False)))

    def v_from_tree(self, a):
        """A codebase from the tar stream that follows, then (with SANDBOX)
        its sandbox, started when START: all of it, or nothing (a failure,
        or the client gone before the reply, removes what was made)."""
        src = _wire.DataReader(self.chan)
        try:
            cb = self.c.create_codebase(_arg(a, "name", str), _arg(a, "owner_id", str))
        except Exception as e:
            self.chan.write_json(_wire.REPLY, {"error": _wire.error(e)})
            src.drain()
            return _Replied
        info = None
        try:
            root = os.path.join(self.c._cb_dir(cb.id), "files")
            try:
                untar(src, root, no_git=True)
                src.drain()
            except (_wire.ProtocolError, BrokenPipeError):
                raise
            except Exception as e:
                # Said at once (the sender stops), then the rest of the
                # stream is read and dropped, up to its end.
                self.c.delete_codebase(cb.id)
                self.chan.write_json(_wire.REPLY, {"error": _wire.error(
                    UploadError("/", cb.id, str(e)))})
                src.drain()
                return _Replied
            cb = self.c.get_codebase(cb.id)
            sb = _arg(a, "sandbox", dict, None)
            if sb is not None:
                sb = dict(sb, codebase_id=cb.id)
                info = self._create(sb)
                if a.get("start"):
                    info = self.c.start_sandbox(info.id)
            self.chan.write_json(_wire.REPLY, {"ok": {"codebase": _wire.plain(cb),
                                                      "sandbox": _wire.plain(info)}})
        except BaseException:
            try:
                self.c.delete_codebase(cb.id)
            except Exception:
                pass
            raise
        return _Replied

    # -- sandboxes
    def v_create_sandbox(self, a):
        return self._create(a)

    def v_get_sandbox(self, a):
        return self.c.get_sandbox(_arg(a, "sandbox_id", str))

    def v_list_sandboxes(self, a):
        return self.c.list_sandboxes(_arg(a, "codebase_id", str, None))

    def v_start_sandbox(self, a):
        return self.c.start_sandbox(_arg(a, "sandbox_id", str))

    def v_stop_sandbox(self, a):
        return self.c.stop_sandbox(_arg(a, "sandbox_id", str))

    def v_destroy_sandbox(self, a):
        return self.c.destroy_sandbox(_arg(a, "sandbox_id", str))

    def _exec_args(self, a, json_out):
        rec = self.c._running(_arg(a, "sandbox_id", str))
        timeout = _arg(a, "timeout", (int, float), None)
        argv = self.c._exec_argv(rec, _arg(a, "command", str), _arg(a, "env", dict, None),
                                 _arg(a, "workdir", str, None), timeout, json_out)
        stdin = _arg(a, "stdin", str, None)
        return argv, None if stdin is None else _b64(stdin), timeout

    def v_exec(self, a):
        argv, data, timeout = self._exec_args(a, True)
        out, err, code = _watched(self.chan, argv, data)
        return _afs.result_from(out, err, code, a["command"], timeout)

    def v_exec_stream(self, a):
        argv, data, timeout = self._exec_args(a, False)
        _, _, code = _watched(self.chan, argv, data, out_chan=True)
        return {"exit_code": code}

    # -- sessions
    def v_create_session(self, a):
        return self.c.create_session(_arg(a, "sandbox_id", str), _arg(a, "shell", str, "/bin/sh"),
                                     _arg(a, "env", dict, None))._session

    def v_get_session(self, a):
        return self.c.get_session(_arg(a, "session_id", str))

    def v_list_sessions(self, a):
        return self.c.list_sessions(_arg(a, "sandbox_id", str))

    def v_destroy_session(self, a):
        return self.c.destroy_session(_arg(a, "session_id", str))

    def v_session_exec(self, a):
        ssid = _arg(a, "session_id", str)
        sid, _ = self.c._session_file(ssid)
        t = _arg(a, "timeout", (int, float), None)
        command = _arg(a, "command", str)
        out, err, code = _watched(self.chan, _afs.session_exec_argv(ssid, command, t),
                                  env=self.c._session_env(sid))
        if code == 125 and not out.strip():
            raise SessionNotFoundError(ssid, err.decode("utf-8", "replace").strip())
        return _afs.result_from(out, err, code, command, t)

    # -- the trusted caller's files, the delta, the log
    def v_sandbox_read(self, a):
        rec, source, delta, ignore = self.c._layers(_arg(a, "sandbox_id", str))
        rel = _client._rel(_arg(a, "path", str))
        try:
            fd = _delta.open_file(source, delta, rel, ignore)
        except (_delta.Missing, _delta.Unsupported, OSError) as e:
            raise FileNotFoundError(rec["codebase_id"], rel,
                                    str(e) if str(e) != rel else None) from None
        return self._stream_out(fd)

    def v_sandbox_write(self, a):
        """The content is the D frames after the request, copied into the
        delta as they come (never whole in memory)."""
        def put(src):
            sid, path = _arg(a, "sandbox_id", str), _arg(a, "path", str)
            self._no_git(path)
            rec, source, delta, _ = self.c._layers(sid)
            rel = _client._rel(path)
            try:
                _delta.write(source, delta, rel, src)
            except (_delta.Missing, _delta.Unsupported, OSError) as e:
                raise UploadError(rel, rec["codebase_id"], str(e)) from None
            _afs.reload_fuse(rec.get("fuse_pid"), rec.get("fuse_start"))
        return self._stream_in(put)

    def v_sandbox_list(self, a):
        return self.c._sandbox_list(_arg(a, "sandbox_id", str), _arg(a, "path", str, ""),
                                    bool(_arg(a, "recursive", bool, False)))

    def v_sandbox_diff(self, a):
        mode = _arg(a, "mode", str)
        if mode not in ("--stat", "--name-status", "-u"):
            raise ValueError("diff mode %r" % mode)
        return self.c._sandbox_diff(_arg(a, "sandbox_id", str), mode)

    def v_sandbox_apply(self, a):
        what = _arg(a, "what", str)
        if what not in ("--commit", "--discard"):
            raise ValueError("apply %r" % what)
        sid = _arg(a, "sandbox_id", str)
        if self.restrict and what == "--commit":
            # git, run on the codebase later (afs-fuse at a mount, --commit-git,
            # afs-audit diff), obeys .git/config: a restricted key neither
            # writes one nor has git run for it.
            if a.get("branch") is not None:
                raise InvalidConfigurationError("refused", "afs-remote --restrict: no commit "
                                                "to a git branch")
            self.c._sb_record(sid)
            for d, dirs, files, dfd in os.fwalk(os.path.join(self.c._sb_dir(sid), "delta")):
                if any(_has_git(n) for n in dirs + files):
                    raise InvalidConfigurationError("refused", "afs-remote --restrict: the "
                                                    "delta holds a .git entry")
        return self.c._sandbox_apply(sid, what,
                                     _arg(a, "paths", list, None),
                                     force=bool(_arg(a, "force", bool, False)),
                                     branch=_arg(a, "branch", str, None),
                                     message=_arg(a, "message", str, None))

    def v_audit_path(self, a):
        return self.c._audit_path(_arg(a, "sandbox_id", str))

    def v_audit_read(self, a):
        """The audit log, as the D frames that follow the reply."""
        path = self.c._audit_path(_arg(a, "sandbox_id", str))
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            f = None
        self.chan.write_json(_wire.REPLY, {"ok": None})
        w = _wire.DataWriter(self.chan)
        if f is not None:
            with f:
                while True:
                    b = f.read(_wire.CHUNK)
                    if not b:
                        break
                    w.write(b)
        w.close()
        return _Replied

    def v_export(self, a):
        """The sandbox's delta (afs-fuse(1)'s format, its base journal too)
        as a tar stream in the D frames that follow the reply.  The sandbox
        may run meanwhile: the walk holds directory fds and opens nothing
        through a link (os.fwalk), a file is opened with O_NOFOLLOW and
        O_NONBLOCK and taken only if it is a regular file then, and one that
        is gone, or changed kind, is left out."""
        sid = _arg(a, "sandbox_id", str)
        self.c._sb_record(sid)
        delta = os.path.join(self.c._sb_dir(sid), "delta")
        self.chan.write_json(_wire.REPLY, {"ok": None})
        w = _wire.DataWriter(self.chan)
        with tarfile.open(fileobj=w, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            for d, dirs, files, dfd in os.fwalk(delta):
                dirs.sort()
                rd = os.path.relpath(d, delta)
                for n in sorted(dirs) + sorted(files):
                    _export_one(tf, dfd, n, n if rd == "." else rd + "/" + n)
        w.close()
        return _Replied


def _export_one(tf, dfd, name, rel):
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except OSError:
        return
    ti = tarfile.TarInfo(rel)
    ti.mode = stat.S_IMODE(st.st_mode) & ~0o6000
    ti.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        ti.type = tarfile.DIRTYPE
        tf.addfile(ti)
    elif stat.S_ISLNK(st.st_mode):
        try:
            ti.linkname = os.readlink(name, dir_fd=dfd)
        except OSError:
            return
        ti.type = tarfile.SYMTYPE
        tf.addfile(ti)
    elif stat.S_ISREG(st.st_mode):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dfd)
        except OSError:
            return
        with os.fdopen(fd, "rb") as f:
            fst = os.fstat(fd)
            if not stat.S_ISREG(fst.st_mode):
                return
            os.set_blocking(fd, True)
            ti.size = fst.st_size
            tf.addfile(ti, _Exactly(f, fst.st_size))


class _Exactly:
    """SIZE bytes of F: what it has, then zeros if it shrank meanwhile (the
    tar header already gave the size)."""

    def __init__(self, f, size):
        self.f, self.left = f, size

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        b = self.f.read(n)
        if len(b) < n:
            b += b"\0" * (n - len(b))
        self.left -= len(b)
        return b


class _Replied:
    """A verb that wrote its reply itself (before its stream)."""


VERBS = sorted(n[2:] for n in dir(Server) if n.startswith("v_"))


def serve(no_network=False, no_docker=False, restrict=False):
    chan = _wire.Channel(0, 1, max_json=_wire.MAX_REQUEST)
    # A write to a client that went away is an error of that call, not a
    # signal that kills the server before it cleans up.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        srv = Server(chan, no_network, no_docker, restrict)
    except SandboxError as e:
        chan.write_json(_wire.HELLO, {"afs-remote": __version__, "protocol": _wire.PROTOCOL,
                                      "error": _wire.error(e)})
        return 1
    chan.write_json(_wire.HELLO, {"afs-remote": __version__, "protocol": _wire.PROTOCOL,
                                  "user": _user(), "state_dir": srv.c.state_dir,
                                  "verbs": VERBS})
    while True:
        try:
            req = _next_request(chan)
        except _wire.ProtocolError as e:
            if str(e) == "end of stream":
                return 0
            sys.stderr.write("afs-remote: %s\n" % e)
            return 2
        except OSError:
            return 0
        verb = req.get("verb")
        args = req.get("args") or {}
        fn = getattr(srv, "v_" + verb, None) if isinstance(verb, str) and verb in VERBS else None
        try:
            if fn is None:
                raise ValueError("afs-remote has no verb %r" % (verb,))
            if not isinstance(args, dict):
                raise TypeError("args must be an object")
            r = fn(args)
            if r is _Replied:
                continue
            reply = {"ok": _wire.plain(r)}
        except _Cancelled:
            reply = {"cancelled": True}
        except (_wire.ProtocolError, BrokenPipeError, ConnectionResetError):
            return 0
        except Exception as e:
            reply = {"error": _wire.error(e)}
        try:
            try:
                chan.write_json(_wire.REPLY, reply)
            except _wire.TooBig as e:
                chan.write_json(_wire.REPLY, {"error": {"type": "SandboxError", "attrs": {
                    "message": "the answer to %s is too big" % verb, "details": str(e)}}})
        except OSError:
            return 0


def _next_request(chan):
    """The next Q; an X between calls (a cancel that crossed the end of
    its command) is dropped."""
    while True:
        t, payload = chan.read()
        if t == _wire.CANCEL:
            continue
        if t != _wire.REQUEST:
            raise _wire.ProtocolError("a %s frame where Q was due" % t.decode())
        try:
            req = json.loads(payload)
        except ValueError:
            raise _wire.ProtocolError("a request that is not JSON") from None
        if not isinstance(req, dict):
            raise _wire.ProtocolError("a request that is not a JSON object")
        return req


def _user():
    import pwd
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _list():
    c = _client.SandboxClient(endpoint=None)
    for s in c.list_sandboxes():
        print("%s\t%s\t%s" % (s.id, s.status.value, s.codebase_id))
    return 0


def _audit(args):
    follow = False
    if args and args[0] in ("-f", "--follow"):
        follow, args = True, args[1:]
    if len(args) != 1:
        sys.stderr.write(USAGE)
        return 2
    c = _client.SandboxClient(endpoint=None)
    try:
        path = c._audit_path(args[0])
    except SandboxError as e:
        sys.stderr.write("afs-remote: %s\n" % e)
        return 1
    sys.stdout.flush()
    argv = [_afs.find("afs-audit"), "--format", "json"] + (["-f"] if follow else []) + [path]
    if not os.path.exists(path):
        if not follow:
            return 0
        open(path, "ab").close()
    os.execv(argv[0], argv)


def main(argv):
    restrict = no_network = no_docker = False
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--restrict":
            restrict = True
        elif opt == "--no-network":
            no_network = True
        elif opt == "--no-docker":
            no_docker = True
        elif opt == "--help":
            sys.stdout.write(USAGE)
            return 0
        elif opt == "--version":
            print("afs-remote %s" % __version__)
            return 0
        else:
            sys.stderr.write("afs-remote: unknown option %s\n%s" % (opt, USAGE))
            return 2
    if restrict:
        # authorized_keys command="afs-remote --restrict ...": what the client
        # asked for is in SSH_ORIGINAL_COMMAND; only a verb (with its own
        # operands) is taken from it, never an option of ours.
        try:
            words = shlex.split(os.environ.get("SSH_ORIGINAL_COMMAND", ""))
        except ValueError:
            words = []
        if not words or posixpath.basename(words[0]) != "afs-remote" or \
                (len(words) > 1 and words[1].startswith("--")):
            sys.stderr.write("afs-remote: this key runs afs-remote only (afs-remote serve, "
                             "version, list, audit)\n")
            return 2
        argv = words[1:]
    if not argv:
        sys.stderr.write(USAGE)
        return 2
    verb, rest = argv[0], argv[1:]
    try:
        if verb == "serve" and not rest:
            return serve(no_network, no_docker, restrict)
        if verb == "version" and not rest:
            print("afs-remote %s protocol %d" % (__version__, _wire.PROTOCOL))
            return 0
        if verb == "list" and not rest:
            return _list()
        if verb == "audit":
            return _audit(rest)
    except KeyboardInterrupt:
        return 130
    sys.stderr.write("afs-remote: unknown verb %s\n%s" % (" ".join(argv), USAGE))
    return 2
