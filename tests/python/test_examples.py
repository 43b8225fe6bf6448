"""Every code example of the SDK overview (agentfense-sdk-overview.md), as
written: each is copied verbatim below and run with exec() in the test's
temp dir, after making the directories it names with files that make its
outcome checkable; then the outcome is checked.

Most examples use the default preset, view-only: names can be listed,
no file can be read.  So `make` cannot read its Makefile, python cannot
read its script, and pytest cannot read its tests: those outcomes are
what is checked there.
"""
import asyncio
import os
import subprocess
import sys
import textwrap
import time

import pytest

import agentfense
from agentfense import SandboxClient

from conftest import PKG_DIR, PROJECT_FILES, tree_state, write_tree


def run_example(code, **names):
    """exec() one example in a fresh namespace; the namespace after it."""
    ns = {"__name__": "__example__"}
    ns.update(names)
    exec(compile(textwrap.dedent(code), "<example>", "exec"), ns)
    return ns


# ---- TL;DR ---------------------------------------------------------------------
EXAMPLE_TLDR = '''
from agentfense import Sandbox

# One line: upload files, set permissions, start sandbox, auto-cleanup
with Sandbox.from_local("./my-project", preset="agent-safe") as sandbox:
    result = sandbox.run("python analyze.py")
'''

ANALYZE_PY = '''\
import os
print("files:", " ".join(sorted(os.listdir("."))))
for p in (".env", ".env.local", "secrets/db-password.txt", "deploy.key", "cert.pem",
          "credentials.json", "src/app/main.py"):
    try:
        with open(p) as f:
            f.read()
        print("read", p)
    except FileNotFoundError:
        print("missing", p)
    except PermissionError:
        print("denied", p)
for p in ("README.md", "src/new.py", "output/report.txt", "/tmp/scratch.txt"):
    try:
        with open(p, "w") as f:
            f.write("analysis\\n")
        print("wrote", p)
    except PermissionError:
        print("refused", p)
with open("output/report.txt") as f:
    print("report:", f.read().strip())
'''


def test_example_tldr_agent_safe(tmp_path, host_python):
    root = write_tree(tmp_path / "my-project", dict(PROJECT_FILES, **{"analyze.py": ANALYZE_PY}))
    before = tree_state(root)
    ns = run_example(EXAMPLE_TLDR)
    result = ns["result"]
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "files: README.md analyze.py docs output src",
        "missing .env",
        "missing .env.local",
        "missing secrets/db-password.txt",
        "missing deploy.key",
        "missing cert.pem",
        "missing credentials.json",
        "read src/app/main.py",
        "refused README.md",
        "refused src/new.py",
        "wrote output/report.txt",
        "wrote /tmp/scratch.txt",
        "report: analysis",
    ]
    assert tree_state(root) == before
    # As in the reference, the block destroyed the sandbox: it is gone.
    with pytest.raises(agentfense.SandboxNotFoundError) as ei:
        ns["sandbox"].run("true")
    assert ei.value.sandbox_id == ns["sandbox"].id


# ---- "Before AgentFense SDK": the manual approach ---------------------------------------
EXAMPLE_BEFORE = '''
# Manual approach: ~50 lines, easy to get wrong
client = SandboxClient("localhost:9000")
cb = client.create_codebase(...)
for file in os.walk(...):
    client.upload_file(cb.id, ...)
rules = [...]  # manually define every pattern
sb = client.create_sandbox(cb.id, permissions=rules)
client.start_sandbox(sb.id)
try:
    result = client.exec(sb.id, cmd)
finally:
    client.destroy_sandbox(sb.id)
    client.delete_codebase(cb.id)
'''


def test_example_before_manual_approach():
    # Pseudo-code: "localhost:9000" is this machine, and the first call
    # with `...` for its arguments is refused, before anything is made.
    with pytest.raises(TypeError, match="owner_id"):
        run_example(EXAMPLE_BEFORE, SandboxClient=SandboxClient, os=os)
    assert SandboxClient().list_codebases() == []


# ---- "With AgentFense SDK" ---------------------------------------------------------
EXAMPLE_WITH_SDK = '''
# 3 lines: upload, execute, cleanup
with Sandbox.from_local("./project", preset="agent-safe") as sandbox:
    result = sandbox.run("make test")
'''

