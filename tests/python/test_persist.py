"""Sandboxes that outlive their process: made and started through the
client (or from_codebase without a with), found by id from another
process, `error` once their mount died, gone after destroy.  Each test
destroys what it made, even when it fails (the `made` fixture)."""
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

import agentfense
from agentfense import (Sandbox, SandboxClient, SandboxNotRunningError, SandboxStatus,
                        SessionStatus, get_preset_dicts)

from conftest import PKG_DIR, afs_mounts, write_tree


@pytest.fixture
def made():
    """Record ids here; whatever is left of them is destroyed at the end."""
    ids = {"sandboxes": [], "codebases": []}
    yield ids
    client = SandboxClient()
    for sid in ids["sandboxes"]:
        try:
            client.destroy_sandbox(sid)
        except agentfense.SandboxNotFoundError:
            pass
    for cid in ids["codebases"]:
        try:
            client.delete_codebase(cid)
        except agentfense.CodebaseNotFoundError:
            pass


def python(code):
    """Run CODE in another Python process (the same client state dir);
    its stdout, stripped."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PKG_DIR)
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def codebase(client, made, files):
    cb = client.create_codebase("persist", "me")
    made["codebases"].append(cb.id)
    for path, content in files.items():
        client.upload_file(cb.id, path, content)
    return cb


def test_a_sandbox_outlives_its_process(tmp_path, made):
    client = SandboxClient()
    cb = codebase(client, made, {"README.md": b"hello\n", "output/.keep": b""})
    out = python('''
        from agentfense import Sandbox
        sb = Sandbox.from_codebase(%r, preset="agent-safe")   # no with: it stays
        sb.run("echo kept > output/k.txt", raise_on_error=True)
        s = sb.session()
        s.exec("cd output && export V=42")
        print(sb.id, s.id)
    ''' % cb.id)
    sid, ssid = out.split()
    made["sandboxes"].append(sid)
    # The process is gone; its sandbox, mount and session are not.
    assert [s.id for s in client.list_sandboxes()] == [sid]
    assert [s.id for s in client.list_sandboxes(codebase_id=cb.id)] == [sid]
    info = client.get_sandbox(sid)
    assert (info.status, info.codebase_id) == (SandboxStatus.RUNNING, cb.id)
    assert [(s.id, s.status) for s in client.list_sessions(sid)] == [
        (ssid, SessionStatus.ACTIVE)]
    assert client.session_exec(ssid, 'pwd; echo "$V"').stdout == "/workspace/output\n42\n"
    sb = Sandbox.connect(sid)
    assert (sb.id, sb.codebase_id, sb.status) == (sid, cb.id, SandboxStatus.RUNNING)
    assert (sb._owns_client, sb._owns_codebase) == (True, False)
    assert sb.run("cat output/k.txt README.md").stdout == "kept\nhello\n"
    assert sb.read_file("output/k.txt") == "kept\n"
    # And another process finds it too, and destroys it.
    assert python('''
        from agentfense import Sandbox, SandboxClient
        sb = Sandbox.connect(%r)
        print(sb.status.value, sb.run("cat output/k.txt").stdout.strip())
        sb.destroy()
        print(len(SandboxClient().list_sandboxes()))
    ''' % sid) == "running kept\n0"
    with pytest.raises(agentfense.SandboxNotFoundError):
        client.get_sandbox(sid)
    assert not [m for m in afs_mounts() if "afs:" + sid in m]
    # The codebase was not the sandbox's to delete.
    assert client.get_codebase(cb.id).file_count == 2


def test_a_dead_mount_is_an_error_never_a_hang(made):
    client = SandboxClient()
    cb = codebase(client, made, {"a.txt": b"a"})
    sb = client.create_sandbox(cb.id, permissions=get_preset_dicts("read-only"))
    made["sandboxes"].append(sb.id)
    client.start_sandbox(sb.id)
    assert client.exec(sb.id, "cat a.txt").stdout == "a"
    rec = json.load(open(os.path.join(client.state_dir, "sandboxes", sb.id, "sandbox.json")))
    os.kill(rec["fuse_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while client.get_sandbox(sb.id).status != SandboxStatus.ERROR:
        assert time.monotonic() < deadline, "still running after afs-fuse was killed"
        time.sleep(0.05)
    t0 = time.monotonic()
    assert client.get_sandbox(sb.id).status == SandboxStatus.ERROR
    assert [s.status for s in client.list_sandboxes()] == [SandboxStatus.ERROR]
    with pytest.raises(SandboxNotRunningError) as ei:
        client.exec(sb.id, "true")
    assert (ei.value.sandbox_id, ei.value.current_status) == (sb.id, "error")
    assert time.monotonic() - t0 < 5
    # start again from the error: a new mount.
    assert client.start_sandbox(sb.id).status == SandboxStatus.RUNNING
    assert client.exec(sb.id, "cat a.txt").stdout == "a"
    client.destroy_sandbox(sb.id)


def test_stop_and_start_keep_the_delta(made):
    client = SandboxClient()
    cb = codebase(client, made, {"a.txt": b"a"})
    sb = client.create_sandbox(cb.id, permissions=get_preset_dicts("full-access"),
                               labels={"team": "x"})
    made["sandboxes"].append(sb.id)
    assert client.start_sandbox(sb.id).status == SandboxStatus.RUNNING
    assert client.exec(sb.id, "echo b > b.txt").exit_code == 0
    s = client.create_session(sb.id)
    stopped = client.stop_sandbox(sb.id)
    assert (stopped.status, stopped.labels) == (SandboxStatus.STOPPED, {"team": "x"})
    assert stopped.stopped_at is not None
    assert not [m for m in afs_mounts() if "afs:" + sb.id in m]
    assert client.list_sessions(sb.id) == []                  # stop ended it
    with pytest.raises(agentfense.SessionNotFoundError):
        s.exec("true")
    s.close()                                  # already ended: closing is no error
    assert s.status == SessionStatus.CLOSED
    # The delta stays with the sandbox until destroy.
    assert client.start_sandbox(sb.id).status == SandboxStatus.RUNNING
    assert client.exec(sb.id, "cat a.txt b.txt").stdout == "ab\n"
    assert client.download_file(cb.id, "a.txt") == b"a"
    with pytest.raises(agentfense.FileNotFoundError):
        client.download_file(cb.id, "b.txt")
    client.destroy_sandbox(sb.id)


def test_state_is_private_and_records_are_json(made):
    client = SandboxClient()
    cb = codebase(client, made, {"a.txt": b"a"})
    sb = client.create_sandbox(cb.id, permissions=get_preset_dicts("read-only"))
    made["sandboxes"].append(sb.id)
    client.start_sandbox(sb.id)
    st = os.stat(client.state_dir)
    assert stat.S_IMODE(st.st_mode) == 0o700
    d = os.path.join(client.state_dir, "sandboxes", sb.id)
    rec = json.load(open(os.path.join(d, "sandbox.json")))
    assert (rec["id"], rec["codebase_id"], rec["status"]) == (sb.id, cb.id, "running")
    assert stat.S_IMODE(os.stat(os.path.join(d, "sandbox.json")).st_mode) == 0o600
    # The mount point is outside the 0700 state dir, in a 0711 dir of its own.
    assert not rec["mnt"].startswith(client.state_dir)
    assert stat.S_IMODE(os.stat(os.path.dirname(rec["mnt"])).st_mode) == 0o711
    assert any(m.split()[1] == rec["mnt"] for m in afs_mounts())
    client.destroy_sandbox(sb.id)
    assert not os.path.exists(d)
    assert not os.path.exists(os.path.dirname(rec["mnt"]))
