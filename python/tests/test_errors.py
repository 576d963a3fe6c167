"""Errors: each exception class from the real server's answer (problem+json),
the transport's failures, and errors.from_problem for what the server rarely
answers (5xx)."""

from __future__ import annotations

import http.server
import json
import os
import socket
import sys
import tempfile
import threading
import unittest
import uuid
from typing import Any, Dict, List, Tuple
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (HERE, os.path.dirname(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import harness  # noqa: E402

import flymodel  # noqa: E402
from flymodel import _transport, errors  # noqa: E402

GATE_TOML = """
[promotion.prod]
require = ["eval"]
require_all_passed = true
"""


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    """A port nothing listens on (bound and closed at once)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def no_credentials_env() -> Any:
    """The environment without a token or a configuration file the client
    could fall back to."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLYMODEL_TOKEN", "FLYMODEL_CLIENT_TOKEN", "FLYMODEL_CONFIG")}
    return mock.patch.dict(os.environ, env, clear=True)


class ServerErrorsTest(harness.ClientTestCase):
    def setUp(self) -> None:
        self.ns = uniq("err")
        self.c.create_namespace(self.ns)
        self.addCleanup(self.c.delete_namespace, self.ns, cascade=True)

    def test_not_found(self) -> None:
        with self.assertRaises(flymodel.NotFound) as cm:
            self.c.get_model(f"{self.ns}/missing")
        e = cm.exception
        self.assertIsInstance(e, LookupError)
        self.assertEqual((e.status, e.type, e.title), (404, "not-found", "Not Found"))
        self.assertEqual(str(e), e.problem["detail"], "the message is the server's detail")
        self.assertIn("missing", str(e))
        self.assertTrue(e.request_id)
        self.assertEqual(e.request_id, e.problem["request_id"])
        self.assertEqual(e.resource, f"/api/v1/namespaces/{self.ns}/models/missing")  # a member, as an attribute
        self.assertEqual(e.instance, f"/api/v1/namespaces/{self.ns}/models/missing")
        with self.assertRaises(AttributeError):
            e.no_such_member  # noqa: B018
        # Two requests, two ids.
        with self.assertRaises(flymodel.NotFound) as cm2:
            self.c.get_model(f"{self.ns}/missing")
        self.assertNotEqual(cm2.exception.request_id, e.request_id)

    def test_conflict_with_existing(self) -> None:
        self.c.create_model(f"{self.ns}/m")
        with self.assertRaises(flymodel.Conflict) as cm:
            self.c.create_model(f"{self.ns}/m")
        e = cm.exception
        self.assertEqual((e.status, e.type), (409, "conflict"))
        self.assertEqual(e.existing, f"/api/v1/namespaces/{self.ns}/models/m")
        self.assertNotIsInstance(e, flymodel.ImmutableError)
        with self.assertRaises(flymodel.Conflict) as cm2:
            self.c.create_namespace(self.ns)
        self.assertEqual(cm2.exception.existing, f"/api/v1/namespaces/{self.ns}")

    def test_validation_errors(self) -> None:
        self.c.create_model(f"{self.ns}/m")
        with self.assertRaises(flymodel.ValidationError) as cm:
            self.c.update_model(f"{self.ns}/m", description="x" * (64 * 1024 + 1))
        e = cm.exception
        self.assertIsInstance(e, ValueError)
        self.assertEqual((e.status, e.type), (422, "validation"))
        self.assertEqual([x["field"] for x in e.errors], ["description"])
        self.assertIn("65536", e.errors[0]["message"])
        self.assertEqual(self.c.get_model(f"{self.ns}/m").description, "", "nothing changed")
        # 64 KiB exactly is allowed.
        self.c.update_model(f"{self.ns}/m", description="x" * (64 * 1024))
        with self.assertRaises(flymodel.ValidationError) as cm2:
            self.c.create_tag(self.ns, "t", "blue")
        self.assertEqual([x["field"] for x in cm2.exception.errors], ["color"])
        # A bad name in a body is a 422 naming the field.
        with self.assertRaises(flymodel.ValidationError) as cm3:
            self.c.create_model(f"{self.ns}/..")
        self.assertEqual([x["field"] for x in cm3.exception.errors], ["name"])

    def test_invalid_name_in_the_path(self) -> None:
        # urllib.parse.quote leaves '.' alone: ".." reaches the server as a
        # segment of its own, which refuses it without cleaning the path.
        for call, field, instance in (
            (lambda: self.c.get_namespace(".."), "namespace", "/api/v1/namespaces/.."),
            (lambda: self.c.get_model(f"{self.ns}/.."), "model", f"/api/v1/namespaces/{self.ns}/models/.."),
            (lambda: self.c.set_state(f"{self.ns}/m", "..", "qa"), "version",
             f"/api/v1/namespaces/{self.ns}/models/m/versions/../state"),
        ):
            with self.assertRaises(flymodel.InvalidName) as cm:
                call()
            e = cm.exception
            self.assertIsInstance(e, flymodel.BadRequest)
            self.assertEqual((e.status, e.type), (400, "invalid-name"))
            self.assertEqual(e.field, field)
            self.assertEqual(e.instance, instance)
            self.assertIn('must not be ".."', str(e))
        # A '/' in a name is escaped (%2F), so it never walks the path: the
        # server sees one segment and refuses it.
        with self.assertRaises(flymodel.InvalidName) as cm:
            self.c.get_namespace("a/b")
        self.assertIn("/", str(cm.exception))
        self.assertEqual(cm.exception.instance, "/api/v1/namespaces/a%2Fb")
        # '%' and '?' are escaped too: the lookup is of that very name.
        for name, escaped in (("a%b", "a%25b"), ("a?b", "a%3Fb"), ("%2e%2e", "%252e%252e")):
            with self.assertRaises(flymodel.NotFound) as cm2:
                self.c.get_namespace(name)
            self.assertEqual(cm2.exception.instance, f"/api/v1/namespaces/{escaped}")

    def test_unauthorized(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            empty = os.path.join(d, "empty.toml")
            open(empty, "w").close()
            with no_credentials_env():
                anon = flymodel.Client(self.server.url, config=empty)
            self.assertIsNone(anon._t.token)
            with anon:
                with self.assertRaises(flymodel.Unauthorized) as cm:
                    anon.create_model(f"{self.ns}/m")
        e = cm.exception
        self.assertEqual((e.status, e.type), (401, "unauthorized"))
        self.assertIn("token", str(e))
        self.assertTrue(e.request_id)
        with flymodel.Client(self.server.url, token="fm_" + "x" * 43) as wrong:
            with self.assertRaises(flymodel.Unauthorized) as cm2:
                list(wrong.namespaces())
            self.assertEqual(cm2.exception.status, 401)
        with self.assertRaises(flymodel.NotFound):
            self.c.get_model(f"{self.ns}/m")

    def test_forbidden_with_a_read_token(self) -> None:
        name = uniq("reader")
        tok = self.c.create_token(name, "read", [self.ns])
        self.addCleanup(self.c.revoke_token, name)
        self.c.create_model(f"{self.ns}/m")
        with flymodel.Client(self.server.url, token=tok.secret) as r:
            self.assertEqual(r.get_model(f"{self.ns}/m").name, "m")
            with self.assertRaises(flymodel.Forbidden) as cm:
                r.create_version(f"{self.ns}/m", "v1")
            e = cm.exception
            self.assertEqual((e.status, e.type), (403, "forbidden"))
            self.assertIn("write", str(e), "the detail names the role needed")
            with self.assertRaises(flymodel.Forbidden):
                r.delete_model(f"{self.ns}/m")
        self.assertEqual(list(self.c.versions(f"{self.ns}/m")), [])

    def test_invalid_transition(self) -> None:
        m = f"{self.ns}/m"
        self.c.create_model(m)
        self.c.create_version(m, "v1")
        self.c.create_experiment(m, "v1", "eval")
        with self.assertRaises(flymodel.InvalidTransition) as cm:
            self.c.set_experiment_state(m, "v1", "eval", "failed")
        e = cm.exception
        self.assertEqual((e.status, e.type), (409, "invalid-transition"))
        self.assertEqual((e.problem["from"], e.problem["to"]), ("created", "failed"))

    def test_sealed(self) -> None:
        m = f"{self.ns}/m"
        self.c.create_model(m)
        self.c.create_version(m, "v1", state="qa")
        with self.assertRaises(flymodel.SealedError) as cm:
            self.c.upload(m, "v1", "weights.bin", b"late bytes")
        self.assertEqual((cm.exception.status, cm.exception.type), (409, "sealed"))
        self.assertIsInstance(cm.exception, flymodel.Conflict)


class PromotionGateTest(unittest.TestCase):
    server: Any

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = harness.start_server(extra_toml=GATE_TOML)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_gate_fields(self) -> None:
        with self.server.client() as c:
            ns = uniq("gate")
            m = f"{ns}/m"
            c.create_namespace(ns)
            c.create_model(m)
            c.create_version(m, "v1", state="qa")
            c.create_experiment(m, "v1", "load")
            c.start_experiment(m, "v1", "load")
            c.finish_experiment(m, "v1", "load", False)
            with self.assertRaises(flymodel.PromotionGateError) as cm:
                c.set_state(m, "v1", "prod")
            e = cm.exception
            self.assertIsInstance(e, flymodel.Conflict)
            self.assertEqual((e.status, e.type), (409, "promotion-gate"))
            self.assertEqual(e.to, "prod")
            self.assertEqual(e.missing, ["eval"])
            self.assertEqual(e.not_passed, ["load"])
            self.assertEqual(str(e), e.problem["detail"])
            self.assertEqual(c.get_version(m, "v1").state, "qa", "nothing changed")
            self.assertEqual([h.to for h in c.history(m, "v1")], ["qa"])

            # eval passed, load still failed: require_all_passed holds it back.
            c.create_experiment(m, "v1", "eval")
            c.start_experiment(m, "v1", "eval")
            c.finish_experiment(m, "v1", "eval", True)
            with self.assertRaises(flymodel.PromotionGateError) as cm2:
                c.set_state(m, "v1", "prod")
            self.assertEqual((cm2.exception.missing, cm2.exception.not_passed), ([], ["load"]))

            # Creating a version directly in the gated lifecycle is gated too.
            with self.assertRaises(flymodel.PromotionGateError) as cm3:
                c.create_version(m, "v2", state="prod")
            self.assertEqual((cm3.exception.to, cm3.exception.missing), ("prod", ["eval"]))
            with self.assertRaises(flymodel.NotFound):
                c.get_version(m, "v2")

            # A version meeting the gate moves; other lifecycles are not gated.
            c.create_version(m, "v3")
            c.create_experiment(m, "v3", "eval")
            c.start_experiment(m, "v3", "eval")
            c.finish_experiment(m, "v3", "eval", True)
            self.assertEqual(c.set_state(m, "v3", "prod").state, "prod")
            self.assertEqual(c.set_state(m, "v1", "stage").state, "stage")


class _Sleeps:
    """time.sleep of the transport, recorded instead of slept."""

    def __init__(self) -> None:
        self.calls: List[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


class TransportErrorTest(unittest.TestCase):
    def test_server_down(self) -> None:
        port = free_port()
        sleeps = _Sleeps()
        with mock.patch.object(_transport.time, "sleep", sleeps):
            with flymodel.Client(f"http://127.0.0.1:{port}", token="t", retries=1) as c:
                with self.assertRaises(flymodel.TransportError) as cm:
                    c.health()
        e = cm.exception
        self.assertIsInstance(e, ConnectionError)
        self.assertIsNone(e.status)
        self.assertIn("connection refused", str(e))
        self.assertIn(f"127.0.0.1:{port}/healthz", str(e))
        # One retry, after a short backoff (0.2 s at most: no long wait).
        self.assertEqual(len(sleeps.calls), 1)
        self.assertLessEqual(sleeps.calls[0], 0.2)

    def test_retries_are_bounded(self) -> None:
        port = free_port()
        for retries, want in ((0, 0), (4, 4)):
            sleeps = _Sleeps()
            with mock.patch.object(_transport.time, "sleep", sleeps):
                with flymodel.Client(f"http://127.0.0.1:{port}", token="t", retries=retries) as c:
                    # Refused connections are retried for any method: nothing reached the server.
                    with self.assertRaises(flymodel.TransportError):
                        c.create_namespace("x")
            self.assertEqual(len(sleeps.calls), want)
            self.assertLessEqual(sum(sleeps.calls), 0.2 + 0.4 + 0.8 + 1.6)

    def test_unknown_host(self) -> None:
        with flymodel.Client("http://flymodel-test.invalid:9", token="t", retries=0) as c:
            with self.assertRaises(flymodel.TransportError):
                c.health()

    def test_bad_server_url(self) -> None:
        for bad in ("localhost:9009", "ftp://x", "http://x/?q=1"):
            with self.assertRaises(ValueError):
                flymodel.Client(bad, token="t")


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers the scripted (status, headers, body) in turn; records requests."""

    script: List[Tuple[int, Dict[str, str], bytes]] = []
    seen: List[Tuple[str, str]] = []

    def _answer(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        type(self).seen.append((self.command, self.path))
        status, headers, body = type(self).script.pop(0) if type(self).script else (200, {}, b"{}")
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


PROBLEM = {"Content-Type": "application/problem+json"}


class ScriptedServerTest(unittest.TestCase):
    """5xx answers, which the real server rarely gives, from a scripted one."""

    def setUp(self) -> None:
        _Scripted.script = []
        _Scripted.seen = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.addCleanup(self.httpd.server_close)
        self.addCleanup(self.httpd.shutdown)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.sleeps = _Sleeps()
        p = mock.patch.object(_transport.time, "sleep", self.sleeps)
        p.start()
        self.addCleanup(p.stop)

    def test_internal_error_has_the_request_id(self) -> None:
        body = json.dumps({"type": "https://flymodel.dev/problems/internal", "title": "Internal Server Error",
                           "status": 500, "detail": "internal error", "request_id": "REQ500"}).encode()
        _Scripted.script = [(500, PROBLEM, body)]
        with flymodel.Client(self.url, token="t") as c:
            with self.assertRaises(flymodel.ServerError) as cm:
                c.get_namespace("x")
        e = cm.exception
        self.assertEqual((e.status, e.type, e.request_id), (500, "internal", "REQ500"))
        self.assertIn("REQ500", str(e))
        self.assertEqual(len(_Scripted.seen), 1, "a 500 is not retried")

    def test_503_retried_for_get_not_for_post(self) -> None:
        busy = json.dumps({"type": "https://flymodel.dev/problems/database-busy", "status": 503,
                           "detail": "database busy"}).encode()
        ok = json.dumps({"id": 1, "name": "x"}).encode()
        _Scripted.script = [(503, dict(PROBLEM, **{"Retry-After": "2"}), busy), (200, {}, ok)]
        with flymodel.Client(self.url, token="t") as c:
            self.assertEqual(c.get_namespace("x").name, "x")
            self.assertEqual(len(_Scripted.seen), 2)
            self.assertEqual(self.sleeps.calls, [2.0], "Retry-After is honoured")
            _Scripted.script = [(503, dict(PROBLEM, **{"X-Request-Id": "RIDHDR"}), busy), (200, {}, ok)]
            with self.assertRaises(flymodel.Unavailable) as cm:
                c.create_namespace("x")
        e = cm.exception
        self.assertIsInstance(e, flymodel.ServerError)
        self.assertEqual(len(_Scripted.seen), 3, "a POST is not resent")
        self.assertEqual(e.request_id, "RIDHDR", "from the X-Request-Id header")
        self.assertIn("RIDHDR", str(e))

    def test_gives_up_after_the_retries(self) -> None:
        _Scripted.script = [(502, {}, b"bad gateway")] * 3
        with flymodel.Client(self.url, token="t", retries=2) as c:
            with self.assertRaises(flymodel.ServerError) as cm:
                c.get_namespace("x")
        self.assertEqual(len(_Scripted.seen), 3)
        self.assertEqual(len(self.sleeps.calls), 2)
        self.assertEqual(cm.exception.status, 502)
        self.assertIn("HTTP 502", str(cm.exception))
        self.assertIn("bad gateway", str(cm.exception), "a body that is not a problem is quoted")

    def test_not_a_problem(self) -> None:
        _Scripted.script = [(404, {"Content-Type": "text/html", "X-Request-Id": "R1"}, b"<h1>no</h1>")]
        with flymodel.Client(self.url, token="t") as c:
            with self.assertRaises(flymodel.NotFound) as cm:
                c.get_namespace("x")
        self.assertEqual(cm.exception.request_id, "R1")
        self.assertIn("GET /api/v1/namespaces/x: HTTP 404", str(cm.exception))

    def test_sends_the_token(self) -> None:
        seen: List[str] = []
        orig = _Scripted._answer

        def record(handler: Any) -> None:
            seen.append(handler.headers.get("Authorization") or "")
            orig(handler)

        with mock.patch.object(_Scripted, "do_GET", record):
            with flymodel.Client(self.url, token="fm_secret") as c:
                c.health()
        self.assertEqual(seen, ["Bearer fm_secret"])


class FromProblemTest(unittest.TestCase):
    def test_5xx(self) -> None:
        e = errors.from_problem(500, {"type": "https://flymodel.dev/problems/internal", "title": "Internal Server Error",
                                      "detail": "internal error", "request_id": "ABC123"})
        self.assertIs(type(e), errors.ServerError)
        self.assertEqual(str(e), "internal error (request id ABC123)")
        self.assertEqual(e.request_id, "ABC123")
        u = errors.from_problem(503, {"type": "https://flymodel.dev/problems/storage-unavailable",
                                      "detail": "the store failed"}, request_id="HDR1")
        self.assertIs(type(u), errors.Unavailable)
        self.assertIsInstance(u, errors.ServerError)
        self.assertEqual(u.request_id, "HDR1", "the header's id when the body has none")
        self.assertIn("(request id HDR1)", str(u))
        g = errors.from_problem(504, {})
        self.assertIs(type(g), errors.ServerError)
        self.assertEqual(str(g), "HTTP 504")
        blob = errors.from_problem(500, {"type": "https://flymodel.dev/problems/blob-altered", "detail": "altered",
                                         "artifact": "w.bin", "request_id": "R"})
        self.assertIs(type(blob), errors.ServerError)
        self.assertEqual(blob.artifact, "w.bin")

    def test_4xx_keep_the_detail_alone(self) -> None:
        e = errors.from_problem(404, {"type": "https://flymodel.dev/problems/not-found", "detail": "gone",
                                      "request_id": "R"})
        self.assertEqual(str(e), "gone", "the request id is for 5xx messages")
        self.assertEqual(e.request_id, "R")

    def test_type_beats_status(self) -> None:
        cases = {
            "immutable": errors.ImmutableError, "sealed": errors.SealedError,
            "promotion-gate": errors.PromotionGateError, "invalid-transition": errors.InvalidTransition,
            "no-store": errors.NoStore, "digest-mismatch": errors.DigestMismatch,
            "invalid-name": errors.InvalidName, "too-many-uploads": errors.TooManyRequests,
            "placement-failed": errors.Unavailable, "database-busy": errors.Unavailable,
        }
        for slug, cls in cases.items():
            e = errors.from_problem(409, {"type": errors.PROBLEM_TYPE_BASE + slug, "detail": slug})
            self.assertIs(type(e), cls, slug)
            self.assertEqual(e.type, slug)

    def test_status_fallback(self) -> None:
        for status, cls in ((400, errors.BadRequest), (401, errors.Unauthorized), (403, errors.Forbidden),
                            (404, errors.NotFound), (409, errors.Conflict), (413, errors.TooLarge),
                            (422, errors.ValidationError), (429, errors.TooManyRequests), (503, errors.Unavailable),
                            (501, errors.ServerError), (418, errors.FlymodelError)):
            e = errors.from_problem(status, {"type": errors.PROBLEM_TYPE_BASE + "something-new"})
            self.assertIs(type(e), cls, status)
            self.assertEqual(e.status, status)

    def test_members(self) -> None:
        g = errors.from_problem(409, {"type": errors.PROBLEM_TYPE_BASE + "promotion-gate", "to": "prod",
                                      "missing": ["eval"], "not_passed": ["load", "bias"]})
        assert isinstance(g, errors.PromotionGateError)
        self.assertEqual((g.to, g.missing, g.not_passed), ("prod", ["eval"], ["load", "bias"]))
        empty = errors.from_problem(409, {"type": errors.PROBLEM_TYPE_BASE + "promotion-gate"})
        assert isinstance(empty, errors.PromotionGateError)
        self.assertEqual((empty.to, empty.missing, empty.not_passed), ("", [], []))
        im = errors.from_problem(409, {"type": errors.PROBLEM_TYPE_BASE + "immutable",
                                       "existing": "/api/v1/namespaces/a/models/b/versions/c/artifacts/w/x.bin"})
        assert isinstance(im, errors.ImmutableError)
        self.assertEqual(im.artifact, "w/x.bin")
        v = errors.from_problem(422, {"type": errors.PROBLEM_TYPE_BASE + "validation",
                                      "errors": [{"field": "name", "message": "bad"}]})
        assert isinstance(v, errors.ValidationError)
        self.assertEqual(v.errors, [{"field": "name", "message": "bad"}])
        self.assertEqual(errors.from_problem(422, {}).errors, [])  # type: ignore[attr-defined]

    def test_integrity_error(self) -> None:
        e = errors.IntegrityError("bad bytes", artifact="w", expected="a" * 64, actual="b" * 64)
        self.assertEqual((e.artifact, e.expected, e.actual, e.type, e.status), ("w", "a" * 64, "b" * 64, "integrity", None))
        self.assertEqual(str(e), "bad bytes")


class PickleTest(unittest.TestCase):
    """Errors cross process boundaries (multiprocessing, joblib) whole."""

    def test_problem_survives_pickling(self) -> None:
        import pickle

        e = errors.from_problem(409, {"type": errors.PROBLEM_TYPE_BASE + "promotion-gate", "detail": "gate not met",
                                      "to": "prod", "missing": ["eval"], "not_passed": []}, "req-1")
        f = pickle.loads(pickle.dumps(e))
        self.assertIsInstance(f, flymodel.PromotionGateError)
        self.assertEqual((f.status, f.to, f.missing, f.request_id, str(f)), (409, "prod", ["eval"], "req-1", "gate not met"))
        i = pickle.loads(pickle.dumps(flymodel.IntegrityError("bad bytes", artifact="w", expected="a", actual="b")))
        self.assertEqual((i.artifact, i.expected, i.actual, str(i)), ("w", "a", "b", "bad bytes"))


if __name__ == "__main__":
    unittest.main()
