"""The SDK's types: permissions, rules, runtimes, limits, results."""
import enum
from dataclasses import dataclass, field
from typing import Optional

from .exceptions import CommandExecutionError


class Permission(str, enum.Enum):
    NONE = "none"
    VIEW = "view"
    READ = "read"
    WRITE = "write"


class PatternType(str, enum.Enum):
    GLOB = "glob"
    DIRECTORY = "directory"
    FILE = "file"
    REGEX = "regex"


class RuntimeType(str, enum.Enum):
    BWRAP = "bwrap"
    DOCKER = "docker"


@dataclass
class PermissionRule:
    pattern: str
    permission: Permission = Permission.READ
    type: PatternType = PatternType.GLOB
    priority: int = 0

    def __post_init__(self):
        self.permission = Permission(self.permission)
        self.type = PatternType(self.type)
        if not isinstance(self.priority, int):
            raise TypeError("priority must be an int")


@dataclass
class ResourceLimits:
    """memory_bytes: bytes; cpu_quota: microseconds of CPU per 100,000 us
    (50000 is half a CPU); pids_limit: processes and threads."""
    memory_bytes: Optional[int] = None
    cpu_quota: Optional[int] = None
    pids_limit: Optional[int] = None


@dataclass
class ExecResult:
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    command: str = ""
    timed_out: bool = field(default=False, repr=False)

    @property
    def success(self):
        return self.exit_code == 0

    @property
    def output(self):
        return self.stdout + self.stderr

    def raise_on_error(self):
        if not self.success:
            raise CommandExecutionError(self.command, self.exit_code, self.stdout, self.stderr)
        return self
