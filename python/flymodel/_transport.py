"""HTTP for the client: http.client over kept-alive connections, TLS,
retries where the Go client retries, and problem+json answers as exceptions.

http.client rather than urllib: uploads stream in 256 KiB blocks (urllib's
are 8 KiB), redirects are never followed on their own (a presigned URL must
not receive the bearer token), and each thread keeps its connection.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import socket
import ssl
import stat
import threading
import time
import urllib.parse
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from . import errors

USER_AGENT = "flymodel-python"

# Bytes per socket write and per read of a download. 256 KiB blocks stay in
# the CPU's cache between the socket, sha256 and the file: downloads ran
# twice as fast as with 1 MiB blocks (python/bench/transfer.py), and the
# Python work per block is small beside the copies.
BLOCK = 256 << 10

# Bounds of the waits between attempts (as the Go client).
MAX_BACKOFF = 10.0
MAX_RETRY_AFTER = 30.0
# A kept-alive connection idle longer than this is not reused: the server
# closes idle connections after two minutes, and a request written into a
# connection the server is closing fails in a way that is not always safe
# to retry.
MAX_IDLE = 50.0

# Bodies this large are sent with "Expect: 100-continue".
EXPECT_CONTINUE_MIN = 1 << 20

IDEMPOTENT = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS"))
RETRY_STATUS = frozenset((502, 503, 504))

Body = Union[None, bytes, bytearray, BinaryIO]

# TLS alerts of a server that refused the client's certificate, or its lack of one (mTLS).
CLIENT_CERT_ALERTS = frozenset(("TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_BAD_CERTIFICATE",
                                "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"))


class Response:
    """An answer: status, headers, and the body, read (``data``) or left to
    stream (``stream``, closed by ``close``)."""

    def __init__(self, status: int, headers: http.client.HTTPMessage, data: bytes = b"",
                 stream: Optional[http.client.HTTPResponse] = None, conn: Any = None,
                 release: Optional[Callable[[], None]] = None) -> None:
        self.status = status
        self.headers = headers
        self.data = data
        self.stream = stream
        self._conn = conn
        self._release = release
        # Set by iter_body when the body ended where its framing says.
        self.complete = False

    def json(self) -> Any:
        return json.loads(self.data) if self.data else None

    def header(self, name: str, default: str = "") -> str:
        v = self.headers.get(name)
        return default if v is None else v

    def close(self) -> None:
        """Done with the answer: a connection whose answer was read to its
        end goes back to the pool, any other is closed."""
        # Only iter_body knows the answer was read to its end: http.client
        # also marks closed an answer cut short (at EOF with its length
        # still owed, or at a chunk size it could not read), and that
        # connection is dead.
        reusable = (self.complete and self.stream is not None and self.stream.isclosed()
                    and not self.stream.will_close)
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if self._conn is not None:
            if reusable and self._release is not None:
                self._release()
            else:
                self._conn.close()
            self._conn = None


class _Progress(io.RawIOBase):
    """A file read by http.client, reporting the bytes read."""

    def __init__(self, f: BinaryIO, report: Callable[[int], None]) -> None:
        self._f = f
        self._report = report

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        b = self._f.read(n)
        if b:
            self._report(len(b))
        return b


class Transport:
    def __init__(
        self,
        server: str,
        token: Optional[str] = None,
        *,
        timeout: float = 60.0,
        ca_file: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        retries: int = 4,
        backoff: float = 0.2,
        user_agent: str = USER_AGENT,
    ) -> None:
        u = urllib.parse.urlsplit(server)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"flymodel: server {server!r} is not an http(s) URL")
        if u.query or u.fragment:
            raise ValueError(f"flymodel: server {server!r} has a query or fragment")
        self.server = server.rstrip("/")
        self._scheme = u.scheme
        self._netloc = u.netloc
        self._prefix = u.path.rstrip("/")
        self.token = token or None
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.user_agent = user_agent
        self.expect_timeout = 1.0  # as Go's http.Transport ExpectContinueTimeout
        self._ssl = self._context(ca_file, cert_file, key_file) if u.scheme == "https" or ca_file or cert_file else None
        self._local = threading.local()
        self._pools: List[Dict[Tuple[str, str], Tuple[http.client.HTTPConnection, float]]] = []
        self._pools_lock = threading.Lock()

    @staticmethod
    def _context(ca_file: Optional[str], cert_file: Optional[str], key_file: Optional[str]) -> ssl.SSLContext:
        # The system's roots, plus a private CA: a redirect to a public S3
        # endpoint still verifies.
        ctx = ssl.create_default_context()
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        if cert_file or key_file:
            if not (cert_file and key_file):
                raise ValueError("flymodel: cert_file and key_file go together")
            ctx.load_cert_chain(cert_file, key_file)
        return ctx

    # --- connections ---------------------------------------------------------

    def _connection(self, scheme: str, netloc: str, fresh: bool) -> Tuple[http.client.HTTPConnection, bool]:
        """A connection to netloc and whether it was used before."""
        pool: Optional[Dict[Tuple[str, str], Tuple[http.client.HTTPConnection, float]]] = getattr(self._local, "pool", None)
        if pool is None:
            pool = {}
            self._local.pool = pool
            with self._pools_lock:
                self._pools.append(pool)
        key = (scheme, netloc)
        held = pool.pop(key, None)
        if held is not None:
            conn, idle_since = held
            if not fresh and time.monotonic() - idle_since < MAX_IDLE:
                return conn, True
            conn.close()
        if scheme == "https":
            ctx = self._ssl or ssl.create_default_context()
            conn = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=ctx, blocksize=BLOCK)
        else:
            conn = http.client.HTTPConnection(netloc, timeout=self.timeout, blocksize=BLOCK)
        return conn, False

    def _release(self, scheme: str, netloc: str, conn: http.client.HTTPConnection) -> None:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            conn.close()
            return
        old = pool.pop((scheme, netloc), None)
        if old is not None:
            old[0].close()
        pool[(scheme, netloc)] = (conn, time.monotonic())

    def close(self) -> None:
        """Close the kept-alive connections of every thread."""
        with self._pools_lock:
            pools, self._pools = self._pools, []
        for pool in pools:
            for conn, _ in list(pool.values()):
                conn.close()
            pool.clear()
        self._local = threading.local()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # --- requests ------------------------------------------------------------

    def url(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        target = self._prefix + path
        if query:
            q = {k: _query_value(v) for k, v in query.items() if v is not None and v != ""}
            if q:
                target += "?" + urllib.parse.urlencode(q)
        return target

    def request(
        self,
        method: str,
        path: str = "",
        *,
        query: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        body: Body = None,
        length: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = False,
        external: Optional[str] = None,
        ok: Tuple[int, ...] = (),
        progress: Optional[Callable[[int], None]] = None,
    ) -> Response:
        """Send a request and return its answer; an error status raises the
        problem's exception unless it is in ok. external is a full URL of
        another host (a presigned download), sent without the token."""
        h: Dict[str, str] = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            h["Content-Type"] = "application/json"
        if external is not None:
            u = urllib.parse.urlsplit(external)
            scheme, netloc = u.scheme, u.netloc
            target = urllib.parse.urlunsplit(("", "", u.path or "/", u.query, ""))
        else:
            scheme, netloc, target = self._scheme, self._netloc, self.url(path, query)
            if self.token:
                h["Authorization"] = "Bearer " + self.token
        if headers:
            h.update(headers)
        if isinstance(body, (bytes, bytearray)):
            length = len(body)
        if body is not None or method in ("POST", "PUT", "PATCH"):
            h["Content-Length"] = str(length if length is not None else 0)
        start = _tell(body)
        idempotent = method in IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            fresh_needed = attempt > 1
            conn, reused = self._connection(scheme, netloc, fresh_needed)
            sent = False
            try:
                send: Any = body
                if progress is not None and body is not None and not isinstance(body, (bytes, bytearray)):
                    send = _Progress(body, progress)
                if length is not None and length >= EXPECT_CONTINUE_MIN and body is not None:
                    # The server may refuse (sealed, too large, no token) or
                    # accept (it holds these bytes) without reading the body:
                    # let it say so before gigabytes are sent.
                    res, sent = _expect_continue(conn, method, target, h, send, self.expect_timeout)
                else:
                    conn.request(method, target, body=send, headers=h)
                    sent = True
                    res = conn.getresponse()
                if progress is not None and isinstance(body, (bytes, bytearray)):
                    progress(len(body))
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if attempt <= self.retries and self._may_retry(e, reused, sent, idempotent, body, start):
                    _rewind(body, start)
                    time.sleep(self._backoff(attempt) if not reused or attempt > 1 else 0)
                    continue
                raise errors.TransportError(f"{method} {self._show(scheme, netloc, target)}: {_describe(e)}") from e
            status = res.status
            if status in RETRY_STATUS and idempotent and _resendable(body, start) and attempt <= self.retries:
                wait = _retry_after(res.getheader("Retry-After")) or self._backoff(attempt)
                _drain(res, conn)
                self._release(scheme, netloc, conn)
                _rewind(body, start)
                time.sleep(wait)
                continue
            if status >= 400 and status not in ok:
                data = _read_limited(res, 1 << 20)
                self._finish(res, scheme, netloc, conn)
                raise _error(status, res.headers, data, method, target)
            if stream:
                return Response(status, res.headers, stream=res, conn=conn,
                                release=lambda: self._release(scheme, netloc, conn))
            data = res.read()
            self._finish(res, scheme, netloc, conn)
            return Response(status, res.headers, data=data)

    def _finish(self, res: http.client.HTTPResponse, scheme: str, netloc: str, conn: http.client.HTTPConnection) -> None:
        if res.will_close or not res.isclosed():
            conn.close()
        else:
            self._release(scheme, netloc, conn)

    def _may_retry(self, e: BaseException, reused: bool, sent: bool, idempotent: bool, body: Body, start: Optional[int]) -> bool:
        if not _resendable(body, start):
            return False
        # Nothing reached the server: any method may go again.
        if isinstance(e, (ConnectionRefusedError, socket.gaierror)):
            return True
        if reused and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)) and (not sent or idempotent):
            # A kept-alive connection the server had closed meanwhile.
            return True
        if not idempotent:
            return False
        return isinstance(e, (ConnectionError, socket.timeout, TimeoutError, http.client.IncompleteRead,
                              http.client.RemoteDisconnected, http.client.BadStatusLine))

    def _backoff(self, attempt: int) -> float:
        d = self.backoff
        for _ in range(1, attempt):
            if d >= MAX_BACKOFF:
                break
            d *= 2
        d = min(d, MAX_BACKOFF)
        return d / 2 + random.uniform(0, d / 2)

    def _show(self, scheme: str, netloc: str, target: str) -> str:
        # Never the query of a presigned URL: it holds a signature.
        return f"{scheme}://{netloc}{target.split('?', 1)[0]}"


class _Prefixed(io.RawIOBase):
    """Bytes already read from a socket, then the socket."""

    def __init__(self, prefix: bytes, sock: socket.socket) -> None:
        self._prefix = prefix
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._prefix:
            n = min(len(b), len(self._prefix))
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return self._sock.recv_into(b)


class _PrefixedSocket:
    """What http.client.HTTPResponse needs of a socket: makefile."""

    def __init__(self, prefix: bytes, sock: socket.socket) -> None:
        self._raw = _Prefixed(prefix, sock)

    def makefile(self, mode: str) -> BinaryIO:
        return io.BufferedReader(self._raw)  # type: ignore[return-value]


def _expect_continue(conn: http.client.HTTPConnection, method: str, target: str, headers: Dict[str, str],
                     body: Any, wait: float) -> Tuple[http.client.HTTPResponse, bool]:
    """Send the headers with "Expect: 100-continue", then the body once the
    server says "100 Continue" (or has said nothing for wait seconds); a
    final answer that comes first is returned without sending the body (the
    connection is then not reused). Returns the answer and whether the body
    was sent."""
    conn.putrequest(method, target, skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    sock = conn.sock
    prev = sock.gettimeout()
    buf = b""
    try:
        sock.settimeout(wait)
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, TimeoutError):
        pass  # the server does not do 100-continue: send the body
    finally:
        sock.settimeout(prev)
    if buf and not buf.startswith(b"HTTP/1.1 100") and not buf.startswith(b"HTTP/1.0 100"):
        # A final answer, the body unsent: parse it from what was read.
        res = http.client.HTTPResponse(_PrefixedSocket(buf, sock), method=method)  # type: ignore[arg-type]
        res.begin()
        res.will_close = True
        conn.close()
        return res, False
    rest = buf.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in buf else b""
    _send_body(sock, body, int(headers.get("Content-Length", "0")))
    if rest:
        res = http.client.HTTPResponse(_PrefixedSocket(rest, sock), method=method)  # type: ignore[arg-type]
        res.begin()
        return res, True
    return conn.getresponse(), True


# Bytes per sendfile call: progress is reported between calls.
SENDFILE_CHUNK = 8 << 20


def _send_body(sock: socket.socket, body: Any, length: int) -> None:
    """Write a request body of length bytes to the socket: a regular file
    over plain TCP with sendfile (the kernel copies it from the page cache:
    no Python buffer, and the CPU left to the rest — the server, on a small
    machine), anything else a block at a time. Never more than length (a
    file that grew since it was hashed would corrupt the connection); fewer
    is an error (a file that shrank)."""
    if isinstance(body, (bytes, bytearray)):
        sock.sendall(body)
        return
    f, report = body, None
    if isinstance(body, _Progress):
        f, report = body._f, body._report
    left = length
    if not isinstance(sock, ssl.SSLSocket) and _regular_file(f):
        while left > 0:
            n = sock.sendfile(f, f.tell(), min(SENDFILE_CHUNK, left))  # moves the file's position past what it sent
            if not n:
                break
            left -= n
            if report is not None:
                report(n)
    while left > 0:
        block = body.read(min(BLOCK, left))
        if not block:
            break
        sock.sendall(block)
        left -= len(block)
    if left > 0:
        raise OSError(f"the body ended {left} bytes short of its Content-Length (did the file shrink?)")


def _regular_file(f: Any) -> bool:
    try:
        return stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _tell(body: Body) -> Optional[int]:
    if body is None or isinstance(body, (bytes, bytearray)):
        return 0
    try:
        if body.seekable():
            return body.tell()
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _resendable(body: Body, start: Optional[int]) -> bool:
    return start is not None


def _rewind(body: Body, start: Optional[int]) -> None:
    if body is not None and not isinstance(body, (bytes, bytearray)) and start is not None:
        body.seek(start)


def _retry_after(v: Optional[str]) -> float:
    if not v:
        return 0.0
    try:
        secs = float(int(v))
    except ValueError:
        try:
            secs = parsedate_to_datetime(v).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return 0.0
    return max(0.0, min(secs, MAX_RETRY_AFTER))


def _drain(res: http.client.HTTPResponse, conn: http.client.HTTPConnection) -> None:
    try:
        res.read(1 << 16)
    except (OSError, http.client.HTTPException):
        conn.close()


def _read_limited(res: http.client.HTTPResponse, limit: int) -> bytes:
    try:
        return res.read(limit)
    except (OSError, http.client.HTTPException):
        return b""


def _describe(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {e.verify_message} (give ca_file for a private CA)"
    if isinstance(e, ssl.SSLError) and getattr(e, "reason", "") in CLIENT_CERT_ALERTS:
        return f"{e} (the server wants a client certificate it trusts: give cert_file and key_file)"
    if isinstance(e, ssl.SSLEOFError):
        # What a server with mTLS may leave when it closed the connection
        # before its alert was read.
        return f"{e}: the server closed the TLS connection (with mTLS, it wants a client certificate it trusts: " \
               "give cert_file and key_file)"
    return str(e) or type(e).__name__


def _error(status: int, headers: http.client.HTTPMessage, data: bytes, method: str, target: str) -> errors.FlymodelError:
    request_id = headers.get("X-Request-Id") or ""
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype in ("application/problem+json", "application/json") and data:
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            return errors.from_problem(status, doc, request_id)
    # Not a problem: a proxy's page, an S3 error document.
    text = data[:300].decode("utf-8", "replace").strip()
    detail = f"{method} {target.split('?', 1)[0]}: HTTP {status}" + (f": {text}" if text else "")
    return errors.from_problem(status, {"detail": detail}, request_id)


def iter_body(res: Response, block: int = 0) -> Iterator[memoryview]:
    """The bytes of a streamed answer, a block at a time (one buffer, reused).
    A connection that fails or is cut short mid-body (a chunked answer
    ended early, a reset, a timeout) raises TransportError; an answer with a
    Content-Length that ends early just ends (its size is checked)."""
    assert res.stream is not None
    buf = bytearray(block or BLOCK)
    view = memoryview(buf)
    got = 0
    while True:
        try:
            n = res.stream.readinto(buf)
        except (OSError, http.client.HTTPException, ValueError) as e:
            # ValueError: http.client reading a chunk size from a
            # connection cut mid-line.
            raise errors.TransportError(f"the connection failed after {got} bytes of the answer: {_describe(e)}") from e
        if not n:
            # http.client ends a chunked answer only at its last chunk, but
            # one with a Content-Length also at an early EOF (length owed).
            res.complete = not res.stream.length
            return
        got += n
        yield view[:n]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
