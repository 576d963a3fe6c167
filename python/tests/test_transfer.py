"""Uploads, downloads, pull, experiments and progress against a real server.

Every download is verified (sha256, size, the server's digest); a tampered
blob raises IntegrityError and leaves no file; uploads and downloads stream
with flat memory; on PostgreSQL + S3 downloads go to the bucket through the
presigned redirect, without the token.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import http.server
import io
import os
import shutil
import tempfile
import threading
import tracemalloc
import unittest
import urllib.parse
import urllib.request
import uuid
from typing import Any, BinaryIO, Dict, List, Optional, Tuple, cast

import harness
from test_upsert import settled, writes

import flymodel
from flymodel._progress import Progress

MiB = 1 << 20


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def uid(prefix: str) -> str:
    return prefix + "-" + uuid.uuid4().hex[:10]


def files_under(root: str) -> List[str]:
    """Every file and symbolic link under root, relative, sorted."""
    out = []
    for d, _, fs in os.walk(root):
        for f in fs:
            out.append(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/"))
    return sorted(out)


def artifact_gets(srv: Any) -> float:
    """GETs of an artifact's bytes (version's or experiment's) the server answered."""
    r = urllib.request.Request(srv.url + "/metrics", headers={"Authorization": "Bearer " + srv.token})
    with urllib.request.urlopen(r, timeout=30, context=srv.ssl_context()) as resp:
        text = resp.read().decode()
    n = 0.0
    for line in text.splitlines():
        if line.startswith('flymodel_http_requests_total{method="GET"') and 'artifacts/{name}"' in line:
            n += float(line.rsplit(" ", 1)[1])
    return n


def record_connections(client: flymodel.Client) -> List[Tuple[str, str, str, Dict[str, str]]]:
    """Every request the client's transport writes: (netloc, method, target,
    headers), recorded at http.client's level (what goes on the wire)."""
    seen: List[Tuple[str, str, str, Dict[str, str]]] = []
    t = client._t
    orig = t._connection

    def connection(scheme: str, netloc: str, fresh: bool) -> Any:
        conn, reused = orig(scheme, netloc, fresh)
        if not getattr(conn, "_recorded", False):
            send = conn.request

            def request(method: str, url: str, body: Any = None, headers: Any = None, **kw: Any) -> Any:
                seen.append((netloc, method, url, dict(headers or {})))
                return send(method, url, body=body, headers=headers or {}, **kw)

            conn.request = request
            setattr(conn, "_recorded", True)
        return conn, reused

    t._connection = connection  # type: ignore[method-assign]
    return seen


