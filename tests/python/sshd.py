"""A real OpenSSH server on 127.0.0.1, for the ssh:// endpoint's tests and
bench (tests/python/test_remote.py, bench/remote-bench.py).

Sshd(tmp) makes a second local user (USER, its home in TMP) so that the
"remote" state is really someone else's, a host key, client keys and an
authorized_keys file of its own (a key with full access and one limited
to afs-remote by command=), starts /usr/sbin/sshd on a free port, and
writes an ssh_config for the client (Host "afs-test").  stop() ends every
connection and process of USER, unmounts what it left, removes the user,
and gives /dev/fuse its mode back.  Needs root and Debian's openssh-server.
"""
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import time

USER = "afsremote"
SSHD = "/usr/sbin/sshd"
TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
REMOTE = os.path.join(TOP, "build", "afs-remote")


def available():
    """None, or why the tests cannot run here."""
    if os.geteuid() != 0:
        return "needs root (a second user and an sshd)"
    if not os.access(SSHD, os.X_OK):
        return "openssh-server is missing (make deps)"
    if not shutil.which("ssh"):
        return "openssh-client is missing (make deps)"
    if not os.access(REMOTE, os.X_OK):
        return "build/afs-remote is missing (make)"
    return None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _keygen(path, comment):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                   check=True, stdin=subprocess.DEVNULL)
    with open(path + ".pub") as f:
        return f.read().strip()


class Sshd:
    def __init__(self, tmp):
        self.tmp = tmp
        os.chmod(tmp, 0o755)                 # the user reads its authorized_keys below it
        self.home = os.path.join(tmp, "home")
        self._fuse_mode = os.stat("/dev/fuse").st_mode & 0o777
        self.proc = None
        self._user()
        self.uid = pwd.getpwnam(USER).pw_uid
        # An unprivileged user mounts through /dev/fuse (Debian gives it 0666;
        # this machine, without udev, 0600): as tests/t1006-fuse-user.sh does.
        os.chmod("/dev/fuse", 0o666)
        self.port = _free_port()
        hostkey = os.path.join(tmp, "hostkey")
        hostpub = _keygen(hostkey, "afs-test-host")
        self.key = os.path.join(tmp, "key")
        self.restricted_key = os.path.join(tmp, "restricted")
        pub = _keygen(self.key, "afs-test-full")
        rpub = _keygen(self.restricted_key, "afs-test-restricted")
        auth = os.path.join(tmp, "auth")
        os.mkdir(auth, 0o755)
        with open(os.path.join(auth, USER), "w") as f:
            f.write(pub + "\n")
            f.write('command="%s --restrict --no-network",restrict %s\n' % (REMOTE, rpub))
        os.chmod(os.path.join(auth, USER), 0o644)
        self.config = os.path.join(tmp, "sshd_config")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey " + hostkey,
                "PidFile " + os.path.join(tmp, "sshd.pid"),
                "AuthorizedKeysFile " + os.path.join(auth, "%u"),
                "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "UsePAM no", "StrictModes no", "AllowUsers " + USER, "PermitRootLogin no",
                "MaxStartups 100", "LogLevel VERBOSE", ""]))
        # StrictModes no: the keys are below /tmp, which is world-writable.
        known = os.path.join(tmp, "known_hosts")
        with open(known, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (self.port, " ".join(hostpub.split()[:2])))
        self.ssh_config = os.path.join(tmp, "ssh_config")
        common = ["  HostName 127.0.0.1", "  Port %d" % self.port, "  User " + USER,
                  "  IdentitiesOnly yes", "  UserKnownHostsFile " + known,
                  "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes",
                  "  LogLevel ERROR"]
        with open(self.ssh_config, "w") as f:
            f.write("\n".join(["Host afs-test"] + common + ["  IdentityFile " + self.key,
                               "Host afs-restricted"] + common +
                              ["  IdentityFile " + self.restricted_key,
                               "Host 127.0.0.1"] + common[1:] +
                              ["  IdentityFile " + self.key, ""]))
        os.makedirs("/run/sshd", 0o755, exist_ok=True)
        self.log = os.path.join(tmp, "sshd.log")
        self.start()

    def _user(self):
        try:
            pwd.getpwnam(USER)
            subprocess.run(["usermod", "-d", self.home, USER], check=True)
        except KeyError:
            subprocess.run(["useradd", "-M", "-d", self.home, "-s", "/bin/sh", "-U", USER],
                           check=True)
        # "*": no password, yet not locked ("!"), which sshd refuses.
        subprocess.run(["usermod", "-p", "*", USER], check=True)
        ent = pwd.getpwnam(USER)
        os.mkdir(self.home, 0o700)
        os.chown(self.home, ent.pw_uid, ent.pw_gid)

    def start(self):
        def limits():
            # What a session gets from a stock sshd (systemd's default): 1,024
            # open files, so that a far side that holds too many fails here.
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.config],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=limits)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("sshd did not start: %s" % open(self.log).read()[-2000:])

    def kill(self):
        """The server and every connection it has (a crash of the remote
        sshd, or of its machine's network)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["pkill", "-KILL", "-f", "^sshd: %s" % USER],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)

    def env(self, client_dir):
        """The client's environment: this server, its afs-remote, its own
        state directory."""
        return {"AFS_SSH": "ssh -F " + self.ssh_config, "AFS_REMOTE_COMMAND": REMOTE,
                "AFS_CLIENT_DIR": client_dir, "AFS_SSH_CONNECT_TIMEOUT": "5"}

    def remote_mounts(self):
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                p = line.split()
                if "agentfense." in p[4] and "user_id=%d" % self.uid in line:
                    out.append(p[4])
        return out

    def user_procs(self):
        p = subprocess.run(["pgrep", "-u", str(self.uid)], capture_output=True, text=True)
        return [int(x) for x in p.stdout.split()]

    def stop(self):
        self.kill()
        for pid in self.user_procs():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while self.user_procs() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self.user_procs():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for m in self.remote_mounts():
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
        os.chmod("/dev/fuse", self._fuse_mode)
        subprocess.run(["userdel", USER], stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", USER], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.home, ignore_errors=True)
