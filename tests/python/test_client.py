"""SandboxClient: codebases, sandboxes and sessions, step by step."""
import os

import pytest

from agentfense import (CodebaseNotFoundError, CommandTimeoutError, Permission,
                        PermissionRule, SandboxClient, SandboxNotFoundError,
                        SandboxNotRunningError, SessionNotFoundError)


@pytest.fixture
def client(tmp_path):
    return SandboxClient(endpoint=str(tmp_path / "state"))


def files_under(d):
    out = []
    for root, _, files in os.walk(d):
        out += [os.path.join(root, f) for f in files]
    return out


def test_endpoint_refused():
    for bad in ("localhost:9000", "http://localhost:9000", "grpc://10.0.0.1:50051"):
        with pytest.raises(ValueError):
            SandboxClient(endpoint=bad)


def test_codebase(client):
    cb = client.create_codebase(name="shared-repo", owner_id="team_A")
    assert isinstance(cb.id, str) and cb.id
    assert (cb.name, cb.owner_id) == ("shared-repo", "team_A")
    cb2 = client.create_codebase("other")
    assert cb2.owner_id is None and cb2.name == "other"
    assert cb2.id != cb.id
    client.delete_codebase(cb.id)
    client.delete_codebase(cb2.id)


def test_files(client):
    cb = client.create_codebase("files")
    client.upload_file(cb.id, "main.py", b"print('hi')\n")
    client.upload_file(cb.id, "src/app/util.py", "X = 1\n")
    client.upload_file(cb.id, "/data/blob.bin", b"\x00\xff\x01")
    assert client.download_file(cb.id, "main.py") == b"print('hi')\n"
    assert client.download_file(cb.id, "src/app/util.py") == b"X = 1\n"
    assert client.download_file(cb.id, "data/blob.bin") == b"\x00\xff\x01"
    assert client.list_files(cb.id) == ["data", "main.py", "src"]
    assert client.list_files(cb.id, "/") == ["data", "main.py", "src"]
    assert client.list_files(cb.id, "src", recursive=True) == ["app", "app/util.py"]
    assert client.list_files(cb.id, recursive=True) == [
        "data", "data/blob.bin", "main.py", "src", "src/app", "src/app/util.py"]
    client.upload_file(cb.id, "main.py", b"print('v2')\n")
    assert client.download_file(cb.id, "main.py") == b"print('v2')\n"
    client.delete_codebase(cb.id)


def test_sandbox_lifecycle(client):
    cb = client.create_codebase("life")
    client.upload_file(cb.id, "main.py", b"print('hello')\n")
    sb = client.create_sandbox(cb.id, preset="read-only")
    assert isinstance(sb.id, str) and sb.id
    assert (sb.codebase_id, sb.status) == (cb.id, "pending")
    assert client.get_sandbox(sb.id).status == "pending"
    with pytest.raises(SandboxNotRunningError) as ei:
        client.exec(sb.id, "true")
    assert ei.value.current_status == "pending"

    client.start_sandbox(sb.id)
    assert client.get_sandbox(sb.id).status == "running"
    r = client.exec(sb.id, "cat main.py; pwd")
    assert (r.exit_code, r.stdout, r.command) == (0, "print('hello')\n/workspace\n",
                                                  "cat main.py; pwd")
    r = client.exec(sb.id, command="echo e >&2; exit 3")
    assert (r.exit_code, r.stderr, r.success) == (3, "e\n", False)
    with pytest.raises(CommandTimeoutError):
        client.exec(sb.id, "sleep 30", timeout=1)

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
    cb = client.create_codebase("policy")
    client.upload_file(cb.id, "README.md", "hello\n")
    client.upload_file(cb.id, ".env", "API_KEY=x\n")
    client.upload_file(cb.id, "output/.keep", "")
    sb = client.create_sandbox(cb.id, preset="agent-safe",
                               permissions=[PermissionRule("/README.md", Permission.NONE,
                                                           priority=200)])
    client.start_sandbox(sb.id)
    assert client.exec(sb.id, "ls -A output; LC_ALL=C ls -A").stdout == ".keep\noutput\n"
    assert client.exec(sb.id, "cat .env").exit_code == 1
    sb2 = client.create_sandbox(cb.id)            # view-only by default
    client.start_sandbox(sb2.id)
    r = client.exec(sb2.id, "LC_ALL=C ls -A; cat README.md")
    assert r.stdout == ".env\nREADME.md\noutput\n"
    assert "Permission denied" in r.stderr
    client.destroy_sandbox(sb.id)
    client.destroy_sandbox(sb2.id)
    client.delete_codebase(cb.id)