class _Relay:
    """An HTTP relay for the client's downloads of artifacts' bytes (from the
    server, and from the bucket a presigned redirect names) that alters the
    bodies of 64 KiB or more, as a broken store or network would: "flip"
    one bit; "cut" the connection halfway (the Content-Length kept);
    "cut-chunked" halfway through a chunked answer. Everything else the
    client sends goes to the server as usual."""

    def __init__(self, srv: Any, mode: str) -> None:
        relay = self
        self.mode = mode
        self.server = urllib.parse.urlsplit(srv.url).netloc
        self.token = srv.token
        self.altered = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                _, upstream, rest = self.path.split("/", 2)
                conn = http.client.HTTPConnection(upstream, timeout=30)
                headers = {"Authorization": "Bearer " + relay.token} if upstream == relay.server else {}
                conn.request("GET", "/" + rest, headers=headers)
                res = conn.getresponse()
                body = bytearray(res.read())
                conn.close()
                alter = res.status == 200 and len(body) >= 64 << 10
                if alter:
                    relay.altered += 1
                self.send_response(res.status)
                for k, v in res.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                half = bytes(body[: len(body) // 2])
                if alter and relay.mode == "cut-chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"%x\r\n" % len(half) + half + b"\r\n")
                    self.close_connection = True
                    return
                if alter and relay.mode == "flip":
                    body[len(body) // 2] ^= 0x01
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if alter and relay.mode == "cut":
                    self.wfile.write(half)
                    self.close_connection = True
                    return
                self.wfile.write(bytes(body))

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def netloc(self) -> str:
        return "127.0.0.1:%d" % self.httpd.server_address[1]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, client: flymodel.Client) -> None:
        """Send the client's downloads of artifacts' bytes through the relay."""
        orig = client._t.request

        def request(method: str, path: str = "", **kw: Any) -> Any:
            ext = kw.get("external")
            if ext:
                u = urllib.parse.urlsplit(ext)
                kw["external"] = f"http://{self.netloc}/{u.netloc}{u.path}" + (f"?{u.query}" if u.query else "")
            elif method == "GET" and kw.get("stream") and "/artifacts/" in path:
                target = client._t.url(path, kw.pop("query", None))
                kw["external"] = f"http://{self.netloc}/{self.server}{target}"
            return orig(method, path, **kw)

        client._t.request = request  # type: ignore[method-assign]


class TransferTest(unittest.TestCase):
    srv: Any
    client: flymodel.Client

    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = harness.shared_server()
        cls.client = cls.srv.client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="flymodel-transfer-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.ns = uid("tr")
        self.model = uid("m")
        self.ref = f"{self.ns}/{self.model}"
        self.client.create_namespace(self.ns)
        self.client.create_model(self.ref)
        self.client.create_version(self.ref, "v1")

    def path(self, rel: str, data: Optional[bytes] = None) -> str:
        p = os.path.join(self.tmp, *rel.split("/"))
        if data is not None:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        return p

    def big_file(self, rel: str, size: int) -> str:
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            for _ in range(size // MiB):
                f.write(os.urandom(MiB))
        return p

    # --- uploads

    def test_upload_sources_and_created(self) -> None:
        # Over 1 MiB: sent after "100 Continue" (a file with sendfile, a file object a block at a time).
        data = os.urandom(MiB + 100_000)
        p = self.path("in/w.bin", data)
        a = self.client.upload(self.ref, "v1", "from-path.bin", p)
        self.assertIs(a.created, True)
        self.assertEqual((a.name, a.sha256, a.size), ("from-path.bin", sha(data), len(data)))
        again = self.client.upload(self.ref, "v1", "from-path.bin", p)
        self.assertIs(again.created, False)
        self.assertEqual(again.sha256, sha(data))

        b = self.client.upload(self.ref, "v1", "from-bytes.bin", b"some bytes", format="txt", extra={"k": 1})
        self.assertIs(b.created, True)
        self.assertEqual((b.sha256, b.size, b.format, b.extra), (sha(b"some bytes"), 10, "txt", {"k": 1}))
        self.assertIs(self.client.upload(self.ref, "v1", "from-bytes.bin", bytearray(b"some bytes")).created, False)

        # A seekable file object is read from where it stands.
        f = io.BytesIO(b"HEADER" + data)
        f.seek(6)
        c = self.client.upload(self.ref, "v1", "from-file.bin", f)
        self.assertEqual((c.sha256, c.size), (sha(data), len(data)))

        class Stream(io.RawIOBase):
            """A pipe: read once, no seek, no length."""

            def __init__(self, payload: bytes) -> None:
                self._b = io.BytesIO(payload)

            def readable(self) -> bool:
                return True

            def seekable(self) -> bool:
                return False

            def readinto(self, buf: Any) -> int:
                return self._b.readinto(buf)

        d = self.client.upload(self.ref, "v1", "from-stream.bin", cast(BinaryIO, Stream(data + b"!")))
        self.assertIs(d.created, True)
        self.assertEqual((d.sha256, d.size), (sha(data + b"!"), len(data) + 1))

        for name, want in (("from-path.bin", data), ("from-bytes.bin", b"some bytes"), ("from-file.bin", data),
                           ("from-stream.bin", data + b"!")):
            self.assertEqual(self.client.read(self.ref, "v1", name), want, name)

        with self.assertRaises(FileNotFoundError):
            self.client.upload(self.ref, "v1", "missing.bin", self.path("nope.bin"))

    def test_upload_other_bytes_is_immutable(self) -> None:
        self.client.upload(self.ref, "v1", "dir/w.bin", b"first")
        for source in (b"second", self.path("second.bin", b"second")):
            with self.subTest(source=type(source).__name__):
                with self.assertRaises(flymodel.ImmutableError) as cm:
                    self.client.upload(self.ref, "v1", "dir/w.bin", source)
                e = cm.exception
                self.assertEqual(e.status, 409)
                self.assertEqual(e.artifact, "dir/w.bin")
                self.assertEqual(e.existing_sha256, sha(b"first"))
                self.assertEqual(e.actual_sha256, sha(b"second"))
        self.assertEqual(self.client.read(self.ref, "v1", "dir/w.bin"), b"first")

    def test_upload_wrong_declared_digest(self) -> None:
        data = os.urandom(5000)
        wrong = sha(b"something else")
        for source in (data, self.path("d.bin", data), io.BytesIO(data)):
            with self.subTest(source=type(source).__name__):
                with self.assertRaises(flymodel.DigestMismatch) as cm:
                    self.client.upload(self.ref, "v1", "d.bin", source, sha256=wrong)
                self.assertEqual(cm.exception.status, 400)
                self.assertEqual(cm.exception.expected, wrong)
                self.assertEqual(cm.exception.actual, sha(data))
        self.assertEqual([a.name for a in self.client.artifacts(self.ref, "v1")], [], "a refused upload stored something")
        self.assertEqual(self.client.upload(self.ref, "v1", "d.bin", data, sha256=sha(data).upper()).sha256, sha(data))

    def test_upload_after_promotion_is_sealed(self) -> None:
        self.client.upload(self.ref, "v1", "a.bin", b"a")
        self.client.set_state(self.ref, "v1", "qa")
        before = settled(writes, self.srv)
        with self.assertRaises(flymodel.SealedError) as cm:
            self.client.upload(self.ref, "v1", "b.bin", b"b")
        self.assertEqual(cm.exception.status, 409)
        self.assertGreater(settled(writes, self.srv), before, "the refused upload was a request (the counter works)")
        self.assertEqual([a.name for a in self.client.artifacts(self.ref, "v1")], ["a.bin"])
        # The same bytes under their name are a success on a sealed version (a rerun).
        self.assertIs(self.client.upload(self.ref, "v1", "a.bin", b"a").created, False)

    def test_upload_to_experiment(self) -> None:
        self.client.create_experiment(self.ref, "v1", "eval")
        a = self.client.upload(self.ref, "v1", "report.json", b"{}", experiment="eval")
        self.assertIs(a.created, True)
        self.assertEqual(a.format, "json")
        self.assertEqual([x.name for x in self.client.artifacts(self.ref, "v1", experiment="eval")], ["report.json"])
        self.assertEqual([x.name for x in self.client.artifacts(self.ref, "v1")], [])
        self.assertEqual(self.client.read(self.ref, "v1", "report.json", experiment="eval"), b"{}")

    # --- downloads

    def test_download_to_file_and_folder(self) -> None:
        data = os.urandom(300_000)
        self.client.upload(self.ref, "v1", "weights/model.bin", data)
        f = self.path("out/file.bin")
        a = self.client.download(self.ref, "v1", "weights/model.bin", f)
        self.assertEqual(a.sha256, sha(data))
        with open(f, "rb") as fh:
            self.assertEqual(fh.read(), data)
        folder = self.path("folder")
        os.makedirs(folder)
        self.client.download(self.ref, "v1", "weights/model.bin", folder)
        self.assertEqual(files_under(folder), ["model.bin"])
        with open(os.path.join(folder, "model.bin"), "rb") as fh:
            self.assertEqual(fh.read(), data)
        self.assertEqual(self.client.read(self.ref, "v1", "weights/model.bin"), data)
        # A folder takes the artifact's file_name when it has one.
        self.client.upload(self.ref, "v1", "w", b"named", file_name="weights.safetensors")
        self.client.download(self.ref, "v1", "w", folder)
        self.assertEqual(files_under(folder), ["model.bin", "weights.safetensors"])
        with self.assertRaises(flymodel.NotFound):
            self.client.download(self.ref, "v1", "nope.bin", folder)
        self.assertEqual(files_under(folder), ["model.bin", "weights.safetensors"])

    def test_download_skips_a_file_already_there(self) -> None:
        data = os.urandom(50_000)
        self.client.upload(self.ref, "v1", "m.bin", data)
        dest = self.path("m.bin", data)
        st = os.stat(dest)
        gets = settled(artifact_gets, self.srv)
        self.client.download(self.ref, "v1", "m.bin", dest)
        self.assertEqual(settled(artifact_gets, self.srv), gets, "the bytes were downloaded again")
        st2 = os.stat(dest)
        self.assertEqual((st2.st_ino, st2.st_mtime_ns), (st.st_ino, st.st_mtime_ns), "the file was rewritten")
        # Other bytes of the same size are replaced.
        self.path("m.bin", bytes(len(data)))
        self.client.download(self.ref, "v1", "m.bin", dest)
        self.assertGreater(settled(artifact_gets, self.srv), gets)
        with open(dest, "rb") as fh:
            self.assertEqual(fh.read(), data)

    def test_100mib_streams_with_flat_memory(self) -> None:
        size = 100 * MiB
        src = self.big_file("big/blob.bin", size)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            a = self.client.upload(self.ref, "v1", "big.bin", src)
            _, up_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            dest = self.path("down/big.bin")
            self.client.download(self.ref, "v1", "big.bin", dest)
            _, down_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertEqual(a.size, size)
        self.assertLess(up_peak, 16 * MiB, f"upload of 100 MiB: Python allocations peaked at {up_peak / MiB:.1f} MiB")
        self.assertLess(down_peak, 16 * MiB, f"download of 100 MiB: Python allocations peaked at {down_peak / MiB:.1f} MiB")
        self.assertEqual(os.path.getsize(dest), size)
        from flymodel.client import sha256_file

        self.assertEqual(sha256_file(dest)[0], a.sha256)
        self.assertEqual(sha256_file(src)[0], a.sha256)

    # --- a tampered blob

    def _tamper(self, data: bytes, client: flymodel.Client) -> Optional[_Relay]:
        """Make the stored bytes of data wrong: on the data folder, overwrite
        the blob's file (same size, one bit flipped); on S3, whose objects
        are versioned (an overwrite is a new version the registry never
        reads), send the client's downloads through a relay that flips a
        bit. Returns the relay, if any."""
        blobs = os.path.join(self.srv.data_dir, "blobs")
        found = []
        for d, _, fs in os.walk(blobs):
            for f in fs:
                p = os.path.join(d, f)
                if os.path.getsize(p) == len(data):
                    with open(p, "rb") as fh:
                        if fh.read() == data:
                            found.append(p)
        if found:
            for p in found:
                b = bytearray(data)
                b[len(b) // 3] ^= 0x80
                with open(p, "r+b") as fh:
                    fh.write(b)
            return None
        harness.require("s3" in harness.backend(),
                        f"the blob of the upload is not under {blobs} and the backend ({harness.backend()}) has no S3")
        relay = _Relay(self.srv, "flip")
        self.addCleanup(relay.close)
        relay.route(client)
        return relay

    def test_tampered_blob_raises_integrity_error_and_leaves_no_file(self) -> None:
        data = os.urandom(3 * MiB + 17)
        self.client.upload(self.ref, "v1", "w/tampered.bin", data)
        self.client.upload(self.ref, "v1", "ok.txt", b"fine")
        client = self.srv.client()
        self.addCleanup(client.close)
        relay = self._tamper(data, client)
        dest = self.path("dl")
        os.makedirs(dest)
        with self.assertRaises(flymodel.IntegrityError) as cm:
            client.download(self.ref, "v1", "w/tampered.bin", dest)
        self.assertEqual(cm.exception.artifact, "w/tampered.bin")
        self.assertEqual(cm.exception.expected, sha(data))
        self.assertEqual(files_under(dest), [], "a failed download left a file")
        target = os.path.join(dest, "named.bin")
        with self.assertRaises(flymodel.IntegrityError):
            client.download(self.ref, "v1", "w/tampered.bin", target)
        self.assertEqual(files_under(dest), [])
        with self.assertRaises(flymodel.IntegrityError):
            client.read(self.ref, "v1", "w/tampered.bin")

        pulled = self.path("pulled")
        with self.assertRaises(flymodel.IntegrityError) as cm2:
            client.pull(self.ref, pulled, version="v1", parallel=1)
        left = files_under(pulled) if os.path.isdir(pulled) else []
        self.assertNotIn("w/tampered.bin", left)
        self.assertEqual([f for f in left if f.endswith(".part")], [], "a .part file was left")
        self.assertEqual(set(left) - {"ok.txt"}, set(), left)
        res = cm2.exception.result
        self.assertEqual({f.name: f.action for f in res.files}["w/tampered.bin"], "failed")
        if relay is not None:
            self.assertGreater(relay.altered, 0, "no download went through the relay")

    def test_download_cut_short_leaves_no_file(self) -> None:
        data = os.urandom(2 * MiB + 5)
        self.client.upload(self.ref, "v1", "w/cut.bin", data)
        self.client.upload(self.ref, "v1", "ok.txt", b"fine")
        for mode in ("cut", "cut-chunked"):
            with self.subTest(mode=mode):
                relay = _Relay(self.srv, mode)
                self.addCleanup(relay.close)
                client = self.srv.client(retries=0)
                self.addCleanup(client.close)
                relay.route(client)
                dest = self.path(f"dl-{mode}")
                os.makedirs(dest)
                with self.assertRaises((flymodel.IntegrityError, flymodel.TransportError)):
                    client.download(self.ref, "v1", "w/cut.bin", dest)
                self.assertEqual(files_under(dest), [], "a download cut short left a file")
                with self.assertRaises((flymodel.IntegrityError, flymodel.TransportError)):
                    client.read(self.ref, "v1", "w/cut.bin")
                pulled = self.path(f"pulled-{mode}")
                with self.assertRaises((flymodel.IntegrityError, flymodel.TransportError)) as cm:
                    client.pull(self.ref, pulled, version="v1", parallel=1)
                left = files_under(pulled) if os.path.isdir(pulled) else []
                self.assertEqual(set(left) - {"ok.txt"}, set(), left)
                self.assertEqual({f.name: f.action for f in cm.exception.result.files}["w/cut.bin"], "failed")
                self.assertGreaterEqual(relay.altered, 3)
                # Through the server again, the same pull completes.
                self.assertEqual(self.client.pull(self.ref, pulled, version="v1").failed, 0)
                self.assertTree(pulled, {"w/cut.bin": data, "ok.txt": b"fine"})

    # --- direct downloads (S3)

    def test_download_uses_the_redirect_without_the_token(self) -> None:
        data = os.urandom(200_000)
        self.client.upload(self.ref, "v1", "r.bin", data)
        client = self.srv.client()
        self.addCleanup(client.close)
        seen = record_connections(client)
        dest = self.path("r.bin")
        client.download(self.ref, "v1", "r.bin", dest)
        self.assertEqual(client.read(self.ref, "v1", "r.bin"), data)
        client.pull(self.ref, self.path("pulled"), version="v1")
        server = urllib.parse.urlsplit(self.srv.url).netloc
        to_server = [s for s in seen if s[0] == server]
        elsewhere = [s for s in seen if s[0] != server]
        for netloc, method, target, headers in to_server:
            self.assertEqual(headers.get("Authorization"), "Bearer " + self.srv.token, target)
        if "s3" in harness.backend():
            # The three downloads each asked for the redirect and fetched from the bucket.
            asked = [s for s in to_server if "/artifacts/r.bin" in s[2]]
            self.assertEqual(len(asked), 3, asked)
            for s in asked:
                self.assertIn("redirect=true", s[2])
            self.assertEqual(len(elsewhere), 3, [s[:3] for s in seen])
            for netloc, method, target, headers in elsewhere:
                self.assertEqual(method, "GET")
                self.assertIn("X-Amz-Signature=", target)
                self.assertNotIn("Authorization", headers, "the token was sent to the bucket")
        else:
            self.assertEqual(elsewhere, [], "a download left the server without a redirect")
        with open(dest, "rb") as fh:
            self.assertEqual(fh.read(), data)
        with open(self.path("pulled/r.bin"), "rb") as fh:
            self.assertEqual(fh.read(), data)

    # --- pull

    def _version_with_files(self) -> Dict[str, bytes]:
        files = {"config.json": b'{"a": 1}', "weights/model.safetensors": os.urandom(70_000),
                 "weights/shards/0.bin": os.urandom(1000), "weights/shards/1.bin": b"1", "README.md": b"# model"}
        for name, data in files.items():
            self.client.upload(self.ref, "v1", name, data)
        return files

    def assertTree(self, root: str, files: Dict[str, bytes], extra: Tuple[str, ...] = ()) -> None:
        self.assertEqual(files_under(root), sorted(list(files) + list(extra)))
        for name, data in files.items():
            with open(os.path.join(root, *name.split("/")), "rb") as fh:
                self.assertEqual(fh.read(), data, name)

    def test_pull_a_version(self) -> None:
        files = self._version_with_files()
        self.client.create_experiment(self.ref, "v1", "eval")
        self.client.upload(self.ref, "v1", "not-pulled.txt", b"experiment's", experiment="eval")
        dest = self.path("pulled")
        res = self.client.pull(f"{self.ref}/v1", dest)
        self.assertEqual(res.dir, dest)
        self.assertEqual(res.downloaded, len(files))
        self.assertEqual(res.unchanged, 0)
        self.assertEqual(res.bytes, sum(len(b) for b in files.values()))
        self.assertEqual({f.name: f.action for f in res.files}, {n: "download" for n in files})
        self.assertEqual(res.version.digest, self.client.get_version(self.ref, "v1").digest)
        self.assertTree(dest, files)

        # A rerun: every file unchanged, no artifact downloaded.
        gets = settled(artifact_gets, self.srv)
        again = self.client.pull(f"{self.ref}/v1", dest)
        self.assertEqual(settled(artifact_gets, self.srv), gets, "a rerun downloaded again")
        self.assertEqual((again.downloaded, again.unchanged), (0, len(files)))
        self.assertEqual({f.action for f in again.files}, {"unchanged"})

        # A file changed locally is replaced; files that are not artifacts stay.
        with open(os.path.join(dest, "weights", "shards", "0.bin"), "ab") as fh:
            fh.write(b"local edit")
        with open(os.path.join(dest, "mine.txt"), "wb") as fh:
            fh.write(b"not an artifact")
        os.remove(os.path.join(dest, "config.json"))
        third = self.client.pull(self.ref, dest, version="v1")
        actions = {f.name: f.action for f in third.files}
        self.assertEqual(actions["weights/shards/0.bin"], "replace")
        self.assertEqual(actions["config.json"], "download")
        self.assertEqual(actions["weights/model.safetensors"], "unchanged")
        self.assertEqual(third.downloaded, 2)
        self.assertTree(dest, files, extra=("mine.txt",))

    def test_pull_lifecycle_default_folder_and_dry(self) -> None:
        files = self._version_with_files()
        self.client.set_state(self.ref, "v1", "qa")
        self.client.create_version(self.ref, "v2")  # newer, but in test
        self.client.upload(self.ref, "v2", "other.txt", b"v2")
        cwd = os.getcwd()
        work = self.path("cwd")
        os.makedirs(work)
        os.chdir(work)
        self.addCleanup(os.chdir, cwd)

        plan = self.client.pull(f"{self.ref}@qa", dry=True)
        self.assertTrue(plan.dry)
        self.assertEqual(plan.version.version, "v1")
        self.assertEqual(plan.dir, f"{self.model}-v1")
        self.assertEqual(plan.downloaded, len(files))
        self.assertEqual(os.listdir(work), [], "a dry pull wrote something")

        res = self.client.pull(f"{self.ref}@qa")
        self.assertEqual(res.version.version, "v1")
        self.assertEqual(os.listdir(work), [f"{self.model}-v1"])
        self.assertTree(os.path.join(work, f"{self.model}-v1"), files)
        latest = self.client.pull(f"{self.ref}@test", "latest")
        self.assertEqual(latest.version.version, "v2")
        self.assertTree(os.path.join(work, "latest"), {"other.txt": b"v2"})
        with self.assertRaises(flymodel.NotFound):
            self.client.pull(f"{self.ref}@prod", "prod")
        self.assertFalse(os.path.exists(os.path.join(work, "prod")))

        # A dry pull over the folder: the changed file would be replaced.
        with open(os.path.join(work, f"{self.model}-v1", "README.md"), "wb") as fh:
            fh.write(b"edited")
        plan = self.client.pull(f"{self.ref}@qa", dry=True)
        self.assertEqual({f.name: f.action for f in plan.files}["README.md"], "replace")
        with open(os.path.join(work, f"{self.model}-v1", "README.md"), "rb") as fh:
            self.assertEqual(fh.read(), b"edited", "a dry pull replaced a file")

    def test_pull_staging_selector(self) -> None:
        self.client.upload(self.ref, "v1", "s.txt", b"s")
        self.client.set_state(self.ref, "v1", "stage")
        res = self.client.pull(f"{self.ref}@staging", self.path("s"))
        self.assertEqual(res.version.version, "v1")
        self.assertTree(self.path("s"), {"s.txt": b"s"})

    # --- experiments

    def test_experiment_success(self) -> None:
        with self.client.experiment(self.ref, "v1", "eval", params={"lr": 0.01}) as run:
            self.assertEqual(self.client.get_experiment(self.ref, "v1", "eval").state, "running")
            run.log_metric("acc", 0.5)
            run.log_metrics({"acc": 0.93, "loss": 0.1})
            report = self.path("report.json", b'{"ok": true}')
            arts = run.log_artifact(report)
            self.assertEqual([a.name for a in arts], ["report.json"])
            run.log_artifact(b"raw", name="raw.bin")
            os.makedirs(self.path("plots/sub"))
            self.path("plots/a.png", b"png")
            self.path("plots/sub/b.csv", b"x,y")
            run.log_artifact(self.path("plots"), name="plots")
        e = self.client.get_experiment(self.ref, "v1", "eval")
        self.assertEqual(e.state, "passed")
        self.assertEqual(e.metrics, {"acc": 0.93, "loss": 0.1})
        self.assertEqual(e.params, {"lr": 0.01})
        assert e.duration_ms is not None, "no duration recorded"
        self.assertGreaterEqual(e.duration_ms, 0)
        assert run.experiment is not None
        self.assertEqual(run.experiment.state, "passed")
        listed = {a.name: a for a in self.client.artifacts(self.ref, "v1", experiment="eval")}
        self.assertEqual(sorted(listed), ["plots/a.png", "plots/sub/b.csv", "raw.bin", "report.json"])
        self.assertEqual(listed["report.json"].format, "json")
        self.assertEqual(listed["plots/a.png"].format, "png")
        self.assertEqual(self.client.read(self.ref, "v1", "raw.bin", experiment="eval"), b"raw")
        self.assertEqual([a.name for a in self.client.artifacts(self.ref, "v1")], [], "the version got the files")

        # A result is written once: entering it again is a conflict, and changes nothing.
        with self.assertRaises(flymodel.Conflict):
            with self.client.experiment(self.ref, "v1", "eval"):
                self.fail("the block ran")
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "eval").metrics, {"acc": 0.93, "loss": 0.1})

    def test_experiment_exception_records_failed(self) -> None:
        with self.assertRaises(ZeroDivisionError):
            with self.client.experiment(self.ref, "v1", "train") as run:
                run.log_metrics({"step": 3})
                print(1 / 0)
        e = self.client.get_experiment(self.ref, "v1", "train")
        self.assertEqual(e.state, "failed")
        assert e.metrics is not None and e.duration_ms is not None
        self.assertEqual(e.metrics["step"], 3)
        self.assertIn("ZeroDivisionError", e.metrics["error"])
        self.assertIn("division by zero", e.metrics["error"])
        self.assertGreaterEqual(e.duration_ms, 0)

        class Stop(Exception):
            pass

        with self.assertRaises(Stop):
            with self.client.experiment(self.ref, "v1", "quiet"):
                raise Stop()
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "quiet").metrics, {"error": "Stop"})

    def test_experiment_fail_and_take_over(self) -> None:
        with self.client.experiment(self.ref, "v1", "gate") as run:
            run.log_metric("acc", 0.2)
            run.fail("accuracy below 0.9")
        e = self.client.get_experiment(self.ref, "v1", "gate")
        self.assertEqual(e.state, "failed")
        self.assertEqual(e.metrics, {"acc": 0.2, "error": "accuracy below 0.9"})
        with self.client.experiment(self.ref, "v1", "plain") as run:
            run.fail()
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "plain").state, "failed")

        # An experiment created beforehand, not run yet, is taken over with its params.
        self.client.create_experiment(self.ref, "v1", "later", {"seed": 1})
        with self.client.experiment(self.ref, "v1", "later", params={"seed": 1}):
            pass
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "later").state, "passed")
        self.client.create_experiment(self.ref, "v1", "other", {"seed": 1})
        with self.assertRaises(flymodel.Conflict) as cm:
            with self.client.experiment(self.ref, "v1", "other", params={"seed": 2}):
                pass
        self.assertIn("params", str(cm.exception))
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "other").state, "created")
        # A missing version is NotFound, before the block runs.
        with self.assertRaises(flymodel.NotFound):
            with self.client.experiment(self.ref, "v9", "eval"):
                self.fail("the block ran")

    # --- progress

    def test_progress_line(self) -> None:
        out = io.StringIO()
        with Progress("weights", 1000, show=True, stream=out) as bar:
            self.assertTrue(bar.active)
            bar.update(400)
            bar.update(600)
        text = out.getvalue()
        self.assertTrue(text.startswith("\rweights: "), repr(text))
        self.assertIn("100.0%", text)
        self.assertTrue(text.endswith("\r\033[K"), repr(text))

        quiet = io.StringIO()
        with Progress("weights", 100 * MiB, show=None, stream=quiet) as bar:
            self.assertFalse(bar.active)
            bar.update(100 * MiB)
        self.assertEqual(quiet.getvalue(), "", "progress written to a stream that is not a terminal")

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        tty = Terminal()
        with Progress("big", 100 * MiB, show=None, stream=tty) as bar:
            bar.update(100 * MiB)
        self.assertIn("100.0%", tty.getvalue())
        small = Terminal()
        with Progress("small", 1000, show=None, stream=small) as bar:
            bar.update(1000)
        self.assertEqual(small.getvalue(), "", "a small transfer showed progress")
        off = Terminal()
        with Progress("off", 100 * MiB, show=False, stream=off) as bar:
            bar.update(100 * MiB)
        self.assertEqual(off.getvalue(), "")

    def test_progress_of_an_upload(self) -> None:
        try:
            import tqdm  # type: ignore[import-not-found,import-untyped]  # noqa: F401
            self.skipTest("tqdm is installed: it draws the bar of a transfer on stderr")
        except ImportError:
            pass
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.client.upload(self.ref, "v1", "p.bin", self.path("p-src.bin", os.urandom(2 * MiB + 1)), progress=True)
            self.client.download(self.ref, "v1", "p.bin", self.path("p.bin"), progress=True)
            self.client.upload(self.ref, "v1", "s.bin", os.urandom(300_000), progress=True)  # under 1 MiB
            self.client.upload(self.ref, "v1", "q.bin", os.urandom(1000))  # progress None, stderr no terminal
        text = err.getvalue()
        # Each transfer: lines that overwrite each other, the last at 100%, then cleared.
        self.assertEqual(text.count("\r\033[K"), 3, repr(text))
        done = [line.split(":")[0] for line in text.split("\r") if "100.0%" in line]
        self.assertEqual(done, ["p.bin", "p.bin", "s.bin"], repr(text))
        self.assertNotIn("q.bin", text)


if __name__ == "__main__":
    unittest.main()
