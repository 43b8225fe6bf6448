"""The asyncio API: AsyncSandboxClient, AsyncSessionWrapper, AsyncSandbox."""
from .client import AsyncSandboxClient, AsyncSessionWrapper
from .sandbox import AsyncSandbox

__all__ = ["AsyncSandboxClient", "AsyncSessionWrapper", "AsyncSandbox"]
