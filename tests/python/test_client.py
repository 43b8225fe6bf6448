"""SandboxClient: codebases, sandboxes and sessions, step by step."""
import hashlib
import os
from datetime import timedelta

import pytest

from agentfense import (CodebaseNotFoundError, CommandTimeoutError, ConnectionError,
                        FileInfo, Permission, PermissionRule, SandboxClient,
                        SandboxNotFoundError, SandboxNotRunningError, SandboxStatus,
                        SessionNotFoundError, SessionStatus, SessionWrapper, UploadError,
                        get_preset_dicts as P)
import agentfense


@pytest.fixture
def client():
    return SandboxClient(endpoint="localhost:9000")


def paths(infos):
    assert all(isinstance(i, FileInfo) for i in infos)
    return [i.path for i in infos]


def files_under(d):
    out = []
    for root, _, files in os.walk(d):
        out += [os.path.join(root, f) for f in files]
    return out


def test_endpoints():
    # None and a loopback host:port are this machine; secure= is taken.
    for good in (None, "localhost:9000", "127.0.0.1:50051", "[::1]:9000", "localhost:1"):
        assert SandboxClient(endpoint=good, secure=True).endpoint == good
    for bad in ("http://localhost:9000", "grpc://10.0.0.1:50051", "10.0.0.1:9000",
                "example.com:9000", "localhost", "localhost:0", "localhost:99999", "",
                "/var/lib/afs"):
        with pytest.raises(ConnectionError) as ei:
            SandboxClient(endpoint=bad)
        assert ei.value.endpoint == bad
        assert isinstance(ei.value, agentfense.SandboxError)
        assert "loopback host:port" in str(ei.value)
        assert not isinstance(ei.value, ValueError)
    # Sandbox.from_local, from_codebase and connect say the same.
    for make in (lambda: agentfense.Sandbox.from_local(".", endpoint="10.1.2.3:9000"),
                 lambda: agentfense.Sandbox.from_codebase("cb_x", endpoint="remote:9000"),
                 lambda: agentfense.Sandbox.connect("sb_x", endpoint="remote:9000")):
        with pytest.raises(ConnectionError):
            make()


def test_state_dir_is_private(client, tmp_path):
    st = os.stat(client.state_dir)
    assert client.state_dir == str(tmp_path / "afs-client")
    assert (st.st_mode & 0o777, st.st_uid) == (0o700, os.geteuid())


def test_codebase(client):
    cb = client.create_codebase(name="shared-repo", owner_id="team_A")
    assert isinstance(cb.id, str) and cb.id
    assert (cb.name, cb.owner_id) == ("shared-repo", "team_A")
    assert (cb.size, cb.file_count) == (0, 0)
    cb2 = client.create_codebase("other", "team_B")
    assert (cb2.owner_id, cb2.name) == ("team_B", "other")
    assert cb2.id != cb.id
    assert [c.id for c in client.list_codebases()] == sorted([cb.id, cb2.id])
    assert [c.id for c in client.list_codebases(owner_id="team_B")] == [cb2.id]
    client.upload_file(cb.id, "a/b.txt", b"12345")
    got = client.get_codebase(cb.id)
    assert (got.id, got.name, got.owner_id, got.size, got.file_count) == (
        cb.id, "shared-repo", "team_A", 5, 1)
    client.delete_codebase(cb.id)
    client.delete_codebase(cb2.id)


def test_files(client):
    cb = client.create_codebase("files", "me")
    up = client.upload_file(cb.id, "main.py", b"print('hi')\n")
    assert (up.codebase_id, up.file_path, up.size) == (cb.id, "main.py", 12)
    assert up.checksum == hashlib.sha256(b"print('hi')\n").hexdigest()
    client.upload_file(cb.id, "src/app/util.py", "X = 1\n")
    client.upload_file(cb.id, "/data/blob.bin", b"\x00\xff\x01")
    assert client.download_file(cb.id, "main.py") == b"print('hi')\n"
    assert client.download_file(cb.id, "src/app/util.py") == b"X = 1\n"
    assert client.download_file(cb.id, "data/blob.bin") == b"\x00\xff\x01"
    assert paths(client.list_files(cb.id)) == ["data", "main.py", "src"]
    assert paths(client.list_files(cb.id, "/")) == ["data", "main.py", "src"]
    assert paths(client.list_files(cb.id, "src", recursive=True)) == ["src/app",
                                                                      "src/app/util.py"]
    assert paths(client.list_files(cb.id, recursive=True)) == [
        "data", "data/blob.bin", "main.py", "src", "src/app", "src/app/util.py"]
    blob = [i for i in client.list_files(cb.id, "data")][0]
    assert (blob.path, blob.name, blob.is_dir, blob.size) == ("data/blob.bin", "blob.bin",
                                                              False, 3)
    assert blob.modified_at is not None
    d = client.list_files(cb.id)[0]
    assert (d.name, d.is_dir) == ("data", True)
    with pytest.raises(agentfense.FileNotFoundError) as ei:
        client.download_file(cb.id, "nope.txt")
    assert (ei.value.codebase_id, ei.value.file_path) == (cb.id, "nope.txt")
    client.upload_file(cb.id, "main.py", b"print('v2')\n")
    assert client.download_file(cb.id, "main.py") == b"print('v2')\n"
    client.delete_codebase(cb.id)


