"""The test harness itself, with raw urllib only (no flymodel import): the
servers it starts answer, take its token, refuse requests without it, and
the TLS server asks for the client certificate."""

from __future__ import annotations

import json
import os
import ssl
import unittest
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Optional, Tuple

import harness


def request(url: str, method: str = "GET", body: Optional[Dict[str, Any]] = None, token: str = "",
            context: Optional[ssl.SSLContext] = None) -> Tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class SharedServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = harness.shared_server()

    def test_healthz(self) -> None:
        status, body = request(self.srv.url + "/healthz")
        self.assertEqual(status, 200, body)

    def test_readyz_reports_the_backend(self) -> None:
        status, body = request(self.srv.url + "/readyz")
        self.assertEqual(status, 200, body)
        checks = json.loads(body)["checks"]
        self.assertEqual(checks.get("database"), "ok", checks)
        stores = sorted(k for k in checks if k.startswith("storage:"))
        if harness.backend().endswith("+s3"):
            # One S3 bucket per lifecycle, named in the configuration.
            self.assertEqual(len(stores), 4, checks)
            with open(self.srv.config_path) as f:
                config = f.read()
            for store in stores:
                self.assertIn('bucket = "%s"' % store[len("storage:"):], config)
        else:
            self.assertEqual(stores, ["storage:local"], checks)
        engine = "postgres" if harness.backend().startswith("postgres") else "sqlite"
        self.assertIn("engine=" + engine, self.srv.log())

    def test_shared_is_one_server(self) -> None:
        self.assertIs(harness.shared_server(), self.srv)

    def test_token_creates_a_namespace(self) -> None:
        name = "pyh-" + uuid.uuid4().hex[:8]
        status, body = request(self.srv.url + "/api/v1/namespaces", "POST", {"name": name}, token=self.srv.token)
        self.assertEqual(status, 201, body)
        self.assertEqual(json.loads(body)["name"], name)
        # Now it exists: the same name again is a conflict.
        status, body = request(self.srv.url + "/api/v1/namespaces", "POST", {"name": name}, token=self.srv.token)
        self.assertEqual(status, 409, body)

    def test_no_token_is_refused(self) -> None:
        status, body = request(self.srv.url + "/api/v1/namespaces", "POST", {"name": "pyh-anon"})
        self.assertEqual(status, 401, body)
        status, body = request(self.srv.url + "/api/v1/namespaces", "POST", {"name": "pyh-anon"}, token="fm_wrong")
        self.assertEqual(status, 401, body)

    def test_cli_reaches_the_server(self) -> None:
        listed = self.srv.cli("token", "list")
        self.assertIn("pytest-admin", listed.stdout)
        bad = self.srv.cli("token", "create", check=False)  # --name is required
        self.assertNotEqual(bad.returncode, 0)
        with self.assertRaises(AssertionError):
            self.srv.cli("token", "create")

    def test_log_has_the_listen_line(self) -> None:
        self.assertIn("listening", self.srv.log())


