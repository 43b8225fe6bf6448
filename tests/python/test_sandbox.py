"""Sandbox (bwrap): runs, results, errors, the policy, the files API, the
delta, sessions and the state after the `with` block."""
import os
import time
from datetime import timedelta

import pytest

import agentfense
from agentfense import (CommandExecutionError, CommandTimeoutError, PatternType, Permission,
                        PermissionDeniedError, PermissionRule, Sandbox, SandboxError,
                        SandboxNotRunningError, SessionNotFoundError, register_preset)

from conftest import (PROJECT_HIDDEN, PROJECT_VISIBLE_ALL, PROJECT_VISIBLE_TOP, tree_state,
                      write_tree)


# ---- run and its result ----------------------------------------------------------------
def test_run_result(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("echo hello")
    assert (r.exit_code, r.stdout, r.stderr, r.command) == (0, "hello\n", "", "echo hello")
    assert r.success is True
    assert r.output == "hello\n"
    assert isinstance(r.duration, timedelta) and 0 < r.duration.total_seconds() < 30


def test_run_exit_code_and_streams(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("echo out; echo err >&2; exit 3")
    assert (r.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert r.success is False
    assert r.output == "out\n\nerr\n"        # the reference's: joined with "\n"
    with pytest.raises(CommandExecutionError) as ei:
        r.raise_on_error()
    assert (ei.value.exit_code, ei.value.stderr) == (3, "err\n")


def test_run_is_sh_c(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run('a=20; b=$((a + 1)); printf "%s|%s\\n" "$b" "$0" | tr "|" " "')
    assert r.stdout.split()[0] == "21"
    assert os.path.basename(r.stdout.split()[1]) == "sh"


def test_exec_is_run(project):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        r = sandbox.exec("cat README.md")
    assert (r.exit_code, r.stdout, r.command) == (0, "hello\n", "cat README.md")


def test_stdout_is_decoded_with_replacement(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("printf 'caf\\303\\251 \\377\\n'; printf '\\342\\234\\223' >&2")
    assert isinstance(r.stdout, str) and isinstance(r.stderr, str)
    assert r.stdout == "caf\u00e9 \ufffd\n"
    assert r.stderr == "\u2713"


def test_runs_in_workspace(project):
    with Sandbox.from_local(str(project)) as sandbox:
        assert sandbox.run("pwd").stdout == "/workspace\n"


def test_not_root(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("id -u; id -g")
    uid, gid = r.stdout.split()
    assert uid != "0" and gid != "0"


def test_no_network(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert r.stdout == "lo\n"


def test_host_environment_not_passed(project, monkeypatch):
    monkeypatch.setenv("AFS_PYTEST_SECRET", "s3cr3t-value")
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("env")
    assert "s3cr3t-value" not in r.stdout
    assert "AFS_PYTEST_SECRET" not in r.stdout


def test_env(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run('echo "$RUN_VAR $BOTH"', env={"RUN_VAR": "from run", "BOTH": "run"})
        assert r.stdout == "from run run\n"
        r = sandbox.exec('echo "$RUN_VAR"', env={"RUN_VAR": "from exec"})
        assert r.stdout == "from exec\n"
        # A run's env is its own.
        assert sandbox.run('echo "${RUN_VAR-unset}"').stdout == "unset\n"
        # afs's own: sandbox.env, under every call's env.
        sandbox.env.update({"SB_VAR": "sb", "BOTH": "sb"})
        r = sandbox.run('echo "$SB_VAR $BOTH"', env={"BOTH": "run"})
        assert r.stdout == "sb run\n"
        assert sandbox.exec('echo "$SB_VAR"').stdout == "sb\n"
        assert b"".join(sandbox.exec_stream('echo "$SB_VAR"')) == b"sb\n"
        with sandbox.session(env={"S": "s"}) as s:
            assert s.exec('echo "$SB_VAR$S"').stdout == "sbs\n"


def test_workdir(project):
    with Sandbox.from_local(str(project)) as sandbox:
        assert sandbox.run("pwd", workdir="src/app").stdout == "/workspace/src/app\n"
        assert sandbox.run("pwd", workdir="/workspace/docs").stdout == "/workspace/docs\n"
        assert sandbox.run("pwd").stdout == "/workspace\n"


# ---- timeouts and errors -----------------------------------------------------------------
def test_timeout(project):
    with Sandbox.from_local(str(project)) as sandbox:
        t0 = time.monotonic()
        with pytest.raises(CommandTimeoutError) as ei:
            sandbox.run("sleep 30", timeout=1)
        assert time.monotonic() - t0 < 10
        assert (ei.value.command, ei.value.timeout_seconds) == ("sleep 30", 1)
        assert isinstance(ei.value, SandboxError)
        # The sandbox goes on.
        assert sandbox.run("echo after").stdout == "after\n"


def test_timeout_not_reached(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("sleep 0.2; echo done", timeout=20)
    assert (r.exit_code, r.stdout) == (0, "done\n")


def test_raise_on_error(project):
    with Sandbox.from_local(str(project)) as sandbox:
        with pytest.raises(CommandExecutionError) as ei:
            sandbox.run("echo partial; echo oops >&2; exit 4", raise_on_error=True)
        e = ei.value
        assert (e.command, e.exit_code, e.stdout, e.stderr) == (
            "echo partial; echo oops >&2; exit 4", 4, "partial\n", "oops\n")
        assert not isinstance(e, PermissionDeniedError)
        r = sandbox.run("echo fine", raise_on_error=True)
        assert (r.exit_code, r.stdout) == (0, "fine\n")
        # Without raise_on_error, no exception.
        assert sandbox.run("exit 5").exit_code == 5


def test_command_not_found(project):
    with Sandbox.from_local(str(project)) as sandbox:
        r = sandbox.run("no-such-command-xyz")
        assert r.exit_code == 127
        with pytest.raises(CommandExecutionError) as ei:
            sandbox.run("no-such-command-xyz", raise_on_error=True)
        assert ei.value.exit_code == 127


def test_permission_denied_write(project):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        r = sandbox.run("echo x > README.md")
        assert r.exit_code != 0 and "Permission denied" in r.stderr
        with pytest.raises(PermissionDeniedError) as ei:
            sandbox.run("echo x > README.md", raise_on_error=True)
        e = ei.value
        assert e.path == "README.md"
        assert e.command == "echo x > README.md"
        assert e.exit_code == r.exit_code
        assert "Permission denied" in e.stderr
        assert isinstance(e, SandboxError)
    assert project.joinpath("README.md").read_text() == "hello\n"


def test_permission_denied_is_both(project):
    # Both the reference's `except CommandExecutionError` and afs's `except
    # PermissionDeniedError` take a command that a denied path made fail.
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        for first in (CommandExecutionError, PermissionDeniedError):
            try:
                sandbox.run("touch src/new.py", raise_on_error=True)
            except first as e:
                assert isinstance(e, CommandExecutionError)
                assert isinstance(e, PermissionDeniedError)
                assert (e.path, e.operation, e.exit_code, e.command) == (
                    "src/new.py", "exec", 1, "touch src/new.py")
                assert "Permission denied" in e.stderr
            else:
                pytest.fail("no exception")


def test_permission_denied_read(project):
    with Sandbox.from_local(str(project)) as sandbox:      # view-only
        with pytest.raises(PermissionDeniedError) as ei:
            sandbox.run("cat docs/guide.md", raise_on_error=True)
    assert ei.value.path == "docs/guide.md"
    assert ei.value.exit_code == 1


# ---- the policy ----------------------------------------------------------------------------
def test_hidden_files_absent(project):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        r = sandbox.run("LC_ALL=C ls -A")
        assert r.stdout.split() == PROJECT_VISIBLE_TOP
        r = sandbox.run("cat .env")
        assert r.exit_code == 1
        assert "No such file or directory" in r.stderr
        for p in PROJECT_HIDDEN:
            assert sandbox.run("test -e %s" % p).exit_code == 1, p
        r = sandbox.run("cat secrets/db-password.txt", raise_on_error=False)
        assert "hunter2" not in r.output


def test_view_only_lists_but_does_not_read(project):
    with Sandbox.from_local(str(project)) as sandbox:
        assert sandbox.run("test -e .env.local && test -e secrets/db-password.txt").exit_code == 0
        # .env is a default ignore of from_local: not in the codebase at all.
        assert sandbox.run("test -e .env").exit_code == 1
        r = sandbox.run("cat README.md")
        assert (r.exit_code, r.stdout) == (1, "")
        assert "Permission denied" in r.stderr


def test_read_only(project):
    with Sandbox.from_local(str(project), preset="read-only") as sandbox:
        assert sandbox.run("cat .env.local").stdout == "API_KEY=local\n"
        r = sandbox.run("echo x > output/x")
        assert r.exit_code != 0 and "Permission denied" in r.stderr


def test_development_and_full_access(project):
    with Sandbox.from_local(str(project), preset="development") as sandbox:
        assert sandbox.run("echo new > README.md && cat README.md").stdout == "new\n"
        assert sandbox.run("test -e .env.local").exit_code == 1
    with Sandbox.from_local(str(project), preset="full-access") as sandbox:
        assert sandbox.run("cat .env.local && echo k > deploy.key && cat deploy.key").stdout == \
            "API_KEY=local\nk\n"
    assert project.joinpath("README.md").read_text() == "hello\n"
    assert project.joinpath("deploy.key").read_text() == "-----BEGIN KEY-----\n"


def test_rules_extend_the_preset(project):
    rules = [PermissionRule("/docs/**", Permission.WRITE),
             PermissionRule("/src/app/util.py", Permission.NONE, type=PatternType.FILE)]
    with Sandbox.from_local(str(project), preset="agent-safe", permissions=rules) as sandbox:
        assert sandbox.run("echo more >> docs/guide.md && cat docs/guide.md").stdout == \
            "guide\nmore\n"
        assert sandbox.run("ls src/app").stdout == "main.py\n"
        # The preset's own rules still hold.
        assert sandbox.run("test -e .env").exit_code == 1
        assert sandbox.run("echo x > README.md").exit_code != 0


def test_user_rules_win_ties(project):
    # agent-safe gives ** read at priority 0 and **/.env* none at 100: rules
    # of the same priority and kind given by the user win over them.
    rules = [PermissionRule("**/*", Permission.WRITE),
             PermissionRule("**/.env*", Permission.READ, priority=100)]
    with Sandbox.from_local(str(project), preset="agent-safe", permissions=rules) as sandbox:
        assert sandbox.run("cat .env.local").stdout == "API_KEY=local\n"
        assert sandbox.run("echo changed > README.md && cat README.md").stdout == "changed\n"
        # Not tied: secrets (priority 100) stay hidden.
        assert sandbox.run("test -e secrets").exit_code == 1
    assert project.joinpath("README.md").read_text() == "hello\n"


def test_pattern_types(project):
    rules = [PermissionRule("/docs", Permission.NONE, type=PatternType.DIRECTORY),
             PermissionRule("/README.md", Permission.NONE, type=PatternType.FILE),
             PermissionRule(r"^/src/app/.*\.py$", Permission.VIEW, type=PatternType.REGEX),
             PermissionRule("/src/app/util.py", Permission.READ, type=PatternType.FILE,
                            priority=1)]
    with Sandbox.from_local(str(project), preset="read-only", permissions=rules) as sandbox:
        assert sandbox.run("LC_ALL=C ls").stdout.split() == [
            "cert.pem", "credentials.json", "deploy.key", "output", "secrets", "src"]
        assert sandbox.run("cat src/app/main.py").exit_code == 1
        assert sandbox.run("ls src/app").stdout.split() == ["main.py", "util.py"]
        assert sandbox.run("cat src/app/util.py").stdout == "X = 1\n"


def test_priority(project):
    rules = [PermissionRule("/src/app/*", Permission.NONE, priority=5),
             PermissionRule("/src/app/main.py", Permission.READ, priority=10)]
    with Sandbox.from_local(str(project), preset="read-only", permissions=rules) as sandbox:
        assert sandbox.run("cat src/app/main.py").stdout == "print('main')\n"
        assert sandbox.run("test -e src/app/util.py").exit_code == 1


def test_registered_preset(project):
    register_preset("mine", [PermissionRule("**", Permission.READ),
                             PermissionRule("/docs/**", Permission.NONE, priority=10)])
    with Sandbox.from_local(str(project), preset="mine") as sandbox:
        assert sandbox.run("cat README.md").stdout == "hello\n"
        assert sandbox.run("test -e docs").exit_code == 1
        assert sandbox.run("touch output/x").exit_code != 0


# ---- the delta ------------------------------------------------------------------------------
def test_the_codebase_is_never_modified(project):
    before = tree_state(project)
    with Sandbox.from_local(str(project), preset="full-access") as sandbox:
        r = sandbox.run("echo changed > README.md && rm docs/guide.md && mkdir new && "
                        "echo n > new/f && mv src/app/util.py "
                        "src/app/u.py && rm .env.local")
        assert r.exit_code == 0, r.output
        # ... and each later run sees the changes.
        r = sandbox.run("cat README.md new/f; ls docs | wc -l; ls src/app; "
                        "test -e .env.local; echo $?")
        assert r.stdout == "changed\nn\n0\nmain.py\nu.py\n1\n"
        assert tree_state(project) == before
    assert tree_state(project) == before


def test_writes_persist_between_runs(project):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        assert sandbox.run("echo r > output/r.txt").exit_code == 0
        assert sandbox.run("cat output/r.txt").stdout == "r\n"
        assert sandbox.read_file("output/r.txt") == "r\n"
    assert os.listdir(project / "output") == []
    # The delta went with the sandbox: the next one starts from the codebase.
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        assert sandbox.run("ls output").stdout == ""
        assert sandbox.list_files("output") == []


def test_each_sandbox_has_its_own_delta(project):
    with Sandbox.from_local(str(project), preset="agent-safe") as a, \
            Sandbox.from_local(str(project), preset="agent-safe") as b:
        a.run("echo a > output/f")
        assert b.run("cat output/f").exit_code == 1
        b.run("echo b > output/f")
        assert a.run("cat output/f").stdout == "a\n"
        assert b.run("cat output/f").stdout == "b\n"
    assert os.listdir(project / "output") == []


# ---- files, for the trusted caller (the policy does not apply) ---------------------------
def test_read_file(project):
    # The trusted caller's reads: the policy does not apply to them (as in
    # the reference); /workspace/x, /x and x are one path.
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        assert sandbox.read_file("README.md") == "hello\n"
        assert sandbox.read_file("/src/app/main.py") == "print('main')\n"
        assert sandbox.read_file("/workspace/src/app/main.py") == "print('main')\n"
        assert sandbox.read_file_bytes("src/app/util.py") == b"X = 1\n"
        assert sandbox.read_file("secrets/db-password.txt") == "hunter2\n"
        assert sandbox.read_file("deploy.key") == "-----BEGIN KEY-----\n"
        # Not in the codebase: .env (a default ignore), and a missing file.
        for p in (".env", "no-such-file", "/workspace/src/nope"):
            with pytest.raises(agentfense.FileNotFoundError) as ei:
                sandbox.read_file(p)
            assert ei.value.codebase_id == sandbox.codebase_id
            assert ei.value.file_path == p.replace("/workspace/", "")
        # .. stops at the root, as in a path of the mount.
        assert sandbox.read_file("../README.md") == "hello\n"


def test_read_file_decodes_with_replacement(tmp_path):
    root = write_tree(tmp_path / "p", {"bin.dat": b"ok\xff\n"})
    with Sandbox.from_local(str(root), preset="read-only") as sandbox:
        assert sandbox.read_file("bin.dat") == "ok\ufffd\n"
        assert sandbox.read_file_bytes("bin.dat") == b"ok\xff\n"


def test_read_file_ignores_the_policy(project):
    with Sandbox.from_local(str(project)) as sandbox:       # view-only
        assert sandbox.run("cat README.md").exit_code == 1
        assert sandbox.read_file("README.md") == "hello\n"


def test_write_file(project):
    before = tree_state(project)
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        sandbox.write_file("output/new.txt", "data\n")
        sandbox.write_file("/output/bin.dat", b"\x00\x01\xfe")
        assert sandbox.run("cat output/new.txt").stdout == "data\n"
        assert sandbox.read_file("output/new.txt") == "data\n"
        assert sandbox.read_file_bytes("output/bin.dat") == b"\x00\x01\xfe"
        assert sandbox.run("wc -c < output/bin.dat").stdout.strip() == "3"
        # The caller may write where the sandbox may not; into the delta.
        sandbox.write_file("README.md", "overwritten\n")
        sandbox.write_file("/workspace/src/new/deep.py", "x = 1\n")
        assert sandbox.read_file("README.md") == "overwritten\n"
        assert sandbox.run("cat README.md src/new/deep.py").stdout == "overwritten\nx = 1\n"
        # A file the sandbox deleted comes back when the caller writes it.
        assert sandbox.run("rm output/new.txt").exit_code == 0
        with pytest.raises(agentfense.FileNotFoundError):
            sandbox.read_file("output/new.txt")
        sandbox.write_file("output/new.txt", "again\n")
        assert sandbox.run("cat output/new.txt").stdout == "again\n"
        assert tree_state(project) == before
    assert tree_state(project) == before


def test_list_files(project):
    every_top = sorted(PROJECT_VISIBLE_TOP + [".env.local", "cert.pem", "credentials.json",
                                              "deploy.key", "secrets"])
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        # Paths from the codebase's root, the policy not applying; .env is
        # not in the codebase.
        assert sandbox.list_files() == every_top
        assert sandbox.list_files("/") == every_top
        assert sandbox.list_files("/workspace") == every_top
        assert sandbox.list_files("/", recursive=True) == sorted(
            PROJECT_VISIBLE_ALL + [".env.local", "cert.pem", "credentials.json", "deploy.key",
                                   "secrets", "secrets/db-password.txt"])
        assert sandbox.list_files("src") == ["src/app"]
        assert sandbox.list_files("/src", recursive=True) == ["src/app", "src/app/main.py",
                                                              "src/app/util.py"]
        assert sandbox.list_files("/workspace/src/app") == ["src/app/main.py",
                                                            "src/app/util.py"]
        assert sandbox.list_files("secrets") == ["secrets/db-password.txt"]
        with pytest.raises(agentfense.FileNotFoundError):
            sandbox.list_files("no-such-dir")
        # Writes and deletions show in the listing.
        sandbox.write_file("output/a.txt", "a")
        sandbox.write_file("output/gone.txt", "g")
        r = sandbox.run("mkdir output/d && echo b > output/d/b.txt && rm output/gone.txt")
        assert r.exit_code == 0, r.output
        assert sandbox.list_files("output", recursive=True) == [
            "output/a.txt", "output/d", "output/d/b.txt"]
    with Sandbox.from_local(str(project), preset="full-access") as sandbox:
        r = sandbox.run("rm docs/guide.md && rm -r src && mkdir src && echo n > src/n")
        assert r.exit_code == 0, r.output
        assert sandbox.list_files("docs") == []
        assert sandbox.list_files("src", recursive=True) == ["src/n"]
        with pytest.raises(agentfense.FileNotFoundError):
            sandbox.read_file("src/app/main.py")
        assert project.joinpath("src/app/main.py").exists()


# ---- after the with block ------------------------------------------------------------------------
def test_gone_after_the_block(project):
    with Sandbox.from_local(str(project)) as sandbox:
        assert sandbox.run("true").success
    for call in (lambda: sandbox.run("true"), lambda: sandbox.exec("true"),
                 lambda: sandbox.read_file("README.md")):
        with pytest.raises(agentfense.SandboxNotFoundError) as ei:
            call()
        assert ei.value.sandbox_id == sandbox.id
    # Not running: SandboxNotRunningError with the status.
    sandbox = Sandbox.from_local(str(project), auto_start=False)
    try:
        assert sandbox.status == agentfense.SandboxStatus.PENDING
        with pytest.raises(SandboxNotRunningError) as ei:
            sandbox.run("true")
        assert (ei.value.sandbox_id, ei.value.current_status) == (sandbox.id, "pending")
        sandbox.start()
        assert sandbox.run("echo up").stdout == "up\n"
        sandbox.stop()
        assert sandbox.status == agentfense.SandboxStatus.STOPPED
        with pytest.raises(SandboxNotRunningError) as ei:
            sandbox.exec("true")
        assert ei.value.current_status == "stopped"
    finally:
        sandbox.destroy()


# ---- sessions ----------------------------------------------------------------------------
def test_session_keeps_state(project):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        with sandbox.session() as s:
            assert s.exec("pwd").stdout == "/workspace\n"
            assert s.exec("cd src/app").exit_code == 0
            assert s.exec("pwd").stdout == "/workspace/src/app\n"
            s.exec("LOCAL=l; export EXPORTED=e")
            assert s.exec('echo "$LOCAL $EXPORTED"').stdout == "l e\n"
            # Only the export reaches a child process.
            assert s.exec('sh -c \'echo "${LOCAL-unset} $EXPORTED"\'').stdout == "unset e\n"
            s.exec("greet() { echo \"hi $1\"; }")
            assert s.exec("greet you").stdout == "hi you\n"
            assert s.exec("cat main.py").stdout == "print('main')\n"


def test_session_results(project):
    with Sandbox.from_local(str(project)) as sandbox:
        with sandbox.session() as s:
            r = s.exec("echo out; echo err >&2; (exit 3)")
            assert (r.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")
            assert r.command == "echo out; echo err >&2; (exit 3)"
            assert r.success is False
            r = s.exec("true")
            assert (r.exit_code, r.stdout, r.stderr, r.success) == (0, "", "", True)


def test_session_is_sandboxed(project):
    with Sandbox.from_local(str(project), preset="agent-safe") as sandbox:
        with sandbox.session() as s:
            assert s.exec("id -u").stdout.strip() != "0"
            assert s.exec("LC_ALL=C ls -A").stdout.split() == PROJECT_VISIBLE_TOP
            assert s.exec("echo x > README.md").exit_code != 0
            assert s.exec("echo s > output/s.txt").exit_code == 0
        # The session's write is in the sandbox's delta.
        assert sandbox.run("cat output/s.txt").stdout == "s\n"
    assert os.listdir(project / "output") == []


def test_session_env(project):
    with Sandbox.from_local(str(project)) as sandbox:
        with sandbox.session(env={"FROM_SESSION": "2"}) as s:
            assert s.exec('echo "$FROM_SESSION"').stdout == "2\n"


def test_session_timeout_keeps_the_session(project):
    with Sandbox.from_local(str(project)) as sandbox:
        with sandbox.session() as s:
            s.exec("cd src; X=kept")
            t0 = time.monotonic()
            with pytest.raises(CommandTimeoutError) as ei:
                s.exec("sleep 30", timeout=1)
            assert time.monotonic() - t0 < 10
            assert (ei.value.command, ei.value.timeout_seconds) == ("sleep 30", 1)
            r = s.exec('pwd; echo "$X"')
            assert (r.exit_code, r.stdout) == (0, "/workspace/src\nkept\n")


def test_session_closed(project):
    with Sandbox.from_local(str(project)) as sandbox:
        with sandbox.session() as s:
            assert s.exec("true").success
        with pytest.raises(SessionNotFoundError):
            s.exec("true")
        # The sandbox goes on, and a new session starts afresh.
        with sandbox.session() as s2:
            assert s2.exec("pwd").stdout == "/workspace\n"


def test_two_sessions_are_apart(project):
    with Sandbox.from_local(str(project)) as sandbox:
        with sandbox.session() as a, sandbox.session() as b:
            a.exec("cd src; V=a")
            b.exec("cd docs; V=b")
            assert a.exec('pwd; echo "$V"').stdout == "/workspace/src\na\n"
            assert b.exec('pwd; echo "$V"').stdout == "/workspace/docs\nb\n"
