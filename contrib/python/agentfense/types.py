"""The reference SDK's records and enums, with its field order and defaults.

afs adds one value, PatternType.REGEX (afs-policy(5)'s `type: regex`); no
field or signature differs from the reference's.
"""
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Optional


class Permission(str, enum.Enum):
    NONE = "none"
    VIEW = "view"
    READ = "read"
    WRITE = "write"


class PatternType(str, enum.Enum):
    GLOB = "glob"
    DIRECTORY = "directory"
    FILE = "file"
    REGEX = "regex"        # afs's own: a PCRE2 expression, see afs-policy(5)


class SandboxStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    ERROR = "error"


class SessionStatus(str, enum.Enum):
    UNKNOWN = "unknown"
    ACTIVE = "active"
    CLOSED = "closed"


class RuntimeType(str, enum.Enum):
    BWRAP = "bwrap"
    DOCKER = "docker"


@dataclass
class ResourceLimits:
    """memory_bytes: bytes; cpu_quota: microseconds of CPU per 100,000 us
    (50000 is half a CPU); cpu_shares: relative weight (not enforced by
    afs-launch, kept for the record); pids_limit: processes and threads."""
    memory_bytes: Optional[int] = None
    cpu_quota: Optional[int] = None
    cpu_shares: Optional[int] = None
    pids_limit: Optional[int] = None

    def to_dict(self) -> Dict:
        return {k: v for k, v in (("memory_bytes", self.memory_bytes),
                                  ("cpu_quota", self.cpu_quota),
                                  ("cpu_shares", self.cpu_shares),
                                  ("pids_limit", self.pids_limit)) if v is not None}

    @classmethod
    def from_dict(cls, data: Dict) -> "ResourceLimits":
        return cls(memory_bytes=data.get("memory_bytes"), cpu_quota=data.get("cpu_quota"),
                   cpu_shares=data.get("cpu_shares"), pids_limit=data.get("pids_limit"))


@dataclass
class PermissionRule:
    pattern: str
    permission: Permission = Permission.READ
    type: PatternType = PatternType.GLOB
    priority: int = 0

    def __post_init__(self):
        self.permission = Permission(self.permission)
        self.type = PatternType(self.type)
        if isinstance(self.priority, str):
            self.priority = int(self.priority)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise TypeError("priority must be an int")

    def to_dict(self) -> Dict:
        return {"pattern": self.pattern, "type": self.type.value,
                "permission": self.permission.value, "priority": self.priority}


@dataclass
class Sandbox:
    """A sandbox's record (exported as SandboxInfo)."""
    id: str
    codebase_id: str
    status: SandboxStatus
    permissions: List[PermissionRule] = field(default_factory=list)
    labels: Dict[str, str] = field(default_factory=dict)
    runtime: RuntimeType = RuntimeType.BWRAP
    image: Optional[str] = None
    resources: Optional[ResourceLimits] = None
    created_at: Optional[datetime] = None
    started_at: Optional[datetime] = None
    stopped_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None


SandboxInfo = Sandbox


@dataclass
class Codebase:
    id: str
    name: str
    owner_id: str
    size: int = 0
    file_count: int = 0
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None


def _seconds(d):
    if d is None:
        return None
    if isinstance(d, timedelta):
        return d.total_seconds()
    return float(d)


@dataclass
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int
    duration: Optional[timedelta] = None
    command: Optional[str] = None

    @property
    def success(self) -> bool:
        return self.exit_code == 0

    @property
    def output(self) -> str:
        if self.stdout and self.stderr:
            return self.stdout + "\n" + self.stderr
        return self.stdout or self.stderr

    def raise_on_error(self) -> "ExecResult":
        if not self.success:
            from .exceptions import CommandExecutionError
            raise CommandExecutionError(self.command if self.command is not None else "<unknown>",
                                        self.exit_code, self.stdout, self.stderr)
        return self


@dataclass
class FileInfo:
    path: str
    name: str
    is_dir: bool
    size: int
    modified_at: Optional[datetime] = None


@dataclass
class UploadResult:
    codebase_id: str
    file_path: str
    size: int
    checksum: str


@dataclass
class Session:
    id: str
    sandbox_id: str
    status: SessionStatus
    shell: str = "/bin/bash"
    created_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None
