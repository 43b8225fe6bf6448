"""The ssh:// endpoint against a real OpenSSH server (tests/python/sshd.py):
a second local user on 127.0.0.1 is the "remote" machine.  Every test
ends with nothing of it left on the far side: no codebase or sandbox in
the remote user's state directory, no mount of that user's.
"""
import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

import agentfense
from agentfense import (AsyncSandbox, CommandExecutionError, CommandTimeoutError,
                        ConnectionError, InvalidConfigurationError, Sandbox, SandboxClient,
                        SandboxNotFoundError, UploadError)
from agentfense import _wire

import sshd as sshd_mod
from conftest import PKG_DIR, write_tree

WHY = sshd_mod.available()
pytestmark = pytest.mark.skipif(WHY is not None, reason=WHY or "")
EP = "ssh://afs-test"


@pytest.fixture(scope="module")
def server():
    tmp = tempfile.mkdtemp(prefix="afs-remote-test.")
    # Where a client whose state directory has too long a path keeps its
    # ssh socket (the tests' do): removed after if the tests made it.
    sockdir = "/tmp/afs-ssh-%d" % os.geteuid()
    had = os.path.exists(sockdir)
    s = sshd_mod.Sshd(tmp)
    try:
        yield s
    finally:
        s.stop()
        subprocess.run(["rm", "-rf", tmp])
        if not had:
            subprocess.run(["rm", "-rf", sockdir])


def remote_state(s):
    base = Path(s.home) / ".local" / "state" / "afs" / "client"
    out = []
    for kind in ("codebases", "sandboxes"):
        d = base / kind
        if d.is_dir():
            out += ["%s/%s" % (kind, n) for n in sorted(os.listdir(d))]
    return out


@pytest.fixture
def remote(server, monkeypatch):
    """The server, with the client's environment pointing at it; at the
    end, nothing of the test on the far side."""
    if not server.proc or server.proc.poll() is not None:
        server.start()
    for k, v in server.env(os.environ["AFS_CLIENT_DIR"]).items():
        monkeypatch.setenv(k, v)
    yield server
    if not server.proc or server.proc.poll() is not None:
        server.start()
    left = remote_state(server)
    mounts = server.remote_mounts()
    if left or mounts:
        # Clean up for the next test, then fail this one.
        c = SandboxClient(endpoint=EP)
        for sb in c.list_sandboxes():
            c.destroy_sandbox(sb.id)
        for cb in c.list_codebases():
            c.delete_codebase(cb.id)
        c.close()
        pytest.fail("left on the remote: %r %r" % (left, mounts), pytrace=False)


def ssh(server, host, *cmd, **kw):
    return subprocess.run(["ssh", "-F", server.ssh_config, host] + list(cmd),
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=60, **kw)


# ---- the endpoint ------------------------------------------------------------------------
def test_endpoint_forms():
    from agentfense._remote import parse
    assert parse("ssh://h") == (None, "h", None)
    assert parse("ssh://u@h:2222") == ("u", "h", 2222)
    assert parse("ssh://u@[::1]:22") == ("u", "::1", 22)
    for bad in ("ssh://", "ssh://-oProxyCommand=x", "ssh://u@-h", "ssh://h:0", "ssh://h:99999",
                "ssh://h/path", "ssh://a b", "ssh://u@h@g"):
        with pytest.raises(ConnectionError) as ei:
            SandboxClient(endpoint=bad)
        assert ei.value.endpoint == bad


