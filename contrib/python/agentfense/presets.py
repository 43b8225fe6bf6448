"""The reference's five presets, as its rule dicts, and the functions over them.

A preset is a list of rule dicts (`pattern`, `permission`, `priority` as a
string, optional `type`); Sandbox.from_local puts get_preset_dicts(preset)
before its `permissions`, and the client writes them into the sandbox's
afs-fuse policy (afs-policy(5): `**/*` is every path below the root, the
root itself being always at least view).
"""
import copy
from typing import Dict, List, Optional, Union

from .types import PermissionRule

PRESET_AGENT_SAFE = "agent-safe"
PRESET_READ_ONLY = "read-only"
PRESET_FULL_ACCESS = "full-access"
PRESET_DEVELOPMENT = "development"
PRESET_VIEW_ONLY = "view-only"

PRESETS: Dict[str, List[Dict[str, str]]] = {
    PRESET_AGENT_SAFE: [
        {"pattern": "**/*", "permission": "read", "priority": "0"},
        {"pattern": "/output/**", "permission": "write", "priority": "10"},
        {"pattern": "/tmp/**", "permission": "write", "priority": "10"},
        {"pattern": "**/.env*", "permission": "none", "priority": "100"},
        {"pattern": "**/secrets/**", "permission": "none", "priority": "100"},
        {"pattern": "**/*.key", "permission": "none", "priority": "100"},
        {"pattern": "**/*.pem", "permission": "none", "priority": "100"},
        {"pattern": "**/credentials*", "permission": "none", "priority": "100"},
        {"pattern": "**/.git/**", "permission": "none", "priority": "50"},
    ],
    PRESET_READ_ONLY: [
        {"pattern": "**/*", "permission": "read", "priority": "0"},
    ],
    PRESET_FULL_ACCESS: [
        {"pattern": "**/*", "permission": "write", "priority": "0"},
    ],
    PRESET_DEVELOPMENT: [
        {"pattern": "**/*", "permission": "write", "priority": "0"},
        {"pattern": "**/.env*", "permission": "none", "priority": "100"},
        {"pattern": "**/secrets/**", "permission": "none", "priority": "100"},
        {"pattern": "**/*.key", "permission": "none", "priority": "100"},
        {"pattern": "**/*.pem", "permission": "none", "priority": "100"},
    ],
    PRESET_VIEW_ONLY: [
        {"pattern": "**/*", "permission": "view", "priority": "0"},
    ],
}


def _unknown(name):
    return ValueError("Unknown preset: '%s'. Available presets: %s"
                      % (name, ", ".join(list_presets())))


def to_rule(r: Union[PermissionRule, Dict]) -> PermissionRule:
    """A PermissionRule from a rule or a dict (priority may be a string)."""
    if isinstance(r, PermissionRule):
        return PermissionRule(r.pattern, r.permission, r.type, r.priority)
    if not isinstance(r, dict) or "pattern" not in r:
        raise ValueError("a rule is a PermissionRule or a dict with a pattern, not %r" % (r,))
    return PermissionRule(pattern=r["pattern"], permission=r.get("permission", "read"),
                          type=r.get("type", "glob"), priority=int(r.get("priority", 0)))


def get_preset(name: str) -> List[PermissionRule]:
    if name not in PRESETS:
        raise _unknown(name)
    return [to_rule(r) for r in PRESETS[name]]


def get_preset_dicts(name: str) -> List[Dict[str, str]]:
    if name not in PRESETS:
        raise _unknown(name)
    return copy.deepcopy(PRESETS[name])


def extend_preset(base: str, additions: Optional[List[Union[PermissionRule, Dict]]] = None,
                  overrides: Optional[List[Union[PermissionRule, Dict]]] = None
                  ) -> List[PermissionRule]:
    """BASE's rules, then ADDITIONS, then OVERRIDES; an override whose
    priority is not above every rule before it gets that highest priority
    plus 100, so that it wins."""
    rules = get_preset(base)
    rules += [to_rule(r) for r in (additions or [])]
    for r in overrides or []:
        r = to_rule(r)
        top = max((x.priority for x in rules), default=0)
        if r.priority <= top:
            r.priority = top + 100
        rules.append(r)
    return rules


def list_presets() -> List[str]:
    return sorted(PRESETS)


def register_preset(name: str, rules: List[Dict[str, str]]) -> None:
    if name in PRESETS:
        raise ValueError("Preset '%s' already exists" % name)
    checked = [to_rule(r) for r in rules]      # a bad rule: now, not at use
    PRESETS[name] = [r.copy() if isinstance(r, dict) else
                     {"pattern": c.pattern, "permission": c.permission.value,
                      "type": c.type.value, "priority": str(c.priority)}
                     for r, c in zip(rules, checked)]
