"""agentfense: the agentfense SDK's API over afs (afs-fuse, afs-launch,
afs-session).  Pure standard library."""
__version__ = "0.1.0"

from .exceptions import (CodebaseNotFoundError, CommandExecutionError, CommandTimeoutError,
                         PermissionDeniedError, SandboxError, SandboxNotFoundError,
                         SandboxNotRunningError, SessionNotFoundError)
from .types import (ExecResult, PatternType, Permission, PermissionRule, ResourceLimits,
                    RuntimeType)
from .presets import extend_preset, get_preset, list_presets, register_preset
from .sandbox import Sandbox, Session
from .async_sandbox import AsyncSandbox, AsyncSession
from .client import Codebase, SandboxClient, SandboxInfo, SessionInfo

__all__ = [
    "AsyncSandbox", "AsyncSession", "Codebase", "CodebaseNotFoundError",
    "CommandExecutionError", "CommandTimeoutError", "ExecResult", "PatternType", "Permission",
    "PermissionDeniedError", "PermissionRule", "ResourceLimits", "RuntimeType", "Sandbox",
    "SandboxClient", "SandboxError", "SandboxInfo", "SandboxNotFoundError",
    "SandboxNotRunningError", "Session", "SessionInfo", "SessionNotFoundError",
    "extend_preset", "get_preset", "list_presets", "register_preset",
]