# ---- the round trip ------------------------------------------------------------------
@pytest.mark.timeout_seconds(120)
def test_round_trip(remote, tmp_path):
    src = write_tree(tmp_path / "src", {
        "README.md": "hello\n", "src/main.c": "int main(void){return 0;}\n",
        ".gitignore": "build/\n*.log\n", "build/out.o": "obj", "x.log": "log\n",
        "node_modules/m/index.js": "x", "bin/tool": "#!/bin/sh\necho tool\n"})
    os.chmod(src / "bin" / "tool", 0o755)
    os.symlink("README.md", src / "link")
    before = {p: (src / p).read_bytes() for p in ("README.md", "src/main.c")}
    with Sandbox.from_local(str(src), endpoint=EP, preset="development") as sb:
        assert type(sb._client).__name__ == "RemoteClient"
        assert sb.status == agentfense.SandboxStatus.RUNNING
        # What from_local would take, and nothing else: ignored files never left.
        files = sb.list_files(recursive=True)
        assert files == [".gitignore", "README.md", "bin", "bin/tool", "link", "src",
                         "src/main.c"]
        r = sb.run("id -u; cat link; ./bin/tool; echo new >n.txt; echo more >>README.md")
        # The far side's user runs it: the sandbox is that user's.
        assert (r.exit_code, r.stdout, r.stderr) == (0, "%d\nhello\ntool\n" % remote.uid, "")
        assert sb.read_file("n.txt") == "new\n"
        sb.write_file("w.txt", b"\x00\xffbytes")
        assert sb.read_file_bytes("w.txt") == b"\x00\xffbytes"
        assert sb.run("cat w.txt").stdout == "\x00\ufffdbytes"
        assert sb.diff() == "M\t/README.md\nA\t/n.txt\nA\t/w.txt\n"
        # The delta comes home: reviewed and applied with afs's own tools.
        exp = tmp_path / "delta"
        sb.export(str(exp))
        assert sorted(os.listdir(exp)) == [".wh..wh..afs.base", "README.md", "n.txt", "w.txt"]
        afs_audit = os.path.join(os.environ["PATH"].split(os.pathsep)[0], "afs-audit")
        d = subprocess.run([afs_audit, "diff", "--name-status", str(src), str(exp)],
                           capture_output=True, text=True)
        assert d.stdout == "M\t/README.md\nA\t/n.txt\nA\t/w.txt\n", d.stderr
        # The log: every access, on the far side, read back here.
        # (afs-fuse writes its records out within a second or so.)
        deadline = time.monotonic() + 10
        while True:
            ops = {(r.get("op"), r.get("path")) for r in sb.audit()}
            if ("create", "/n.txt") in ops or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert {("create", "/n.txt"), ("open", "/README.md"), ("exec", None)} <= ops
        assert sb.audit_log.startswith(str(Path(remote.home)))
        # Commit: the remote copy, not this machine's directory.
        sb.commit()
        assert sb.diff() == ""
        assert sb.read_file("README.md") == "hello\nmore\n"
        assert sb._client.download_file(sb.codebase_id, "n.txt") == b"new\n"
    assert {p: (src / p).read_bytes() for p in before} == before
    assert not (src / "n.txt").exists()