MAKEFILE_TEST = (
    "test:\n"
    "\t@LC_ALL=C ls -A\n"
    "\t@cat src/app/util.py\n"
    "\t@echo 'tests: ok' > output/test-report.txt\n"
    "\t@cat output/test-report.txt\n"
)


def test_example_with_sdk_make_test(tmp_path):
    root = write_tree(tmp_path / "project", dict(PROJECT_FILES, Makefile=MAKEFILE_TEST))
    before = tree_state(root)
    ns = run_example(EXAMPLE_WITH_SDK, Sandbox=agentfense.Sandbox)
    result = ns["result"]
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Makefile", "README.md", "docs", "output", "src", "X = 1", "tests: ok"]
    assert tree_state(root) == before


# ---- API layers: 1. High-level sync -------------------------------------------------
EXAMPLE_HIGH_LEVEL_SYNC = '''
from agentfense import Sandbox

with Sandbox.from_local("./my-project") as sandbox:
    result = sandbox.run("pytest")
    print(result.stdout)
'''

TEST_FILE = "def test_answer():\n    assert 6 * 7 == 42\n"


def test_example_high_level_sync_pytest(tmp_path, capsys):
    write_tree(tmp_path / "my-project", {"tests/test_answer.py": TEST_FILE, "README.md": "x\n"})
    ns = run_example(EXAMPLE_HIGH_LEVEL_SYNC)
    result = ns["result"]
    # view-only: pytest finds the test file, and may not read it.
    assert result.exit_code == 2, result.output
    assert "ERROR tests/test_answer.py" in result.stdout
    assert "Permission denied: '/workspace/tests/test_answer.py'" in result.stdout
    assert "1 error" in result.stdout
    assert capsys.readouterr().out == result.stdout + "\n"


# ---- API layers: 2. High-level async -------------------------------------------------
EXAMPLE_HIGH_LEVEL_ASYNC = '''
from agentfense import AsyncSandbox
import asyncio

async def run_tests():
    async with await AsyncSandbox.from_local("./project") as sandbox:
        result = await sandbox.run("pytest")
        return result.stdout

asyncio.run(run_tests())
'''


def test_example_high_level_async_pytest(tmp_path):
    write_tree(tmp_path / "project", {"tests/test_answer.py": TEST_FILE})
    ns = run_example(EXAMPLE_HIGH_LEVEL_ASYNC)
    # The example drops what run_tests returns: run it once more to see it.
    out = asyncio.run(ns["run_tests"]())
    assert "ERROR tests/test_answer.py" in out
    assert "Permission denied: '/workspace/tests/test_answer.py'" in out


# ---- API layers: 3. Low-level ---------------------------------------------------------
EXAMPLE_LOW_LEVEL = '''
from agentfense import SandboxClient

client = SandboxClient(endpoint="localhost:9000")

# Create codebase once
codebase = client.create_codebase(name="shared-repo", owner_id="team_A")

# Upload files manually
client.upload_file(codebase.id, "main.py", b"...")

# Create multiple sandboxes from same codebase
sandbox1 = client.create_sandbox(codebase.id, permissions=[...])
sandbox2 = client.create_sandbox(codebase.id, permissions=[...])

# Explicit lifecycle
client.start_sandbox(sandbox1.id)
result = client.exec(sandbox1.id, command="python main.py")
client.destroy_sandbox(sandbox1.id)
'''


def test_example_low_level_client():
    # As written, the example runs up to its placeholder rules ([...]),
    # which are refused; the codebase it made is there, as it would be on
    # the reference's server.
    with pytest.raises(agentfense.InvalidConfigurationError):
        run_example(EXAMPLE_LOW_LEVEL)
    client = SandboxClient()
    [cb] = client.list_codebases()
    assert (cb.name, cb.owner_id, cb.file_count, cb.size) == ("shared-repo", "team_A", 1, 3)
    assert client.download_file(cb.id, "main.py") == b"..."
    assert client.list_sandboxes() == []
    client.delete_codebase(cb.id)


