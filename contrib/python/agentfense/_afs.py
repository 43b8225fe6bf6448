"""The afs programs underneath: where they are, the policy file, the
command lines of afs-fuse, afs-launch and afs-session, their answers, and
the checks on a detached afs-fuse that never block on a dead mount.
"""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import timedelta

from .exceptions import (CommandPermissionDeniedError, CommandExecutionError,
                         CommandTimeoutError, ConnectionError, SandboxError)
from .types import ExecResult, RuntimeType

_HERE = os.path.dirname(os.path.abspath(__file__))
# contrib/python/agentfense -> the afs tree's build/
_TREE = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))
MOUNT_TIMEOUT = 30.0
UNMOUNT_TIMEOUT = 10.0
SANDBOX_UID = 65534
# A rule from an ignore pattern beats every other (afs-policy(5)'s highest
# priority): in the reference an ignored file is not in the codebase at all.
IGNORE_PRIORITY = 1000000000
LOOPBACK = ("localhost", "127.0.0.1", "::1", "ip6-localhost")


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


def check_endpoint(endpoint):
    """None, or HOST:PORT with a loopback HOST: this machine.  An ssh://
    endpoint is another machine's (agentfense._remote); anything else is
    refused."""
    if endpoint is None:
        return
    if isinstance(endpoint, str) and endpoint.startswith("ssh://"):
        from ._remote import parse
        parse(endpoint)
        return
    ok = False
    if isinstance(endpoint, str):
        m = re.match(r"^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)|(::1)):(\d{1,5})$", endpoint)
        if m:
            host = m.group(1) or m.group(2) or m.group(3)
            ok = (host in LOOPBACK or re.match(r"^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$", host)
                  is not None) and 0 < int(m.group(4)) < 65536
    if not ok:
        raise ConnectionError(str(endpoint),
                              "the endpoint must be None or a loopback host:port "
                              "(localhost:9000, 127.0.0.1:9000, [::1]:9000) for this "
                              "machine, or ssh://[user@]host[:port] for another")


def seconds(t):
    """A timeout given as a timedelta or a number of seconds, or None."""
    if t is None:
        return None
    if isinstance(t, timedelta):
        return t.total_seconds()
    return float(t)


