"""The afs programs underneath: where they are, and a mount with its runs.

A Mount is one codebase mounted through afs-fuse with a policy, a private
delta and an audit log, all in a private temp dir that is removed with it.
Commands run through `afs-launch -m MOUNT --json`; sessions through
`afs-session`.  Everything here is synchronous; the async API runs the
same command lines as asyncio subprocesses.
"""
import ctypes
import errno
import json
import os
import posixpath
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

from .exceptions import (CommandTimeoutError, SandboxError, SessionNotFoundError)
from .types import ExecResult, PermissionRule, RuntimeType

_HERE = os.path.dirname(os.path.abspath(__file__))
# contrib/python/agentfense -> the afs tree's build/ and policies/
_TREE = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))
MOUNT_TIMEOUT = 30.0
UNMOUNT_TIMEOUT = 10.0


def find(prog):
    """PROG from $AFS_BIN_DIR, the afs tree this package is in, or PATH."""
    d = os.environ.get("AFS_BIN_DIR")
    if d and os.access(os.path.join(d, prog), os.X_OK):
        return os.path.join(d, prog)
    p = os.path.join(_TREE, "build", prog)
    if os.access(p, os.X_OK):
        return p
    p = shutil.which(prog)
    if p:
        return p
    raise SandboxError("cannot find %s: install afs (make install), or set AFS_BIN_DIR" % prog)


def preset_file(name):
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name or ""):
        return None
    dirs = []
    if os.environ.get("AFS_POLICY_DIR"):
        dirs.append(os.environ["AFS_POLICY_DIR"])
    try:
        fuse = find("afs-fuse")
        dirs.append(os.path.join(os.path.dirname(fuse), "..", "share", "afs", "policies"))
        dirs.append(os.path.join(os.path.dirname(fuse), "..", "policies"))
    except SandboxError:
        pass
    dirs += ["/usr/local/share/afs/policies", "/usr/share/afs/policies",
             os.path.join(_TREE, "policies")]
    for d in dirs:
        p = os.path.join(d, name + ".yaml")
        if os.path.isfile(p):
            return os.path.normpath(p)
    return None