class ConfigTest(unittest.TestCase):
    def test_merge_toml_joins_tables(self) -> None:
        base = 'data_dir = "d"\n\n[server]\nport = 1\n'
        extra = 'log_x = 1\n[server]\nui = false\n[promotion.prod]\nrequire = ["eval"]\n[[storage.s3]]\nbucket = "b"\n'
        merged = harness.merge_toml(base, extra)
        self.assertEqual(merged.count("[server]"), 1, merged)
        self.assertLess(merged.index("log_x"), merged.index("[server]"), merged)
        server = merged[merged.index("[server]"):merged.index("[promotion.prod]")]
        self.assertIn("port = 1", server)
        self.assertIn("ui = false", server)
        self.assertIn('[[storage.s3]]\nbucket = "b"', merged)

    def test_extra_toml_reaches_the_server(self) -> None:
        srv = harness.start_server(extra_toml="[server]\nui = false\n")
        try:
            self.assertNotEqual(srv.url, harness.shared_server().url)
            with open(srv.config_path) as f:
                self.assertIn("ui = false", f.read())
            status, _ = request(srv.url + "/")  # no web UI: a JSON 404
            self.assertEqual(status, 404)
            status, _ = request(srv.url + "/healthz")
            self.assertEqual(status, 200)
        finally:
            srv.stop()
        self.assertFalse(os.path.exists(srv.dir))
        srv.stop()  # twice is fine

    def test_bad_config_fails_with_the_log(self) -> None:
        with self.assertRaises(harness.ServerError) as ctx:
            harness.start_server(extra_toml="[server]\nprot = 1\n")
        self.assertIn("server.prot", str(ctx.exception))

    def test_require(self) -> None:
        harness.require(True, "never")
        old = os.environ.get("FLYMODEL_REQUIRE_SERVICES")
        try:
            os.environ["FLYMODEL_REQUIRE_SERVICES"] = "1"
            with self.assertRaises(AssertionError):
                harness.require(False, "no service")
            os.environ["FLYMODEL_REQUIRE_SERVICES"] = ""
            with self.assertRaises(unittest.SkipTest):
                harness.require(False, "no service")
        finally:
            if old is None:
                os.environ.pop("FLYMODEL_REQUIRE_SERVICES", None)
            else:
                os.environ["FLYMODEL_REQUIRE_SERVICES"] = old


class TLSServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        harness.require_tls()
        cls.srv = harness.start_server(tls=True, mtls=True)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.srv.stop()

    def test_https_with_client_certificate(self) -> None:
        self.assertTrue(self.srv.url.startswith("https://127.0.0.1:"), self.srv.url)
        status, body = request(self.srv.url + "/healthz", context=self.srv.ssl_context())
        self.assertEqual(status, 200, body)
        status, body = request(self.srv.url + "/api/v1/namespaces", "POST", {"name": "pyh-tls"},
                               token=self.srv.token, context=self.srv.ssl_context())
        self.assertEqual(status, 201, body)

    def test_refused_without_client_certificate(self) -> None:
        ctx = self.srv.ssl_context(client_cert=False)
        assert ctx is not None  # a TLS server
        self.assert_refused(ctx)

    def test_refused_without_the_ca(self) -> None:
        ctx = ssl.create_default_context()  # the system's CAs only
        assert self.srv.client_cert and self.srv.client_key  # an mTLS server
        ctx.load_cert_chain(self.srv.client_cert, self.srv.client_key)
        self.assert_refused(ctx)

    def test_refused_over_plain_http(self) -> None:
        status: Any = None
        try:
            status, _ = request(self.srv.url.replace("https://", "http://") + "/healthz")
        except OSError:
            return
        self.assertNotEqual(status, 200)

    def test_cli_uses_the_client_certificate(self) -> None:
        out = os.path.join(self.srv.dir, "out")
        pull = self.srv.cli("pull", "pyh-nowhere/nothing", "@prod", out, check=False)
        # Reached the server over mTLS: the server's 404, not a TLS error.
        self.assertNotEqual(pull.returncode, 0)
        self.assertIn("404", pull.stderr)
        self.assertNotIn("tls", pull.stderr.lower(), pull.stderr)
        # Without the client certificate the handshake fails.
        refused = self.srv.cli("pull", "pyh-nowhere/nothing", "@prod", out, check=False,
                               env={"FLYMODEL_CLIENT_TLS_CERT_FILE": "", "FLYMODEL_CLIENT_TLS_KEY_FILE": ""})
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("certificate required", refused.stderr)

    def assert_refused(self, ctx: ssl.SSLContext) -> None:
        try:
            status, body = request(self.srv.url + "/healthz", context=ctx)
        except urllib.error.HTTPError as e:  # an HTTP answer is not a refusal
            self.fail("answered %d without the right TLS material" % e.code)
        except (OSError, ssl.SSLError):
            return  # URLError, SSLError, a reset connection: refused
        self.fail("answered %d without the right TLS material: %r" % (status, body[:200]))


if __name__ == "__main__":
    unittest.main()
