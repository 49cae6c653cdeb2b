"""The stand-in nsqd's IDENTIFY upgrades and AUTH checked with pynsq (TLS through
Python's ssl/OpenSSL, snappy through python-snappy, deflate through zlib) and with an
auth service written here, in the style of pynsqauthd.

Snappy and deflate run against the dev stack test/standin-check started (NSQD_TCP:
nsqd negotiates both by default). TLS and AUTH need an nsqd started with them: this
module starts its own x-msrv-devstack (DEVSTACK_BIN) with a fresh test PKI, a client
certificate required and verified, and --auth-http-address pointing at the auth
service below."""

import asyncio
import json
import os
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import nsq
import pytest

NSQD_TCP = os.environ["NSQD_TCP"]
CLIENT_CN = "x-msrv-test-client"  # devstack::tls::CLIENT_COMMON_NAME


def topic_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def layers(conn):
    """The socket layers pynsq put on a connection, outermost first: e.g.
    ["SnappySocket", "SSLSocket"] after TLS and snappy were negotiated."""
    out, sock = [], conn.socket
    while sock is not None:
        out.append(type(sock).__name__)
        sock = getattr(sock, "_socket", None) if type(sock).__name__.endswith("Socket") \
            and type(sock).__name__ not in ("SSLSocket", "socket") else None
    return out


async def publish_and_consume(nsqd_tcp, topic, bodies, **conn_kwargs):
    """Publishes with a pynsq Writer and reads back with a Reader, both with these
    connection options; returns the bodies read and the Reader connection's layers."""
    writer = nsq.Writer([nsqd_tcp], **conn_kwargs)
    for _ in range(100):  # connects (and upgrades) in the background
        if writer.conns:
            break
        await asyncio.sleep(0.1)
    results = []
    done = asyncio.Event()

    def published(conn, data):
        results.append(data)
        done.set()

    writer.mpub(topic, bodies, callback=published)
    await asyncio.wait_for(done.wait(), 10)
    for conn in list(writer.conns.values()):
        conn.close()
    assert results == [b"OK"], results

    received = []
    got_all = asyncio.Event()
    seen_layers = []

    def handler(message):
        if not seen_layers:
            seen_layers.extend(layers(next(iter(reader.conns.values()))))
        received.append(message.body)
        if len(received) >= len(bodies):
            got_all.set()
        return True

    reader = nsq.Reader(topic=topic, channel="py", message_handler=handler,
                        nsqd_tcp_addresses=[nsqd_tcp], max_in_flight=10, **conn_kwargs)
    try:
        await asyncio.wait_for(got_all.wait(), 10)
    finally:
        reader.close()
    return received, seen_layers


def sample_bodies():
    # Small ones, one past a 64 KiB snappy block that compresses well.
    return [f"m{i}".encode() for i in range(10)] + [b"abcdefg" * 20000]


def test_pynsq_snappy_writer_and_reader():
    # Only bodies that compress: pynsq's SnappySocket cannot take a snappy chunk split
    # over two socket reads (it raises a bare OSError(EWOULDBLOCK), which tornado 6
    # takes as a read error), and an incompressible body past 64 KiB is sent, by any
    # nsqd, as a chunk larger than tornado's 64 KiB reads.
    bodies = sample_bodies()
    got, layers_seen = asyncio.run(
        publish_and_consume(NSQD_TCP, topic_name("snappy"), bodies, snappy=True))
    assert sorted(got) == sorted(bodies)
    assert layers_seen == ["SnappySocket", "socket"], layers_seen


def test_pynsq_deflate_writer_and_reader():
    bodies = sample_bodies() + [os.urandom(70000)]
    got, layers_seen = asyncio.run(publish_and_consume(
        NSQD_TCP, topic_name("deflate"), bodies, deflate=True, deflate_level=3))
    assert sorted(got) == sorted(bodies)
    assert layers_seen == ["DeflateSocket", "socket"], layers_seen