def _q(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def policy_text(preset, rules):
    """A policy file: the preset (by extends, or inline when it was
    registered in Python), then the rules, which win ties over it."""
    from . import presets
    lines = ["version: 1"]
    rules = [r if isinstance(r, PermissionRule) else PermissionRule(**r) for r in (rules or [])]
    if presets.is_registered(preset):
        rules = presets.get_preset(preset) + rules
    else:
        path = preset_file(preset)
        if not path:
            raise ValueError("unknown preset '%s' (known: %s)"
                             % (preset, ", ".join(presets.list_presets())))
        lines.append("extends: " + _q(path))
    if not rules:
        lines.append("rules: []")
    else:
        lines.append("rules:")
        for r in rules:
            lines += ["  - pattern: " + _q(r.pattern),
                      "    type: " + r.type.value,
                      "    permission: " + r.permission.value,
                      "    priority: %d" % r.priority]
    return "\n".join(lines) + "\n"


def _pdeathsig():
    """In the child: SIGTERM when this Python process dies, so that a
    mount never outlives it (afs-fuse unmounts on SIGTERM)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def launch_options(runtime, image, resources, env):
    """afs-launch (and afs-session start) options for a runtime, limits and env."""
    args = []
    runtime = RuntimeType(runtime or RuntimeType.BWRAP)
    if runtime == RuntimeType.DOCKER:
        if not image:
            raise ValueError("the docker runtime needs an image")
        args += ["--runtime", "docker", "--image", image]
    elif image:
        raise ValueError("an image needs runtime=RuntimeType.DOCKER")
    if resources is not None:
        if resources.memory_bytes:
            args += ["--memory", str(int(resources.memory_bytes))]
        if resources.pids_limit:
            args += ["--pids", str(int(resources.pids_limit))]
        if resources.cpu_quota:
            args += ["--cpus", "%.3f" % (resources.cpu_quota / 100000.0)]
    for k, v in (env or {}).items():
        if not k or "=" in k:
            raise ValueError("bad environment variable name %r" % k)
        args += ["-e", "%s=%s" % (k, v)]
    return args


def denied_path(stderr):
    """The path of a "Permission denied" message (cat: X: Permission denied,
    sh: 1: cannot create X: Permission denied, touch: cannot touch 'X': ...)."""
    for line in stderr.splitlines():
        if not line.endswith(": Permission denied"):
            continue
        head = line[:-len(": Permission denied")]
        part = head.split(": ")[-1]
        part = re.sub(r"^(?:cannot|can't) \w+ ", "", part)
        return part.strip("'\"‘’")
    return None


# afs writes a byte that is not UTF-8 as \u00NN (0x80-0xff) and valid text
# as itself: turn those escapes into surrogate escapes, so that the bytes
# come back as they were and decode with "replace" like any other output.
_RAW_BYTE = re.compile(r'(?<!\\)((?:\\\\)*)\\u00([89a-fA-F][0-9a-fA-F])')


def _text(s):
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def result_from(out, err, code, command, timeout):
    """An ExecResult from afs-launch's or afs-session's --json answer."""
    try:
        raw = _RAW_BYTE.sub(lambda m: m.group(1) + "\\udc" + m.group(2),
                            out.decode("utf-8", "replace"))
        j = json.loads(raw)
    except ValueError:
        msg = err.decode("utf-8", "replace").strip() or "exit status %d" % code
        raise SandboxError(msg)
    res = ExecResult(exit_code=j["exit_code"], stdout=_text(j["stdout"]),
                     stderr=_text(j["stderr"]),
                     duration=j["duration_ms"] / 1000.0, command=command,
                     timed_out=bool(j["timed_out"]))
    if res.timed_out:
        raise CommandTimeoutError(command, timeout)
    return res


class Mount:
    """One codebase through afs-fuse, with its temp dir, policy and delta."""

    def __init__(self, source, preset="view-only", permissions=None, name=None, delta=None):
        source = os.fspath(source)
        if not os.path.exists(source):
            raise ValueError("path %s does not exist" % source)
        if not os.path.isdir(source):
            raise ValueError("path %s is not a directory" % source)
        self.source = os.path.realpath(source)
        self.name = name or "py-" + secrets.token_hex(4)
        self.tmp = tempfile.mkdtemp(prefix="agentfense.")
        self.proc = None
        try:
            # The sandbox's uid (65534 under root) must reach the mount.
            os.chmod(self.tmp, 0o711)
            self.mnt = os.path.join(self.tmp, "mnt")
            self.delta = delta or os.path.join(self.tmp, "delta")
            self.audit = os.path.join(self.tmp, "audit.log")
            self.runtime_dir = os.path.join(self.tmp, "sessions")
            self.policy = os.path.join(self.tmp, "policy.yaml")
            os.mkdir(self.mnt, 0o755)
            os.mkdir(self.runtime_dir, 0o700)
            with open(self.policy, "w", encoding="utf-8") as f:
                f.write(policy_text(preset, permissions))
            os.chmod(self.policy, 0o600)
            self._mount()
        except BaseException:
            self.close()
            raise

    def fuse_argv(self, ready_fd):
        argv = [find("afs-fuse"), "-f", "-p", self.policy, "-d", self.delta,
                "-a", self.audit, "--name", self.name, "--ready-fd", str(ready_fd)]
        if os.geteuid() == 0:
            argv += ["--allow-uid", "65534"]
        return argv + ["--", self.source, self.mnt]

    def _mount(self):
        r, w = os.pipe()
        errpath = os.path.join(self.tmp, "afs-fuse.err")
        try:
            with open(errpath, "wb") as err:
                self.proc = subprocess.Popen(self.fuse_argv(w), pass_fds=(w,),
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=err, preexec_fn=_pdeathsig,
                                             start_new_session=True)
            os.close(w)
            w = -1
            deadline = time.monotonic() + MOUNT_TIMEOUT
            got = b""
            while b"\n" not in got:
                import select
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([r], [], [], left)[0]:
                    raise SandboxError("afs-fuse did not mount %s in %ds" % (self.source, MOUNT_TIMEOUT))
                chunk = os.read(r, 64)
                if not chunk:
                    self.proc.wait()
                    with open(errpath, encoding="utf-8", errors="replace") as f:
                        msg = f.read().strip()
                    self.proc = None
                    raise SandboxError(msg or "afs-fuse could not mount %s" % self.source)
                got += chunk
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)

    def close(self):
        """Unmount and remove everything; safe to call twice."""
        p, self.proc = self.proc, None
        if p is not None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(UNMOUNT_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
        mnt = getattr(self, "mnt", None)
        if mnt and os.path.ismount(mnt):
            subprocess.call(["fusermount3", "-u", "-z", mnt], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        if self.tmp and os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None

    @property
    def mounted(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- runs ---------------------------------------------------------
    def launch_argv(self, command, timeout, env, workdir, options):
        argv = [find("afs-launch"), "--json", "-m", self.mnt, "-a", self.audit,
                "--name", self.name] + list(options)
        for k, v in (env or {}).items():
            argv += ["-e", "%s=%s" % (k, v)]
        if workdir:
            argv += ["-w", workdir]
        if timeout is not None:
            argv += ["-t", "%.3f" % float(timeout)]
        return argv + ["-c", command]

    # ---- files, through the mount --------------------------------------
    def path(self, p):
        rel = posixpath.normpath("/" + os.fspath(p)).lstrip("/")
        if rel.startswith(".."):
            raise ValueError("path %s leaves the codebase" % p)
        return os.path.join(self.mnt, rel) if rel not in ("", ".") else self.mnt


def os_error(e, path):
    from .exceptions import PermissionDeniedError
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermissionDeniedError(path)
    if e.errno == errno.ENOENT:
        return FileNotFoundError(errno.ENOENT, "No such file or directory", path)
    return e


def session_env(mount):
    env = dict(os.environ)
    env["AFS_RUNTIME_DIR"] = mount.runtime_dir
    return env


def session_start_argv(mount, name, shell, options):
    return [find("afs-session"), "start", "--name", name, "--shell", shell,
            "-m", mount.mnt, "-a", mount.audit] + list(options)


def session_exec_argv(name, command, timeout):
    argv = [find("afs-session"), "exec", "--json"]
    if timeout is not None:
        argv += ["--timeout", "%.3f" % float(timeout)]
    return argv + [name, command]


def session_result(name, out, err, code, command, timeout):
    if code == 125 and not out.strip():
        raise SessionNotFoundError(name, err.decode("utf-8", "replace").strip())
    return result_from(out, err, code, command, timeout)
