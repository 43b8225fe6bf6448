"""The afs-remote protocol (afs-remote(1), PROTOCOL), both ends: frames on
a pair of file descriptors, and the records and errors they carry.

A frame is one byte of type, four of length (big-endian), then that many
bytes.  The server speaks first (H, a JSON hello); then each call is one
Q (a JSON request) and one R (a JSON reply), with D frames of raw bytes
between them for the verbs that stream (an empty D ends a stream) and X
from the client to cancel a running command.
"""
import dataclasses
import enum
import json
import os
import select
import struct
import time
from datetime import datetime, timedelta

from . import exceptions
from .types import (Codebase, ExecResult, FileInfo, PermissionRule, ResourceLimits,
                    RuntimeType, Sandbox, SandboxStatus, Session, SessionStatus, UploadResult)

PROTOCOL = 1
HELLO, REQUEST, REPLY, DATA, CANCEL = b"H", b"Q", b"R", b"D", b"X"
TYPES = (HELLO, REQUEST, REPLY, DATA, CANCEL)
MAX_JSON = 256 << 20            # a reply (an exec's output, escaped)
MAX_REQUEST = 4 << 20           # a request: file contents travel as D frames
MAX_DATA = 1 << 20              # a D frame
MAX_UPLOAD = 256 << 20          # upload_file's content (held whole: the reference's API)
CHUNK = 256 << 10               # what a sender puts in one D frame


class ProtocolError(Exception):
    """The other end broke the protocol, or went away (EOF)."""


class Channel:
    """Frames over RFD (read) and WFD (write)."""

    def __init__(self, rfd, wfd, max_json=MAX_JSON):
        self.rfd = rfd
        self.wfd = wfd
        self.max_json = max_json
        self._buf = bytearray()

    def buffered(self):
        return len(self._buf) > 0

    def _fill(self, n, deadline=None):
        while len(self._buf) < n:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.rfd], [], [], left)[0]:
                    raise ProtocolError("no frame in time")
            b = os.read(self.rfd, max(65536, n - len(self._buf)))
            if not b:
                raise ProtocolError("end of stream")
            self._buf += b

    def read(self, deadline=None):
        """(type, payload) of the next frame; by DEADLINE (time.monotonic())
        if one is given."""
        self._fill(5, deadline)
        t, n = bytes(self._buf[:1]), struct.unpack(">I", self._buf[1:5])[0]
        if t not in TYPES:
            raise ProtocolError("a frame of unknown type %r" % t)
        if n > (MAX_DATA if t == DATA else self.max_json):
            raise ProtocolError("a %s frame of %d bytes" % (t.decode(), n))
        self._fill(5 + n, deadline)
        payload = bytes(self._buf[5:5 + n])
        del self._buf[:5 + n]
        return t, payload

    def readable(self, timeout):
        """Whether a frame (or the end) may be read within TIMEOUT s."""
        if self._buf:
            return True
        r, _, _ = select.select([self.rfd], [], [], timeout)
        return bool(r)

    def write(self, t, payload=b""):
        data = memoryview(t + struct.pack(">I", len(payload)) + payload)
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def write_json(self, t, obj, limit=MAX_JSON):
        b = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        if len(b) > limit:
            raise TooBig("%d bytes, over the %d a frame may carry" % (len(b), limit))
        self.write(t, b)

    def read_json(self, want, deadline=None):
        t, payload = self.read(deadline)
        if t != want:
            raise ProtocolError("a %s frame where %s was due" % (t.decode(), want.decode()))
        try:
            obj = json.loads(payload)
        except (ValueError, RecursionError):
            raise ProtocolError("a %s frame that is not JSON" % t.decode()) from None
        if not isinstance(obj, dict):
            raise ProtocolError("a %s frame that is not a JSON object" % t.decode())
        return obj


class TooBig(ValueError):
    """A reply too big for a frame: said as an error instead."""


class DataReader:
    """The D frames of a stream as a file (read(n)), for tarfile."""

    def __init__(self, chan):
        self._chan = chan
        self._buf = b""
        self._eof = False

    def read(self, n=-1):
        out = []
        have = 0
        want = n if n is not None and n >= 0 else None
        while not self._eof and (want is None or have + len(self._buf) < want):
            if self._buf:
                out.append(self._buf)
                have += len(self._buf)
                self._buf = b""
                continue
            t, payload = self._chan.read()
            if t != DATA:
                raise ProtocolError("a %s frame inside a stream" % t.decode())
            if not payload:
                self._eof = True
            self._buf = payload
        data = b"".join(out) + self._buf
        if want is None:
            self._buf = b""
            return data
        self._buf = data[want:]
        return data[:want]

    def drain(self):
        while not self._eof:
            self.read(CHUNK)


