"""afs's own network allowlist: from_local(network=[...]) and
from_codebase(network=[...]), each entry an afs-launch --allow-host, kept
in the sandbox's record for its commands and sessions.  The checks of the
argument need no sandbox; the others run real ones that fetch from an
http.server on this machine through afs-proxy."""
import asyncio
import http.server
import inspect
import json
import os
import shlex
import subprocess
import threading

import pytest

import agentfense
from agentfense import (AsyncSandbox, InvalidConfigurationError, RuntimeType, Sandbox,
                        SandboxClient)
from agentfense import _afs

from conftest import BUILD

BODY = b"hello from the host\n"


# ---- the argument ------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["pypi.org", b"pypi.org", 443, {"pypi.org"},
                                 {"host": "pypi.org"}])
def test_network_not_a_list_is_a_type_error(project, bad):
    with pytest.raises(TypeError) as ei:
        Sandbox.from_local(str(project), network=bad)
    assert str(ei.value).startswith("network must be a list of PATTERN[:PORTS] strings")
    assert type(bad).__name__ in str(ei.value)


@pytest.mark.parametrize("bad", [None, 443, b"pypi.org", ["pypi.org"]])
def test_network_entry_not_a_string_is_a_type_error(project, bad):
    with pytest.raises(TypeError) as ei:
        Sandbox.from_local(str(project), network=["pypi.org", bad])
    assert str(ei.value) == "network entries must be strings, not %s: %r" % (
        type(bad).__name__, bad)


@pytest.mark.parametrize("bad", ["", " pypi.org", "pypi.org ", "a b", "a\tb", "a\nb",
                                 "a\x00b", "a\x1bb", "a\x7fb", "pypi.org\u00a0"])
def test_network_entry_blank_or_with_control_characters_is_a_value_error(project, bad):
    with pytest.raises(ValueError) as ei:
        Sandbox.from_local(str(project), network=[bad])
    assert str(ei.value) == ("network: an empty host pattern" if bad == "" else
                             "network: %r holds whitespace or a control character" % bad)


def test_network_checked_before_anything_is_made(tmp_path):
    # Even before the path: nothing made, nothing to clean up (the leaks
    # fixture checks the client state).
    with pytest.raises(TypeError):
        Sandbox.from_local(str(tmp_path / "no-such-dir"), network="pypi.org")
    with pytest.raises(TypeError):
        Sandbox.from_codebase("cb_000000000000", network="pypi.org")


@pytest.mark.parametrize("kw,exc,msg", [
    ({"network_max_connections": True}, TypeError,
     "network_max_connections must be an int, not bool"),
    ({"network_max_connections": "8"}, TypeError,
     "network_max_connections must be an int, not str"),
    ({"network_max_bytes": 1.5}, TypeError, "network_max_bytes must be an int, not float"),
    ({"network_max_connections": 0}, ValueError, "network_max_connections must be positive: 0"),
    ({"network_max_bytes": -1}, ValueError, "network_max_bytes must be positive: -1"),
])
def test_network_limits_checked(project, kw, exc, msg):
    with pytest.raises(exc) as ei:
        Sandbox.from_local(str(project), network=["pypi.org:443"], **kw)
    assert str(ei.value) == msg


def test_network_limits_without_network(project):
    with pytest.raises(ValueError) as ei:
        Sandbox.from_local(str(project), network_max_bytes=1000)
    assert str(ei.value) == "network_max_bytes without network: there is no network to limit"


def test_network_with_docker_is_refused_at_creation(project):
    with pytest.raises(InvalidConfigurationError) as ei:
        Sandbox.from_local(str(project), runtime=RuntimeType.DOCKER, image="python:3.11-slim",
                           network=["pypi.org:443"], auto_start=False)
    assert "network= needs the bwrap runtime" in str(ei.value)