def test_sandbox_lifecycle(client):
    cb = client.create_codebase("life", "me")
    client.upload_file(cb.id, "main.py", b"print('hello')\n")
    sb = client.create_sandbox(cb.id, permissions=P("read-only"))
    assert isinstance(sb.id, str) and sb.id
    assert (sb.codebase_id, sb.status) == (cb.id, SandboxStatus.PENDING)
    assert [r.to_dict() for r in sb.permissions] == [
        {"pattern": "**/*", "type": "glob", "permission": "read", "priority": 0}]
    assert sb.created_at is not None and sb.started_at is None
    assert client.get_sandbox(sb.id).status == "pending"
    with pytest.raises(SandboxNotRunningError) as ei:
        client.exec(sb.id, "true")
    assert ei.value.current_status == "pending"

    started = client.start_sandbox(sb.id)
    assert started.status == "running" and started.started_at is not None
    assert client.get_sandbox(sb.id).status == "running"
    assert [x.id for x in client.list_sandboxes()] == [sb.id]
    assert [x.id for x in client.list_sandboxes(codebase_id=cb.id)] == [sb.id]
    assert client.list_sandboxes(codebase_id="cb_000000000000") == []
    r = client.exec(sb.id, "cat main.py; pwd")
    assert (r.exit_code, r.stdout, r.command) == (0, "print('hello')\n/workspace\n",
                                                  "cat main.py; pwd")
    r = client.exec(sb.id, command="echo e >&2; exit 3")
    assert (r.exit_code, r.stderr, r.success) == (3, "e\n", False)
    with pytest.raises(CommandTimeoutError):
        client.exec(sb.id, "sleep 30", timeout=timedelta(seconds=1))

    client.stop_sandbox(sb.id)
    assert client.get_sandbox(sb.id).status == "stopped"
    with pytest.raises(SandboxNotRunningError) as ei:
        client.exec(sb.id, "true")
    assert ei.value.current_status == "stopped"

    client.destroy_sandbox(sb.id)
    with pytest.raises(SandboxNotFoundError):
        client.get_sandbox(sb.id)
    with pytest.raises(SandboxNotFoundError):
        client.exec(sb.id, "true")
    client.delete_codebase(cb.id)
    with pytest.raises(CodebaseNotFoundError):
        client.download_file(cb.id, "main.py")
    with pytest.raises(CodebaseNotFoundError):
        client.list_files(cb.id)


def test_the_preset_and_rules_apply(client):
    cb = client.create_codebase("policy", "me")
    client.upload_file(cb.id, "README.md", "hello\n")
    client.upload_file(cb.id, ".env", "API_KEY=x\n")
    client.upload_file(cb.id, "output/.keep", "")
    sb = client.create_sandbox(cb.id, permissions=P("agent-safe") + [
        PermissionRule("/README.md", Permission.NONE, priority=200)])
    client.start_sandbox(sb.id)
    assert client.exec(sb.id, "ls -A output; LC_ALL=C ls -A").stdout == ".keep\noutput\n"
    assert client.exec(sb.id, "cat .env").exit_code == 1
    sb2 = client.create_sandbox(cb.id, permissions=P("view-only"))
    client.start_sandbox(sb2.id)
    r = client.exec(sb2.id, "LC_ALL=C ls -A; cat README.md")
    assert r.stdout == ".env\nREADME.md\noutput\n"
    assert "Permission denied" in r.stderr
    client.destroy_sandbox(sb.id)
    client.destroy_sandbox(sb2.id)
    client.delete_codebase(cb.id)


def test_two_sandboxes_have_their_own_delta(client):
    cb = client.create_codebase("shared", "me")
    client.upload_file(cb.id, "main.py", b"print('hello')\n")
    client.upload_file(cb.id, "output/.keep", b"")
    dev = client.create_sandbox(cb.id, permissions=P("development"))
    ro = client.create_sandbox(cb.id, permissions=P("read-only") + [
        PermissionRule("/output/**", Permission.WRITE)])
    client.start_sandbox(dev.id)
    client.start_sandbox(ro.id)
    assert client.exec(dev.id, "echo dev > notes.txt && echo d > output/o.txt").exit_code == 0
    assert client.exec(dev.id, "cat notes.txt output/o.txt").stdout == "dev\nd\n"
    # Not in the other sandbox...
    assert client.exec(ro.id, "test -e notes.txt || test -e output/o.txt").exit_code == 1
    assert client.exec(ro.id, "echo ro > notes.txt").exit_code != 0
    assert client.exec(ro.id, "echo r > output/o.txt && cat output/o.txt").stdout == "r\n"
    assert client.exec(dev.id, "cat output/o.txt").stdout == "d\n"
    # ... nor in the codebase.
    assert paths(client.list_files(cb.id, recursive=True)) == ["main.py", "output",
                                                               "output/.keep"]
    assert client.download_file(cb.id, "main.py") == b"print('hello')\n"
    # A sandbox started again starts from the codebase.
    client.destroy_sandbox(dev.id)
    dev2 = client.create_sandbox(cb.id, permissions=P("development"))
    client.start_sandbox(dev2.id)
    assert client.exec(dev2.id, "test -e notes.txt").exit_code == 1
    client.destroy_sandbox(dev2.id)
    client.destroy_sandbox(ro.id)
    client.delete_codebase(cb.id)