class Stopped(Exception):
    """The receiver answered before the stream's end (it refused it)."""


class DataWriter:
    """A file (write()) whose bytes go out as D frames of CHUNK bytes.
    With WATCH, a frame is sent only while nothing is to be read from the
    channel: once the receiver has answered (an error), write() raises
    Stopped and close() only ends the stream."""

    def __init__(self, chan, watch=False):
        self._chan = chan
        self._buf = bytearray()
        self._watch = watch
        self.stopped = False

    def _send(self, b):
        if self._watch and self._chan.readable(0):
            self.stopped = True
            raise Stopped()
        self._chan.write(DATA, b)

    def write(self, b):
        if self.stopped:
            raise Stopped()
        self._buf += b
        while len(self._buf) >= CHUNK:
            self._send(bytes(self._buf[:CHUNK]))
            del self._buf[:CHUNK]
        return len(b)

    def close(self):
        if self._buf and not self.stopped:
            try:
                self._send(bytes(self._buf))
            except Stopped:
                pass
        self._buf = bytearray()
        self._chan.write(DATA, b"")


# ---- records ----------------------------------------------------------------------------
def plain(v):
    """V (a record, a list of them, a value) as JSON's types."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, timedelta):
        return v.total_seconds()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def many(decode):
    """A decoder of a list of what DECODE decodes."""
    def dec(v):
        if not isinstance(v, list):
            raise TypeError("a list was due")
        return [decode(x) for x in v]
    return dec


def text(v):
    if not isinstance(v, str):
        raise TypeError("a string was due")
    return v


def _dt(s):
    return datetime.fromisoformat(s) if s else None


def _dates(d, *names):
    if not isinstance(d, dict):
        raise TypeError("an object was due")
    d = dict(d)
    for n in names:
        d[n] = _dt(d.get(n))
    return d


def codebase(d):
    return Codebase(**_dates(d, "created_at", "updated_at"))


def sandbox(d):
    d = _dates(d, "created_at", "started_at", "stopped_at", "expires_at")
    d["status"] = SandboxStatus(d["status"])
    d["permissions"] = [PermissionRule(**r) for r in d.get("permissions") or []]
    d["runtime"] = RuntimeType(d["runtime"])
    if d.get("resources") is not None:
        d["resources"] = ResourceLimits.from_dict(d["resources"])
    return Sandbox(**d)


def session(d):
    d = _dates(d, "created_at", "closed_at")
    d["status"] = SessionStatus(d["status"])
    return Session(**d)


def exec_result(d):
    d = dict(d)
    if d.get("duration") is not None:
        d["duration"] = timedelta(seconds=d["duration"])
    return ExecResult(**d)


def file_info(d):
    return FileInfo(**_dates(d, "modified_at"))


def upload_result(d):
    return UploadResult(**d)


# ---- errors ------------------------------------------------------------------------------
def error(e):
    """An exception as a reply's error: an agentfense error keeps its class
    and attributes; ValueError and TypeError (a bad argument) theirs; any
    other is an OSError or a failure of the far side, said as text."""
    if isinstance(e, exceptions.SandboxError):
        attrs = {}
        for k, v in vars(e).items():
            try:
                json.dumps(v)
            except (TypeError, ValueError):
                continue
            attrs[k] = v
        return {"type": type(e).__name__, "attrs": attrs}
    if type(e) in (ValueError, TypeError):
        return {"type": type(e).__name__, "message": str(e)}
    if isinstance(e, OSError) and e.strerror:
        what = "%s: %s" % (e.filename, e.strerror) if e.filename else e.strerror
        return {"type": "OSError", "message": what}
    return {"type": "Error", "message": "%s: %s" % (type(e).__name__, e)}


def rebuild(err, where):
    """The exception a reply's ERR stands for; WHERE (ssh://host) names the
    far side in errors that are not the API's own."""
    if not isinstance(err, dict):
        return exceptions.SandboxError("%s: a malformed error reply" % where)
    t = err.get("type")
    if t in ("ValueError", "TypeError"):
        return (ValueError if t == "ValueError" else TypeError)(err.get("message", ""))
    cls = getattr(exceptions, t, None) if isinstance(t, str) else None
    if isinstance(cls, type) and issubclass(cls, exceptions.SandboxError) and \
            isinstance(err.get("attrs"), dict) and isinstance(err["attrs"].get("message"), str):
        e = cls.__new__(cls)
        attrs = dict(err["attrs"])
        Exception.__init__(e, attrs.get("message", ""))
        e.__dict__.update(attrs)
        return e
    return exceptions.SandboxError("%s: %s" % (where, err.get("message") or "failed"))
