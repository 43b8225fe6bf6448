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
from .exceptions import (InvalidConfigurationError, SandboxError, SessionNotFoundError,
                         UploadError)
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
    it: names are relative, with no `..`; only directories, regular files
    and symbolic links; every parent is opened without following a link
    (O_NOFOLLOW), so that a link the stream made earlier is never gone
    through; nothing is ever overwritten."""

    def __init__(self, root):
        self.root = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        self.dirs = {"": self.root}

    def close(self):
        for fd in self.dirs.values():
            os.close(fd)
        self.dirs = {}

    def _dir(self, rel):
        fd = self.dirs.get(rel)
        if fd is not None:
            return fd
        parent, name = posixpath.split(rel)
        pfd = self._dir(parent)
        try:
            os.mkdir(name, 0o755, dir_fd=pfd)
        except FileExistsError:
            pass
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=pfd)
        self.dirs[rel] = fd
        return fd

    @staticmethod
    def name(m):
        n = m.name
        rel = posixpath.normpath(n)
        if (not n or n.startswith("/") or rel in (".", "..") or rel.startswith("../")
                or "\0" in n or any(p in ("..",) for p in n.split("/"))):
            raise Refused("tar member %r: not a relative path inside the codebase" % n)
        return rel

    def add(self, m, data):
        rel = self.name(m)
        parent, base = posixpath.split(rel)
        if m.isdir():
            self._dir(rel)
            return
        pfd = self._dir(parent)
        if m.issym():
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


def _extract(src, root):
    """The tar stream of SRC (a DataReader) into ROOT."""
    tree = _Tree(root)
    try:
        with tarfile.open(fileobj=src, mode="r|") as tf:
            for m in tf:
                f = tf.extractfile(m) if m.isreg() else None
                tree.add(m, f)
        src.drain()
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
class Server:
    def __init__(self, chan, no_network=False, no_docker=False):
        self.chan = chan
        self.no_network = no_network
        self.no_docker = no_docker
        self.c = _client.SandboxClient(endpoint=None)

    def _check_create(self, args):
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
        return self.c.upload_file(_arg(a, "codebase_id", str), _arg(a, "file_path", str),
                                  _b64(_arg(a, "content", str)))

    def v_download_file(self, a):
        return base64.b64encode(self.c.download_file(_arg(a, "codebase_id", str),
                                                      _arg(a, "file_path", str))).decode()

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
                _extract(src, root)
            except (Refused, tarfile.TarError, OSError) as e:
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
        return base64.b64encode(self.c._sandbox_read(_arg(a, "sandbox_id", str),
                                                     _arg(a, "path", str))).decode()

    def v_sandbox_write(self, a):
        return self.c._sandbox_write(_arg(a, "sandbox_id", str), _arg(a, "path", str),
                                     _b64(_arg(a, "content", str)))

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
        return self.c._sandbox_apply(_arg(a, "sandbox_id", str), what,
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
        as a tar stream in the D frames that follow the reply."""
        sid = _arg(a, "sandbox_id", str)
        self.c._sb_record(sid)
        delta = os.path.join(self.c._sb_dir(sid), "delta")
        self.chan.write_json(_wire.REPLY, {"ok": None})
        w = _wire.DataWriter(self.chan)
        with tarfile.open(fileobj=w, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            for d, dirs, files in os.walk(delta):
                dirs.sort()
                for n in sorted(dirs) + sorted(files):
                    full = os.path.join(d, n)
                    rel = os.path.relpath(full, delta)
                    ti = tf.gettarinfo(full, rel)
                    if ti is None or not (ti.isreg() or ti.isdir() or ti.issym()):
                        continue
                    ti.uid = ti.gid = 0
                    ti.uname = ti.gname = ""
                    if ti.isreg():
                        with open(full, "rb") as f:
                            tf.addfile(ti, f)
                    else:
                        tf.addfile(ti)
        w.close()
        return _Replied


class _Replied:
    """A verb that wrote its reply itself (before its stream)."""


VERBS = sorted(n[2:] for n in dir(Server) if n.startswith("v_"))


def serve(no_network=False, no_docker=False):
    chan = _wire.Channel(0, 1)
    # A write to a client that went away is an error of that call, not a
    # signal that kills the server before it cleans up.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        srv = Server(chan, no_network, no_docker)
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
            chan.write_json(_wire.REPLY, reply)
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
        words = shlex.split(os.environ.get("SSH_ORIGINAL_COMMAND", ""))
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
            return serve(no_network, no_docker)
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