def test_apply_export_locally(remote, tmp_path):
    """export + afs-fuse --commit: the remote work lands in the local tree."""
    src = write_tree(tmp_path / "src", {"a.txt": "a\n", "d/b.txt": "b\n", "gone.txt": "x\n"})
    with Sandbox.from_local(str(src), endpoint=EP, preset="development") as sb:
        sb.run("echo A >a.txt; rm gone.txt; mkdir -p e; echo c >e/c.txt", raise_on_error=True)
        sb.export(str(tmp_path / "delta"))
    afs_fuse = os.path.join(os.environ["PATH"].split(os.pathsep)[0], "afs-fuse")
    p = subprocess.run([afs_fuse, "--commit", "-d", str(tmp_path / "delta"), str(src)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (src / "a.txt").read_text() == "A\n"
    assert not (src / "gone.txt").exists()
    assert (src / "e" / "c.txt").read_text() == "c\n"
    assert (src / "d" / "b.txt").read_text() == "b\n"


def test_export_needs_a_new_directory(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint=EP) as sb:
        (tmp_path / "there").mkdir()
        with pytest.raises(FileExistsError):
            sb.export(str(tmp_path / "there"))


def test_errors_cross(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n", ".env": "SECRET=1\n"})
    with Sandbox.from_local(str(src), endpoint=EP, preset="agent-safe") as sb:
        with pytest.raises(CommandExecutionError) as ei:
            sb.run("exit 3", raise_on_error=True)
        assert ei.value.exit_code == 3
        with pytest.raises(CommandTimeoutError):
            sb.run("sleep 10", timeout=1)
        r = sb.run("cat .env")
        assert r.exit_code == 1 and "No such file" in r.stderr
        with pytest.raises(agentfense.PermissionDeniedError) as ei:
            sb.run("echo x >a.txt", raise_on_error=True)
        assert ei.value.path == "a.txt"
        with pytest.raises(agentfense.FileNotFoundError):
            sb.read_file("nothere")
        c = sb._client
        with pytest.raises(SandboxNotFoundError) as ei:
            c.get_sandbox("sb_000000000000")
        assert ei.value.sandbox_id == "sb_000000000000"
        with pytest.raises(InvalidConfigurationError):
            c.create_sandbox(sb.codebase_id, permissions=[{"pattern": "[", "type": "regex",
                                                            "permission": "read"}])
        with pytest.raises(ValueError):
            sb._client._sandbox_diff(sb.id, "--output=/etc/x")


def test_stdin_env_workdir_stream(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"d/a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint=EP, preset="read-only") as sb:
        r = sb.exec("cat; echo \"$V\"; pwd", stdin="in\n", env={"V": "v"}, workdir="/workspace/d")
        assert r.stdout == "in\nv\n/workspace/d\n"
        out = b"".join(sb.exec_stream("for i in 1 2 3; do echo $i; sleep 0.1; done"))
        assert out == b"1\n2\n3\n"
        with pytest.raises(CommandTimeoutError):
            list(sb.exec_stream("sleep 10", timeout=1))


def remote_launches(server):
    p = subprocess.run(["pgrep", "-u", str(server.uid), "-x", "afs-launch"],
                       capture_output=True, text=True)
    return p.stdout.split()


def test_stream_closed_early_ends_the_command(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint=EP) as sb:
        it = sb.exec_stream("echo start; sleep 30; echo never")
        assert next(it) == b"start\n"
        assert remote_launches(remote)
        t = time.monotonic()
        it.close()
        assert time.monotonic() - t < 15
        deadline = time.monotonic() + 10
        while remote_launches(remote) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert remote_launches(remote) == []
        # The channel is still good for the next call.
        assert sb.run("echo again").stdout == "again\n"


def test_session(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"d/a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint=EP, preset="development") as sb:
        with sb.session() as s:
            assert s.exec("cd d; X=42").exit_code == 0
            r = s.exec("pwd; echo $X; cat a.txt")
            assert r.stdout == "/workspace/d\n42\na\n"
            assert [x.id for x in sb._client.list_sessions(sb.id)] == [s.id]
            assert sb._client.get_session(s.id).status == agentfense.SessionStatus.ACTIVE
        assert s.status == agentfense.SessionStatus.CLOSED
        assert sb._client.list_sessions(sb.id) == []


def test_connect_from_another_process(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    sb = Sandbox.from_local(str(src), endpoint=EP, preset="development")
    try:
        code = ("import sys; sys.path.insert(0, %r)\n"
                "from agentfense import Sandbox\n"
                "sb = Sandbox.connect(%r, endpoint=%r)\n"
                "r = sb.run('echo other >o.txt; cat a.txt')\n"
                "print(r.stdout, end='')\n"
                "sb._client.close()\n" % (str(PKG_DIR), sb.id, EP))
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60)
        assert (p.returncode, p.stdout) == (0, "a\n"), p.stderr
        assert sb.read_file("o.txt") == "other\n"
    finally:
        sb.destroy()


def test_concurrent_sandboxes(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    out, errs = {}, []

    def one(i):
        try:
            with Sandbox.from_local(str(src), endpoint=EP, preset="development") as sb:
                sb.run("echo %d >mine.txt" % i, raise_on_error=True)
                out[i] = (sb.id, sb.read_file("mine.txt"), sb.run("cat mine.txt").stdout)
        except Exception as e:       # noqa: B902 - reported below
            errs.append(e)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert errs == []
    assert sorted(out) == [0, 1, 2, 3]
    assert len({v[0] for v in out.values()}) == 4
    assert all(v[1:] == ("%d\n" % i, "%d\n" % i) for i, v in out.items())


def test_concurrent_calls_one_client(remote, tmp_path):
    """More calls at once than channels (8): they wait for one, none fails."""
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint=EP) as sb:
        res, errs = [], []

        def one(i):
            try:
                res.append(sb.run("sleep 0.3; echo %d" % i).stdout)
            except Exception as e:   # noqa: B902
                errs.append(e)
        ts = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert errs == []
        assert sorted(res) == sorted("%d\n" % i for i in range(12))


def test_async(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})

    async def go():
        async with await AsyncSandbox.from_local(str(src), endpoint=EP,
                                                 preset="development") as sb:
            r = await sb.run("cat a.txt; echo x >b.txt")
            assert r.stdout == "a\n"
            assert await sb.read_file("b.txt") == "x\n"
            chunks = [c async for c in sb.exec_stream("echo 1; echo 2")]
            assert b"".join(chunks) == b"1\n2\n"
            # Cancelled: the far side ends the command.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sb.run("sleep 30"), 1)
            deadline = time.monotonic() + 10
            while remote_launches(remote) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert remote_launches(remote) == []
            assert (await sb.run("echo ok")).stdout == "ok\n"
            assert await sb.diff() == "A\t/b.txt\n"
    asyncio.run(go())


# ---- failures: clear, bounded, nothing left behind ---------------------------------------
@pytest.mark.timeout_seconds(90)
def test_dead_sshd_mid_session(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    sb = Sandbox.from_local(str(src), endpoint=EP, preset="development")
    s = sb.session()
    s.exec("X=1")
    remote.kill()
    t = time.monotonic()
    with pytest.raises(ConnectionError) as ei:
        s.exec("echo $X")
    assert time.monotonic() - t < 20
    assert ei.value.endpoint == EP and "ssh://afs-test" in str(ei.value)
    with pytest.raises(ConnectionError):
        sb.run("true")
    sb._client.close()
    remote.start()
    # A new client reconnects; the sandbox and its session lived on there.
    sb2 = Sandbox.connect(sb.id, endpoint=EP)
    try:
        assert sb2.run("cat a.txt").stdout == "a\n"
        assert sb2._client.session_exec(s.id, "echo $X").stdout == "1\n"
    finally:
        sb2._client.destroy_sandbox(sb.id)
        sb2._client.delete_codebase(sb.codebase_id)
        sb2._client.close()


def test_unreachable(remote, monkeypatch):
    t = time.monotonic()
    with pytest.raises(ConnectionError) as ei:
        SandboxClient(endpoint="ssh://afsremote@127.0.0.1:1")
    assert time.monotonic() - t < 15
    assert "127.0.0.1" in str(ei.value) and "refused" in str(ei.value)


def test_auth_refused(remote, tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    text = Path(remote.ssh_config).read_text().replace(remote.key + "\n",
                                                       str(tmp_path / "nokey") + "\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "nokey")],
                   check=True)
    cfg.write_text(text)
    monkeypatch.setenv("AFS_SSH", "ssh -F " + str(cfg))
    with pytest.raises(ConnectionError) as ei:
        SandboxClient(endpoint=EP)
    assert "Permission denied (publickey)" in str(ei.value)


def test_host_key_checked(remote, tmp_path, monkeypatch):
    """A host key that is not the known one: refused, never accepted."""
    cfg = tmp_path / "cfg"
    known = tmp_path / "known"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")],
                   check=True)
    known.write_text("[127.0.0.1]:%d %s\n" % (remote.port, " ".join(
        (tmp_path / "k.pub").read_text().split()[:2])))
    text = Path(remote.ssh_config).read_text()
    text = "\n".join(("  UserKnownHostsFile " + str(known)) if l.startswith(
        "  UserKnownHostsFile") else l for l in text.splitlines()) + "\n"
    cfg.write_text(text)
    monkeypatch.setenv("AFS_SSH", "ssh -F " + str(cfg))
    with pytest.raises(ConnectionError) as ei:
        SandboxClient(endpoint=EP)
    assert "Host key verification failed" in str(ei.value)


def test_afs_missing_or_old(remote, tmp_path, monkeypatch):
    monkeypatch.setenv("AFS_REMOTE_COMMAND", "/nonexistent/afs-remote")
    with pytest.raises(ConnectionError) as ei:
        SandboxClient(endpoint=EP)
    assert "/nonexistent/afs-remote is not installed there" in str(ei.value)
    # Where the far side's user can run them (tmp_path's parents are 0700).
    old = Path(tempfile.mkdtemp(dir=remote.tmp))
    os.chmod(old, 0o755)
    fake = old / "afs-remote"
    fake.write_text("#!/usr/bin/python3\nimport json, struct, sys\n"
                    "b = json.dumps({'afs-remote': '0.0.1', 'protocol': 0}).encode()\n"
                    "sys.stdout.buffer.write(b'H' + struct.pack('>I', len(b)) + b)\n")
    os.chmod(fake, 0o755)
    monkeypatch.setenv("AFS_REMOTE_COMMAND", str(fake))
    with pytest.raises(ConnectionError) as ei:
        SandboxClient(endpoint=EP)
    assert "speaks protocol 0, this client 1" in str(ei.value)
    noise = old / "noise"
    noise.write_text("#!/bin/sh\necho 'Welcome to the machine'\n")
    os.chmod(noise, 0o755)
    monkeypatch.setenv("AFS_REMOTE_COMMAND", str(noise))
    with pytest.raises(ConnectionError) as ei:
        SandboxClient(endpoint=EP)
    assert "does not speak afs-remote's protocol" in str(ei.value) or "frame" in str(ei.value)


@pytest.mark.timeout_seconds(90)
def test_remote_disk_full(remote, tmp_path):
    """The far side's state directory on a 1 MiB tmpfs: a 4 MiB tree is an
    UploadError naming the cause, and no codebase is left there."""
    base = Path(remote.home) / ".local" / "state" / "afs" / "client" / "codebases"
    c = SandboxClient(endpoint=EP)          # makes the remote state directory
    c.close()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700,uid=%d" % remote.uid,
                    "afs-test-full", str(base)], check=True)
    try:
        src = write_tree(tmp_path / "src", {"big%d" % i: os.urandom(1 << 20) for i in range(4)})
        with pytest.raises(UploadError) as ei:
            Sandbox.from_local(str(src), endpoint=EP)
        assert "No space left on device" in str(ei.value)
        assert os.listdir(base) == []
    finally:
        subprocess.run(["umount", str(base)], check=True)


# ---- a key limited to afs ----------------------------------------------------------------
def test_restricted_key(remote, tmp_path):
    r = ssh(remote, "afs-restricted", "id")
    assert r.returncode == 2
    assert b"this key runs afs-remote only" in r.stderr
    r = ssh(remote, "afs-restricted", "afs-remote --no-docker serve; id")
    assert r.returncode == 2
    r = ssh(remote, "afs-restricted", "afs-remote version")
    assert (r.returncode, r.stdout) == (0, b"afs-remote 0.1.0 protocol 1\n")
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint="ssh://afs-restricted", preset="development") as sb:
        assert sb.run("cat a.txt").stdout == "a\n"
        r = ssh(remote, "afs-restricted", "afs-remote list")
        assert r.stdout.decode().split("\t")[:2] == [sb.id, "running"]
        r = ssh(remote, "afs-restricted", "afs-remote audit " + sb.id)
        assert r.returncode == 0
        recs = [json.loads(x) for x in r.stdout.decode().splitlines()]
        assert any(x.get("op") == "exec" for x in recs)
        # afs-remote --no-network in the key's command=: no allowlist.
        with pytest.raises(InvalidConfigurationError) as ei:
            sb._client._create_sandbox(sb.codebase_id, net={"allow": ["example.org:443"]})
        assert "--no-network" in str(ei.value)
        # A path operand is no way out of the state directory.
        r = ssh(remote, "afs-restricted", "afs-remote audit ../../../../etc/passwd")
        assert r.returncode == 1 and b"root:" not in r.stdout


def test_audit_follow_over_ssh(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint=EP, preset="development") as sb:
        p = subprocess.Popen(["ssh", "-F", remote.ssh_config, "afs-test",
                              "%s audit -f %s" % (sshd_mod.REMOTE, sb.id)],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            sb.run("cat a.txt; echo y >followed.txt")
            seen = b""
            deadline = time.monotonic() + 20
            while b"/followed.txt" not in seen and time.monotonic() < deadline:
                seen += os.read(p.stdout.fileno(), 65536)
            assert b"/followed.txt" in seen
        finally:
            p.kill()
            p.wait()


# ---- the far side alone: a hostile stream -------------------------------------------------
def serve_local(tmp_path):
    env = dict(os.environ, AFS_CLIENT_DIR=str(tmp_path / "far"))
    return subprocess.Popen([sshd_mod.REMOTE, "serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)


def tar_of(members):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in members:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return bio.getvalue()


def member(name, kind=tarfile.REGTYPE, data=b"x", link=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = link
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        return ti, data
    return ti, None


def _pax(name, headers):
    ti = tarfile.TarInfo(name)
    ti.pax_headers = headers
    return ti


HOSTILE = {
    "dotdot": [member("../escaped")],
    "absolute": [member("/tmp/escaped")],
    "inner dotdot": [member("a/../../escaped")],
    "through a link": [member("l", tarfile.SYMTYPE, link=".."), member("l/escaped")],
    "through an absolute link": [member("l", tarfile.SYMTYPE, link="/tmp"),
                                 member("l/escaped")],
    "hard link": [member("h", tarfile.LNKTYPE, link="/etc/passwd")],
    "device": [member("dev", tarfile.CHRTYPE)],
    "fifo": [member("fifo", tarfile.FIFOTYPE)],
    "twice": [member("same"), member("same")],
    ".git": [member(".git/config", data=b"[core]\n\tfsmonitor = id\n")],
    ".git deeper": [member("sub/.Git/hooks/post-checkout")],
    "huge pax header": [(_pax("p", {"comment": "x" * 200000}), b"")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tar(tmp_path, case):
    os.chmod(tmp_path, 0o755)
    p = serve_local(tmp_path)
    try:
        ch = _wire.Channel(p.stdout.fileno(), p.stdin.fileno())
        hello = ch.read_json(_wire.HELLO)
        assert hello["protocol"] == 1
        ch.write_json(_wire.REQUEST, {"verb": "from_tree", "args": {"name": "n",
                                                                    "owner_id": "o"}})
        data = tar_of(HOSTILE[case])
        w = _wire.DataWriter(ch)
        w.write(data)
        w.close()
        r = ch.read_json(_wire.REPLY)
        assert r["error"]["type"] == "UploadError", r
        assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped").exists()
        assert os.listdir(tmp_path / "far" / "codebases") == []
        # The channel goes on.
        ch.write_json(_wire.REQUEST, {"verb": "list_codebases", "args": {}})
        assert ch.read_json(_wire.REPLY) == {"ok": []}
    finally:
        p.stdin.close()
        assert p.wait(10) == 0


def test_unknown_verb_and_bad_args(tmp_path):
    os.chmod(tmp_path, 0o755)
    p = serve_local(tmp_path)
    try:
        ch = _wire.Channel(p.stdout.fileno(), p.stdin.fileno())
        ch.read_json(_wire.HELLO)
        for req, want in (({"verb": "__init__"}, "ValueError"),
                          ({"verb": "_link_local"}, "ValueError"),
                          ({"verb": "get_sandbox", "args": {"sandbox_id": 5}}, "TypeError"),
                          ({"verb": "get_sandbox", "args": {"sandbox_id": "../x"}},
                           "SandboxNotFoundError"),
                          ({"verb": "sandbox_diff", "args": {"sandbox_id": "sb_x",
                                                             "mode": "--x"}}, "ValueError")):
            ch.write_json(_wire.REQUEST, req)
            r = ch.read_json(_wire.REPLY)
            assert r["error"]["type"] == want, (req, r)
        # A frame too big to be a request (over 4 MiB) ends the server (2).
        p.stdin.write(b"Q\x00\x50\x00\x00")
        p.stdin.flush()
        assert p.wait(10) == 2
    finally:
        p.stdin.close()
        p.wait(10)


# ---- after the review: each of these failed on the first version ------------------------
def test_async_error_replies_and_cancelled_stream(remote, tmp_path):
    """Error replies give the channel back (9 of them used to exhaust the
    8 channels and hang); a stream cancelled while it waits ends the
    command over there and gives the slot back."""
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})

    async def go():
        async with await AsyncSandbox.from_local(str(src), endpoint=EP) as sb:
            c = sb._client
            for _ in range(12):
                with pytest.raises(SandboxNotFoundError):
                    await c.exec("sb_000000000000", "true")
            with pytest.raises(CommandTimeoutError):
                await sb.run("sleep 5", timeout=1)

            async def consume():
                async for _ in sb.exec_stream("echo first; sleep 30"):
                    pass
            task = asyncio.ensure_future(consume())
            deadline = time.monotonic() + 10
            while not remote_launches(remote) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            deadline = time.monotonic() + 10
            while remote_launches(remote) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert remote_launches(remote) == []
            assert c._sync._busy == 0
            assert (await sb.run("echo ok")).stdout == "ok\n"
    t = time.monotonic()
    asyncio.run(go())
    assert time.monotonic() - t < 30


def test_big_and_binary_files_stream(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    blob = os.urandom(5 << 20)                  # over a request's 4 MiB
    with Sandbox.from_local(str(src), endpoint=EP, preset="development") as sb:
        sb.write_file("blob.bin", blob)
        assert sb.read_file_bytes("blob.bin") == blob
        assert sb.run("wc -c <blob.bin").stdout.strip() == str(len(blob))
        # A sparse file of 1 GiB made in the sandbox: streamed over, never
        # held whole by the far side.
        sb.run("truncate -s 1G sparse", raise_on_error=True)
        c = sb._client
        n = [0]
        c._call("sandbox_read", {"sandbox_id": sb.id, "path": "sparse"},
                on_data=lambda b: n.__setitem__(0, n[0] + len(b)))
        assert n[0] == 1 << 30


def test_no_git_and_restrict_rules(remote, tmp_path):
    src = write_tree(tmp_path / "src", {"a.txt": "a\n"})
    with Sandbox.from_local(str(src), endpoint=EP, preset="development") as sb:
        with pytest.raises(InvalidConfigurationError):
            sb.write_file(".git/config", "[core]\n\tfsmonitor = id >/tmp/pwned\n")
        with pytest.raises(InvalidConfigurationError):
            sb._client.upload_file(sb.codebase_id, "x/.GIT/hooks/pre-commit", b"#!/bin/sh\n")
    with Sandbox.from_local(str(src), endpoint="ssh://afs-restricted",
                            preset="development") as sb:
        sb.run("mkdir -p .git && echo x >.git/config", raise_on_error=True)
        with pytest.raises(InvalidConfigurationError) as ei:
            sb.commit()
        assert "holds a .git entry" in str(ei.value)
        sb.discard()
        with pytest.raises(InvalidConfigurationError):
            sb.commit(branch="feature")
        sb.run("echo b >b.txt", raise_on_error=True)
        sb.commit()
        assert sb._client.download_file(sb.codebase_id, "b.txt") == b"b\n"
    assert not os.path.exists("/tmp/pwned")


def test_local_codebases_are_not_served(remote, tmp_path):
    """A codebase the remote user made there from a local directory is
    not there for a remote client (nor are its files)."""
    d = Path(tempfile.mkdtemp(dir=remote.tmp))
    os.chmod(d, 0o755)
    (d / "private.txt").write_text("mine\n")
    os.chmod(d / "private.txt", 0o644)
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from agentfense import SandboxClient\n"
            "c = SandboxClient(endpoint=None)\n"
            "cb = c.create_codebase('local', 'me')\n"
            "c._link_local(cb.id, %r)\n"
            "print(cb.id)\n" % (str(PKG_DIR), str(d)))
    env = {"HOME": remote.home, "PATH": "/usr/bin:/bin"}
    p = subprocess.run(["setpriv", "--reuid", str(remote.uid), "--regid", str(remote.uid),
                        "--clear-groups", "/usr/bin/python3", "-c", code], env=env,
                       capture_output=True, text=True, cwd="/")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    try:
        c = SandboxClient(endpoint=EP)
        assert c.list_codebases() == []
        with pytest.raises(agentfense.CodebaseNotFoundError):
            c.get_codebase(cid)
        with pytest.raises(agentfense.CodebaseNotFoundError):
            c.download_file(cid, "private.txt")
        with pytest.raises(agentfense.CodebaseNotFoundError):
            c.create_sandbox(cid)
        c.close()
    finally:
        base = Path(remote.home) / ".local" / "state" / "afs" / "client" / "codebases" / cid
        subprocess.run(["rm", "-rf", str(base)])


def test_stale_master_socket(remote, tmp_path):
    """A master killed outright leaves its socket: the next client starts
    a new master (no plain connection left running in the background)."""
    c = SandboxClient(endpoint=EP)
    sock = c._sock
    c.close()
    masters = lambda: subprocess.run(["pgrep", "-f", "ssh .*-M -N -f"], capture_output=True,
                                     text=True).stdout.split()
    for pid in masters():
        os.kill(int(pid), 9)
    time.sleep(0.3)
    assert os.path.exists(sock)
    before = len(masters())
    c = SandboxClient(endpoint=EP)
    assert c._check()
    c.close()
    c = SandboxClient(endpoint=EP)
    c.close()
    assert len(masters()) == before + 1


def fake_remote(remote, body):
    d = Path(tempfile.mkdtemp(dir=remote.tmp))
    os.chmod(d, 0o755)
    f = d / "afs-remote"
    f.write_text("#!/usr/bin/python3\nimport json, struct, sys, time\n"
                 "def frame(t, obj):\n"
                 "    b = json.dumps(obj).encode()\n"
                 "    sys.stdout.buffer.write(t + struct.pack('>I', len(b)) + b)\n"
                 "    sys.stdout.flush()\n" + body)
    os.chmod(f, 0o755)
    return str(f)


def test_hostile_server(remote, tmp_path, monkeypatch):
    monkeypatch.setenv("AFS_SSH_CONNECT_TIMEOUT", "2")
    # A hello that never ends: bounded by the connect timeout (+ 20 s).
    monkeypatch.setenv("AFS_REMOTE_COMMAND", fake_remote(
        remote, "sys.stdout.buffer.write(b'H\\0\\0\\0\\x10{'); sys.stdout.flush()\n"
                "time.sleep(60)\n"))
    t = time.monotonic()
    with pytest.raises(ConnectionError) as ei:
        SandboxClient(endpoint=EP)
    assert time.monotonic() - t < 30 and "no answer from afs-remote" in str(ei.value)
    # Replies that are not afs-remote's: ConnectionError, not KeyError & co.
    monkeypatch.setenv("AFS_REMOTE_COMMAND", fake_remote(remote, (
        "frame(b'H', {'afs-remote': '0.1.0', 'protocol': 1})\n"
        "replies = [{'ok': {'id': 1}}, {'error': 'boom'}, {'ok': 'x'}, {'ok': [1]}]\n"
        "for r in replies:\n"
        "    h = sys.stdin.buffer.read(5); n = struct.unpack('>I', h[1:])[0]\n"
        "    sys.stdin.buffer.read(n)\n"
        "    frame(b'R', r)\n")))
    c = SandboxClient(endpoint=EP)
    with pytest.raises(ConnectionError):
        c.get_sandbox("sb_000000000001")
    with pytest.raises(agentfense.SandboxError):
        c.get_sandbox("sb_000000000001")
    with pytest.raises(ConnectionError):
        c.get_codebase("cb_000000000001")
    with pytest.raises(ConnectionError):
        c.list_sandboxes()
    c.close()


def test_many_directories_upload(remote, tmp_path):
    """More directories than a session's fds (1,024), one deep path."""
    files = {"d%04d/f.txt" % i: "%d\n" % i for i in range(1100)}
    files["/".join("n%d" % i for i in range(100)) + "/deep.txt"] = "deep\n"
    src = write_tree(tmp_path / "src", files)
    with Sandbox.from_local(str(src), endpoint=EP, auto_start=False) as sb:
        assert sb.codebase.file_count == 1101
