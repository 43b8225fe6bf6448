"""The trusted caller's view of a sandbox's files: SOURCE with the delta
laid over it (afs-fuse(1), THE DELTA: an entry of the delta hides SOURCE's,
.wh.NAME deletes NAME, .wh..wh..opq hides what SOURCE has below a
directory), read and written here without the mount, so the policy does
not apply, and written into the delta only, never into SOURCE.

No symbolic link is followed, in either layer: the delta is what the
sandbox wrote, and a link it made must not lead the caller's reads or
writes out of the codebase.
"""
import os
import secrets
import stat

from .utils import is_ignored

WH = ".wh."
OPQ = ".wh..wh..opq"


class Missing(Exception):
    """The path is not there (or is hidden)."""


class Unsupported(Exception):
    """The path is there but is not what was asked (a link, a directory)."""


def _lstat(p):
    try:
        return os.lstat(p)
    except OSError:
        return None


def _parts(rel):
    parts = [c for c in rel.split("/") if c and c != "."]
    for c in parts:
        if c == ".." or c.startswith(WH):
            raise Missing(rel)
    return parts


def resolve(source, delta, rel, ignore=()):
    """(path, lstat) of what REL is in the overlay, or Missing."""
    parts = _parts(rel)
    if ignore and parts and is_ignored("/".join(parts), ignore):
        raise Missing(rel)
    spath, dpath = source, delta
    src_on = True
    st = _lstat(delta) or _lstat(source)
    path = delta if _lstat(delta) else source
    for i, name in enumerate(parts):
        if not stat.S_ISDIR(st.st_mode):
            raise Missing(rel)
        dparent = dpath
        spath, dpath = os.path.join(spath, name), os.path.join(dpath, name)
        if _lstat(os.path.join(dparent, WH + name)):
            raise Missing(rel)
        dst = _lstat(dpath)
        sst = _lstat(spath) if src_on else None
        if dst is not None:
            st, path = dst, dpath
            if stat.S_ISDIR(dst.st_mode):
                src_on = (src_on and sst is not None and stat.S_ISDIR(sst.st_mode)
                          and _lstat(os.path.join(dpath, OPQ)) is None)
            else:
                src_on = False
        elif sst is not None:
            st, path = sst, spath
        else:
            raise Missing(rel)
    return path, st


def read(source, delta, rel, ignore=()):
    path, st = resolve(source, delta, rel, ignore)
    if stat.S_ISLNK(st.st_mode):
        raise Unsupported("%s is a symbolic link" % rel)
    if stat.S_ISDIR(st.st_mode):
        raise Unsupported("%s is a directory" % rel)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def listdir(source, delta, rel, ignore=()):
    """{name: lstat} of directory REL in the overlay."""
    parts = _parts(rel)
    _, st = resolve(source, delta, "/".join(parts), ignore)
    if not stat.S_ISDIR(st.st_mode):
        raise Unsupported("%s is not a directory" % rel)
    dpath = os.path.join(delta, *parts)
    spath = os.path.join(source, *parts)
    out = {}
    dst = _lstat(dpath)
    whiteouts = set()
    opaque = False
    if dst is not None and stat.S_ISDIR(dst.st_mode):
        for n in os.listdir(dpath):
            if n == OPQ:
                opaque = True
            elif n.startswith(WH):
                whiteouts.add(n[len(WH):])
            else:
                out[n] = _lstat(os.path.join(dpath, n))
    # Whether SOURCE still shows at REL: resolve() says so for every
    # ancestor; here only the directory's own opaque marker is left.
    src_on = not opaque and _source_shows(source, delta, parts)
    sst = _lstat(spath) if src_on else None
    if sst is not None and stat.S_ISDIR(sst.st_mode):
        for n in os.listdir(spath):
            if n not in out and n not in whiteouts and not n.startswith(WH):
                out[n] = _lstat(os.path.join(spath, n))
    base = "/".join(parts)
    if ignore:
        out = {n: s for n, s in out.items()
               if not is_ignored((base + "/" + n) if base else n, ignore)}
    return {n: s for n, s in out.items() if s is not None}


def _source_shows(source, delta, parts):
    dpath = delta
    for i, name in enumerate(parts):
        parent = dpath
        dpath = os.path.join(dpath, name)
        if _lstat(os.path.join(parent, WH + name)):
            return False
        dst = _lstat(dpath)
        if dst is not None:
            if not stat.S_ISDIR(dst.st_mode) or _lstat(os.path.join(dpath, OPQ)):
                return False
        sst = _lstat(os.path.join(source, *parts[:i + 1]))
        if sst is None or not stat.S_ISDIR(sst.st_mode):
            return False
    return True


def walk(source, delta, rel, recursive, ignore=()):
    """[(relative path from the root, lstat)] below directory REL."""
    parts = _parts(rel)
    base = "/".join(parts)
    out = []
    for n, st in sorted(listdir(source, delta, base, ignore).items()):
        p = (base + "/" + n) if base else n
        out.append((p, st))
        if recursive and stat.S_ISDIR(st.st_mode):
            out += walk(source, delta, p, True, ignore)
    return out


def write(source, delta, rel, data):
    """Put DATA at REL in the delta: the directories on the way are made
    (mkdir -p, over a deleted one as a new, opaque directory), a whiteout
    of REL is removed, the file is replaced atomically."""
    parts = _parts(rel)
    if not parts:
        raise Unsupported("/ is a directory")
    dpath, spath = delta, source
    src_on = True
    for name in parts[:-1]:
        parent = dpath
        dpath, spath = os.path.join(dpath, name), os.path.join(spath, name)
        wh = os.path.join(parent, WH + name)
        dst = _lstat(dpath)
        sst = _lstat(spath) if src_on else None
        if _lstat(wh):
            os.mkdir(dpath, 0o755)
            open(os.path.join(dpath, OPQ), "wb").close()
            os.unlink(wh)
            src_on = False
        elif dst is not None:
            if not stat.S_ISDIR(dst.st_mode):
                raise Unsupported("%s is not a directory" % "/".join(parts))
            src_on = (src_on and sst is not None and stat.S_ISDIR(sst.st_mode)
                      and _lstat(os.path.join(dpath, OPQ)) is None)
        elif sst is not None:
            if not stat.S_ISDIR(sst.st_mode):
                raise Unsupported("%s is not a directory" % "/".join(parts))
            os.mkdir(dpath, stat.S_IMODE(sst.st_mode) or 0o755)
        else:
            os.mkdir(dpath, 0o755)
            src_on = False
    name = parts[-1]
    final = os.path.join(dpath, name)
    dst = _lstat(final)
    sst = _lstat(os.path.join(spath, name)) if src_on else None
    if (dst is not None and stat.S_ISDIR(dst.st_mode)) or \
            (dst is None and sst is not None and stat.S_ISDIR(sst.st_mode)):
        raise Unsupported("%s is a directory" % "/".join(parts))
    mode = 0o644
    if dst is not None and stat.S_ISREG(dst.st_mode):
        mode = stat.S_IMODE(dst.st_mode)
    elif dst is None and sst is not None and stat.S_ISREG(sst.st_mode):
        mode = stat.S_IMODE(sst.st_mode)
    # A .wh. name is never shown by the mount: the file is not seen half
    # written.
    tmp = os.path.join(dpath, WH + "agentfense." + secrets.token_hex(6))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 mode & 0o777)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode & 0o7777 & ~0o6000)
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    wh = os.path.join(dpath, WH + name)
    if _lstat(wh):
        os.unlink(wh)