def test_example_low_level_client_with_real_rules(tmp_path):
    # The same steps with real rules for the [...] of the example, and
    # python3.
    from agentfense import Permission, PermissionRule
    client = SandboxClient(endpoint="localhost:9000")
    codebase = client.create_codebase(name="shared-repo", owner_id="team_A")
    assert (codebase.name, codebase.owner_id) == ("shared-repo", "team_A")
    client.upload_file(codebase.id, "main.py", b"print('hello from main')\n")
    sandbox1 = client.create_sandbox(codebase.id,
                                     permissions=[PermissionRule("**/*", Permission.READ)])
    sandbox2 = client.create_sandbox(codebase.id,
                                     permissions=[PermissionRule("/main.py", Permission.NONE)])
    assert sandbox1.id != sandbox2.id
    client.start_sandbox(sandbox1.id)
    result = client.exec(sandbox1.id, command="python3 main.py")
    assert (result.exit_code, result.stdout) == (0, "hello from main\n")
    client.destroy_sandbox(sandbox1.id)
    client.destroy_sandbox(sandbox2.id)
    client.delete_codebase(codebase.id)


# ---- Quick start: minimal --------------------------------------------------------------
EXAMPLE_MINIMAL = '''
from agentfense import Sandbox

# Simplest possible usage
with Sandbox.from_local("./my-project") as sandbox:
    result = sandbox.run("ls -la")
    print(result.stdout)
'''


def test_example_minimal_ls(tmp_path, capsys):
    root = write_tree(tmp_path / "my-project", PROJECT_FILES)
    before = tree_state(root)
    ns = run_example(EXAMPLE_MINIMAL)
    result = ns["result"]
    assert result.exit_code == 0, result.output
    names = [line.split()[-1] for line in result.stdout.splitlines()[1:]]
    # view-only hides nothing: every name is listed, hidden files too.
    # .env is one of the reference's default ignores: not in the codebase.
    assert sorted(names) == sorted([".", "..", "README.md", "src", "docs", "output",
                                    ".env.local", "secrets", "deploy.key", "cert.pem",
                                    "credentials.json"])
    # ... and no file is readable: a view file shows mode 0000.
    readme = [line for line in result.stdout.splitlines() if line.endswith(" README.md")]
    assert readme[0].startswith("----------"), readme
    assert capsys.readouterr().out == result.stdout + "\n"
    assert tree_state(root) == before


# ---- Quick start: custom permissions -------------------------------------------------
EXAMPLE_CUSTOM_PERMISSIONS = '''
from agentfense import Sandbox, PermissionRule, Permission

with Sandbox.from_local(
    "./my-project",
    preset="read-only",
    permissions=[
        PermissionRule(pattern="/output/**", permission=Permission.WRITE),
        PermissionRule(pattern="/secrets/**", permission=Permission.NONE),
    ]
) as sandbox:
    result = sandbox.run("python process.py")
'''

PROCESS_PY = '''\
import os
with open("data/input.txt") as f:
    lines = f.read().splitlines()
with open("output/result.txt", "w") as f:
    f.write("%d lines\\n" % len(lines))
with open("output/result.txt") as f:
    print("result:", f.read().strip())
print("secrets:", os.path.exists("secrets"), os.path.exists("secrets/db-password.txt"))
print(".env:", os.path.exists(".env"))
print(".env.local readable:", open(".env.local").read().strip())
for p in ("README.md", "data/input.txt", "new.txt"):
    try:
        open(p, "w").close()
        print("wrote", p)
    except PermissionError:
        print("refused", p)
print("listing:", " ".join(sorted(os.listdir("."))))
'''


def test_example_custom_permissions(tmp_path, host_python):
    root = write_tree(tmp_path / "my-project", dict(
        PROJECT_FILES, **{"process.py": PROCESS_PY, "data/input.txt": "a\nb\nc\n"}))
    before = tree_state(root)
    ns = run_example(EXAMPLE_CUSTOM_PERMISSIONS)
    result = ns["result"]
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "result: 3 lines",
        "secrets: False False",
        ".env: False",                        # a default ignore of from_local
        ".env.local readable: API_KEY=local",  # read-only hides nothing itself
        "refused README.md",
        "refused data/input.txt",
        "refused new.txt",
        "listing: .env.local README.md cert.pem credentials.json data deploy.key docs "
        "output process.py src",
    ]
    # The write to /output went to the sandbox's delta, not to the codebase.
    assert tree_state(root) == before
    assert not (root / "output" / "result.txt").exists()


