"""The package's names, types, values, errors and presets: no sandbox."""
import dataclasses
import os
import subprocess
import sys

import pytest

import agentfense
from agentfense import (AsyncSandbox, CodebaseNotFoundError, CommandExecutionError,
                        CommandTimeoutError, ExecResult, PatternType, Permission,
                        PermissionDeniedError, PermissionRule, ResourceLimits, RuntimeType,
                        Sandbox, SandboxClient, SandboxError, SandboxNotFoundError,
                        SandboxNotRunningError, SessionNotFoundError, extend_preset, get_preset,
                        list_presets, register_preset)

from conftest import PKG_DIR


def test_every_name_is_exported():
    for name in ("Sandbox", "AsyncSandbox", "SandboxClient", "PermissionRule", "Permission",
                 "PatternType", "RuntimeType", "ResourceLimits", "ExecResult", "get_preset",
                 "extend_preset", "list_presets", "register_preset", "SandboxError",
                 "CommandTimeoutError", "CommandExecutionError", "PermissionDeniedError",
                 "SandboxNotRunningError", "SessionNotFoundError", "CodebaseNotFoundError",
                 "SandboxNotFoundError"):
        assert hasattr(agentfense, name), name


def test_the_package_is_the_trees():
    assert os.path.realpath(agentfense.__file__).startswith(os.path.realpath(PKG_DIR) + os.sep)


def test_permission_values():
    assert [(p.name, p.value) for p in Permission] == [
        ("NONE", "none"), ("VIEW", "view"), ("READ", "read"), ("WRITE", "write")]
    assert Permission("write") is Permission.WRITE


def test_pattern_type_values():
    assert [(p.name, p.value) for p in PatternType] == [
        ("GLOB", "glob"), ("DIRECTORY", "directory"), ("FILE", "file"), ("REGEX", "regex")]
    assert PatternType("regex") is PatternType.REGEX


def test_runtime_type_values():
    assert [(r.name, r.value) for r in RuntimeType] == [("BWRAP", "bwrap"), ("DOCKER", "docker")]


def test_permission_rule_is_a_dataclass_with_defaults():
    assert dataclasses.is_dataclass(PermissionRule)
    r = PermissionRule("**/*.py")
    assert r.pattern == "**/*.py"
    assert r.permission == Permission.READ
    assert r.type == PatternType.GLOB
    assert r.priority == 0
    assert [f.name for f in dataclasses.fields(PermissionRule)] == [
        "pattern", "permission", "type", "priority"]
    r = PermissionRule(pattern="/secrets", permission=Permission.NONE,
                       type=PatternType.DIRECTORY, priority=7)
    assert (r.pattern, r.permission, r.type, r.priority) == (
        "/secrets", Permission.NONE, PatternType.DIRECTORY, 7)
    assert PermissionRule("/a", Permission.WRITE) == PermissionRule("/a", Permission.WRITE)
    assert PermissionRule("/a", Permission.WRITE) != PermissionRule("/a", Permission.READ)


def test_resource_limits_defaults():
    assert dataclasses.is_dataclass(ResourceLimits)
    r = ResourceLimits()
    assert (r.memory_bytes, r.cpu_quota, r.pids_limit) == (None, None, None)
    r = ResourceLimits(memory_bytes=512 * 1024 * 1024, cpu_quota=50000, pids_limit=100)
    assert (r.memory_bytes, r.cpu_quota, r.pids_limit) == (536870912, 50000, 100)


def test_exec_result_success():
    r = ExecResult(0, "out\n", "err\n", 0.25, "echo out")
    assert (r.exit_code, r.stdout, r.stderr, r.duration, r.command) == (
        0, "out\n", "err\n", 0.25, "echo out")
    assert r.success is True
    assert r.output == "out\nerr\n"
    assert r.raise_on_error() is r


def test_exec_result_failure_raises_command_execution_error():
    r = ExecResult(exit_code=3, stdout="o", stderr="e", duration=0.1, command="exit 3")
    assert r.success is False
    assert r.output == "oe"
    with pytest.raises(CommandExecutionError) as ei:
        r.raise_on_error()
    e = ei.value
    assert (e.command, e.exit_code, e.stdout, e.stderr) == ("exit 3", 3, "o", "e")


