"""Aliases and version selectors against a real flymodel server: set, move,
delete, list, history; ``ns/model@alias`` wherever a version is named; the
server's refusals; a protected alias (aliases.protected)."""

from __future__ import annotations

import os
import sys
import tempfile
import unittest
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (HERE, os.path.dirname(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import harness  # noqa: E402

import flymodel  # noqa: E402


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class AliasTest(harness.ClientTestCase):
    def setUp(self) -> None:
        self.ns = uniq("ns")
        self.c.create_namespace(self.ns)
        self.m = f"{self.ns}/llm.sm"
        self.c.create_model(self.m)
        self.c.create_version(self.m, "v1")
        self.c.upload(self.m, "v1", "a.txt", b"weights of v1")
        self.c.create_version(self.m, "v2")

    def tearDown(self) -> None:
        try:
            self.c.delete_namespace(self.ns, cascade=True)
        except flymodel.FlymodelError:
            pass

    def test_set_move_delete_history(self) -> None:
        a = self.c.set_alias(self.m, "champion", "v1")
        self.assertEqual((a.alias, a.version, a.model, a.namespace), ("champion", "v1", "llm.sm", self.ns))
        self.assertTrue(a.updated_by)
        self.assertIsNotNone(a.updated_at)
        self.assertEqual(a.ref, f"{self.m}@champion")
        # Listed on the model and the version.
        self.assertEqual(self.c.get_model(self.m).aliases, ["champion"])
        self.assertEqual(self.c.get_version(self.m, "v1").aliases, ["champion"])
        self.assertEqual(self.c.get_version(self.m, "v2").aliases, [])
        self.assertEqual([v.aliases for v in self.c.versions(self.m)], [[], ["champion"]])
        # Selectors: "ns/model@alias", and as the version argument.
        self.assertEqual(self.c.get_version(f"{self.m}@champion").version, "v1")
        self.assertEqual(self.c.resolve(self.m, "@champion").version, "v1")
        self.assertEqual(self.c.read(self.m, "@champion", "a.txt"), b"weights of v1")
        self.assertEqual([h.to for h in self.c.history(self.m, "@champion")], ["test"])
        # Moving, to a selector.
        moved = self.c.set_alias(self.m, "champion", "@test")
        self.assertEqual(moved.version, "v2")
        self.c.set_alias(self.m, "canary", "v1")
        self.assertEqual([(x.alias, x.version) for x in self.c.aliases(self.m)], [("canary", "v1"), ("champion", "v2")])
        self.assertEqual(self.c.get_alias(self.m, "canary").version, "v1")
        hist = list(self.c.alias_history(self.m, "champion"))
        self.assertEqual([(h.from_, h.to) for h in hist], [("v1", "v2"), (None, "v1")])
        self.assertEqual(len(list(self.c.alias_history(self.m, "champion", page_size=1))), 2)
        # Delete: the history keeps the removal.
        self.c.delete_alias(self.m, "canary")
        with self.assertRaises(flymodel.NotFound):
            self.c.get_alias(self.m, "canary")
        self.assertEqual([(h.from_, h.to) for h in self.c.alias_history(self.m, "canary")][0], ("v1", None))
        with self.assertRaises(flymodel.NotFound) as cm:
            self.c.get_version(f"{self.m}@canary")
        self.assertIn(f"no alias canary on {self.m}", str(cm.exception))

    def test_pull_by_alias(self) -> None:
        self.c.set_alias(self.m, "champion", "v1")
        with tempfile.TemporaryDirectory() as d:
            res = self.c.pull(f"{self.m}@champion", os.path.join(d, "out"), progress=False)
            self.assertEqual(res.version.version, "v1")
            with open(os.path.join(d, "out", "a.txt"), "rb") as f:
                self.assertEqual(f.read(), b"weights of v1")

    def test_deleting_the_version_removes_its_aliases(self) -> None:
        self.c.set_alias(self.m, "canary", "v2")
        self.c.delete_version(self.m, "v2")
        self.assertEqual(list(self.c.aliases(self.m)), [])
        top = list(self.c.alias_history(self.m, "canary"))[0]
        self.assertEqual((top.from_, top.to), ("v2", None))

    def test_refusals(self) -> None:
        with self.assertRaises(flymodel.NotFound):
            self.c.set_alias(self.m, "champion", "v9")
        with self.assertRaises(flymodel.NotFound) as cm:
            self.c.get_version(f"{self.m}@prod")
        self.assertIn(f"no version of {self.m} is in prod", str(cm.exception))
        for bad in ("prod", "staging", "@x"):
            with self.assertRaises(flymodel.ValidationError):
                self.c.set_alias(self.m, bad, "v1")
        with self.assertRaises(flymodel.InvalidName):
            self.c.set_alias(self.m, "a\x01b", "v1")
        with self.assertRaises(flymodel.NotFound):
            self.c.delete_alias(self.m, "never")
        with self.assertRaises(flymodel.NotFound):
            list(self.c.alias_history(self.m, "never"))
        with self.assertRaises(flymodel.ValidationError):
            self.c.create_version(self.m, "@v3")
        # upsert names the version it creates: a selector is refused before
        # anything is sent.
        with self.assertRaises(flymodel.ValidationError):
            self.c.upsert(self.ns, "llm.sm", "@champion")
        with self.assertRaises(ValueError):
            self.c.get_version(f"{self.m}@")


class ProtectedAliasTest(unittest.TestCase):
    def test_protected(self) -> None:
        srv = harness.start_server(extra_toml='[[aliases.protected]]\nname = "champion"\nrole = "admin"\nlifecycle = "prod"\n')
        self.addCleanup(srv.stop)
        c = srv.client()
        self.addCleanup(c.close)
        ns = uniq("ns")
        c.create_namespace(ns)
        m = f"{ns}/clf"
        c.create_model(m)
        c.create_version(m, "v1")
        c.create_version(m, "v2", state="prod")
        with self.assertRaises(flymodel.Conflict) as cm:
            c.set_alias(m, "champion", "v1")
        e = cm.exception
        self.assertEqual(e.status, 409)
        self.assertIn("alias-protected", e.type)
        self.assertIn('aliases.protected "champion"', str(e))
        self.assertEqual(c.set_alias(m, "champion", "@prod").version, "v2")
        tok = c.create_token(uniq("writer"), "write", [ns])
        with flymodel.Client(srv.url, token=tok.secret) as w:
            with self.assertRaises(flymodel.Forbidden) as fm:
                w.set_alias(m, "champion", "v2")
            self.assertIn("admin", str(fm.exception))
            with self.assertRaises(flymodel.Forbidden):
                w.delete_alias(m, "champion")
            # Other aliases need write only.
            self.assertEqual(w.set_alias(m, "canary", "v1").version, "v1")
        self.assertEqual(c.get_version(f"{m}@champion").version, "v2")


if __name__ == "__main__":
    unittest.main()