# ---- Quick start: docker with resource limits ------------------------------------------
EXAMPLE_DOCKER = '''
from agentfense import Sandbox, RuntimeType, ResourceLimits

with Sandbox.from_local(
    "./my-project",
    preset="agent-safe",
    runtime=RuntimeType.DOCKER,
    image="python:3.11-slim",
    resources=ResourceLimits(
        memory_bytes=512 * 1024 * 1024,  # 512 MB
        pids_limit=100,
    ),
) as sandbox:
    result = sandbox.run("pytest", timeout=300)
'''

DOCKER_TESTS = '''\
import os


def cgroup(v1, v2):
    for p in (v2, v1):
        if os.path.exists(p):
            with open(p) as f:
                return f.read().strip()
    raise AssertionError("no cgroup file %s or %s" % (v1, v2))


def test_the_secrets_are_invisible():
    names = os.listdir("/workspace")
    for n in (".env", ".env.local", "secrets", "deploy.key", "cert.pem", "credentials.json"):
        assert n not in names
        assert not os.path.exists(os.path.join("/workspace", n))


def test_the_codebase_is_readable_not_writable():
    assert open("/workspace/src/app/util.py").read() == "X = 1\\n"
    try:
        open("/workspace/README.md", "w")
    except PermissionError:
        pass
    else:
        raise AssertionError("README.md was writable")


def test_output_is_writable():
    with open("/workspace/output/r.txt", "w") as f:
        f.write("r")
    assert open("/workspace/output/r.txt").read() == "r"


def test_not_root():
    assert os.getuid() != 0


def test_memory_limit():
    assert cgroup("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                  "/sys/fs/cgroup/memory.max") == str(512 * 1024 * 1024)


def test_pids_limit():
    # afs-launch may count its own init process in.
    assert cgroup("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max") in ("100", "101")
'''


@pytest.mark.docker
def test_example_docker_resource_limits(tmp_path):
    root = write_tree(tmp_path / "my-project", dict(
        PROJECT_FILES, **{"tests/test_sandbox.py": DOCKER_TESTS}))
    before = tree_state(root)
    ns = run_example(EXAMPLE_DOCKER)
    result = ns["result"]
    assert result.exit_code == 0, result.output
    assert "6 passed" in result.stdout, result.stdout
    assert "platform linux -- Python 3.11" in result.stdout
    assert tree_state(root) == before


# ---- Quick start: session ----------------------------------------------------------------
EXAMPLE_SESSION = '''
with Sandbox.from_local("./my-project") as sandbox:
    with sandbox.session() as session:
        # All these commands run in the same shell process
        session.exec("cd /workspace/backend")
        session.exec("source venv/bin/activate")
        session.exec("export DEBUG=1")
        result = session.exec("python manage.py test")
        print(result.stdout)
'''

MANAGE_PY = '''\
import os
print("cwd", os.getcwd(), "DEBUG", os.environ.get("DEBUG"), "venv", os.environ.get("VIRTUAL_ENV"))
'''


def test_example_session(tmp_path, capsys, host_python):
    write_tree(tmp_path / "my-project", {
        "backend/manage.py": MANAGE_PY,
        "backend/venv/bin/activate": "VIRTUAL_ENV=/workspace/backend/venv\nexport VIRTUAL_ENV\n",
        "README.md": "x\n",
    })
    ns = run_example(EXAMPLE_SESSION, Sandbox=agentfense.Sandbox)
    result = ns["result"]
    # view-only: python may not read manage.py; the path in its message is
    # the one below the directory the earlier `cd` went to.
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == ("python: can't open file '/workspace/backend/manage.py': "
                             "[Errno 13] Permission denied\n")
    assert capsys.readouterr().out == "\n"
    with pytest.raises(agentfense.SessionNotFoundError):
        ns["session"].exec("true")


# ---- Quick start: 10 sandboxes concurrently -----------------------------------------------
EXAMPLE_ASYNC_10 = '''
import asyncio
from agentfense import AsyncSandbox

async def run_in_sandbox(project_path):
    async with await AsyncSandbox.from_local(project_path) as sandbox:
        return await sandbox.run("make test")

async def main():
    projects = [f"./project-{i}" for i in range(10)]
    tasks = [run_in_sandbox(p) for p in projects]
    results = await asyncio.gather(*tasks)
    for i, result in enumerate(results):
        print(f"Project {i}: {result.exit_code}")

asyncio.run(main())
'''