def test_network_needs_afs_own_client(project, monkeypatch):
    created = []

    class Fake:
        """afs's client underneath, yet not afs's SandboxClient as far as
        from_local can tell: like any other client, it keeps no allowlist."""

        def __init__(self, endpoint=None, secure=False):
            self.real = SandboxClient(endpoint=endpoint, secure=secure)

        def __getattr__(self, name):
            if name == "create_sandbox":
                created.append(name)
            return getattr(self.real, name)

    monkeypatch.setattr(agentfense.sandbox, "SandboxClient", Fake)
    with pytest.raises(InvalidConfigurationError) as ei:
        Sandbox.from_local(str(project), network=["pypi.org:443"])
    assert str(ei.value) == ("network= needs afs's own SandboxClient: Fake keeps no network "
                             "allowlist")
    assert created == []


def test_network_parameters_are_keyword_only():
    for cls in (Sandbox, AsyncSandbox):
        for name in ("from_local", "from_codebase"):
            params = inspect.signature(getattr(cls, name)).parameters
            for p in ("network", "network_max_connections", "network_max_bytes"):
                assert params[p].kind == inspect.Parameter.KEYWORD_ONLY, (cls, name, p)
                assert params[p].default is None


def test_async_network_checked(project):
    async def main():
        with pytest.raises(TypeError):
            await AsyncSandbox.from_local(str(project), network="pypi.org")
        with pytest.raises(ValueError):
            await AsyncSandbox.from_local(str(project), network=["a b"])
    asyncio.run(main())


# ---- the command lines ------------------------------------------------------------------------
def _argv(sandbox):
    client = sandbox._client
    rec = client._sb_record(sandbox.id)
    return rec.get("network"), client._exec_argv(rec, "true", None, None, None)


def _after(argv, opt):
    return [argv[i + 1] for i, a in enumerate(argv) if a == opt]


def test_network_becomes_allow_host_options(project):
    with Sandbox.from_local(str(project), auto_start=False,
                            network=["pypi.org:443", "*.example.org", "[2001:db8::1]:8000-8100"],
                            network_max_connections=8, network_max_bytes=1 << 20) as sb:
        net, argv = _argv(sb)
    assert net == {"allow": ["pypi.org:443", "*.example.org", "[2001:db8::1]:8000-8100"],
                   "max_connections": 8, "max_bytes": 1048576}
    assert _after(argv, "--allow-host") == ["pypi.org:443", "*.example.org",
                                            "[2001:db8::1]:8000-8100"]
    assert _after(argv, "--net-max-connections") == ["8"]
    assert _after(argv, "--net-max-bytes") == ["1048576"]
    # Before the command, as options of afs-launch's own.
    assert argv.index("--allow-host") < argv.index("-c")


@pytest.mark.parametrize("network", [None, [], ()])
def test_no_network_as_before(project, network):
    with Sandbox.from_local(str(project), auto_start=False, network=network) as sb:
        net, argv = _argv(sb)
    assert net is None
    assert not [a for a in argv if str(a).startswith(("--allow-host", "--net"))]


def test_from_codebase_keeps_network_too(project):
    client = SandboxClient()
    cb = client.create_codebase(name="p", owner_id="me")
    try:
        with Sandbox.from_codebase(cb.id, auto_start=False, network=("pypi.org",)) as sb:
            net, argv = _argv(sb)
        assert net == {"allow": ["pypi.org"]}
        assert _after(argv, "--allow-host") == ["pypi.org"]
    finally:
        client.delete_codebase(cb.id)


# ---- through afs-proxy, for real ------------------------------------------------------------
def _have_allow_host():
    if not os.access(str(BUILD / "afs-proxy"), os.X_OK):
        return False
    try:
        p = subprocess.run([str(BUILD / "afs-launch"), "--help"], capture_output=True,
                           text=True, timeout=30)
    except OSError:
        return False
    return "--allow-host" in p.stdout


