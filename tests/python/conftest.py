"""Shared set-up of the agentfense tests (tests/python).

Every test runs in its own temp dir (tmp_path, the current directory), with
a private TMPDIR (world-searchable, under /tmp, so that the sandbox's uid
can reach the mounts made there) and a marker in its environment; at the
end, the autouse fixture `leaks` checks that the test left no afs mount,
no afs-fuse/afs-launch/afs-session process of its own, no process of the
sandbox's uid of its own, nothing in its TMPDIR and no sandbox or codebase
in its client state directory ($AFS_CLIENT_DIR, private to the test), and
cleans up whatever was left so that the next test starts clean.

pytest is made a child subreaper (PR_SET_CHILD_SUBREAPER): what the tests
start stays below it even when it detaches (afs-fuse, afs-session) or is
orphaned, so a sandbox process is told to be this run's by its ancestry,
never guessed; the sandboxes of other runs on the machine are left alone.

Run by tests/t9101-python.sh (AFS_TEST_DOCKER=0/1 says whether the docker
tests can run); directly:

    PYTHONPATH=contrib/python /usr/bin/python3 -m pytest -rA -p no:cacheprovider tests/python
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TOP = HERE.parent.parent
BUILD = Path(os.environ.get("AFS_BUILD") or TOP / "build")
PKG_DIR = TOP / "contrib" / "python"

if str(PKG_DIR) not in sys.path:
    sys.path.insert(0, str(PKG_DIR))
if str(BUILD) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = str(BUILD) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
# As tests/lib.sh: the presets come from the tree, not from a policy dir.
os.environ.pop("AFS_POLICY_DIR", None)

DOCKER_IMAGE = "python:3.11-slim"
AFS_PROGS = ("afs-fuse", "afs-launch", "afs-session", "afs-proxy")
HELPERS = ("bwrap", "docker")   # run by afs-launch: tracked the same way
SANDBOX_UID = 65534
GRACE = 5.0            # seconds for what a clean-up leaves to go away
TEST_TIMEOUT = 60      # seconds for one test (90 for a docker test), see timeout_seconds
# New entries of /tmp with these names count too (the package's own, should it
# not honour TMPDIR); afs-launch's are not counted: other runs make them.
TMP_PREFIXES = ("agentfense", "afs-py")


# ---- docker ------------------------------------------------------------------
_docker = None


def docker_available():
    """(True, "") when the docker tests can run; (False, why) otherwise.
    AFS_TEST_DOCKER=1/0 (set by t9101-python.sh) decides; unset, it is
    detected: a reachable dockerd with the python:3.11-slim image."""
    global _docker
    if _docker is None:
        v = os.environ.get("AFS_TEST_DOCKER")
        if v == "1":
            _docker = (True, "")
        elif v == "0":
            _docker = (False, "AFS_TEST_DOCKER=0: no dockerd, or no %s image" % DOCKER_IMAGE)
        elif not shutil.which("docker"):
            _docker = (False, "docker is not installed")
        else:
            try:
                r = subprocess.run(["docker", "image", "inspect", DOCKER_IMAGE],
                                   capture_output=True, timeout=30)
                ok = r.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            _docker = (ok, "" if ok else
                       "no dockerd or no %s image (tests/lib.sh docker_up, then "
                       "tests/python/mkimage.sh)" % DOCKER_IMAGE)
    return _docker


def docker_containers():
    try:
        r = subprocess.run(["docker", "ps", "-aq", "--no-trunc"], capture_output=True,
                           text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return set(r.stdout.split()) if r.returncode == 0 else set()


def pytest_configure(config):
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass
    config.addinivalue_line("markers", "docker: needs dockerd and the python:3.11-slim image")
    config.addinivalue_line("markers", "timeout_seconds(n): the test's time limit")


class TimeLimitExceeded(Exception):
    """A test ran past its time limit (a hang): it fails, and what it left
    is cleaned up."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("docker"):
            ok, why = docker_available()
            if not ok:
                item.add_marker(pytest.mark.skip(reason=why))


# ---- what a test may leave behind --------------------------------------------------
def afs_mounts():
    """The afs mounts of /proc/mounts, as lines."""
    with open("/proc/mounts", encoding="utf-8", errors="replace") as f:
        return {line.rstrip("\n") for line in f if " fuse.afs " in line}


def _read(path, binary=False):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return b"" if binary else ""
    return data if binary else data.decode("utf-8", "replace")