def test_example_async_10_sandboxes(tmp_path, capsys):
    for i in range(10):
        write_tree(tmp_path / ("project-%d" % i), {
            "Makefile": "test:\n\tsleep 1\n\techo project %d\n" % i})
    t0 = time.monotonic()
    run_example(EXAMPLE_ASYNC_10)
    elapsed = time.monotonic() - t0
    # view-only: make may not read the Makefile, and exits 2 in each.
    assert capsys.readouterr().out.splitlines() == ["Project %d: 2" % i for i in range(10)]
    assert elapsed < 20, elapsed


def test_example_async_10_sandboxes_concurrent(tmp_path, capsys):
    # The same program, with the Makefiles readable (agent-safe) so that
    # each `make test` sleeps one second: the ten run at once.
    for i in range(10):
        write_tree(tmp_path / ("project-%d" % i), {
            "Makefile": "test:\n\t@sleep 1\n\t@echo project %d\n" % i})
    code = EXAMPLE_ASYNC_10.replace('AsyncSandbox.from_local(project_path)',
                                    'AsyncSandbox.from_local(project_path, preset="agent-safe")')
    assert code != EXAMPLE_ASYNC_10
    t0 = time.monotonic()
    run_example(code)
    elapsed = time.monotonic() - t0
    assert capsys.readouterr().out.splitlines() == ["Project %d: 0" % i for i in range(10)]
    assert elapsed < 6, "10 runs of sleep 1 took %.1f s: not concurrent" % elapsed


# ---- Error handling ------------------------------------------------------------------------
EXAMPLE_ERRORS = '''
from agentfense import (
    Sandbox,
    CommandTimeoutError,
    CommandExecutionError,
    PermissionDeniedError,
    SandboxNotRunningError,
)

try:
    with Sandbox.from_local("./project") as sandbox:
        result = sandbox.run("make build", timeout=60, raise_on_error=True)
except CommandTimeoutError as e:
    # Command took > 60 seconds
    print(f"Timed out: {e.command}")
except CommandExecutionError as e:
    # Non-zero exit code
    print(f"Failed with code {e.exit_code}: {e.stderr}")
except PermissionDeniedError as e:
    # Tried to access blocked file
    print(f"Permission denied: {e.path}")
except SandboxNotRunningError as e:
    # Sandbox not started or already stopped
    print(f"Sandbox not running: {e.current_status}")
'''


def test_example_errors_permission_denied(tmp_path, capsys):
    # view-only: make may not read the Makefile ("make: Makefile:
    # Permission denied").  The error is both a CommandExecutionError and a
    # PermissionDeniedError; the example catches CommandExecutionError
    # first, so that is what it prints (as with the reference).
    write_tree(tmp_path / "project", {"Makefile": "build:\n\techo built\n"})
    ns = run_example(EXAMPLE_ERRORS)
    assert capsys.readouterr().out.startswith(
        "Failed with code 2: make: Makefile: Permission denied\n")
    assert "result" not in ns
    # With PermissionDeniedError first, that one catches it.
    code = EXAMPLE_ERRORS.replace("except CommandExecutionError as e:", "except ZeroDivisionError:")
    assert code != EXAMPLE_ERRORS
    run_example(code)
    assert capsys.readouterr().out == "Permission denied: Makefile\n"


def test_example_errors_command_failed(tmp_path, capsys):
    # No Makefile: make fails (exit 2) with its own message.
    write_tree(tmp_path / "project", {"README.md": "x\n"})
    run_example(EXAMPLE_ERRORS)
    assert capsys.readouterr().out == (
        "Failed with code 2: make: *** No rule to make target 'build'.  Stop.\n\n")


def test_example_errors_success(tmp_path, capsys):
    # A file named build and no Makefile: make has nothing to do.
    write_tree(tmp_path / "project", {"build": "x\n"})
    ns = run_example(EXAMPLE_ERRORS)
    assert capsys.readouterr().out == ""
    assert ns["result"].exit_code == 0
    assert ns["result"].stdout == "make: Nothing to be done for 'build'.\n"


