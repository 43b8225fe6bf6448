"""python3 -m agentfense --version"""
import subprocess
import sys

from . import __version__, _afs


def main(argv):
    if argv in (["--version"], ["-V"]):
        try:
            v = subprocess.run([_afs.find("afs-launch"), "--version"], capture_output=True,
                               text=True).stdout.strip()
        except Exception as e:  # afs missing: say so, the package still has a version
            v = "afs not found: %s" % e
        print("agentfense %s (%s)" % (__version__, v))
        return 0
    print("usage: python3 -m agentfense --version", file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
