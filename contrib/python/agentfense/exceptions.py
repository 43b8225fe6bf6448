"""The SDK's errors, raised from afs's exit statuses and messages."""


class SandboxError(Exception):
    """Base of every agentfense error."""


class CommandTimeoutError(SandboxError):
    def __init__(self, command, timeout):
        self.command = command
        self.timeout = timeout
        super().__init__("command timed out after %ss: %s" % (timeout, command))


class CommandExecutionError(SandboxError):
    def __init__(self, command, exit_code, stdout="", stderr=""):
        self.command = command
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        super().__init__("command exited with status %s: %s" % (exit_code, command))


class PermissionDeniedError(SandboxError):
    """A path the policy does not allow for what was tried.  Not a
    CommandExecutionError: `except CommandExecutionError` does not take it."""

    def __init__(self, path, command=None, exit_code=None, stderr=None):
        self.path = path
        self.command = command
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__("permission denied: %s" % path)


class SandboxNotRunningError(SandboxError):
    def __init__(self, current_status, sandbox_id=None):
        self.current_status = current_status
        self.sandbox_id = sandbox_id
        super().__init__("sandbox %s is not running (it is %s)"
                         % (sandbox_id or "", current_status))


class SessionNotFoundError(SandboxError):
    def __init__(self, session_id, detail=None):
        self.session_id = session_id
        super().__init__("no session %s%s" % (session_id, ": " + detail if detail else ""))


class SandboxNotFoundError(SandboxError):
    def __init__(self, sandbox_id):
        self.sandbox_id = sandbox_id
        super().__init__("no sandbox %s" % sandbox_id)


class CodebaseNotFoundError(SandboxError):
    def __init__(self, codebase_id):
        self.codebase_id = codebase_id
        super().__init__("no codebase %s" % codebase_id)