live = pytest.mark.skipif(not _have_allow_host(),
                          reason="no afs-proxy, or afs-launch has no --allow-host")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """An http.server on 127.0.0.1 of the host (outside every sandbox):
    its port."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(10)


# urllib in the sandbox, through the proxy its environment names.  The
# sandbox's NO_PROXY lists 127.0.0.1 (its own loopback, where nothing of
# the host is): dropped here, so that the request for the host's
# 127.0.0.1 goes to afs-proxy.  Prints the status and the body.
FETCH = """
import os, sys, urllib.error, urllib.request
for k in ("NO_PROXY", "no_proxy"):
    os.environ.pop(k, None)
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=20)
    code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
sys.stdout.write("%d %s" % (code, body.decode()))
"""


def fetch(url):
    return "python3 -c %s %s" % (shlex.quote(FETCH), shlex.quote(url))


@live
def test_network_fetch_from_an_allowed_host(project, server):
    url = "http://127.0.0.1:%d/hello.txt" % server
    with Sandbox.from_local(str(project), network=["127.0.0.1:%d" % server]) as sb:
        r = sb.run(fetch(url))
        assert (r.exit_code, r.stdout) == (0, "200 " + BODY.decode()), r.stderr
        env = sb.run("echo $HTTP_PROXY $ALL_PROXY").stdout
        assert env == "http://127.0.0.1:3128 socks5h://127.0.0.1:3128\n"
        # The proxy's record, in the sandbox's audit log.
        recs = [x for x in sb.audit() if x.get("op") == "connect"]
    assert [(x["host"], x["port"], x["decision"]) for x in recs] == [
        ("127.0.0.1", server, "allow")]
    assert recs[0]["bytes_in"] > len(BODY)


@live
def test_network_other_host_refused_with_403(project, server):
    with Sandbox.from_local(str(project), network=["127.0.0.1:%d" % server]) as sb:
        r = sb.run(fetch("http://example.com/"))
        assert (r.exit_code, r.stdout) == (0, "403 afs-proxy: no rule allows example.com:80\n")
        # The same host on another port is not listed either.
        r = sb.run(fetch("http://127.0.0.1:%d/" % (server + 1 if server < 65535 else 1)))
        assert r.stdout.startswith("403 afs-proxy: "), r.stdout


@live
def test_network_in_a_session(project, server):
    url = "http://127.0.0.1:%d/s" % server
    with Sandbox.from_local(str(project), network=["127.0.0.1:%d" % server]) as sb:
        with sb.session() as s:
            r = s.exec(fetch(url))
    assert (r.exit_code, r.stdout) == (0, "200 " + BODY.decode()), r.stderr


@live
def test_no_network_no_proxy(project, server):
    with Sandbox.from_local(str(project)) as sb:
        r = sb.run("echo \"[$HTTP_PROXY]\"; " + fetch("http://127.0.0.1:%d/" % server))
    assert r.stdout.startswith("[]\n")
    assert r.exit_code == 1 and "URLError" in r.stderr


@live
def test_async_network_fetch(project, server):
    url = "http://127.0.0.1:%d/a" % server

    async def main():
        async with await AsyncSandbox.from_local(
                str(project), network=["127.0.0.1:%d" % server]) as sb:
            return await sb.run(fetch(url))
    r = asyncio.run(main())
    assert (r.exit_code, r.stdout) == (0, "200 " + BODY.decode()), r.stderr


def test_record_is_json(project):
    """The record keeps the allowlist as JSON, readable by another process
    (Sandbox.connect): its commands get the same options."""
    with Sandbox.from_local(str(project), auto_start=False, network=["pypi.org:443"]) as sb:
        path = sb._client._sb_dir(sb.id) + "/sandbox.json"
        with open(path, encoding="utf-8") as f:
            assert json.load(f)["network"] == {"allow": ["pypi.org:443"]}
        other = Sandbox.connect(sb.id)
        try:
            assert _after(_argv(other)[1], "--allow-host") == ["pypi.org:443"]
        finally:
            other._client.close()