# ---- the policy -----------------------------------------------------------------
def _q(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def policy_text(rules, hidden=()):
    """An afs-policy(5) file: RULES (PermissionRules) in order, then a
    `none` rule of the highest priority for each glob of HIDDEN."""
    lines = ["version: 1", "default: none"]
    body = []
    for r in rules:
        body += ["  - pattern: " + _q(r.pattern),
                 "    type: " + r.type.value,
                 "    permission: " + r.permission.value,
                 "    priority: %d" % r.priority]
    for g in hidden:
        body += ["  - pattern: " + _q(g), "    permission: none",
                 "    priority: %d" % IGNORE_PRIORITY,
                 "    reason: not in the codebase (ignored by from_local)"]
    lines += (["rules:"] + body) if body else ["rules: []"]
    return "\n".join(lines) + "\n"


def check_policy(path):
    """afs-fuse --check on PATH: a bad rule is refused when the sandbox is
    created, not when it starts."""
    p = subprocess.run([find("afs-fuse"), "--check", "-p", path], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    if p.returncode != 0:
        from .exceptions import InvalidConfigurationError
        raise InvalidConfigurationError("invalid permission rules",
                                        p.stderr.decode("utf-8", "replace").strip())


# ---- the network allowlist (afs's own) --------------------------------------------
def check_network(network, max_connections=None, max_bytes=None):
    """The `network=` of from_local and from_codebase, checked before
    anything is made: the record's form, {"allow": [PATTERN[:PORTS], ...],
    "max_connections": N, "max_bytes": N}, or None for no network (None or
    an empty list, as without the argument).  The patterns themselves are
    afs-launch's to judge (afs-launch(1) --allow-host); here each must be
    one non-empty word, so that it reaches afs-launch as one argument and
    says what it looks like."""
    if network is None:
        allow = []
    elif isinstance(network, (list, tuple)):
        allow = list(network)
    else:
        raise TypeError("network must be a list of PATTERN[:PORTS] strings (such as "
                        "[\"pypi.org:443\"]), not %s" % type(network).__name__)
    for spec in allow:
        if not isinstance(spec, str):
            raise TypeError("network entries must be strings, not %s: %r"
                            % (type(spec).__name__, spec))
        if not spec:
            raise ValueError("network: an empty host pattern")
        if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f for c in spec):
            raise ValueError("network: %r holds whitespace or a control character" % spec)
    limits = {}
    for name, v in (("network_max_connections", max_connections),
                    ("network_max_bytes", max_bytes)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError("%s must be an int, not %s" % (name, type(v).__name__))
        if v <= 0:
            raise ValueError("%s must be positive: %d" % (name, v))
        limits[name[len("network_"):]] = v
    if not allow:
        if limits:
            raise ValueError("%s without network: there is no network to limit"
                             % " and ".join("network_" + k for k in limits))
        return None
    net = {"allow": allow}
    net.update(limits)
    return net


def network_options(net):
    """afs-launch (and afs-session start) options for a record's network."""
    if not net:
        return []
    args = []
    for spec in net["allow"]:
        args += ["--allow-host", spec]
    if net.get("max_connections") is not None:
        args += ["--net-max-connections", str(int(net["max_connections"]))]
    if net.get("max_bytes") is not None:
        args += ["--net-max-bytes", str(int(net["max_bytes"]))]
    return args


def launch_options(runtime, image, resources, env, net=None):
    """afs-launch (and afs-session start) options for a runtime, limits,
    env and a network allowlist (the record's form, see check_network)."""
    args = []
    runtime = RuntimeType(runtime or RuntimeType.BWRAP)
    if runtime == RuntimeType.DOCKER:
        if not image:
            raise ValueError("the docker runtime needs an image")
        if net:
            raise ValueError("network= needs the bwrap runtime: afs-launch has no network "
                             "allowlist with --runtime docker")
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
    args += network_options(net)
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


def execution_error(res):
    """The error for a failed RES: CommandPermissionDeniedError when its
    stderr says a path was denied, else CommandExecutionError."""
    command = res.command if res.command is not None else "<unknown>"
    path = denied_path(res.stderr)
    if path:
        return CommandPermissionDeniedError(command, res.exit_code, res.stdout, res.stderr, path)
    return CommandExecutionError(command, res.exit_code, res.stdout, res.stderr)


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
    if j["timed_out"]:
        raise CommandTimeoutError(command, timeout)
    return ExecResult(stdout=_text(j["stdout"]), stderr=_text(j["stderr"]),
                      exit_code=j["exit_code"],
                      duration=timedelta(milliseconds=j["duration_ms"]), command=command)


def launch_argv(mnt, audit, name, command, timeout, env, workdir, options, json_out=True):
    argv = [find("afs-launch")] + (["--json"] if json_out else []) + [
        "-m", mnt, "-a", audit, "--name", name] + list(options)
    for k, v in (env or {}).items():
        argv += ["-e", "%s=%s" % (k, v)]
    if workdir:
        argv += ["-w", workdir]
    if timeout is not None:
        argv += ["-t", "%.3f" % float(timeout)]
    return argv + ["-c", command]


def session_start_argv(name, shell, mnt, audit, options):
    return [find("afs-session"), "start", "--name", name, "--shell", shell,
            "-m", mnt, "-a", audit] + list(options)


def session_exec_argv(name, command, timeout):
    argv = [find("afs-session"), "exec", "--json"]
    if timeout is not None:
        argv += ["--timeout", "%.3f" % float(timeout)]
    return argv + [name, command]


# ---- a detached afs-fuse -------------------------------------------------------------
def _unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mounted(mnt):
    """Whether MNT is a mount point, from /proc/self/mountinfo alone:
    never a stat, which would hang or fail on a dead FUSE mount."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                parts = line.split(" ", 5)
                if len(parts) > 4 and _unescape(parts[4]) == mnt:
                    return True
    except OSError:
        pass
    return False


def proc_start(pid):
    """The start time of process PID (field 22 of its stat), or None when
    it is gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        # A zombie (or a dying process) serves nothing; one nobody reaps
        # (pid 1 of a container may not) would otherwise look alive forever.
        if fields[0] in ("Z", "X", "x"):
            return None
        return fields[19]
    except (OSError, ValueError, IndexError):
        return None


def find_fuse(mnt):
    """(pid, start time) of the afs-fuse process serving MNT, or None."""
    target = os.fsencode(mnt)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"afs-fuse" and target in argv:
            st = proc_start(int(d))
            if st:
                return int(d), st
    return None


def fuse_alive(pid, start):
    return bool(pid) and proc_start(pid) == start


def mount_detached(source, mnt, policy, delta, audit, name, errpath):
    """Mount SOURCE on MNT with an afs-fuse that detaches once the mount is
    ready (no -f) and so outlives this process; (pid, start time)."""
    argv = [find("afs-fuse"), "-p", policy, "-d", delta, "-a", audit, "--name", name]
    if os.geteuid() == 0:
        argv += ["--allow-uid", str(SANDBOX_UID)]
    argv += ["--", source, mnt]
    with open(errpath, "wb") as err:
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err, timeout=MOUNT_TIMEOUT, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise SandboxError("afs-fuse did not mount %s in %ds" % (source, MOUNT_TIMEOUT))
    if p.returncode != 0:
        with open(errpath, encoding="utf-8", errors="replace") as f:
            msg = f.read().strip()
        raise SandboxError(msg or "afs-fuse could not mount %s (status %d)"
                           % (source, p.returncode))
    found = find_fuse(mnt)
    if not found or not mounted(mnt):
        unmount(None, None, mnt)
        raise SandboxError("afs-fuse mounted %s but is gone" % source)
    return found


def unmount(pid, start, mnt):
    """End the afs-fuse of MNT (SIGTERM: it unmounts) and make sure MNT is
    no longer mounted, without touching the mount itself."""
    if fuse_alive(pid, start):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + UNMOUNT_TIMEOUT
        while fuse_alive(pid, start) and time.monotonic() < deadline:
            time.sleep(0.02)
        if fuse_alive(pid, start):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if mnt and mounted(mnt):
        cmd = ["umount", "-l", mnt] if os.geteuid() == 0 else ["fusermount3", "-u", "-z", mnt]
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)


def _sighup_pending(pid):
    try:
        with open("/proc/%d/status" % pid, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("ShdPnd:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1)))
    except (OSError, ValueError):
        pass
    return False


def reload_fuse(pid, start):
    """SIGHUP: afs-fuse reloads its policy and makes the kernel forget what
    it cached of the mount, after the client changed the delta directly.
    Its reload thread takes the signal with sigwait(3), so the signal is
    pending until then: wait for that (2 s at most), then a moment for the
    reload itself, so that a command run next sees the change."""
    if not fuse_alive(pid, start):
        return
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 2
    while _sighup_pending(pid) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.02)


def os_error_is_missing(e):
    return e.errno in (errno.ENOENT, errno.ENOTDIR)
