"""The README's notebook example runs, as written, against a real server;
and the client's naming rules agree with the server's."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest
import uuid

import harness

import flymodel
from flymodel._names import validate_artifact_name, validate_name

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ExampleTest(unittest.TestCase):
    def test_notebook_example_runs(self) -> None:
        server = harness.shared_server()
        env = dict(os.environ, FLYMODEL_SERVER=server.url, FLYMODEL_TOKEN=server.token, PYTHONPATH=PYTHON_DIR,
                   PYTHONDONTWRITEBYTECODE="1")
        if server.ca_file:
            env["FLYMODEL_CLIENT_TLS_CA_FILE"] = server.ca_file
        out = subprocess.run([sys.executable, os.path.join(PYTHON_DIR, "examples", "notebook.py")],
                             env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        self.assertIn("3 downloaded, 0 unchanged", out.stdout)
        self.assertIn(" prod sha256:", out.stdout)
        self.assertIn("upload    artifact         weights/model.safetensors", out.stdout)


class NamesAgreeWithServerTest(unittest.TestCase):
    """Every name the client refuses before sending, the server refuses too,
    and every name it lets through, the server takes."""

    NAMES = ["ok", "v1.2.0", "with space", " lead", "trail ", "a/b", "a\\b", ".", "..", "*", "q?", "h#", "p%",
             "tab\there", "é-unicode", "x" * 255, "x" * 256, "@champion", "a:b", "-dash"]

    def test_model_names(self) -> None:
        client = harness.shared_server().client()
        ns = "names-" + uuid.uuid4().hex[:8]
        client.create_namespace(ns)
        for name in self.NAMES:
            with self.subTest(name=name):
                why = validate_name(name)
                try:
                    client.create_model(f"{ns}/{name}") if "/" not in name else client._json(
                        "POST", f"/api/v1/namespaces/{ns}/models", {"name": name})
                    accepted = True
                except flymodel.ValidationError:
                    accepted = False
                self.assertEqual(accepted, why is None, f"client says {why!r}, server accepted={accepted}")

    def test_artifact_names(self) -> None:
        client = harness.shared_server().client()
        ns = "anames-" + uuid.uuid4().hex[:8]
        client.create_namespace(ns)
        client.create_model(f"{ns}/m")
        client.create_version(f"{ns}/m", "v1")
        for name in ["a.txt", "dir/a.txt", "/abs", "a//b", "a/./b", "a/../b", "C:x", "q?x", "ctl\x01", "a\\b",
                     "deep/" * 10 + "f", "é/ü.bin"]:
            with self.subTest(name=name):
                why = validate_artifact_name(name)
                body = {"name": name}
                try:
                    # The JSON part of a multipart upload carries the name as
                    # it is (no path escaping in the way).
                    client._t.request("POST", f"/api/v1/namespaces/{ns}/models/m/versions/v1/artifacts",
                                      body=_multipart(body, b"x"), headers={
                                          "Content-Type": "multipart/form-data; boundary=BOUNDARY"})
                    accepted = True
                except (flymodel.ValidationError, flymodel.BadRequest):
                    accepted = False
                self.assertEqual(accepted, why is None, f"client says {why!r}, server accepted={accepted}")


def _multipart(meta: dict, data: bytes) -> bytes:
    import json

    return (b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"artifact\"\r\nContent-Type: application/json\r\n\r\n"
            + json.dumps(meta).encode() + b"\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--BOUNDARY--\r\n")


if __name__ == "__main__":
    unittest.main()
