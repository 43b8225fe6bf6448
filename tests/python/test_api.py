"""The public API against the reference SDK's, name by name and signature by
signature (the reference SDK's API reference, its public API section,
written down here as tables), and the behaviour of the parts that need no sandbox:
types, errors, presets, utilities, the endpoint."""
import asyncio
import dataclasses
import enum
import importlib
import inspect
import os
import subprocess
import sys
from datetime import timedelta

import pytest

import agentfense
from agentfense import (ExecResult, PatternType, Permission, PermissionRule, ResourceLimits,
                        RuntimeType)

from conftest import PKG_DIR

REFERENCE_ALL = [
    "Sandbox", "AsyncSandbox", "SandboxClient", "SessionWrapper", "AsyncSandboxClient",
    "AsyncSessionWrapper", "Codebase", "ExecResult", "FileInfo", "Permission", "PatternType",
    "PermissionRule", "ResourceLimits", "RuntimeType", "SandboxInfo", "SandboxStatus",
    "Session", "SessionStatus", "UploadResult", "PRESETS", "PRESET_AGENT_SAFE",
    "PRESET_READ_ONLY", "PRESET_FULL_ACCESS", "PRESET_DEVELOPMENT", "PRESET_VIEW_ONLY",
    "get_preset", "get_preset_dicts", "extend_preset", "list_presets", "register_preset",
    "SandboxError", "SandboxNotFoundError", "SandboxNotRunningError", "CodebaseError",
    "CodebaseNotFoundError", "FileNotFoundError", "CommandTimeoutError",
    "CommandExecutionError", "PermissionDeniedError", "SessionError", "SessionNotFoundError",
    "SessionClosedError", "ResourceLimitExceededError", "InvalidConfigurationError",
    "UploadError", "ConnectionError", "walk_directory", "parse_ignore_file",
    "human_readable_size", "generate_codebase_name", "generate_owner_id", "count_files",
]

# Where each name lives in the reference (module: names).
SUBMODULES = {
    "agentfense.types": ["Permission", "PatternType", "SandboxStatus", "SessionStatus",
                         "RuntimeType", "ResourceLimits", "PermissionRule", "Sandbox",
                         "Codebase", "ExecResult", "FileInfo", "UploadResult", "Session"],
    "agentfense.exceptions": ["SandboxError", "ConnectionError", "SandboxNotFoundError",
                              "SandboxNotRunningError", "CodebaseError",
                              "CodebaseNotFoundError", "FileNotFoundError",
                              "CommandTimeoutError", "CommandExecutionError",
                              "PermissionDeniedError", "SessionError", "SessionNotFoundError",
                              "SessionClosedError", "ResourceLimitExceededError",
                              "InvalidConfigurationError", "UploadError", "from_grpc_error"],
    "agentfense.presets": ["PRESET_AGENT_SAFE", "PRESET_READ_ONLY", "PRESET_FULL_ACCESS",
                           "PRESET_DEVELOPMENT", "PRESET_VIEW_ONLY", "PRESETS", "get_preset",
                           "get_preset_dicts", "extend_preset", "list_presets",
                           "register_preset"],
    "agentfense.sandbox": ["Sandbox", "SandboxClient"],
    "agentfense.client": ["SessionWrapper", "SandboxClient", "T"],
    "agentfense.utils": ["DEFAULT_IGNORE_PATTERNS", "parse_ignore_file", "walk_directory",
                         "human_readable_size", "generate_codebase_name",
                         "generate_owner_id", "count_files"],
    "agentfense._async": ["AsyncSandboxClient", "AsyncSessionWrapper", "AsyncSandbox"],
    "agentfense._async.sandbox": ["AsyncSandbox"],
    "agentfense._async.client": ["AsyncSessionWrapper", "AsyncSandboxClient", "T"],
}

# Enum values, in order.
ENUMS = {
    "Permission": [("NONE", "none"), ("VIEW", "view"), ("READ", "read"), ("WRITE", "write")],
    # REGEX is afs's own (afs-policy(5)), after the reference's three.
    "PatternType": [("GLOB", "glob"), ("DIRECTORY", "directory"), ("FILE", "file"),
                    ("REGEX", "regex")],
    "SandboxStatus": [("PENDING", "pending"), ("RUNNING", "running"), ("STOPPED", "stopped"),
                      ("ERROR", "error")],
    "SessionStatus": [("UNKNOWN", "unknown"), ("ACTIVE", "active"), ("CLOSED", "closed")],
    "RuntimeType": [("BWRAP", "bwrap"), ("DOCKER", "docker")],
}