class AuthService:
    """An auth HTTP service as pynsqauthd answers: GET /auth?secret=..; a known
    secret gets 200 {ttl, identity, identity_url, authorizations}, others 403."""

    def __init__(self):
        self.grants = {}
        self.requests = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                args = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                service.requests.append({"path": url.path, "args": args,
                                         "accept": self.headers.get("Accept")})
                grant = service.grants.get(args.get("secret"))
                if url.path != "/auth" or grant is None:
                    self.reply(403, {"message": "NOT_AUTHORIZED"})
                else:
                    self.reply(200, grant)

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def secure():
    """An nsqd with TLS required (client certificates verified) and AUTH."""
    binary = os.environ.get("DEVSTACK_BIN")
    if not binary:
        pytest.skip("DEVSTACK_BIN (the x-msrv-devstack binary) is not set")
    auth = AuthService()
    pki = tempfile.mkdtemp(prefix="x-msrv-pki-")
    proc = subprocess.Popen(
        [binary, "--nsqd-tcp", "127.0.0.1:0", "--nsqd-http", "127.0.0.1:0",
         "--lookupd-http", "127.0.0.1:0", "--aerospike", "127.0.0.1:0",
         "--tls-test-pki", pki, "--tls-client-auth-policy", "require-verify",
         "--auth-http-address", auth.address],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        ready = proc.stdout.readline().split()
        assert ready and ready[0] == "ready", ready
        fields = dict(f.split("=", 1) for f in ready[1:])
        tls = {"ca_certs": f"{pki}/ca.pem", "certfile": f"{pki}/client.pem",
               "keyfile": f"{pki}/client.key"}
        yield {"tcp": fields["nsqd-tcp"], "http": fields["nsqd-http"], "auth": auth,
               "tls": tls, "pki": pki}
    finally:
        proc.terminate()
        proc.wait(10)
        auth.close()
        subprocess.run(["rm", "-rf", pki], check=False)


def grant(identity, topic):
    return {"ttl": 3600, "identity": identity, "identity_url": "",
            "authorizations": [{"topic": f"^{topic}$", "channels": [".*"],
                                "permissions": ["subscribe", "publish"]}]}


@pytest.mark.parametrize("compression,wanted", [
    ({}, ["SSLSocket"]),
    ({"snappy": True}, ["SnappySocket", "SSLSocket"]),
    ({"deflate": True}, ["DeflateSocket", "SSLSocket"]),
])
def test_pynsq_over_tls_with_auth(secure, compression, wanted):
    topic = topic_name("secure")
    secret = f"secret-{uuid.uuid4().hex[:6]}"
    secure["auth"].grants[secret] = grant("py", topic)
    bodies = [b"one", b"two", b"x" * 100000]
    got, layers_seen = asyncio.run(publish_and_consume(
        secure["tcp"], topic, bodies, tls_v1=True, tls_options=secure["tls"],
        auth_secret=secret, **compression))
    assert sorted(got) == sorted(bodies)
    assert layers_seen == wanted, layers_seen
    asked = [r for r in secure["auth"].requests if r["args"].get("secret") == secret]
    assert asked, "nsqd asked the auth service"
    for r in asked:
        assert r["path"] == "/auth"
        assert r["args"] == {"secret": secret, "remote_ip": "127.0.0.1", "tls": "true",
                             "common_name": CLIENT_CN}
        assert r["accept"] == "application/vnd.nsq; version=1.0"


def raw_frame(sock):
    size = struct.unpack(">I", recv_exact(sock, 4))[0]
    data = recv_exact(sock, size)
    return struct.unpack(">I", data[:4])[0], data[4:]


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


def test_plain_commands_are_refused_when_tls_is_required(secure):
    host, port = secure["tcp"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"  V2PUB t\n" + struct.pack(">I", 1) + b"x")
        assert raw_frame(s) == (1, b"E_INVALID cannot PUB in current state (TLS required)")
    out = subprocess.run(["curl", "-sS", "-w", " %{http_code}", f"http://{secure['http']}/ping"],
                         capture_output=True, text=True, check=True).stdout
    assert out == '{"message": "TLS_REQUIRED", "https_port": 0} 403'


def test_a_client_without_a_certificate_gets_no_ok(secure):
    """require-verify: Python's ssl module without certfile. The handshake or the
    first read fails; nsqd's OK never comes."""
    host, port = secure["tcp"].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=secure["tls"]["ca_certs"])
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        body = json.dumps({"feature_negotiation": True, "tls_v1": True}).encode()
        raw.sendall(b"  V2IDENTIFY\n" + struct.pack(">I", len(body)) + body)
        ftype, data = raw_frame(raw)
        assert ftype == 0 and json.loads(data)["tls_v1"] is True
        with pytest.raises((ssl.SSLError, EOFError, ConnectionError)):
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                raw_frame(tls)


def test_pynsq_auth_errors(secure):
    """AsyncConn reports nsqd's error frames: an unknown secret, and a topic the
    secret may not publish to."""
    secret = f"secret-{uuid.uuid4().hex[:6]}"
    secure["auth"].grants[secret] = grant("py", "allowed")
    host, port = secure["tcp"].rsplit(":", 1)

    async def errors_of(auth_secret, action=None):
        conn = nsq.AsyncConn(host, int(port), tls_v1=True, tls_options=secure["tls"],
                             auth_secret=auth_secret)
        errors, ready = [], asyncio.Event()
        conn.on("error", lambda conn, error: (errors.append(str(error)), ready.set()))
        conn.on("ready", lambda conn: (action and action(conn), None))
        conn.connect()
        try:
            await asyncio.wait_for(ready.wait(), 10)
        finally:
            conn.close()
        return errors

    errors = asyncio.run(errors_of("wrong"))
    assert any("E_AUTH_FAILED AUTH failed" in e for e in errors), errors
    errors = asyncio.run(errors_of(secret, lambda c: c.send(nsq.protocol.pub("other", b"x"))))
    assert any('E_UNAUTHORIZED AUTH failed for PUB on "other" ""' in e for e in errors), errors
