"""Presets: afs's policies/*.yaml, plus the ones registered here."""
import os
import re

from .types import PatternType, Permission, PermissionRule
from . import _afs

BUILTIN = ("view-only", "read-only", "agent-safe", "development", "full-access")
_registered = {}


def _unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        body = v[1:-1]
        if v[0] == '"':
            body = re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
        else:
            body = body.replace("''", "'")
        return body
    if " #" in v:
        v = v[:v.index(" #")].rstrip()
    return v


def _parse(text):
    """The rules of a preset file: the small YAML subset afs's presets use
    (a `rules:` list of flat mappings).  afs-fuse itself reads the file
    with a real YAML parser; this only lists the rules for Python."""
    rules, cur, in_rules = [], None, False
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" ") and not line.startswith("-"):
            in_rules = line.startswith("rules:")
            continue
        if not in_rules:
            continue
        s = line.strip()
        if s.startswith("- "):
            cur = {}
            rules.append(cur)
            s = s[2:]
        if ":" in s and cur is not None:
            k, v = s.split(":", 1)
            cur[k.strip()] = _unquote(v)
    out = []
    for r in rules:
        out.append(PermissionRule(pattern=r["pattern"],
                                  permission=Permission(r.get("permission", "read")),
                                  type=PatternType(r.get("type", "glob")),
                                  priority=int(r.get("priority", "0"))))
    return out


def list_presets():
    return sorted(set(BUILTIN) | set(_registered))


def get_preset(name):
    if name in _registered:
        return list(_registered[name])
    path = _afs.preset_file(name)
    if not path:
        raise ValueError("unknown preset '%s' (known: %s)" % (name, ", ".join(list_presets())))
    with open(path, encoding="utf-8") as f:
        return _parse(f.read())


def extend_preset(base, additions=None, overrides=None):
    """BASE's rules, then OVERRIDES and ADDITIONS (later rules win ties)."""
    return get_preset(base) + list(overrides or []) + list(additions or [])


def register_preset(name, rules):
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name or ""):
        raise ValueError("bad preset name '%s'" % name)
    _registered[name] = [r if isinstance(r, PermissionRule) else PermissionRule(**r) for r in rules]


def is_registered(name):
    return name in _registered
