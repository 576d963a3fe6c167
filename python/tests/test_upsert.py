"""Client.upsert against a real server: flymodel upsert's semantics.

Plan first, create what is missing, upload only what the server lacks, move
the state last; a rerun is all "unchanged" and makes no write request
(counted at the server, GET /metrics); a contradiction raises before
anything is written; the Go CLI and the Python client agree item by item.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import unittest
import urllib.request
import uuid
from typing import Any, Dict, List, Tuple

import harness

import flymodel

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_SAMPLE = re.compile(r"^flymodel_http_requests_total\{(.*)\}\s+(\S+)\s*$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def requests_by_method(srv: Any) -> Dict[str, float]:
    """The server's count of answered requests by method (GET /metrics,
    flymodel_http_requests_total), leaving out the scrapes of /metrics."""
    req = urllib.request.Request(srv.url + "/metrics", headers={"Authorization": "Bearer " + srv.token})
    with urllib.request.urlopen(req, timeout=30, context=srv.ssl_context()) as resp:
        text = resp.read().decode()
    counts: Dict[str, float] = {}
    seen = False
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m:
            continue
        seen = True
        labels = dict(_LABEL.findall(m.group(1)))
        if labels.get("route") == "/metrics":
            continue
        counts[labels["method"]] = counts.get(labels["method"], 0.0) + float(m.group(2))
    if not seen:
        raise AssertionError("GET /metrics has no flymodel_http_requests_total: cannot count requests")
    return counts


def writes(srv: Any) -> float:
    c = requests_by_method(srv)
    return sum(c.get(m, 0.0) for m in WRITE_METHODS)


def total_requests(srv: Any) -> float:
    return sum(requests_by_method(srv).values())


def settled(count: Any, srv: Any) -> float:
    """count(srv) once two reads in a row agree (a request answered just
    before may be counted a moment after its answer)."""
    last = count(srv)
    for _ in range(50):
        time.sleep(0.02)
        now = count(srv)
        if now == last:
            return now
        last = now
    return last


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def uid(prefix: str) -> str:
    return prefix + "-" + uuid.uuid4().hex[:10]


class UpsertTest(unittest.TestCase):
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
        self.tmp = tempfile.mkdtemp(prefix="flymodel-upsert-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.ns = uid("up")
        self.model = uid("m")
        self.ref = f"{self.ns}/{self.model}"

    # --- helpers

    def write(self, rel: str, data: bytes) -> str:
        p = os.path.join(self.tmp, *rel.split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def stored(self, version: str) -> Dict[str, flymodel.Artifact]:
        return {a.name: a for a in self.client.artifacts(self.ref, version)}

    def actions(self, res: flymodel.UpsertResult) -> List[Tuple[str, str, str]]:
        return [(i.kind, i.name, i.action) for i in res.items]

    def assertNoWrites(self, before: float, what: str) -> None:
        after = settled(writes, self.srv)
        self.assertEqual(after, before, f"{what}: {after - before:.0f} write request(s) reached the server")

    # --- inputs

    def test_files_folders_bytes_and_mappings(self) -> None:
        weights = os.urandom(4096)
        shard = os.urandom(1000)
        config = b'{"layers": 12}'
        self.write("out/weights/model.safetensors", weights)
        self.write("out/weights/sub/shard.bin", shard)
        cfg = self.write("out/config.json", config)
        single = self.write("elsewhere/model.safetensors", weights[:100])
        notes = self.write("out/NOTES", b"# notes\n")
        folder = os.path.join(self.tmp, "out", "weights")
        first = settled(writes, self.srv)
        res = self.client.upsert(self.ns, self.model, "v1", artifacts={
            "weights": folder,
            "config.json": cfg,
            "w2": single,                                   # weights=./model.safetensors
            "raw.txt": b"hello",                            # bytes
            "readme": {"path": notes, "format": "md", "extra": {"lang": "en", "n": 2}},
            "blob": {"data": b"\x00\x01", "extra": {"k": [1, 2]}},
            "typed": {"path": folder, "format": "npy"},     # a folder's default format
        })
        expected_files = {
            "weights/model.safetensors": weights, "weights/sub/shard.bin": shard, "config.json": config,
            "w2": weights[:100], "raw.txt": b"hello", "readme": b"# notes\n", "blob": b"\x00\x01",
            "typed/model.safetensors": weights, "typed/sub/shard.bin": shard,
        }
        self.assertEqual(self.actions(res)[:3], [("namespace", self.ns, "create"), ("model", self.model, "create"),
                                                 ("version", "v1", "create")])
        arts = [i for i in res.items if i.kind == "artifact"]
        self.assertEqual([i.name for i in arts], [
            "weights/model.safetensors", "weights/sub/shard.bin", "config.json", "w2", "raw.txt", "readme", "blob",
            "typed/model.safetensors", "typed/sub/shard.bin"])
        for i in arts:
            self.assertEqual(i.action, "upload", i)
            self.assertEqual(i.sha256, sha(expected_files[i.name]), i.name)
            self.assertEqual(i.size, len(expected_files[i.name]), i.name)
        self.assertEqual(res.changed, 3 + len(arts))
        # One write request per change (what makes "no write request" below mean something).
        self.assertEqual(settled(writes, self.srv) - first, res.changed)
        self.assertEqual(res.conflicts, 0)
        self.assertFalse(res.unchanged)

        got = self.stored("v1")
        self.assertEqual(sorted(got), sorted(expected_files))
        for name, data in expected_files.items():
            self.assertEqual(got[name].sha256, sha(data), name)
            self.assertEqual(got[name].size, len(data), name)
            self.assertEqual(self.client.read(self.ref, "v1", name), data, name)
        fmt = {n: a.format for n, a in got.items()}
        self.assertEqual(fmt["weights/model.safetensors"], "safetensors")
        self.assertEqual(fmt["w2"], "safetensors", "the local file's extension names the format")
        self.assertEqual(fmt["config.json"], "json")
        self.assertEqual(fmt["raw.txt"], "txt")
        self.assertEqual(fmt["readme"], "md")
        self.assertEqual(fmt["typed/sub/shard.bin"], "npy", "a folder's format is that of its files without one")
        self.assertEqual(fmt["typed/model.safetensors"], "safetensors", "a folder's format never overrides an extension")
        self.assertNotEqual(fmt["weights/sub/shard.bin"], "safetensors")
        self.assertEqual(got["readme"].extra, {"lang": "en", "n": 2})
        self.assertEqual(got["blob"].extra, {"k": [1, 2]})
        v = self.client.get_version(self.ref, "v1")
        self.assertEqual(v.digest, flymodel.version_digest(list(got.values())))

        # The same inputs again: every item unchanged, no write request.
        before = settled(writes, self.srv)
        again = self.client.upsert(self.ns, self.model, "v1", artifacts={
            "weights": folder, "config.json": cfg, "w2": single, "raw.txt": b"hello",
            "readme": {"path": notes, "format": "md", "extra": {"lang": "en", "n": 2}},
            "blob": {"data": b"\x00\x01", "extra": {"k": [1, 2]}}, "typed": {"path": folder, "format": "npy"},
        })
        self.assertNoWrites(before, "rerun")
        self.assertTrue(again.unchanged, str(again))
        self.assertEqual(again.changed, 0)
        self.assertEqual([(k, n) for k, n, _ in self.actions(again)], [(k, n) for k, n, _ in self.actions(res)])
        self.assertIn("0 changed", str(again).splitlines()[-1])

    def test_list_of_paths_without_names(self) -> None:
        one = self.write("a/model.onnx", b"onnx bytes")
        self.write("b/x.json", b"{}")
        self.write("b/deep/y.txt", b"y")
        res = self.client.upsert(self.ns, self.model, "v1", artifacts=[one, os.path.join(self.tmp, "b")])
        self.assertEqual([i.name for i in res.items if i.kind == "artifact"], ["model.onnx", "deep/y.txt", "x.json"])
        got = self.stored("v1")
        self.assertEqual(sorted(got), ["deep/y.txt", "model.onnx", "x.json"])
        self.assertEqual(got["model.onnx"].format, "onnx")
        self.assertEqual(got["x.json"].format, "json")

    def test_folder_without_files_and_missing_path(self) -> None:
        os.makedirs(os.path.join(self.tmp, "empty"))
        before = settled(total_requests, self.srv)
        with self.assertRaises(ValueError):
            self.client.upsert(self.ns, self.model, "v1", artifacts={"e": os.path.join(self.tmp, "empty")})
        with self.assertRaises(FileNotFoundError):
            self.client.upsert(self.ns, self.model, "v1", artifacts={"x": os.path.join(self.tmp, "nope")})
        with self.assertRaises(ValueError):
            self.client.upsert(self.ns, self.model, "v1", artifacts={"x": {"format": "json"}})
        with self.assertRaises(ValueError):
            self.client.upsert(self.ns, self.model, "v1", artifacts=[b"bytes need a name"])
        self.assertEqual(settled(total_requests, self.srv), before, "a refused input sent requests")

    # --- the plan, a rerun, the state

    def test_experiments_state_and_rerun(self) -> None:
        p = self.write("model.pt", os.urandom(2048))
        exps = {"eval": {"state": "passed", "params": {"lr": 0.001, "batch": 32}, "metrics": {"acc": 0.93},
                         "duration_ms": 1234},
                "smoke": {"state": "running"},
                "later": {}}
        res = self.client.upsert(self.ns, self.model, "v1", artifacts={"weights": p}, experiments=exps, state="qa")
        self.assertEqual(self.actions(res), [
            ("namespace", self.ns, "create"), ("model", self.model, "create"), ("version", "v1", "create"),
            ("artifact", "weights", "upload"),
            ("experiment", "eval", "create"), ("experiment-state", "eval", "move"), ("experiment-state", "eval", "move"),
            ("experiment", "smoke", "create"), ("experiment-state", "smoke", "move"),
            ("experiment", "later", "create"),
            ("state", "qa", "move"),
        ])
        moves = [i.detail for i in res.items if i.action == "move"]
        self.assertEqual(moves, ["created -> running", "running -> passed", "created -> running", "test -> qa"])
        self.assertEqual(res.changed, 11)
        v = self.client.get_version(self.ref, "v1")
        self.assertEqual(v.state, "qa")
        self.assertTrue(v.sealed)
        e = self.client.get_experiment(self.ref, "v1", "eval")
        self.assertEqual((e.state, e.params, e.metrics, e.duration_ms),
                         ("passed", {"lr": 0.001, "batch": 32}, {"acc": 0.93}, 1234))
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "smoke").state, "running")
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "later").state, "created")
        self.assertEqual(self.stored("v1")["weights"].format, "pt")

        # Rerun on the sealed version: the same file is no new file.
        before = settled(writes, self.srv)
        again = self.client.upsert(self.ns, self.model, "v1", artifacts={"weights": p}, experiments=exps, state="qa")
        self.assertNoWrites(before, "rerun")
        self.assertTrue(again.unchanged, str(again))
        self.assertEqual(again.changed, 0)
        # The same JSON values, written otherwise (key order, 1.0 for 1), are the same.
        before = settled(writes, self.srv)
        same = self.client.upsert(self.ns, self.model, "v1", experiments={
            "eval": {"state": "passed", "params": {"batch": 32.0, "lr": 0.001}, "metrics": {"acc": 0.93},
                     "duration": 1.234}})
        self.assertNoWrites(before, "rerun with equal JSON")
        self.assertTrue(same.unchanged, str(same))

    def test_experiments_as_a_list(self) -> None:
        res = self.client.upsert(self.ns, self.model, "v1", experiments=[
            "smoke", {"name": "eval", "state": "failed", "metrics": {"why": "slow"}, "duration": 2}])
        self.assertEqual(self.actions(res)[3:], [
            ("experiment", "smoke", "create"), ("experiment", "eval", "create"),
            ("experiment-state", "eval", "move"), ("experiment-state", "eval", "move")])
        e = self.client.get_experiment(self.ref, "v1", "eval")
        self.assertEqual((e.state, e.metrics, e.duration_ms), ("failed", {"why": "slow"}, 2000))
        self.assertEqual(self.client.get_experiment(self.ref, "v1", "smoke").state, "created")
        with self.assertRaises(ValueError):
            self.client.upsert(self.ns, self.model, "v1", experiments={"eval": {"metric": {"a": 1}}})

    def test_staging_is_stage(self) -> None:
        res = self.client.upsert(self.ns, self.model, "v1", artifacts={"a.txt": b"a"}, state="staging")
        self.assertEqual(res.items[-1].kind, "state")
        self.assertEqual(res.items[-1].name, "stage")
        self.assertEqual(res.items[-1].detail, "test -> stage")
        self.assertEqual(self.client.get_version(self.ref, "v1").state, "stage")
        again = self.client.upsert(self.ns, self.model, "v1", artifacts={"a.txt": b"a"}, state="STAGING")
        self.assertTrue(again.unchanged, str(again))

    def test_state_moves_back(self) -> None:
        self.client.upsert(self.ns, self.model, "v1", artifacts={"a.txt": b"a"}, state="qa")
        res = self.client.upsert(self.ns, self.model, "v1", state="test")
        self.assertEqual(self.actions(res)[-1], ("state", "test", "move"))
        self.assertEqual(res.items[-1].detail, "qa -> test")
        self.assertEqual(self.client.get_version(self.ref, "v1").state, "test")

    def test_dry_writes_nothing(self) -> None:
        p = self.write("x.json", b"[1]")
        before = settled(writes, self.srv)
        plan = self.client.upsert(self.ns, self.model, "v1", artifacts={"x.json": p, "b": b"bb"},
                                  experiments={"eval": {"state": "passed", "metrics": {"a": 1}}}, state="prod", dry=True)
        self.assertNoWrites(before, "dry run on a new namespace")
        self.assertTrue(plan.dry)
        self.assertEqual(plan.changed, 0)
        self.assertEqual([i.action for i in plan.items],
                         ["create", "create", "create", "upload", "upload", "create", "move", "move", "move"])
        self.assertIn("nothing was written", str(plan))
        with self.assertRaises(flymodel.NotFound):
            self.client.get_namespace(self.ns)

        self.client.upsert(self.ns, self.model, "v1", artifacts={"x.json": p})
        before = settled(writes, self.srv)
        plan = self.client.upsert(self.ns, self.model, "v1", artifacts={"x.json": p, "new.bin": b"new"},
                                  state="qa", dry=True)
        self.assertNoWrites(before, "dry run on an existing version")
        self.assertEqual(self.actions(plan)[3:], [("artifact", "x.json", "unchanged"), ("artifact", "new.bin", "upload"),
                                                  ("state", "qa", "move")])
        self.assertEqual(sorted(self.stored("v1")), ["x.json"])
        self.assertEqual(self.client.get_version(self.ref, "v1").state, "test")

    # --- contradictions: raised before anything is written

    def test_changed_file_is_immutable(self) -> None:
        old = os.urandom(3000)
        p = self.write("weights.bin", old)
        self.client.upsert(self.ns, self.model, "v1", artifacts={"weights.bin": p, "other.txt": b"o"})
        v_before = self.client.get_version(self.ref, "v1")
        new = old[:-1] + bytes([old[-1] ^ 0xFF])
        self.write("weights.bin", new)
        before = settled(writes, self.srv)
        with self.assertRaises(flymodel.ImmutableError) as cm:
            self.client.upsert(self.ns, self.model, "v1", artifacts={"weights.bin": p, "added.txt": b"new file"},
                               experiments={"eval": {}}, state="qa")
        self.assertNoWrites(before, "an upsert refused as immutable")
        e = cm.exception
        self.assertIsInstance(e, flymodel.Conflict)
        self.assertEqual(e.artifact, "weights.bin")
        self.assertEqual(e.existing_sha256, sha(old))
        self.assertEqual(e.actual_sha256, sha(new))
        self.assertIn(sha(old), str(e))
        self.assertIn(sha(new), str(e))
        self.assertIn("weights.bin", str(e))
        # The plan is attached: the conflict and what would have been done.
        items = {(i.kind, i.name): i for i in e.result.items}
        self.assertEqual(items[("artifact", "weights.bin")].action, "conflict")
        self.assertEqual(items[("artifact", "weights.bin")].existing_sha256, sha(old))
        self.assertEqual(items[("artifact", "added.txt")].action, "upload")
        self.assertEqual(e.result.changed, 0)
        # Nothing changed at the server.
        self.assertEqual(sorted(self.stored("v1")), ["other.txt", "weights.bin"])
        self.assertEqual(self.stored("v1")["weights.bin"].sha256, sha(old))
        v = self.client.get_version(self.ref, "v1")
        self.assertEqual((v.state, v.digest), (v_before.state, v_before.digest))
        self.assertEqual([x.name for x in self.client.experiments(self.ref, "v1")], [])
        # The same bytes under an in-memory value conflict the same way.
        with self.assertRaises(flymodel.ImmutableError) as cm2:
            self.client.upsert(self.ns, self.model, "v1", artifacts={"other.txt": b"not o"})
        self.assertEqual(cm2.exception.existing_sha256, sha(b"o"))
        self.assertEqual(cm2.exception.actual_sha256, sha(b"not o"))

    def test_sealed_version_refuses_new_files(self) -> None:
        p = self.write("a.bin", b"aaa")
        self.client.upsert(self.ns, self.model, "v1", artifacts={"a.bin": p}, state="qa")
        before = settled(writes, self.srv)
        with self.assertRaises(flymodel.SealedError) as cm:
            self.client.upsert(self.ns, self.model, "v1", artifacts={"a.bin": p, "b.bin": b"bbb"}, state="prod")
        self.assertNoWrites(before, "an upsert refused as sealed")
        self.assertNotIsInstance(cm.exception, flymodel.ImmutableError)
        self.assertIn("sealed", str(cm.exception))
        self.assertIn("b.bin", str(cm.exception))
        self.assertEqual(sorted(self.stored("v1")), ["a.bin"])
        self.assertEqual(self.client.get_version(self.ref, "v1").state, "qa")
        # Its own file again is fine, and moves the state.
        res = self.client.upsert(self.ns, self.model, "v1", artifacts={"a.bin": p}, state="prod")
        self.assertEqual(self.actions(res)[-2:], [("artifact", "a.bin", "unchanged"), ("state", "prod", "move")])

    def test_experiment_result_conflicts(self) -> None:
        self.client.upsert(self.ns, self.model, "v1", experiments={
            "eval": {"state": "passed", "params": {"lr": 0.1}, "metrics": {"acc": 0.9}, "duration_ms": 1000}})
        cases = [
            ({"state": "passed", "metrics": {"acc": 0.8}}, 'metrics {"acc":0.9}, given {"acc":0.8}'),
            ({"state": "passed", "duration_ms": 2000}, "duration 1000 ms, given 2000 ms"),
            ({"state": "passed", "params": {"lr": 0.2}}, 'created with params {"lr":0.1}, given {"lr":0.2}'),
            ({"state": "failed"}, "already recorded as passed"),
            ({"state": "running"}, "already recorded as passed"),
        ]
        for spec, needle in cases:
            with self.subTest(spec=spec):
                before = settled(writes, self.srv)
                with self.assertRaises(flymodel.Conflict) as cm:
                    self.client.upsert(self.ns, self.model, "v1", artifacts={"n.txt": b"new"},
                                       experiments={"eval": spec}, state="qa")
                self.assertNoWrites(before, f"an upsert refused for {spec}")
                self.assertNotIsInstance(cm.exception, (flymodel.ImmutableError, flymodel.SealedError))
                self.assertIn(needle, str(cm.exception))
                self.assertEqual(cm.exception.result.conflicts, 1)
        e = self.client.get_experiment(self.ref, "v1", "eval")
        self.assertEqual((e.state, e.params, e.metrics, e.duration_ms), ("passed", {"lr": 0.1}, {"acc": 0.9}, 1000))
        self.assertEqual(sorted(self.stored("v1")), [])
        self.assertEqual(self.client.get_version(self.ref, "v1").state, "test")

    def test_bad_names_refused_before_any_request(self) -> None:
        cases: List[Tuple[Dict[str, Any], str]] = [
            ({"model": "a/b"}, "model 'a/b'"),
            ({"namespace": ""}, "namespace ''"),
            ({"version": "v?1"}, "version 'v?1'"),
            ({"artifacts": {"../x": b"x"}}, "artifact '../x'"),
            ({"artifacts": {"/abs": b"x"}}, "artifact '/abs'"),
            ({"artifacts": {"a//b": b"x"}}, "artifact 'a//b'"),
            ({"state": "production"}, "state 'production'"),
            ({"experiments": {"x/y": {}}}, "experiment 'x/y'"),
            ({"experiments": {"e": {"state": "done"}}}, "state 'done'"),
            ({"experiments": {"e": {"metrics": {"a": 1}}}}, "metrics and duration are recorded with the result"),
            ({"experiments": {"e": {"state": "running", "duration_ms": 5}}}, "give state passed or failed"),
            ({"artifacts": {"a.bin": {"data": b"x", "format": "exe"}}}, "format 'exe'"),
        ]
        before = settled(total_requests, self.srv)
        for over, needle in cases:
            with self.subTest(over=over):
                kw: Dict[str, Any] = {"namespace": self.ns, "model": self.model, "version": "v1"}
                kw.update(over)
                with self.assertRaises(flymodel.ValidationError) as cm:
                    self.client.upsert(kw.pop("namespace"), kw.pop("model"), kw.pop("version"), **kw)
                self.assertIsInstance(cm.exception, ValueError)
                self.assertIn(needle, str(cm.exception))
                self.assertTrue(cm.exception.errors, "errors lists the problems")
        # Several bad names are named at once.
        with self.assertRaises(flymodel.ValidationError) as cm:
            self.client.upsert("a/b", "c/d", "v1", artifacts={"../x": b"x"})
        for needle in ("namespace 'a/b'", "model 'c/d'", "artifact '../x'"):
            self.assertIn(needle, str(cm.exception))
        self.assertEqual(settled(total_requests, self.srv), before, "a request was sent before the names were checked")

    # --- the Go CLI and the Python client agree

    def _inputs(self) -> Tuple[List[str], Dict[str, Any]]:
        """The same upsert as CLI flags and as Python arguments."""
        st = self.write("in/model.safetensors", os.urandom(5000))
        folder = os.path.join(self.tmp, "in", "data")
        self.write("in/data/a.json", b'{"a": 1}')
        self.write("in/data/b/c.txt", b"c")
        self.write("in/data/b/raw", b"raw bytes")
        notes = self.write("in/notes", b"# hi")
        flags = ["--artifact", "weights=" + st, "--artifact", "data=" + folder, "--artifact", "README=" + notes + ":md",
                 "--experiment", "eval", "--param", "lr=0.001", "--param", "arch=small",
                 "--experiment-state", "passed", "--metrics", '{"acc": 0.9, "loss": [1, 2]}', "--duration", "42s",
                 "--state", "staging"]
        kw = {"artifacts": {"weights": st, "data": folder, "README": {"path": notes, "format": "md"}},
              "experiments": {"eval": {"state": "passed", "params": {"lr": 0.001, "arch": "small"},
                                       "metrics": {"acc": 0.9, "loss": [1, 2]}, "duration_ms": 42000}},
              "state": "staging"}
        return flags, kw

    def _cli(self, version: str, flags: List[str], *extra: str) -> Dict[str, Any]:
        proc = self.srv.cli("upsert", "--namespace", self.ns, "--model", self.model, "--version", version,
                            "--output", "json", *flags, *extra)
        return json.loads(proc.stdout)

    @staticmethod
    def _plan(items: List[Dict[str, Any]]) -> List[Tuple[str, str, str, str, str, int]]:
        return [(i["kind"], i["name"], i["action"], i.get("detail", ""), i.get("sha256", ""), i.get("size", 0))
                for i in items]

    def test_cli_then_python_is_unchanged(self) -> None:
        flags, kw = self._inputs()
        # The dry plans of both agree, item by item.
        cli_plan = self._cli("v1", flags, "--dry")
        py_plan = self.client.upsert(self.ns, self.model, "v1", dry=True, **kw)
        self.assertEqual(self._plan(py_plan.to_dict()["items"]), self._plan(cli_plan["items"]))

        out = self._cli("v1", flags)
        self.assertEqual(out["conflicts"], 0)
        self.assertGreater(out["changed"], 0)
        before = settled(writes, self.srv)
        res = self.client.upsert(self.ns, self.model, "v1", **kw)
        self.assertNoWrites(before, "the Python upsert after the CLI's")
        self.assertTrue(res.unchanged, str(res))
        # And the CLI plans the same rerun, item by item.
        rerun = self._cli("v1", flags, "--dry")
        self.assertEqual(self._plan(res.to_dict()["items"]), self._plan(rerun["items"]))
        got = self.stored("v1")
        self.assertEqual(got["weights"].format, "safetensors")
        self.assertEqual(got["data/a.json"].format, "json")
        self.assertEqual(got["data/b/c.txt"].format, "txt")
        self.assertEqual(got["README"].format, "md")
        self.assertEqual(self.client.get_version(self.ref, "v1").state, "stage")

    def test_python_then_cli_is_unchanged(self) -> None:
        flags, kw = self._inputs()
        res = self.client.upsert(self.ns, self.model, "v2", **kw)
        self.assertEqual(res.conflicts, 0)
        formats = {n: a.format for n, a in self.stored("v2").items()}
        before = settled(writes, self.srv)
        out = self._cli("v2", flags)
        self.assertNoWrites(before, "the CLI's upsert after the Python one")
        self.assertEqual(out["changed"], 0)
        self.assertEqual({i["action"] for i in out["items"]}, {"unchanged"})
        rerun = self.client.upsert(self.ns, self.model, "v2", dry=True, **kw)
        self.assertEqual(self._plan(rerun.to_dict()["items"]), self._plan(out["items"]))
        # The formats the Python client sent are the CLI's: upload the same
        # files with the CLI into another version and compare.
        self._cli("v3", flags)
        self.assertEqual({n: a.format for n, a in self.stored("v3").items()}, formats)
        # And a changed file is refused by both alike.
        self.write("in/data/a.json", b'{"a": 2}')
        proc = self.srv.cli("upsert", "--namespace", self.ns, "--model", self.model, "--version", "v2",
                            "--output", "json", *flags, check=False)
        self.assertEqual(proc.returncode, 3, proc.stderr)
        with self.assertRaises(flymodel.ImmutableError) as cm:
            self.client.upsert(self.ns, self.model, "v2", **kw)
        self.assertEqual(cm.exception.artifact, "data/a.json")


if __name__ == "__main__":
    unittest.main()
