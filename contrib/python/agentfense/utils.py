"""Walking a local directory the way from_local sees it, and small helpers.

Ignore patterns are gitignore-like: a pattern without a slash (other than a
trailing one) matches a name at any depth (`node_modules`, `*.pyc`), one
with a slash is anchored at the root (`/build`, `docs/*.tmp`, `.git/**`);
a directory that matches takes everything below it with it.  `!` (negation)
is not supported: such lines are skipped.
"""
import fnmatch
import getpass
import hashlib
import os
from typing import Iterator, List, Optional, Tuple

DEFAULT_IGNORE_PATTERNS = [
    ".git", ".git/**", "__pycache__", "__pycache__/**", "*.pyc", "*.pyo", ".DS_Store",
    "Thumbs.db", "node_modules", "node_modules/**", ".venv", ".venv/**", "venv", "venv/**",
    ".env", "*.egg-info", "*.egg-info/**", ".pytest_cache", ".pytest_cache/**", ".mypy_cache",
    ".mypy_cache/**", ".ruff_cache", ".ruff_cache/**", ".tox", ".tox/**",
]

IGNORE_FILES = (".gitignore", ".sandboxignore")


def parse_ignore_file(path: str) -> List[str]:
    """The patterns of an ignore file: one a line, blank lines, comments
    and negations skipped; [] when the file does not exist."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("!"):
            continue
        out.append(s)
    return out


def local_ignore_patterns(path: str, ignore_patterns: Optional[List[str]] = None,
                          include_default_ignores: bool = True) -> List[str]:
    """Every pattern from_local skips for PATH: the defaults, PATH's
    .gitignore and .sandboxignore, then IGNORE_PATTERNS."""
    pats = list(DEFAULT_IGNORE_PATTERNS) if include_default_ignores else []
    for name in IGNORE_FILES:
        pats += parse_ignore_file(os.path.join(path, name))
    pats += list(ignore_patterns or [])
    return pats


def _split(pattern):
    p = pattern.strip()
    if p.endswith("/"):
        p = p.rstrip("/")
    anchored = "/" in p
    return p.lstrip("/"), anchored


def is_ignored(rel: str, patterns: List[str]) -> bool:
    """Whether REL (relative to the root, / separated) or one of its
    ancestors matches one of PATTERNS."""
    parts = [c for c in rel.strip("/").split("/") if c]
    for p in patterns:
        pat, anchored = _split(p)
        if not pat:
            continue
        for i in range(1, len(parts) + 1):
            if anchored:
                if fnmatch.fnmatchcase("/".join(parts[:i]), pat):
                    return True
            elif fnmatch.fnmatchcase(parts[i - 1], pat):
                return True
    return False


def ignore_globs(patterns: List[str]) -> List[str]:
    """afs-policy(5) globs for PATTERNS (each given `none` by the client):
    a name pattern becomes **/NAME, an anchored one /PATTERN."""
    out = []
    for p in patterns:
        pat, anchored = _split(p)
        if not pat:
            continue
        g = "/" + pat if anchored else "**/" + pat
        if g not in out:
            out.append(g)
    return out


def walk_directory(path: str, ignore_patterns: Optional[List[str]] = None,
                   include_default_ignores: bool = True,
                   max_file_size: int = 50 * 1024 * 1024) -> Iterator[Tuple[str, bytes]]:
    """(relative path, content) of every regular file below PATH that is
    not ignored and not larger than MAX_FILE_SIZE, in sorted order."""
    root = os.path.abspath(path)
    pats = local_ignore_patterns(root, ignore_patterns, include_default_ignores)
    for d, dirs, files in os.walk(root):
        reld = os.path.relpath(d, root)
        reld = "" if reld == "." else reld
        dirs[:] = sorted(n for n in dirs
                         if not is_ignored(os.path.join(reld, n).replace(os.sep, "/"), pats))
        for n in sorted(files):
            rel = os.path.join(reld, n).replace(os.sep, "/")
            full = os.path.join(d, n)
            if is_ignored(rel, pats) or not os.path.isfile(full) or os.path.islink(full):
                continue
            if os.path.getsize(full) > max_file_size:
                continue
            with open(full, "rb") as f:
                yield rel, f.read()


def human_readable_size(size: int) -> str:
    s = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(s) < 1024 or unit == "TB":
            return "%d %s" % (s, unit) if unit == "B" else "%.1f %s" % (s, unit)
        s /= 1024
    return "%.1f PB" % s


def generate_codebase_name(path: str) -> str:
    name = os.path.basename(os.path.abspath(path).rstrip(os.sep))
    return name or "codebase"


def generate_owner_id() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = str(os.getuid())
    return "user_" + hashlib.sha256(user.encode()).hexdigest()[:12]


def count_files(path: str, ignore_patterns: Optional[List[str]] = None) -> Tuple[int, int]:
    n = size = 0
    for _, data in walk_directory(path, ignore_patterns):
        n += 1
        size += len(data)
    return n, size
