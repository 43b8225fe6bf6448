#!/usr/bin/python3
"""The ssh:// endpoint's cost (make bench-remote; root, openssh-server).

Against a real sshd on 127.0.0.1 (tests/python/sshd.py), as a second user:
  run("true")    median of N runs over the multiplexed connection, against
                 the same run on this machine by the same user (no ssh)
  round trip     get_sandbox: the protocol alone, over ssh and here
  from_local     a tree of FILES small files, against
                 `tar c | ssh HOST tar x` of the same tree alone
Prints one line per row and the ratios.  N and FILES from the environment
(BENCH_RUNS, default 50; BENCH_FILES, default 10000).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "python"))
sys.path.insert(0, os.path.join(TOP, "contrib", "python"))
import sshd  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "50"))
FILES = int(os.environ.get("BENCH_FILES", "10000"))

# The same work on this machine, by the remote user, with no ssh.
LOCAL = r'''
import json, os, statistics, sys, time
sys.path.insert(0, %(py)r)
from agentfense import Sandbox
runs = %(runs)d
with Sandbox.from_local(%(src)r, preset="development") as sb:
    sb.run("true")
    t = []
    for _ in range(runs):
        a = time.perf_counter(); sb.run("true"); t.append(time.perf_counter() - a)
    g = []
    for _ in range(runs):
        a = time.perf_counter(); sb._client.get_sandbox(sb.id); g.append(time.perf_counter() - a)
print(json.dumps({"run": statistics.median(t), "rt": statistics.median(g)}))
'''


def tree(root, n):
    per = 100
    for i in range(n):
        d = os.path.join(root, "d%03d" % (i // per))
        if i % per == 0:
            os.makedirs(d)
        with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
            f.write(("line %d of a small source file\n" % i) * 8)


def main():
    why = sshd.available()
    if why:
        print("bench-remote: skipped: " + why)
        return 0
    tmp = tempfile.mkdtemp(prefix="afs-remote-bench.")
    s = None
    try:
        s = sshd.Sshd(tmp)
        os.environ.update(s.env(os.path.join(tmp, "client")))
        from agentfense import Sandbox
        small = os.path.join(tmp, "small")
        os.makedirs(small)
        with open(os.path.join(small, "a.txt"), "w") as f:
            f.write("a\n")
        os.chmod(tmp, 0o755)
        subprocess.run(["chmod", "-R", "a+rX", small], check=True)

        p = subprocess.run(["setpriv", "--reuid", sshd.USER, "--regid", sshd.USER,
                            "--init-groups", "env", "-i", "HOME=" + s.home,
                            "PATH=/usr/bin:/bin", sys.executable if sys.executable.startswith(
                                "/usr/bin") else "/usr/bin/python3", "-c",
                            LOCAL % {"py": os.path.join(TOP, "contrib", "python"),
                                     "runs": RUNS, "src": small}],
                           capture_output=True, text=True, cwd="/", timeout=600)
        if p.returncode != 0:
            print(p.stderr)
            return 1
        local = json.loads(p.stdout)

        with Sandbox.from_local(small, endpoint="ssh://afs-test", preset="development") as sb:
            sb.run("true")
            t, g = [], []
            for _ in range(RUNS):
                a = time.perf_counter(); sb.run("true"); t.append(time.perf_counter() - a)
            for _ in range(RUNS):
                a = time.perf_counter(); sb._client.get_sandbox(sb.id)
                g.append(time.perf_counter() - a)
        remote = {"run": statistics.median(t), "rt": statistics.median(g)}

        big = os.path.join(tmp, "big")
        os.makedirs(big)
        tree(big, FILES)
        ssh = ["ssh", "-F", s.ssh_config]
        # The baseline: the same tree through tar and ssh alone (a fresh
        # connection each time, as a user would type it; the master of the
        # client is not used).
        base = []
        for i in range(3):
            a = time.perf_counter()
            tar = subprocess.Popen(["tar", "c", "-C", big, "."], stdout=subprocess.PIPE)
            subprocess.run(ssh + ["afs-test", "mkdir -p b%d && tar x -C b%d" % (i, i)],
                           stdin=tar.stdout, check=True)
            tar.stdout.close()
            tar.wait()
            base.append(time.perf_counter() - a)
        up = []
        for _ in range(3):
            a = time.perf_counter()
            sb = Sandbox.from_local(big, endpoint="ssh://afs-test", preset="development",
                                    auto_start=False)
            up.append(time.perf_counter() - a)
            sb.destroy()
        b, u = statistics.median(base), statistics.median(up)
        print("run(\"true\")      local %.1f ms  ssh:// %.1f ms  (+%.1f ms)"
              % (local["run"] * 1e3, remote["run"] * 1e3, (remote["run"] - local["run"]) * 1e3))
        print("round trip       local %.2f ms  ssh:// %.2f ms  (+%.2f ms)"
              % (local["rt"] * 1e3, remote["rt"] * 1e3, (remote["rt"] - local["rt"]) * 1e3))
        print("from_local %d files  %.2f s; tar c | ssh tar x %.2f s  (%.2fx)"
              % (FILES, u, b, u / b))
        return 0
    finally:
        if s is not None:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
