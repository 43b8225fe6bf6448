"""Summarise the project's documents into output/report.txt."""

import os
import sys

from app import __version__
from app.utils import parse_settings, slugify, word_count


def load_settings(path="config.yaml"):
    with open(path, encoding="utf-8") as f:
        return parse_settings(f)


def summarise(paths):
    rows = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            rows.append((slugify(os.path.basename(path)), word_count(f.read())))
    return rows


def main(argv):
    settings = load_settings()
    out_dir = settings.get("output_dir", "output")
    rows = summarise(argv[1:] or ["README.md"])
    os.makedirs(out_dir, exist_ok=True)
    report = os.path.join(out_dir, "report.txt")
    with open(report, "w", encoding="utf-8") as f:
        f.write("%s %s\n" % (settings.get("name", "demo"), __version__))
        for slug, words in rows:
            f.write("%-30s %6d\n" % (slug, words))
    print("wrote %s" % report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