# Dataclass fields, in order, with their defaults ("-" none, "[]"/"{}" a factory).
FIELDS = {
    "ResourceLimits": "memory_bytes=None cpu_quota=None cpu_shares=None pids_limit=None",
    "PermissionRule": "pattern=- permission=Permission.READ type=PatternType.GLOB priority=0",
    "Sandbox": "id=- codebase_id=- status=- permissions=[] labels={} "
               "runtime=RuntimeType.BWRAP image=None resources=None created_at=None "
               "started_at=None stopped_at=None expires_at=None",
    "Codebase": "id=- name=- owner_id=- size=0 file_count=0 created_at=None updated_at=None",
    "ExecResult": "stdout=- stderr=- exit_code=- duration=None command=None",
    "FileInfo": "path=- name=- is_dir=- size=- modified_at=None",
    "UploadResult": "codebase_id=- file_path=- size=- checksum=-",
    "Session": "id=- sandbox_id=- status=- shell='/bin/bash' created_at=None closed_at=None",
}

VL = "'view-only'"
LH = "'localhost:9000'"
FROM_LOCAL = ("cls path preset=%s permissions=None runtime=RuntimeType.BWRAP image=None "
              "resources=None endpoint=%s secure=False owner_id=None codebase_name=None "
              "ignore_patterns=None labels=None auto_start=True" % (VL, LH))
FROM_CODEBASE = ("cls codebase_id preset=%s permissions=None runtime=RuntimeType.BWRAP "
                 "image=None resources=None endpoint=%s secure=False labels=None "
                 "auto_start=True" % (VL, LH))
CONNECT = "cls sandbox_id endpoint=%s secure=False" % LH
# afs's own, keyword-only after the reference's parameters, so that no
# call written for the reference changes meaning (README: afs's own
# additions; test_network_parameters_are_keyword_only).
AFS_NETWORK = " network=None network_max_connections=None network_max_bytes=None"
EXEC = "self command stdin=None env=None workdir=None timeout=None"
SANDBOX_METHODS = {
    "__init__": "self client sandbox_info codebase owns_client=False owns_codebase=False",
    "from_local": FROM_LOCAL + AFS_NETWORK, "from_codebase": FROM_CODEBASE + AFS_NETWORK,
    "connect": CONNECT,
    "start": "self", "stop": "self", "refresh": "self", "destroy": "self delete_codebase=None",
    "run": "self command timeout=60 env=None workdir=None raise_on_error=False",
    "exec": EXEC, "exec_stream": EXEC, "session": "self shell='/bin/sh' env=None",
    "read_file": "self path", "read_file_bytes": "self path", "write_file": "self path content",
    "list_files": "self path='' recursive=False", "__repr__": "self",
}
SANDBOX_PROPERTIES = ["id", "codebase_id", "status", "runtime", "info", "codebase"]
CLIENT_METHODS = {
    "__init__": "self endpoint=%s secure=False" % LH, "close": "self",
    "create_sandbox": "self codebase_id permissions=None labels=None expires_in=None "
                      "runtime=RuntimeType.BWRAP image=None resources=None",
    "get_sandbox": "self sandbox_id", "list_sandboxes": "self codebase_id=None",
    "start_sandbox": "self sandbox_id", "stop_sandbox": "self sandbox_id",
    "destroy_sandbox": "self sandbox_id",
    "exec": "self sandbox_id command stdin=None env=None workdir=None timeout=None",
    "exec_stream": "self sandbox_id command stdin=None env=None workdir=None timeout=None",
    "create_session": "self sandbox_id shell='/bin/sh' env=None",
    "session": "self sandbox_id shell='/bin/sh' env=None",
    "get_session": "self session_id", "list_sessions": "self sandbox_id",
    "destroy_session": "self session_id", "session_exec": "self session_id command timeout=None",
    "create_codebase": "self name owner_id", "get_codebase": "self codebase_id",
    "list_codebases": "self owner_id=None", "delete_codebase": "self codebase_id",
    "upload_file": "self codebase_id file_path content chunk_size=65536",
    "download_file": "self codebase_id file_path",
    "list_files": "self codebase_id path='' recursive=False",
}
WRAPPER_METHODS = {"__init__": "self client session", "exec": "self command timeout=None",
                   "close": "self"}