def test_sessions(client):
    cb = client.create_codebase("sessions", "me")
    client.upload_file(cb.id, "src/a.txt", "a\n")
    sb = client.create_sandbox(cb.id, permissions=P("read-only"))
    client.start_sandbox(sb.id)
    s = client.create_session(sb.id, env={"GREETING": "hi"})
    assert isinstance(s, SessionWrapper)
    assert (s.sandbox_id, s.status, s.shell) == (sb.id, SessionStatus.ACTIVE, "/bin/sh")
    got = client.get_session(s.id)
    assert (got.id, got.sandbox_id, got.status, got.shell) == (s.id, sb.id,
                                                               SessionStatus.ACTIVE, "/bin/sh")
    assert [x.id for x in client.list_sessions(sb.id)] == [s.id]
    client.session_exec(s.id, "cd src && export X=1")
    r = client.session_exec(s.id, 'pwd; cat a.txt; echo "$X $GREETING"')
    assert (r.exit_code, r.stdout) == (0, "/workspace/src\na\n1 hi\n")
    with pytest.raises(CommandTimeoutError):
        client.session_exec(s.id, "sleep 30", timeout=timedelta(seconds=1))
    assert client.session_exec(s.id, "pwd").stdout == "/workspace/src\n"
    assert s.exec("echo wrapped").stdout == "wrapped\n"
    client.destroy_session(s.id)
    with pytest.raises(SessionNotFoundError):
        client.session_exec(s.id, "pwd")
    with pytest.raises(SessionNotFoundError):
        client.get_session(s.id)
    assert client.list_sessions(sb.id) == []
    with client.session(sb.id, shell="/bin/sh") as s2:
        assert s2.exec("echo alias").stdout == "alias\n"
    assert client.list_sessions(sb.id) == []
    client.destroy_sandbox(sb.id)
    client.delete_codebase(cb.id)


def test_session_needs_a_running_sandbox(client):
    cb = client.create_codebase("s", "me")
    sb = client.create_sandbox(cb.id, permissions=P("view-only"))
    with pytest.raises(SandboxNotRunningError) as ei:
        client.create_session(sb.id)
    assert ei.value.current_status == "pending"
    client.destroy_sandbox(sb.id)
    client.delete_codebase(cb.id)


def test_unknown_ids(client):
    with pytest.raises(CodebaseNotFoundError):
        client.create_sandbox("no-such-codebase")
    with pytest.raises(CodebaseNotFoundError):
        client.upload_file("no-such-codebase", "a", b"a")
    with pytest.raises(CodebaseNotFoundError):
        client.download_file("no-such-codebase", "a")
    with pytest.raises(CodebaseNotFoundError):
        client.delete_codebase("no-such-codebase")
    for call in (client.get_sandbox, client.start_sandbox, client.stop_sandbox,
                 client.destroy_sandbox, client.create_session, client.list_sessions):
        with pytest.raises(SandboxNotFoundError):
            call("no-such-sandbox")
    with pytest.raises(SandboxNotFoundError):
        client.exec("no-such-sandbox", "true")
    with pytest.raises(SessionNotFoundError):
        client.session_exec("no-such-session", "true")
    with pytest.raises(SessionNotFoundError):
        client.destroy_session("no-such-session")
    with pytest.raises(SessionNotFoundError):
        client.get_session("ss_000000000000")
    with pytest.raises(CodebaseNotFoundError):
        client.get_codebase("cb_000000000000")


def test_delete_codebase_removes_its_files(tmp_path, client, leaks):
    cb = client.create_codebase("gone", "me")
    client.upload_file(cb.id, "unique-file-name.txt", b"x")
    sb = client.create_sandbox(cb.id, permissions=P("read-only"))
    client.start_sandbox(sb.id)
    assert client.exec(sb.id, "cat unique-file-name.txt").stdout == "x"
    client.destroy_sandbox(sb.id)
    client.delete_codebase(cb.id)
    assert not [f for f in files_under(tmp_path / "afs-client") if "unique-file-name" in f]
    leaks.assert_clean("after destroy_sandbox and delete_codebase")


def test_default_endpoint():
    client = SandboxClient()
    cb = client.create_codebase("default-endpoint", owner_id="me")
    try:
        client.upload_file(cb.id, "a.txt", b"a")
        assert client.download_file(cb.id, "a.txt") == b"a"
        sb = client.create_sandbox(cb.id, permissions=P("read-only"))
        client.start_sandbox(sb.id)
        assert client.exec(sb.id, "cat a.txt").stdout == "a"
        client.destroy_sandbox(sb.id)
    finally:
        client.delete_codebase(cb.id)
    with pytest.raises(CodebaseNotFoundError):
        client.list_files(cb.id)