def processes():
    """{(pid, start time): info} of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        stat = _read("/proc/%s/stat" % d)
        if not stat or ")" not in stat:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        uid = None
        for line in _read("/proc/%s/status" % d).splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
        cmdline = _read("/proc/%s/cmdline" % d, True).split(b"\0")
        argv0 = os.path.basename(cmdline[0].decode("utf-8", "replace")) if cmdline else ""
        out[(int(d), fields[19])] = {
            "pid": int(d), "comm": comm, "state": fields[0], "ppid": int(fields[1]),
            "uid": uid, "argv0": argv0,
            "cmdline": b" ".join(cmdline).decode("utf-8", "replace").strip(),
        }
    return out


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def sessions_dirs():
    dirs = []
    for d in (os.environ.get("AFS_RUNTIME_DIR"),
              os.path.join(os.environ["XDG_RUNTIME_DIR"], "afs")
              if os.environ.get("XDG_RUNTIME_DIR") else None, "/run/afs"):
        if d and os.path.isdir(d):
            dirs.append(d)
    return dirs


class Leaks:
    """A snapshot at the start of a test, and what is new and still there
    at the end: afs mounts, our afs processes, sandbox-uid processes, temp
    entries, afs-session state, docker containers."""

    def __init__(self, tmpdir, paths, mark, docker=False, state=None):
        self.tmpdir = tmpdir
        self.state = state
        self.paths = [p for p in paths if p]
        self.mark = mark
        self.docker = docker
        self.before = self.snapshot()

    def snapshot(self):
        snap = {
            "mounts": afs_mounts(),
            "procs": set(processes()),
            "tmp": set(os.listdir("/tmp")),
            "sessions": {os.path.join(d, n) for d in sessions_dirs() for n in os.listdir(d)},
        }
        if self.docker:
            snap["containers"] = docker_containers()
        return snap

    def _mine(self, info):
        """An afs program (or anything) started for this test: its command
        line names the test's dirs, or its environment holds the marker."""
        if any(p in info["cmdline"] for p in self.paths):
            return True
        env = _read("/proc/%d/environ" % info["pid"], True)
        return ("AFS_PYTEST_MARK=" + self.mark).encode() in env.split(b"\0")

    def _ours(self, info, procs):
        if info["state"] == "Z":
            # A process that has ended.  Below pytest (the subreaper) it may
            # be one adopted when its parent went (a detached afs-fuse or
            # afs-session supervisor, the children of an afs-launch killed
            # by Ctrl-C): reaped here; it holds nothing but its pid.
            if info["ppid"] == os.getpid():
                try:
                    os.waitpid(info["pid"], os.WNOHANG)
                except ChildProcessError:
                    pass
            return False
        if (info["comm"] in AFS_PROGS + HELPERS or info["argv0"] in AFS_PROGS + HELPERS) \
                and info["uid"] != SANDBOX_UID:
            return self._mine(info)
        if info["uid"] != SANDBOX_UID:
            return False
        # A sandbox process: ours when one of its ancestors is (others may
        # run sandboxes on this machine at the same time).  pytest is a
        # subreaper, so an orphan of ours still has it as an ancestor; one
        # that reaches pid 1 is another run's.  One in a docker container
        # is told by the container check.
        by_pid = {i["pid"]: i for i in procs.values()}
        seen = set()
        p = by_pid.get(info["ppid"])
        while p is not None and p["pid"] not in seen:
            seen.add(p["pid"])
            if p["pid"] == os.getpid():
                return True
            if p["comm"].startswith("containerd-shim"):
                return False
            if p["uid"] != SANDBOX_UID and (p["comm"] in AFS_PROGS or p["argv0"] in AFS_PROGS
                                            or p["comm"] in ("bwrap", "docker")):
                return self._mine(p)
            if p["pid"] == 1:
                break
            p = by_pid.get(p["ppid"])
        return False

    def _new_mounts(self):
        """New afs mounts of this test's: made in its TMPDIR or of a
        codebase in its tmp_path (others may mount at the same time)."""
        return {m for m in afs_mounts() - self.before["mounts"]
                if any(p.replace(" ", "\\040") in m for p in self.paths)}

    def now(self):
        """What is left now, as a list of lines (empty: nothing)."""
        left = []
        for m in sorted(self._new_mounts()):
            left.append("afs mount: " + m)
        procs = processes()
        for key in sorted(set(procs) - self.before["procs"]):
            info = procs[key]
            if info["pid"] == os.getpid() or not self._ours(info, procs):
                continue
            left.append("process %(pid)d (uid %(uid)s, %(comm)s, state %(state)s): %(cmdline)s"
                        % info)
        if os.path.isdir(self.tmpdir):
            for n in sorted(os.listdir(self.tmpdir)):
                left.append("in the test's TMPDIR: " + os.path.join(self.tmpdir, n))
        for n in sorted(set(os.listdir("/tmp")) - self.before["tmp"]):
            if n.startswith(TMP_PREFIXES):
                left.append("in /tmp: /tmp/" + n)
        for s in sorted({os.path.join(d, n) for d in sessions_dirs() for n in os.listdir(d)}
                        - self.before["sessions"]):
            left.append("afs-session state: " + s)
        if self.docker:
            for c in sorted(docker_containers() - self.before["containers"]):
                left.append("docker container: " + c[:12])
        for what in ("sandboxes", "codebases"):
            d = os.path.join(self.state, what) if self.state else None
            if d and os.path.isdir(d):
                for n in sorted(os.listdir(d)):
                    left.append("client state: %s/%s" % (what, n))
        return left

    def left(self, grace=GRACE):
        """What is left, after waiting up to GRACE seconds for it to go."""
        deadline = time.monotonic() + grace
        while True:
            left = self.now()
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.1)

    def assert_clean(self, what="", grace=GRACE):
        left = self.left(grace)
        assert not left, "left behind%s:\n  %s" % (" " + what if what else "", "\n  ".join(left))

    def force_cleanup(self):
        """Remove whatever is left, so that the next tests start clean."""
        for m in self._new_mounts():
            mnt = m.split()[1].replace("\\040", " ")
            subprocess.call(["fusermount3", "-u", "-z", mnt], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        procs = processes()
        ours = [procs[k]["pid"] for k in set(procs) - self.before["procs"]
                if procs[k]["pid"] != os.getpid() and self._ours(procs[k], procs)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in ours:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + 2
            while any(_alive(p) for p in ours) and time.monotonic() < deadline:
                time.sleep(0.05)
        for m in self._new_mounts():
            mnt = m.split()[1].replace("\\040", " ")
            subprocess.call(["umount", "-l", mnt], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        if self.docker:
            new = docker_containers() - self.before["containers"]
            if new:
                try:
                    subprocess.call(["docker", "rm", "-f"] + sorted(new), timeout=60,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                except subprocess.TimeoutExpired:
                    pass
        if not any(self.tmpdir in m for m in afs_mounts()):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.state and not any(self.state in m for m in afs_mounts()):
            shutil.rmtree(self.state, ignore_errors=True)


@pytest.fixture(autouse=True)
def leaks(request, tmp_path, monkeypatch):
    """Each test: tmp_path as the current directory, a private TMPDIR, and
    at the end nothing of it left (else the test errors at teardown)."""
    tmpdir = tempfile.mkdtemp(prefix="afs-pytest.", dir="/tmp")
    os.chmod(tmpdir, 0o711)
    monkeypatch.setenv("TMPDIR", tmpdir)
    monkeypatch.setattr(tempfile, "tempdir", tmpdir)
    mark = uuid.uuid4().hex
    monkeypatch.setenv("AFS_PYTEST_MARK", mark)
    monkeypatch.chdir(tmp_path)
    state = str(tmp_path / "afs-client")
    monkeypatch.setenv("AFS_CLIENT_DIR", state)
    docker = (request.node.get_closest_marker("docker") is not None
              and docker_available()[0])
    lk = Leaks(tmpdir, [str(tmp_path), tmpdir], mark, docker=docker, state=state)
    m = request.node.get_closest_marker("timeout_seconds")
    limit = int(m.args[0]) if m else (90 if docker else TEST_TIMEOUT)

    def on_alarm(signum, frame):
        raise TimeLimitExceeded("the test ran for more than %d s" % limit)
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield lk
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    try:
        left = lk.left()
    finally:
        lk.force_cleanup()
    if left:
        pytest.fail("the test left behind:\n  " + "\n  ".join(left), pytrace=False)


# ---- codebases ---------------------------------------------------------------------
def write_tree(root, files):
    """Make ROOT with FILES: {relative path: str | bytes | None (a directory)}."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        p = root / rel
        if content is None:
            p.mkdir(parents=True, exist_ok=True)
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root


def tree_state(root):
    """{relative path: ("dir", mode) | ("file", mode, content)} of ROOT,
    hidden files included: to tell that a codebase was not modified."""
    root = Path(root)
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(d) / n
            st = p.lstat()
            rel = str(p.relative_to(root))
            if p.is_dir() and not p.is_symlink():
                out[rel] = ("dir", st.st_mode)
            else:
                out[rel] = ("file", st.st_mode, p.read_bytes())
    return out


# The codebase most tests use: readable files, an empty output/, and
# secrets that the agent-safe preset hides.
PROJECT_FILES = {
    "README.md": "hello\n",
    "src/app/main.py": "print('main')\n",
    "src/app/util.py": "X = 1\n",
    "docs/guide.md": "guide\n",
    "output": None,
    ".env": "API_KEY=s3cr3t\n",
    ".env.local": "API_KEY=local\n",
    "secrets/db-password.txt": "hunter2\n",
    "deploy.key": "-----BEGIN KEY-----\n",
    "cert.pem": "-----BEGIN CERTIFICATE-----\n",
    "credentials.json": "{}\n",
}
# What agent-safe shows of it.
PROJECT_VISIBLE_TOP = ["README.md", "docs", "output", "src"]
PROJECT_VISIBLE_ALL = ["README.md", "docs", "docs/guide.md", "output", "src", "src/app",
                       "src/app/main.py", "src/app/util.py"]
PROJECT_HIDDEN = [".env", ".env.local", "secrets", "secrets/db-password.txt", "deploy.key",
                  "cert.pem", "credentials.json"]


@pytest.fixture
def project(tmp_path):
    """tmp_path/project: PROJECT_FILES."""
    return write_tree(tmp_path / "project", PROJECT_FILES)


@pytest.fixture
def host_python():
    """The examples run `python`: in the bwrap sandbox that is the host's
    /usr/bin/python (Debian's python-is-python3)."""
    if not os.path.exists("/usr/bin/python"):
        pytest.skip("no `python` in the sandbox: the host has no /usr/bin/python "
                    "(apt-get install python-is-python3)")