FUNCTIONS = {
    "agentfense.presets.get_preset": "name", "agentfense.presets.get_preset_dicts": "name",
    "agentfense.presets.extend_preset": "base additions=None overrides=None",
    "agentfense.presets.list_presets": "", "agentfense.presets.register_preset": "name rules",
    "agentfense.utils.parse_ignore_file": "path",
    "agentfense.utils.walk_directory": "path ignore_patterns=None include_default_ignores=True "
                                       "max_file_size=52428800",
    "agentfense.utils.human_readable_size": "size",
    "agentfense.utils.generate_codebase_name": "path",
    "agentfense.utils.generate_owner_id": "",
    "agentfense.utils.count_files": "path ignore_patterns=None",
    "agentfense.exceptions.from_grpc_error": "error context=None",
    "agentfense.types.ResourceLimits.to_dict": "self",
    "agentfense.types.ResourceLimits.from_dict": "data",
    "agentfense.types.PermissionRule.to_dict": "self",
    "agentfense.types.ExecResult.raise_on_error": "self",
}
EXCEPTIONS = {  # name: (base, __init__ parameters)
    "SandboxError": ("Exception", "self message details=None grpc_code=None"),
    "ConnectionError": ("SandboxError", "self endpoint details=None grpc_code=None"),
    "SandboxNotFoundError": ("SandboxError", "self sandbox_id details=None"),
    "SandboxNotRunningError": ("SandboxError", "self sandbox_id current_status details=None"),
    "CodebaseError": ("SandboxError", None),
    "CodebaseNotFoundError": ("CodebaseError", "self codebase_id details=None"),
    "FileNotFoundError": ("CodebaseError", "self codebase_id file_path details=None"),
    "CommandTimeoutError": ("SandboxError", "self command timeout_seconds details=None"),
    "CommandExecutionError": ("SandboxError", "self command exit_code stdout='' stderr=''"),
    "PermissionDeniedError": ("SandboxError", "self operation path=None details=None"),
    "SessionError": ("SandboxError", None),
    "SessionNotFoundError": ("SessionError", "self session_id details=None"),
    "SessionClosedError": ("SessionError", "self session_id details=None"),
    "ResourceLimitExceededError": ("SandboxError", "self resource_type limit details=None"),
    "InvalidConfigurationError": ("SandboxError", None),
    "UploadError": ("CodebaseError", "self file_path codebase_id details=None"),
}


def fmt_default(v):
    if isinstance(v, enum.Enum):
        return "%s.%s" % (type(v).__name__, v.name)
    return repr(v)