def test_example_errors_timeout(tmp_path, capsys):
    # The same program with a 1 s timeout and a build of 30 s (the 60 s of
    # the example would be too long for a test).
    write_tree(tmp_path / "project", {"README.md": "x\n"})
    code = EXAMPLE_ERRORS.replace('sandbox.run("make build", timeout=60, raise_on_error=True)',
                                  'sandbox.run("sleep 30", timeout=1, raise_on_error=True)')
    assert code != EXAMPLE_ERRORS
    t0 = time.monotonic()
    run_example(code)
    assert capsys.readouterr().out == "Timed out: sleep 30\n"
    assert time.monotonic() - t0 < 15


# ---- a script written for the reference, end to end, in a process of its own -------------
REFERENCE_SCRIPT = '''
import sys
from pathlib import Path
from agentfense import (PRESET_VIEW_ONLY, Sandbox, SandboxClient, CommandTimeoutError,
                        CommandExecutionError, PermissionDeniedError, extend_preset,
                        list_presets)

d = Path("perm")
files = {"public/readme.txt": "Public", "docs/guide.txt": "Doc", "metadata/info.txt": "Meta",
         "secrets/.env": "PW=1", "hello.py": "print('hi')"}
for p, t in files.items():
    (d / p).parent.mkdir(parents=True, exist_ok=True)
    (d / p).write_text(t)
with Sandbox.from_local(str(d), preset="full-access", endpoint="localhost:9000", permissions=[
        {"pattern": "**/*", "permission": "read"},
        {"pattern": "/docs/**", "permission": "write"},
        {"pattern": "/metadata/**", "permission": "view"},
        {"pattern": "/secrets/**", "permission": "none"}]) as sandbox:
    print(sandbox.runtime.value, sandbox.status.value)
    print(sandbox.run("cat /workspace/public/readme.txt").stdout)
    print(sandbox.run("echo m > /workspace/public/readme.txt").exit_code != 0)
    r = sandbox.run("echo n > /workspace/docs/new.txt && cat /workspace/docs/new.txt")
    print(r.stdout.strip())
    print(sandbox.run("ls /workspace/metadata").stdout.strip())
    print(sandbox.run("cat /workspace/metadata/info.txt").exit_code)
    print(sandbox.run("ls /workspace | grep secrets || echo NOT_VISIBLE").stdout.strip())
    with sandbox.session() as session:
        session.exec("export MY_VAR='Hello Session'")
        print(session.exec("echo $MY_VAR").stdout.strip())
    try:
        sandbox.run("sleep 5", timeout=1)
    except CommandTimeoutError as e:
        print("timeout", e.timeout_seconds)
    try:
        sandbox.run("python3 -c 'import sys; sys.exit(3)'", raise_on_error=True)
    except CommandExecutionError as e:
        print("exit", e.exit_code)
    sandbox.write_file("/workspace/new.txt", "New content")
    print(sandbox.run("cat /workspace/new.txt").stdout)
    print(sandbox.list_files("/workspace"))
print(PRESET_VIEW_ONLY in list_presets(), len(extend_preset("agent-safe", additions=[
    {"pattern": "/custom/**", "permission": "write"}])))
client = SandboxClient(endpoint="localhost:9000")
cb = client.create_codebase(name="test-codebase", owner_id="test-user")
client.upload_file(cb.id, "hello.py", b'print("Hello!")')
sb = client.create_sandbox(codebase_id=cb.id,
                           permissions=[{"pattern": "**/*", "permission": "read"}])
client.start_sandbox(sb.id)
print(client.exec(sb.id, command="python3 /workspace/hello.py").stdout.strip())
client.destroy_sandbox(sb.id)
client.delete_codebase(cb.id)
client.close()
'''


def test_a_script_for_the_reference(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PKG_DIR)
    p = subprocess.run([sys.executable, "-c", REFERENCE_SCRIPT], capture_output=True, text=True,
                       env=env, cwd=str(tmp_path), timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "bwrap running", "Public", "True", "n", "info.txt", "1", "NOT_VISIBLE",
        "Hello Session", "timeout 1.0", "exit 3", "New content",
        "['docs', 'hello.py', 'metadata', 'new.txt', 'public', 'secrets']",
        "True 10", "Hello!"]
