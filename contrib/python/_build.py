"""A PEP 517 build backend of a few lines, in the tree, on the standard
library alone: `pip install ./contrib/python` needs nothing from an index
(none is reachable on the machines afs is tested on), not even setuptools."""
import base64
import hashlib
import os
import zipfile

NAME = "agentfense"
VERSION = "0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))

METADATA = """Metadata-Version: 2.1
Name: agentfense
Version: %s
Summary: The agentfense SDK's API over afs: untrusted code against a codebase, per-file permissions
Requires-Python: >=3.8
""" % VERSION

WHEEL = """Wheel-Version: 1.0
Generator: agentfense _build
Root-Is-Purelib: true
Tag: py3-none-any
"""


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
    info = "%s-%s.dist-info" % (NAME, VERSION)
    files = []
    pkg = os.path.join(HERE, NAME)
    # The package and its subpackages (agentfense/_async).
    for d, dirs, names in os.walk(pkg):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        rel = os.path.relpath(d, HERE).replace(os.sep, "/")
        for f in sorted(names):
            if f.endswith(".py"):
                with open(os.path.join(d, f), "rb") as fh:
                    files.append(("%s/%s" % (rel, f), fh.read()))
    files.append((info + "/METADATA", METADATA.encode()))
    files.append((info + "/WHEEL", WHEEL.encode()))
    record = "".join("%s,%s,%d\n" % (p, _digest(d), len(d)) for p, d in files)
    record += info + "/RECORD,,\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in files:
            z.writestr(p, d)
        z.writestr(info + "/RECORD", record)
    return name


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    base = "%s-%s" % (NAME, VERSION)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for f in ["pyproject.toml", "_build.py", "README.md"]:
            t.add(os.path.join(HERE, f), base + "/" + f)
        t.add(os.path.join(HERE, NAME), base + "/" + NAME,
              filter=lambda ti: None if "__pycache__" in ti.name else ti)
    return name