def test_two_sandboxes_have_their_own_delta(client):
    cb = client.create_codebase("shared")
    client.upload_file(cb.id, "main.py", b"print('hello')\n")
    client.upload_file(cb.id, "output/.keep", b"")
    dev = client.create_sandbox(cb.id, preset="development")
    ro = client.create_sandbox(cb.id, preset="read-only",
                               permissions=[PermissionRule("/output/**", Permission.WRITE)])
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
    assert client.list_files(cb.id, recursive=True) == ["main.py", "output", "output/.keep"]
    assert client.download_file(cb.id, "main.py") == b"print('hello')\n"
    # A sandbox started again starts from the codebase.
    client.destroy_sandbox(dev.id)
    dev2 = client.create_sandbox(cb.id, preset="development")
    client.start_sandbox(dev2.id)
    assert client.exec(dev2.id, "test -e notes.txt").exit_code == 1
    client.destroy_sandbox(dev2.id)
    client.destroy_sandbox(ro.id)
    client.delete_codebase(cb.id)


def test_sessions(client):
    cb = client.create_codebase("sessions")
    client.upload_file(cb.id, "src/a.txt", "a\n")
    sb = client.create_sandbox(cb.id, preset="read-only")
    client.start_sandbox(sb.id)
    s = client.create_session(sb.id, env={"GREETING": "hi"})
    assert isinstance(s.id, str) and s.id
    client.session_exec(s.id, "cd src && export X=1")
    r = client.session_exec(s.id, 'pwd; cat a.txt; echo "$X $GREETING"')
    assert (r.exit_code, r.stdout) == (0, "/workspace/src\na\n1 hi\n")
    with pytest.raises(CommandTimeoutError):
        client.session_exec(s.id, "sleep 30", timeout=1)
    assert client.session_exec(s.id, "pwd").stdout == "/workspace/src\n"
    client.destroy_session(s.id)
    with pytest.raises(SessionNotFoundError):
        client.session_exec(s.id, "pwd")
    client.destroy_sandbox(sb.id)
    client.delete_codebase(cb.id)


def test_session_needs_a_running_sandbox(client):
    cb = client.create_codebase("s")
    sb = client.create_sandbox(cb.id)
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
                 client.destroy_sandbox, client.create_session):
        with pytest.raises(SandboxNotFoundError):
            call("no-such-sandbox")
    with pytest.raises(SandboxNotFoundError):
        client.exec("no-such-sandbox", "true")
    with pytest.raises(SessionNotFoundError):
        client.session_exec("no-such-session", "true")
    with pytest.raises(SessionNotFoundError):
        client.destroy_session("no-such-session")


def test_delete_codebase_removes_its_files(tmp_path, client, leaks):
    cb = client.create_codebase("gone")
    client.upload_file(cb.id, "unique-file-name.txt", b"x")
    sb = client.create_sandbox(cb.id, preset="read-only")
    client.start_sandbox(sb.id)
    assert client.exec(sb.id, "cat unique-file-name.txt").stdout == "x"
    client.destroy_sandbox(sb.id)
    client.delete_codebase(cb.id)
    assert not [f for f in files_under(tmp_path / "state") if "unique-file-name" in f]
    leaks.assert_clean("after destroy_sandbox and delete_codebase")


def test_default_endpoint():
    client = SandboxClient()
    cb = client.create_codebase("default-endpoint", owner_id="me")
    try:
        client.upload_file(cb.id, "a.txt", b"a")
        assert client.download_file(cb.id, "a.txt") == b"a"
        sb = client.create_sandbox(cb.id, preset="read-only")
        client.start_sandbox(sb.id)
        assert client.exec(sb.id, "cat a.txt").stdout == "a"
        client.destroy_sandbox(sb.id)
    finally:
        client.delete_codebase(cb.id)
    with pytest.raises(CodebaseNotFoundError):
        client.list_files(cb.id)
