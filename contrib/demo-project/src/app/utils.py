"""Small helpers used by the demo application."""

import re


def slugify(text):
    """Lowercase TEXT and join its words with hyphens."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)


def parse_settings(lines):
    """Parse 'key: value' lines into a dict; '#' starts a comment."""
    settings = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or ":" not in line:
            continue
        key, value = line.split(":", 1)
        settings[key.strip()] = value.strip().strip('"')
    return settings


def word_count(text):
    """Count the words in TEXT."""
    return len(text.split())
