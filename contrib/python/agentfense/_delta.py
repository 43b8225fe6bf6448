"""The trusted caller's view of a sandbox's files: SOURCE with the delta
laid over it (afs-fuse(1), THE DELTA: an entry of the delta hides SOURCE's,
.wh.NAME deletes NAME, .wh..wh..opq hides what SOURCE has below a
directory), read and written here without the mount, so the policy does
not apply, and written into the delta only, never into SOURCE.

No symbolic link is followed, in either layer, and no path is looked up
twice: the walk holds a directory file descriptor for each layer and
opens each next component from it with O_NOFOLLOW.  The delta is what the
sandbox wrote, and the sandbox may run while the caller reads or writes:
a directory it swaps for a link between a check and a use must not lead
the caller out of the codebase (the open fails instead).
"""
import errno
import os
import secrets
import stat

from .utils import is_ignored

WH = ".wh."
OPQ = ".wh..wh..opq"
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Missing(Exception):
    """The path is not there (or is hidden)."""


class Unsupported(Exception):
    """The path is there but is not what was asked (a link, a directory)."""


def _lstat(p):
    try:
        return os.lstat(p)
    except OSError:
        return None


def _at(fd, name):
    """lstat of NAME in directory FD (None: FD is None or NAME is not there)."""
    if fd is None:
        return None
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return None


def _sub(fd, name):
    """Directory NAME below FD, opened without following a link."""
    return os.open(name, _DIR, dir_fd=fd)


def _root(path):
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def _close(*fds):
    for fd in fds:
        if fd is not None:
            os.close(fd)


def _parts(rel):
    parts = [c for c in rel.split("/") if c and c != "."]
    for c in parts:
        if c == ".." or c.startswith(WH):
            raise Missing(rel)
    return parts


class _Dir:
    """Directory PARTS of the overlay: dfd (the delta's, or None), sfd
    (SOURCE's, or None when SOURCE does not show there)."""

    def __init__(self, source, delta, parts, rel, create=False):
        self.dfd = _root(delta)
        self.sfd = _root(source)
        if create and self.dfd is None:
            raise Missing(rel)
        if _at(self.dfd, OPQ) is not None:
            _close(self.sfd)            # the root itself replaced
            self.sfd = None
        try:
            for name in parts:
                self._step(name, rel, create)
        except BaseException:
            self.close()
            raise

    def _step(self, name, rel, create):
        dfd, sfd = self.dfd, self.sfd
        dst, sst = _at(dfd, name), _at(sfd, name)
        ndfd = nsfd = None
        try:
            if _at(dfd, WH + name) is not None:
                if not create:
                    raise Missing(rel)
                # A deleted directory made again: new, and opaque.
                os.mkdir(name, 0o755, dir_fd=dfd)
                ndfd = _sub(dfd, name)
                os.close(os.open(OPQ, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, 0o644, dir_fd=ndfd))
                os.unlink(WH + name, dir_fd=dfd)
            elif dst is not None:
                if not stat.S_ISDIR(dst.st_mode):
                    raise (Unsupported("%s is not a directory" % rel) if create
                           else Missing(rel))
                ndfd = _sub(dfd, name)
                if sst is not None and stat.S_ISDIR(sst.st_mode) and \
                        _at(ndfd, OPQ) is None:
                    nsfd = _sub(sfd, name)
            elif sst is not None:
                if not stat.S_ISDIR(sst.st_mode):
                    raise (Unsupported("%s is not a directory" % rel) if create
                           else Missing(rel))
                nsfd = _sub(sfd, name)
                if create:
                    os.mkdir(name, stat.S_IMODE(sst.st_mode) or 0o755, dir_fd=dfd)
                    ndfd = _sub(dfd, name)
                elif dfd is not None and _at(dfd, name) is not None:
                    ndfd = _sub(dfd, name)
            elif create:
                os.mkdir(name, 0o755, dir_fd=dfd)
                ndfd = _sub(dfd, name)
            else:
                raise Missing(rel)
        except OSError as e:
            _close(ndfd, nsfd)
            if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                raise Missing(rel) from None     # changed under us: not there
            raise
        except BaseException:
            _close(ndfd, nsfd)
            raise
        _close(dfd, sfd)
        self.dfd, self.sfd = ndfd, nsfd

    def entry(self, name):
        """(layer fd, lstat) of NAME here, or Missing."""
        if _at(self.dfd, WH + name) is not None:
            raise Missing(name)
        st = _at(self.dfd, name)
        if st is not None:
            return self.dfd, st
        st = _at(self.sfd, name)
        if st is not None:
            return self.sfd, st
        raise Missing(name)

    def close(self):
        _close(self.dfd, self.sfd)
        self.dfd = self.sfd = None


