"""The client over TLS: a private CA (argument, environment or the
configuration file's client.tls.ca_file) and a client certificate for a
server with mTLS."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import uuid
from typing import Any, Dict
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (HERE, os.path.dirname(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import harness  # noqa: E402

import flymodel  # noqa: E402
from flymodel import _transport  # noqa: E402


def clean_env(**extra: str) -> Any:
    """os.environ without FLYMODEL_* (no token, CA or configuration file
    from the outside), plus extra."""
    env: Dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith("FLYMODEL_")}
    env.update(extra)
    return mock.patch.dict(os.environ, env, clear=True)


class TLSBase(unittest.TestCase):
    server: Any
    mtls = False

    @classmethod
    def setUpClass(cls) -> None:
        harness.require(harness.tls_available(), "no TLS certificates (openssl): skipping the TLS tests")
        cls.server = harness.start_server(tls=True, mtls=cls.mtls)
        assert cls.server.url.startswith("https://")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def setUp(self) -> None:
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        self.dir = d.name
        # No config/flymodel.toml of the current folder either.
        self.empty = os.path.join(self.dir, "empty.toml")
        open(self.empty, "w").close()
        p = clean_env()
        p.start()
        self.addCleanup(p.stop)

    def client(self, **kw: Any) -> flymodel.Client:
        kw.setdefault("config", self.empty)
        kw.setdefault("token", self.server.token)
        return flymodel.Client(self.server.url, **kw)

    def config(self, **tls: str) -> str:
        p = os.path.join(self.dir, f"flymodel-{uuid.uuid4().hex[:6]}.toml")
        lines = ["[client]", f'server = "{self.server.url}"', f'token = "{self.server.token}"', "[client.tls]"]
        lines += [f'{k} = "{v}"' for k, v in tls.items()]
        with open(p, "w") as f:
            f.write("\n".join(lines) + "\n")
        return p

    def works(self, c: flymodel.Client) -> None:
        with c:
            self.assertEqual(c.health().get("status"), "ok")
            ns = "tls-" + uuid.uuid4().hex[:8]
            self.assertEqual(c.create_namespace(ns).name, ns)
            self.assertIn(ns, [n.name for n in c.namespaces()])
            c.delete_namespace(ns)


class TLSTest(TLSBase):
    def test_untrusted_without_ca_file(self) -> None:
        sleeps: list = []
        with mock.patch.object(_transport.time, "sleep", sleeps.append):
            with self.client() as c:
                with self.assertRaises(flymodel.TransportError) as cm:
                    c.health()
        msg = str(cm.exception)
        self.assertIn("certificate", msg)
        self.assertIn("ca_file", msg, "the message says what to do")
        self.assertEqual(sleeps, [], "a certificate that is not trusted is not retried")

    def test_ca_file_argument(self) -> None:
        self.works(self.client(ca_file=self.server.ca_file))

    def test_ca_file_from_the_configuration_file(self) -> None:
        c = flymodel.Client(config=self.config(ca_file=self.server.ca_file))
        self.assertEqual(c.settings.ca_file, self.server.ca_file)
        self.works(c)

    def test_ca_file_from_the_environment(self) -> None:
        with clean_env(FLYMODEL_CLIENT_TLS_CA_FILE=self.server.ca_file, FLYMODEL_SERVER=self.server.url,
                       FLYMODEL_TOKEN=self.server.token):
            c = flymodel.Client(config=self.empty)
        self.works(c)

    def test_another_ca_is_not_trusted(self) -> None:
        # The client certificate is no CA: trusting it alone does not make the server's trusted.
        other = os.path.join(harness.tls_dir() or "", "client.crt")
        with self.client(ca_file=other) as c:
            with self.assertRaises(flymodel.TransportError) as cm:
                c.health()
        self.assertIn("certificate not trusted", str(cm.exception))
        self.assertIn("ca_file", str(cm.exception))

    def test_missing_ca_file(self) -> None:
        with self.assertRaises(OSError):
            self.client(ca_file=os.path.join(self.dir, "no-such-ca.pem"))

    def test_harness_client(self) -> None:
        # Server.client() passes the CA itself.
        self.works(self.server.client())


class MutualTLSTest(TLSBase):
    mtls = True

    def assertCertHint(self, e: BaseException) -> None:
        """The message says to give cert_file and key_file — when TLS told
        what happened (a reset connection, which a loaded machine may see
        instead, tells nothing)."""
        if isinstance(e.__cause__, ssl.SSLError):
            self.assertIn("cert_file and key_file", str(e))

    def test_without_client_certificate(self) -> None:
        with self.client(ca_file=self.server.ca_file, retries=0) as c:
            with self.assertRaises(flymodel.TransportError) as cm:
                c.health()
            # The server's alert (certificate required) arrives, or, when the
            # server closed the connection before the client read it, only
            # the end of the TLS stream: both messages say what to do.
            self.assertCertHint(cm.exception)
            with self.assertRaises(flymodel.TransportError):
                list(c.namespaces())

    def test_untrusted_client_certificate(self) -> None:
        # A self-signed certificate: not one the server's CA signed.
        harness.require(shutil.which("openssl"), "no openssl command to make a self-signed certificate")
        crt, key = os.path.join(self.dir, "self.crt"), os.path.join(self.dir, "self.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=stranger",
                        "-addext", "extendedKeyUsage=clientAuth"], check=True, capture_output=True)
        with self.client(ca_file=self.server.ca_file, cert_file=crt, key_file=key, retries=0) as c:
            # The server's alert may arrive, or only the closed connection
            # (TLS 1.3 checks the client's certificate after the handshake).
            with self.assertRaises(flymodel.TransportError) as cm:
                c.health()
        self.assertCertHint(cm.exception)

    def test_with_client_certificate(self) -> None:
        self.assertTrue(self.server.client_cert and self.server.client_key)
        self.works(self.client(ca_file=self.server.ca_file, cert_file=self.server.client_cert,
                               key_file=self.server.client_key))

    def test_client_certificate_from_the_configuration_file(self) -> None:
        p = self.config(ca_file=self.server.ca_file, cert_file=self.server.client_cert,
                        key_file=self.server.client_key)
        c = flymodel.Client(config=p)
        self.assertEqual((c.settings.cert_file, c.settings.key_file), (self.server.client_cert, self.server.client_key))
        self.works(c)
        # Without the certificate's lines, the same file fails.
        with flymodel.Client(config=self.config(ca_file=self.server.ca_file), retries=0) as bare:
            with self.assertRaises(flymodel.TransportError):
                bare.health()

    def test_client_certificate_from_the_environment(self) -> None:
        with clean_env(FLYMODEL_CLIENT_TLS_CA_FILE=self.server.ca_file,
                       FLYMODEL_CLIENT_TLS_CERT_FILE=self.server.client_cert,
                       FLYMODEL_CLIENT_TLS_KEY_FILE=self.server.client_key):
            c = flymodel.Client(self.server.url, token=self.server.token, config=self.empty)
        self.works(c)

    def test_certificate_without_key(self) -> None:
        with self.assertRaises(ValueError) as cm:
            self.client(ca_file=self.server.ca_file, cert_file=self.server.client_cert)
        self.assertIn("key_file", str(cm.exception))

    def test_token_still_needed(self) -> None:
        # A client certificate is no credential of the API: the token is.
        with self.client(ca_file=self.server.ca_file, cert_file=self.server.client_cert,
                         key_file=self.server.client_key, token="fm_wrong") as c:
            self.assertEqual(c.health().get("status"), "ok")
            with self.assertRaises(flymodel.Unauthorized):
                list(c.namespaces())


if __name__ == "__main__":
    unittest.main()
