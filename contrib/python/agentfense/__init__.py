"""agentfense: the reference AgentFense SDK's API over afs (afs-fuse,
afs-launch, afs-session), on this machine.  Pure standard library."""
__version__ = "0.1.0"

from .types import (Codebase, ExecResult, FileInfo, PatternType, Permission, PermissionRule,
                    ResourceLimits, RuntimeType, SandboxInfo, SandboxStatus, Session,
                    SessionStatus, UploadResult)
from .presets import (PRESET_AGENT_SAFE, PRESET_DEVELOPMENT, PRESET_FULL_ACCESS,
                      PRESET_READ_ONLY, PRESET_VIEW_ONLY, PRESETS, extend_preset, get_preset,
                      get_preset_dicts, list_presets, register_preset)
from .exceptions import (CodebaseError, CodebaseNotFoundError, CommandExecutionError,
                         CommitConflictError,
                         CommandPermissionDeniedError, CommandTimeoutError, ConnectionError,
                         FileNotFoundError, InvalidConfigurationError, PermissionDeniedError,
                         ResourceLimitExceededError, SandboxError, SandboxNotFoundError,
                         SandboxNotRunningError, SessionClosedError, SessionError,
                         SessionNotFoundError, UploadError)
from .utils import (count_files, generate_codebase_name, generate_owner_id, human_readable_size,
                    parse_ignore_file, walk_directory)
from .client import SandboxClient, SessionWrapper
from .sandbox import Sandbox
from ._async import AsyncSandbox, AsyncSandboxClient, AsyncSessionWrapper

__all__ = [
    # High-level API
    "Sandbox", "AsyncSandbox",
    # Low-level API
    "SandboxClient", "SessionWrapper", "AsyncSandboxClient", "AsyncSessionWrapper",
    # Types
    "Codebase", "ExecResult", "FileInfo", "Permission", "PatternType", "PermissionRule",
    "ResourceLimits", "RuntimeType", "SandboxInfo", "SandboxStatus", "Session",
    "SessionStatus", "UploadResult",
    # Presets
    "PRESETS", "PRESET_AGENT_SAFE", "PRESET_READ_ONLY", "PRESET_FULL_ACCESS",
    "PRESET_DEVELOPMENT", "PRESET_VIEW_ONLY", "get_preset", "get_preset_dicts",
    "extend_preset", "list_presets", "register_preset",
    # Exceptions
    "SandboxError", "SandboxNotFoundError", "SandboxNotRunningError", "CodebaseError",
    "CodebaseNotFoundError", "FileNotFoundError", "CommandTimeoutError",
    "CommandExecutionError", "PermissionDeniedError", "SessionError", "SessionNotFoundError",
    "SessionClosedError", "ResourceLimitExceededError", "InvalidConfigurationError",
    "UploadError", "ConnectionError",
    # Utilities
    "walk_directory", "parse_ignore_file", "human_readable_size", "generate_codebase_name",
    "generate_owner_id", "count_files",
]
