"""The reference SDK's errors, with its constructors and attributes.

afs adds CommandPermissionDeniedError: a command that failed because the
policy denied it a path is both a CommandExecutionError (the reference's
`except` for a failed command) and a PermissionDeniedError (afs's).
"""
import builtins
from typing import Dict, List, Optional


class SandboxError(Exception):
    """Base of every agentfense error."""

    def __init__(self, message: str, details: Optional[str] = None,
                 grpc_code: Optional[int] = None):
        self.message = message
        self.details = details
        self.grpc_code = grpc_code
        super().__init__(message)

    def __str__(self):
        if self.details:
            return "%s: %s" % (self.message, self.details)
        return self.message


class ConnectionError(SandboxError):
    def __init__(self, endpoint: str, details: Optional[str] = None,
                 grpc_code: Optional[int] = None):
        self.endpoint = endpoint
        super().__init__("Failed to connect to %s" % endpoint, details, grpc_code)


class SandboxNotFoundError(SandboxError):
    def __init__(self, sandbox_id: str, details: Optional[str] = None):
        self.sandbox_id = sandbox_id
        super().__init__("Sandbox not found: %s" % sandbox_id, details)


class SandboxNotRunningError(SandboxError):
    def __init__(self, sandbox_id: str, current_status: str, details: Optional[str] = None):
        self.sandbox_id = sandbox_id
        self.current_status = getattr(current_status, "value", current_status)
        super().__init__("Sandbox %s is not running (status: %s)"
                         % (sandbox_id, self.current_status), details)


class CodebaseError(SandboxError):
    pass


class CodebaseNotFoundError(CodebaseError):
    def __init__(self, codebase_id: str, details: Optional[str] = None):
        self.codebase_id = codebase_id
        super().__init__("Codebase not found: %s" % codebase_id, details)


class FileNotFoundError(CodebaseError):
    """A path that is not in the codebase (not the builtin FileNotFoundError)."""

    def __init__(self, codebase_id: str, file_path: str, details: Optional[str] = None):
        self.codebase_id = codebase_id
        self.file_path = file_path
        super().__init__("File not found: %s in codebase %s" % (file_path, codebase_id), details)


class CommandTimeoutError(SandboxError):
    def __init__(self, command: str, timeout_seconds: float, details: Optional[str] = None):
        self.command = command
        self.timeout_seconds = timeout_seconds
        super().__init__("Command timed out after %ss: %s" % (timeout_seconds, command), details)


class CommandExecutionError(SandboxError):
    def __init__(self, command: str, exit_code: int, stdout: str = "", stderr: str = ""):
        self.command = command
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        super().__init__("Command failed with exit code %s: %s" % (exit_code, command),
                         stderr or None)


class PermissionDeniedError(SandboxError):
    def __init__(self, operation: str, path: Optional[str] = None,
                 details: Optional[str] = None):
        self.operation = operation
        self.path = path
        msg = "Permission denied: %s" % operation
        if path:
            msg += " on %s" % path
        super().__init__(msg, details)


class CommandPermissionDeniedError(CommandExecutionError, PermissionDeniedError):
    """afs's own: a command failed (CommandExecutionError) because the
    policy denied it PATH (PermissionDeniedError, operation "exec")."""

    def __init__(self, command: str, exit_code: int, stdout: str = "", stderr: str = "",
                 path: Optional[str] = None):
        CommandExecutionError.__init__(self, command, exit_code, stdout, stderr)
        self.operation = "exec"
        self.path = path
        self.message = "Permission denied: %s (command exited %s: %s)" % (path, exit_code,
                                                                          command)
        self.args = (self.message,)


class SessionError(SandboxError):
    pass


class SessionNotFoundError(SessionError):
    def __init__(self, session_id: str, details: Optional[str] = None):
        self.session_id = session_id
        super().__init__("Session not found: %s" % session_id, details)


class SessionClosedError(SessionError):
    def __init__(self, session_id: str, details: Optional[str] = None):
        self.session_id = session_id
        super().__init__("Session is closed: %s" % session_id, details)


class ResourceLimitExceededError(SandboxError):
    def __init__(self, resource_type: str, limit: str, details: Optional[str] = None):
        self.resource_type = resource_type
        self.limit = limit
        super().__init__("Resource limit exceeded: %s (limit: %s)" % (resource_type, limit),
                         details)


class InvalidConfigurationError(SandboxError):
    pass


class CommitConflictError(SandboxError):
    """afs's own: a commit refused because the codebase changed some of the
    same paths since the sandbox first changed them (afs-fuse --commit,
    exit 3).  Nothing was applied.  CONFLICTS holds one dict per path:
    {"path": "/a.txt", "delta": "M", "source": "modified"} (what the
    sandbox does there: A, M, D, T; what the codebase did: modified,
    created, removed, retyped)."""

    def __init__(self, conflicts: List[Dict[str, str]], details: Optional[str] = None):
        self.conflicts = conflicts
        self.paths = [c["path"] for c in conflicts]
        shown = ", ".join(self.paths[:10]) + (", ..." if len(self.paths) > 10 else "")
        super().__init__("Commit refused: %d path%s changed in the codebase too: %s"
                         % (len(self.paths), "" if len(self.paths) == 1 else "s", shown),
                         details)


class UploadError(CodebaseError):
    def __init__(self, file_path: str, codebase_id: str, details: Optional[str] = None):
        self.file_path = file_path
        self.codebase_id = codebase_id
        super().__init__("Failed to upload %s to codebase %s" % (file_path, codebase_id), details)


def from_grpc_error(error, context: Optional[str] = None) -> SandboxError:
    """An agentfense error for ERROR.  There is no gRPC under afs: this
    maps an OSError (and anything else) the way the reference maps status
    codes, so that code calling it keeps working."""
    prefix = (context + ": ") if context else ""
    if isinstance(error, SandboxError):
        return error
    if isinstance(error, builtins.PermissionError):
        return PermissionDeniedError(context or "operation", getattr(error, "filename", None),
                                     str(error))
    if isinstance(error, builtins.FileNotFoundError):
        return SandboxError(prefix + "not found", str(error))
    return SandboxError(prefix + str(error))