def params(fn):
    """'a b=1 c=None' of FN's parameters (names and defaults)."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            out.append(("*" if p.kind == p.VAR_POSITIONAL else "**") + p.name)
        elif p.default is p.empty:
            out.append(p.name)
        else:
            out.append("%s=%s" % (p.name, fmt_default(p.default)))
    return " ".join(out)


def method_params(cls, name):
    raw = inspect.getattr_static(cls, name)
    fn = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
    return params(fn)


def resolve(dotted):
    mod, _, attr = dotted.rpartition(".")
    try:
        obj = importlib.import_module(mod)
        return getattr(obj, attr)
    except ImportError:
        mod, _, cls = mod.rpartition(".")
        return getattr(getattr(importlib.import_module(mod), cls), attr)


def test_all_is_the_references():
    assert agentfense.__all__ == REFERENCE_ALL
    for name in REFERENCE_ALL:
        assert getattr(agentfense, name) is not None


@pytest.mark.parametrize("module", sorted(SUBMODULES))
def test_names_in_their_submodules(module):
    m = importlib.import_module(module)
    for name in SUBMODULES[module]:
        assert hasattr(m, name), "%s.%s" % (module, name)
    # The same objects as the top level's.
    for name in SUBMODULES[module]:
        if name in REFERENCE_ALL and not (module == "agentfense.types" and name == "Sandbox"):
            assert getattr(m, name) is getattr(agentfense, name), name


def test_types_sandbox_is_sandbox_info():
    import agentfense.types as t
    assert t.Sandbox is agentfense.SandboxInfo
    assert t.Sandbox is not agentfense.Sandbox


def test_the_package_is_the_trees():
    assert os.path.realpath(agentfense.__file__).startswith(os.path.realpath(PKG_DIR) + os.sep)


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enums(name):
    cls = getattr(agentfense, name)
    assert issubclass(cls, str) and issubclass(cls, enum.Enum)
    assert [(m.name, m.value) for m in cls] == ENUMS[name]
    assert cls(ENUMS[name][0][1]) == ENUMS[name][0][1]


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_dataclass_fields(name):
    import agentfense.types as t
    cls = getattr(t, name)
    got = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            got.append("%s=%s" % (f.name, fmt_default(f.default)))
        elif f.default_factory is not dataclasses.MISSING:
            got.append("%s=%s" % (f.name, {list: "[]", dict: "{}"}[f.default_factory]))
        else:
            got.append("%s=-" % f.name)
    assert " ".join(got) == FIELDS[name]


@pytest.mark.parametrize("cls_name", ["Sandbox", "AsyncSandbox"])
def test_sandbox_signatures(cls_name):
    cls = getattr(agentfense, cls_name)
    for name, want in SANDBOX_METHODS.items():
        assert method_params(cls, name) == want, name
    for name in ("from_local", "from_codebase", "connect"):
        assert isinstance(inspect.getattr_static(cls, name), classmethod), name
    for name in SANDBOX_PROPERTIES:
        assert isinstance(inspect.getattr_static(cls, name), property), name
    coro = cls_name == "AsyncSandbox"
    for name in ("from_local", "from_codebase", "connect", "start", "stop", "refresh",
                 "destroy", "run", "exec", "session", "read_file", "read_file_bytes",
                 "write_file", "list_files"):
        assert inspect.iscoroutinefunction(getattr(cls, name)) is coro, name
    if coro:
        assert inspect.isasyncgenfunction(cls.exec_stream)
        assert inspect.iscoroutinefunction(cls.__aenter__)
        assert inspect.iscoroutinefunction(cls.__aexit__)
    else:
        assert method_params(cls, "__enter__") == "self"
        assert method_params(cls, "__exit__") == "self exc_type exc_val exc_tb"


@pytest.mark.parametrize("cls_name", ["SandboxClient", "AsyncSandboxClient"])
def test_client_signatures(cls_name):
    cls = getattr(agentfense, cls_name)
    for name, want in CLIENT_METHODS.items():
        assert method_params(cls, name) == want, name
    if cls_name == "AsyncSandboxClient":
        for name in CLIENT_METHODS:
            if name not in ("__init__", "exec_stream"):
                assert inspect.iscoroutinefunction(getattr(cls, name)), name
        assert inspect.isasyncgenfunction(cls.exec_stream)
        for name in ("__aenter__", "__aexit__"):
            assert inspect.iscoroutinefunction(getattr(cls, name)), name
    else:
        assert method_params(cls, "__enter__") == "self"
        assert method_params(cls, "__exit__") == "self exc_type exc_val exc_tb"


@pytest.mark.parametrize("cls_name", ["SessionWrapper", "AsyncSessionWrapper"])
def test_session_wrapper_signatures(cls_name):
    cls = getattr(agentfense, cls_name)
    for name, want in WRAPPER_METHODS.items():
        assert method_params(cls, name) == want, name
    for name in ("id", "sandbox_id", "status", "shell"):
        assert isinstance(inspect.getattr_static(cls, name), property), name
    if cls_name == "AsyncSessionWrapper":
        for name in ("exec", "close", "__aenter__", "__aexit__"):
            assert inspect.iscoroutinefunction(getattr(cls, name)), name


@pytest.mark.parametrize("dotted", sorted(FUNCTIONS))
def test_function_signatures(dotted):
    assert params(resolve(dotted)) == FUNCTIONS[dotted]


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_exception_signatures(name):
    cls = getattr(agentfense, name)
    base, init = EXCEPTIONS[name]
    assert cls.__bases__[0].__name__ == base
    if init is not None:
        assert method_params(cls, "__init__") == init
    assert cls.__module__ == "agentfense.exceptions"


# ---- the types -------------------------------------------------------------------------------
def test_permission_rule():
    r = PermissionRule("**/*.py")
    assert (r.pattern, r.permission, r.type, r.priority) == ("**/*.py", Permission.READ,
                                                            PatternType.GLOB, 0)
    assert PermissionRule("/a", "write", "file", 5).to_dict() == {
        "pattern": "/a", "type": "file", "permission": "write", "priority": 5}
    with pytest.raises(ValueError):
        PermissionRule("x", permission="bogus")


def test_resource_limits():
    r = ResourceLimits(memory_bytes=1 << 20, pids_limit=10)
    assert r.to_dict() == {"memory_bytes": 1 << 20, "pids_limit": 10}
    assert ResourceLimits.from_dict({"cpu_quota": 5000, "cpu_shares": 2}) == ResourceLimits(
        None, 5000, 2, None)
    assert ResourceLimits.from_dict(ResourceLimits(1, 2, 3, 4).to_dict()) == \
        ResourceLimits(1, 2, 3, 4)


def test_exec_result():
    r = ExecResult("out", "err", 0, timedelta(seconds=0.25), "echo out")
    assert (r.stdout, r.stderr, r.exit_code, r.duration, r.command) == (
        "out", "err", 0, timedelta(seconds=0.25), "echo out")
    assert r.success is True and r.raise_on_error() is r
    assert r.output == "out\nerr"
    assert ExecResult("out", "", 0).output == "out"
    assert ExecResult("", "err", 0).output == "err"
    assert ExecResult("", "", 1).output == ""
    with pytest.raises(agentfense.CommandExecutionError) as ei:
        ExecResult("o", "e", 3, command="false").raise_on_error()
    assert (ei.value.command, ei.value.exit_code, ei.value.stdout, ei.value.stderr) == (
        "false", 3, "o", "e")
    with pytest.raises(agentfense.CommandExecutionError) as ei:
        ExecResult("", "", 2).raise_on_error()
    assert ei.value.command == "<unknown>"


# ---- the errors ------------------------------------------------------------------------
def test_exception_attributes():
    e = agentfense.SandboxError("boom", details="more", grpc_code=5)
    assert (e.message, e.details, e.grpc_code, str(e)) == ("boom", "more", 5, "boom: more")
    assert str(agentfense.SandboxError("only")) == "only"
    e = agentfense.ConnectionError("remote:1", "why")
    assert (e.endpoint, e.details) == ("remote:1", "why") and "remote:1" in e.message
    e = agentfense.SandboxNotFoundError("sb_1")
    assert (e.sandbox_id, e.details) == ("sb_1", None) and "sb_1" in str(e)
    e = agentfense.SandboxNotRunningError("sb_1", "stopped")
    assert (e.sandbox_id, e.current_status) == ("sb_1", "stopped")
    e = agentfense.SandboxNotRunningError("sb_1", agentfense.SandboxStatus.ERROR)
    assert e.current_status == "error"
    e = agentfense.CodebaseNotFoundError("cb_1", "d")
    assert (e.codebase_id, e.details) == ("cb_1", "d")
    e = agentfense.FileNotFoundError("cb_1", "a/b")
    assert (e.codebase_id, e.file_path) == ("cb_1", "a/b")
    assert isinstance(e, agentfense.CodebaseError)
    assert not isinstance(e, FileNotFoundError)          # not the builtin
    e = agentfense.CommandTimeoutError("sleep 9", 1.5)
    assert (e.command, e.timeout_seconds) == ("sleep 9", 1.5)
    e = agentfense.CommandExecutionError("x", 2, "o", "e")
    assert (e.command, e.exit_code, e.stdout, e.stderr) == ("x", 2, "o", "e")
    e = agentfense.PermissionDeniedError("write", "/a", "d")
    assert (e.operation, e.path, e.details) == ("write", "/a", "d")
    assert agentfense.PermissionDeniedError("read").path is None
    e = agentfense.SessionNotFoundError("ss_1")
    assert e.session_id == "ss_1" and isinstance(e, agentfense.SessionError)
    e = agentfense.SessionClosedError("ss_1")
    assert e.session_id == "ss_1" and isinstance(e, agentfense.SessionError)
    e = agentfense.ResourceLimitExceededError("memory", "64M")
    assert (e.resource_type, e.limit) == ("memory", "64M")
    e = agentfense.UploadError("a.txt", "cb_1", "d")
    assert (e.file_path, e.codebase_id, e.details) == ("a.txt", "cb_1", "d")
    assert isinstance(e, agentfense.CodebaseError)
    assert isinstance(agentfense.InvalidConfigurationError("bad"), agentfense.SandboxError)
    for name in EXCEPTIONS:
        assert issubclass(getattr(agentfense, name), Exception)
        if name != "SandboxError":
            assert issubclass(getattr(agentfense, name), agentfense.SandboxError)


def test_command_permission_denied_is_both():
    from agentfense.exceptions import CommandPermissionDeniedError
    e = CommandPermissionDeniedError("cat x", 1, "", "cat: x: Permission denied\n", "x")
    assert isinstance(e, agentfense.CommandExecutionError)
    assert isinstance(e, agentfense.PermissionDeniedError)
    assert (e.command, e.exit_code, e.stderr, e.operation, e.path) == (
        "cat x", 1, "cat: x: Permission denied\n", "exec", "x")


def test_from_grpc_error():
    from agentfense.exceptions import from_grpc_error
    e = agentfense.SandboxNotFoundError("sb_1")
    assert from_grpc_error(e) is e
    e = from_grpc_error(PermissionError(13, "Permission denied", "/x"), "read")
    assert isinstance(e, agentfense.PermissionDeniedError) and e.path == "/x"
    assert str(from_grpc_error(RuntimeError("x"), "ctx")) == "ctx: x"


# ---- the presets ---------------------------------------------------------------------------
def test_presets():
    assert agentfense.list_presets() == ["agent-safe", "development", "full-access",
                                         "read-only", "view-only"]
    assert (agentfense.PRESET_AGENT_SAFE, agentfense.PRESET_READ_ONLY,
            agentfense.PRESET_FULL_ACCESS, agentfense.PRESET_DEVELOPMENT,
            agentfense.PRESET_VIEW_ONLY) == ("agent-safe", "read-only", "full-access",
                                             "development", "view-only")
    assert agentfense.PRESETS["read-only"] == [
        {"pattern": "**/*", "permission": "read", "priority": "0"}]
    assert agentfense.PRESETS["view-only"] == [
        {"pattern": "**/*", "permission": "view", "priority": "0"}]
    assert agentfense.PRESETS["full-access"] == [
        {"pattern": "**/*", "permission": "write", "priority": "0"}]
    safe = {r.pattern: (r.permission.value, r.priority)
            for r in agentfense.get_preset("agent-safe")}
    assert safe == {"**/*": ("read", 0), "/output/**": ("write", 10), "/tmp/**": ("write", 10),
                    "**/.env*": ("none", 100), "**/secrets/**": ("none", 100),
                    "**/*.key": ("none", 100), "**/*.pem": ("none", 100),
                    "**/credentials*": ("none", 100), "**/.git/**": ("none", 50)}
    dev = [r.pattern for r in agentfense.get_preset("development")]
    assert dev == ["**/*", "**/.env*", "**/secrets/**", "**/*.key", "**/*.pem"]
    # get_preset_dicts gives copies.
    d = agentfense.get_preset_dicts("read-only")
    d[0]["permission"] = "write"
    assert agentfense.PRESETS["read-only"][0]["permission"] == "read"


def test_unknown_preset():
    for fn in (agentfense.get_preset, agentfense.get_preset_dicts):
        with pytest.raises(ValueError) as ei:
            fn("no-such")
        assert "Unknown preset" in str(ei.value) and "no-such" in str(ei.value)
        assert "agent-safe" in str(ei.value)


def test_extend_preset():
    rules = agentfense.extend_preset(
        "read-only",
        additions=[{"pattern": "/output/**", "permission": "write"},
                   PermissionRule("/custom/**", Permission.WRITE, priority=7)],
        overrides=[{"pattern": "/src/**", "permission": "write", "priority": "5"},
                   {"pattern": "/a/**", "permission": "none", "priority": "500"}])
    assert all(isinstance(r, PermissionRule) for r in rules)
    assert [(r.pattern, r.permission.value, r.priority) for r in rules] == [
        ("**/*", "read", 0), ("/output/**", "write", 0), ("/custom/**", "write", 7),
        ("/src/**", "write", 107),      # 5 is not above 7: the highest so far + 100
        ("/a/**", "none", 500)]         # already above: kept
    assert agentfense.extend_preset("view-only") == agentfense.get_preset("view-only")


def test_register_preset():
    name = "test-api-preset"
    try:
        agentfense.register_preset(name, [{"pattern": "**/*", "permission": "read"},
                                          {"pattern": "/o/**", "permission": "write",
                                           "priority": "5"}])
        assert name in agentfense.list_presets()
        assert agentfense.get_preset_dicts(name)[1] == {"pattern": "/o/**",
                                                        "permission": "write",
                                                        "priority": "5"}
        assert agentfense.get_preset(name)[1].priority == 5
        with pytest.raises(ValueError, match="already exists"):
            agentfense.register_preset(name, [])
    finally:
        agentfense.PRESETS.pop(name, None)
    with pytest.raises(ValueError, match="already exists"):
        agentfense.register_preset("read-only", [{"pattern": "**/*", "permission": "write"}])


# ---- the utilities ------------------------------------------------------------------------
def test_walk_directory(tmp_path):
    from conftest import write_tree
    root = write_tree(tmp_path / "p", {
        "a.py": "a", "b.pyc": "b", "src/c.txt": "c", "src/__pycache__/x.pyc": "x",
        ".git/HEAD": "h", "node_modules/m/i.js": "m", ".env": "e", ".env.local": "l",
        "build/out.o": "o", "keep/build.txt": "k", "docs/tmp.log": "t", "big.bin": b"0" * 100,
        ".gitignore": "# comment\n/build\n*.log\n!keep.log\n", ".sandboxignore": "secret*\n",
        "secret.txt": "s", "pkg.egg-info/PKG-INFO": "p"})
    got = dict(agentfense.walk_directory(str(root), ["*.bin"]))
    assert sorted(got) == [".env.local", ".gitignore", ".sandboxignore", "a.py",
                           "keep/build.txt", "src/c.txt"]
    assert got["src/c.txt"] == b"c"
    got = dict(agentfense.walk_directory(str(root), include_default_ignores=False,
                                         max_file_size=50))
    assert ".git/HEAD" in got and ".env" in got and "big.bin" not in got
    assert "build/out.o" not in got            # .gitignore still applies
    assert agentfense.count_files(str(root)) == (7, sum(len(v) for v in dict(
        agentfense.walk_directory(str(root))).values()))
    assert agentfense.parse_ignore_file(str(root / ".gitignore")) == ["/build", "*.log"]
    assert agentfense.parse_ignore_file(str(root / "nope")) == []


def test_small_utilities(tmp_path):
    assert agentfense.human_readable_size(0) == "0 B"
    assert agentfense.human_readable_size(1023) == "1023 B"
    assert agentfense.human_readable_size(1536) == "1.5 KB"
    assert agentfense.human_readable_size(5 * 1024 ** 3) == "5.0 GB"
    assert agentfense.generate_codebase_name(str(tmp_path / "my-project")) == "my-project"
    assert agentfense.generate_codebase_name(str(tmp_path / "my-project") + "/") == "my-project"
    o = agentfense.generate_owner_id()
    assert o == agentfense.generate_owner_id() and o.startswith("user_")


def test_default_ignore_patterns():
    from agentfense.utils import DEFAULT_IGNORE_PATTERNS
    for p in (".git", ".git/**", "__pycache__", "*.pyc", "node_modules", ".venv", "venv",
              ".env", "*.egg-info", ".pytest_cache", ".mypy_cache"):
        assert p in DEFAULT_IGNORE_PATTERNS
    assert DEFAULT_IGNORE_PATTERNS[:8] == [".git", ".git/**", "__pycache__", "__pycache__/**",
                                           "*.pyc", "*.pyo", ".DS_Store", "Thumbs.db"]


# ---- without a sandbox --------------------------------------------------------------------
def test_from_local_missing_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        agentfense.Sandbox.from_local(str(tmp_path / "nope"))


def test_from_local_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        agentfense.Sandbox.from_local(str(tmp_path / "f"))


def test_async_client_without_a_sandbox():
    async def main():
        c = agentfense.AsyncSandboxClient(endpoint="localhost:9000")
        await c.close()
        async with agentfense.AsyncSandboxClient() as c2:
            return await c2.list_sandboxes(), await c2.list_codebases()
    assert asyncio.run(main()) == ([], [])


def test_version_command():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PKG_DIR)] + [p for p in env.get(
        "PYTHONPATH", "").split(os.pathsep) if p])
    p = subprocess.run([sys.executable, "-m", "agentfense", "--version"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("agentfense 0.1.0"), p.stdout