def test_error_hierarchy():
    for cls in (CommandTimeoutError, CommandExecutionError, PermissionDeniedError,
                SandboxNotRunningError, SessionNotFoundError, CodebaseNotFoundError,
                SandboxNotFoundError):
        assert issubclass(cls, SandboxError), cls
    assert issubclass(SandboxError, Exception)
    assert not issubclass(PermissionDeniedError, CommandExecutionError)
    assert not issubclass(CommandTimeoutError, CommandExecutionError)


def test_list_presets():
    names = list_presets()
    for n in ("view-only", "read-only", "agent-safe", "development", "full-access"):
        assert n in names


def test_get_preset_agent_safe():
    rules = get_preset("agent-safe")
    assert isinstance(rules, list)
    assert all(isinstance(r, PermissionRule) for r in rules)
    for want in (PermissionRule("**", Permission.READ, PatternType.GLOB, 0),
                 PermissionRule("/output/**", Permission.WRITE, PatternType.GLOB, 10),
                 PermissionRule("/tmp/**", Permission.WRITE, PatternType.GLOB, 10),
                 PermissionRule("**/.env*", Permission.NONE, PatternType.GLOB, 100),
                 PermissionRule("**/secrets/**", Permission.NONE, PatternType.GLOB, 100),
                 PermissionRule("**/*.key", Permission.NONE, PatternType.GLOB, 100),
                 PermissionRule("**/*.pem", Permission.NONE, PatternType.GLOB, 100)):
        assert want in rules, want
    env = [r for r in rules if r.pattern == "**/.env*"]
    assert len(env) == 1
    assert env[0].permission == Permission.NONE and env[0].priority == 100


def test_get_preset_simple_ones():
    assert get_preset("view-only") == [PermissionRule("**", Permission.VIEW)]
    assert get_preset("read-only") == [PermissionRule("**", Permission.READ)]
    assert get_preset("full-access") == [PermissionRule("**", Permission.WRITE)]
    dev = get_preset("development")
    assert PermissionRule("**", Permission.WRITE) in dev
    assert PermissionRule("**/.env*", Permission.NONE, priority=100) in dev
    assert PermissionRule("**/secrets/**", Permission.NONE, priority=100) in dev


def test_extend_preset():
    extra = [PermissionRule("/output/**", Permission.WRITE),
             PermissionRule("/secrets/**", Permission.NONE)]
    assert extend_preset("read-only", additions=extra) == get_preset("read-only") + extra
    assert extend_preset("read-only", additions=extra) == [
        PermissionRule("**", Permission.READ)] + extra
    assert extend_preset("agent-safe") == get_preset("agent-safe")


def test_register_preset():
    rules = [PermissionRule("**", Permission.READ),
             PermissionRule("/notes/**", Permission.WRITE, priority=5)]
    register_preset("test-api-mine", rules)
    assert "test-api-mine" in list_presets()
    assert get_preset("test-api-mine") == rules
    assert extend_preset("test-api-mine", additions=[PermissionRule("/x", Permission.NONE)]) == \
        rules + [PermissionRule("/x", Permission.NONE)]


def test_unknown_preset(tmp_path):
    with pytest.raises(ValueError):
        get_preset("no-such-preset")
    with pytest.raises(ValueError):
        extend_preset("no-such-preset", additions=[PermissionRule("/a")])
    (tmp_path / "p").mkdir()
    with pytest.raises(ValueError):
        Sandbox.from_local(str(tmp_path / "p"), preset="no-such-preset")


def test_from_local_missing_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Sandbox.from_local(str(tmp_path / "nope"))


def test_from_local_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        Sandbox.from_local(str(tmp_path / "f"))


def test_client_endpoint_must_be_local():
    with pytest.raises(ValueError):
        SandboxClient("localhost:9000")
    with pytest.raises(ValueError):
        SandboxClient(endpoint="localhost:9000")


def test_version_command():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PKG_DIR)] + [p for p in env.get(
        "PYTHONPATH", "").split(os.pathsep) if p])
    p = subprocess.run([sys.executable, "-m", "agentfense", "--version"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("agentfense 0.1.0"), p.stdout
