"""Model cards (metadata), lineage (parents) and diff, against a real server."""

from __future__ import annotations

import unittest
import uuid

import harness

import flymodel


class LineageTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = harness.shared_server().client()
        self.ns = "lineage-" + uuid.uuid4().hex[:8]
        self.client.create_namespace(self.ns)
        self.model = f"{self.ns}/llm"

    def test_metadata(self) -> None:
        c = self.client
        m = c.create_model(self.model, metadata={"task": "qa"})
        self.assertEqual(m.metadata, {"task": "qa"})
        v = c.create_version(self.model, "v1", metadata={"license": "mit", "parameters": 7, "datasets": [{"name": "wiki"}]})
        self.assertEqual(v.metadata["parameters"], 7)
        self.assertEqual(c.create_version(self.model, "v2").metadata, {})
        c.set_state(self.model, "v1", "qa")
        v = c.update_version(self.model, "v1", metadata={"license": "apache-2.0"})
        self.assertEqual(v.metadata, {"license": "apache-2.0"})
        self.assertTrue(v.sealed)
        v = c.update_version(self.model, "v1", description="kept metadata")
        self.assertEqual((v.description, v.metadata), ("kept metadata", {"license": "apache-2.0"}))
        self.assertEqual(c.get_version(self.model, "v1").metadata, {"license": "apache-2.0"})
        self.assertEqual(c.update_model(self.model, metadata={}).metadata, {})
        for bad, field in (({"parameters": -1}, "metadata.parameters"), ({"datasets": [{"name": "w", "digest": "md5:0"}]},
                                                                         "metadata.datasets[0].digest"), ({"a b": 1}, "metadata")):
            with self.subTest(bad=bad):
                with self.assertRaises(flymodel.ValidationError) as cm:
                    c.update_version(self.model, "v1", metadata=bad)
                self.assertIn(field, str(cm.exception))

    def test_parents_lineage_delete(self) -> None:
        c = self.client
        other = f"{self.ns}/small"
        c.create_model(self.model)
        c.create_model(other)
        c.create_version(self.model, "v1")
        c.create_version(self.model, "v2", parents=[("v1", "fine-tuned")])
        c.create_version(other, "s1", parents=[(f"{self.model}/v2", "distilled")])
        ps = c.parents(other, "s1")
        self.assertEqual([(p.path, p.relation) for p in ps], [(f"/{self.ns}/llm/v2", "distilled")])
        ps = c.set_parents(other, "s1", [(f"{self.model}/v2", "quantized"), {"namespace": self.ns, "model": "llm",
                                                                           "version": "v1", "relation": "merged"}])
        self.assertEqual(len(ps), 2)

        lin = c.lineage(self.model, "v1", depth=2)
        self.assertEqual(lin.root, f"/{self.ns}/llm/v1")
        self.assertEqual(sorted((n["path"], n["depth"]) for n in lin.nodes),
                         [(f"/{self.ns}/llm/v1", 0), (f"/{self.ns}/llm/v2", 1), (f"/{self.ns}/small/s1", 1)])
        self.assertEqual(len(lin.edges), 3)
        self.assertEqual(lin.hidden, 0)

        with self.assertRaises(flymodel.ValidationError):  # a cycle
            c.set_parents(self.model, "v1", [(f"{other}/s1", "derived")])
        with self.assertRaises(flymodel.ValidationError):  # an unknown relation
            c.set_parents(self.model, "v1", [("v2", "copied")])
        with self.assertRaises(flymodel.NotFound):
            c.set_parents(self.model, "v1", [("v9", "derived")])
        c.set_state(self.model, "v2", "qa")
        with self.assertRaises(flymodel.SealedError):
            c.set_parents(self.model, "v2", [])
        with self.assertRaises(flymodel.Conflict):  # s1 names it
            c.delete_version(self.model, "v1")
        c.delete_version(self.model, "v1", cascade=True)
        self.assertEqual([p.version for p in c.parents(other, "s1")], ["v2"])

    def test_diff(self) -> None:
        c = self.client
        c.create_model(self.model)
        c.create_version(self.model, "v1", description="one", metadata={"framework": "pytorch"})
        c.create_version(self.model, "v2", description="two", metadata={"framework": "jax"})
        c.upload(self.model, "v1", "w.bin", b"old")
        c.upload(self.model, "v2", "w.bin", b"newer")
        c.upload(self.model, "v2", "extra.txt", b"x")
        for v, acc in (("v1", 0.9), ("v2", 0.95)):
            c.create_experiment(self.model, v, "eval")
            c.start_experiment(self.model, v, "eval")
            c.finish_experiment(self.model, v, "eval", True, metrics={"accuracy": acc})
        d = c.diff(self.model, "v1", "v2")
        self.assertEqual((d.a.version, d.b.version), ("v1", "v2"))
        self.assertTrue(d.b.digest.startswith("sha256:"))
        self.assertEqual([x["name"] for x in d.artifacts["added"]], ["extra.txt"])
        changed = d.artifacts["changed"][0]
        self.assertEqual((changed["name"], changed["a_size"], changed["b_size"]), ("w.bin", 3, 5))
        self.assertEqual(d.description, {"a": "one", "b": "two"})
        self.assertEqual(d.metadata, [{"key": "framework", "a": "pytorch", "b": "jax"}])
        self.assertEqual(d.experiments[0]["metrics"], [{"key": "accuracy", "a": 0.9, "b": 0.95}])
        # Across models, and by lifecycle.
        c.create_model(f"{self.ns}/other")
        c.create_version(f"{self.ns}/other", "o1")
        x = c.diff(self.model, "v1", f"{self.ns}/other/o1")
        self.assertEqual(x.b.model, "other")
        c.set_state(self.model, "v2", "qa")
        self.assertEqual(c.diff(self.model, "v1", "@qa").b.version, "v2")
        with self.assertRaises(flymodel.NotFound):
            c.diff(self.model, "v1", "v9")


if __name__ == "__main__":
    unittest.main()