def _ignored(parts, ignore):
    return bool(ignore and parts and is_ignored("/".join(parts), ignore))


def open_file(source, delta, rel, ignore=()):
    """A read-only fd of the regular file REL in the overlay (the caller
    closes it), opened without following a link and checked to be a
    regular file after the open (a FIFO swapped in does not block it)."""
    parts = _parts(rel)
    if _ignored(parts, ignore):
        raise Missing(rel)
    if not parts:
        raise Unsupported("/ is a directory")
    d = _Dir(source, delta, parts[:-1], rel)
    try:
        fd_dir, st = d.entry(parts[-1])
        if stat.S_ISLNK(st.st_mode):
            raise Unsupported("%s is a symbolic link" % rel)
        if stat.S_ISDIR(st.st_mode):
            raise Unsupported("%s is a directory" % rel)
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=fd_dir)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOENT):
                raise Missing(rel) from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise Unsupported("%s is not a regular file" % rel)
        os.set_blocking(fd, True)
        return fd
    finally:
        d.close()


def read(source, delta, rel, ignore=()):
    fd = open_file(source, delta, rel, ignore)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def listdir(source, delta, rel, ignore=()):
    """{name: lstat} of directory REL in the overlay."""
    parts = _parts(rel)
    if _ignored(parts, ignore):
        raise Missing(rel)
    try:
        d = _Dir(source, delta, parts, rel)
    except Missing:
        # Not a directory, or not there: say which.
        if parts:
            p = _Dir(source, delta, parts[:-1], rel)
            try:
                p.entry(parts[-1])
            finally:
                p.close()
            raise Unsupported("%s is not a directory" % rel) from None
        raise
    try:
        out = {}
        whiteouts = set()
        if d.dfd is not None:
            for n in os.listdir(d.dfd):
                if n == OPQ:
                    continue
                if n.startswith(WH):
                    whiteouts.add(n[len(WH):])
                else:
                    out[n] = _at(d.dfd, n)
        if d.sfd is not None:
            for n in os.listdir(d.sfd):
                if n not in out and n not in whiteouts and not n.startswith(WH):
                    out[n] = _at(d.sfd, n)
    finally:
        d.close()
    base = "/".join(parts)
    if ignore:
        out = {n: s for n, s in out.items()
               if not is_ignored((base + "/" + n) if base else n, ignore)}
    return {n: s for n, s in out.items() if s is not None}


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
    of REL is removed, the file is replaced atomically.  DATA is bytes, or
    a file to copy from (read())."""
    parts = _parts(rel)
    if not parts:
        raise Unsupported("/ is a directory")
    d = _Dir(source, delta, parts[:-1], "/".join(parts), create=True)
    try:
        name = parts[-1]
        dst = _at(d.dfd, name)
        sst = _at(d.sfd, name) if _at(d.dfd, WH + name) is None else None
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
        tmp = WH + "agentfense." + secrets.token_hex(6)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode & 0o777, dir_fd=d.dfd)
        try:
            with os.fdopen(fd, "wb") as f:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    f.write(data)
                else:
                    while True:
                        b = data.read(1 << 20)
                        if not b:
                            break
                        f.write(b)
                os.fchmod(f.fileno(), mode & 0o7777 & ~0o6000)
            os.replace(tmp, name, src_dir_fd=d.dfd, dst_dir_fd=d.dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=d.dfd)
            except OSError:
                pass
            raise
        if _at(d.dfd, WH + name) is not None:
            os.unlink(WH + name, dir_fd=d.dfd)
    finally:
        d.close()
