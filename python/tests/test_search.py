"""Search with the filter language: Client.search_versions, search_models and
search_experiments against a real server, following the ``next`` cursors;
refusals name the position and what was expected."""

from __future__ import annotations

import os
import sys
import unittest
import uuid
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (HERE, os.path.dirname(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import harness  # noqa: E402

import flymodel  # noqa: E402


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class SearchTest(unittest.TestCase):
    ns = ""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = harness.shared_server()
        client = cls.server.client()
        cls.ns = uniq("search")
        client.create_namespace(cls.ns)
        model = f"{cls.ns}/llm"
        client.create_model(model)
        client.create_model(f"{cls.ns}/other")
        for i, accuracy in enumerate([0.8, 0.95, 0.91, 0.5]):
            version = f"v{i + 1}"
            client.create_version(model, version)
            client.create_experiment(model, version, "eval", params={"lr": 0.01 * (i + 1)})
            client.start_experiment(model, version, "eval")
            client.finish_experiment(model, version, "eval", True, metrics={"accuracy": accuracy})
        client.set_state(model, "v2", "prod")
        client.close()

    def setUp(self) -> None:
        self.client = self.server.client()
        self.addCleanup(self.client.close)

    def versions(self, *args: object, **kw: object) -> List[str]:
        return [v.version for v in self.client.search_versions(*args, **kw)]  # type: ignore[arg-type]

    def test_versions_page_by_page(self) -> None:
        mine = f'namespace = "{self.ns}"'
        self.assertEqual(self.versions(mine, page_size=1), ["v4", "v3", "v2", "v1"])
        self.assertEqual(self.versions(mine, "name asc", page_size=3), ["v1", "v2", "v3", "v4"])
        self.assertEqual(self.versions(mine, limit=2), ["v4", "v3"])
        self.assertEqual(self.versions(f'{mine} AND state = "prod" AND experiments.eval.metrics.accuracy >= 0.9'), ["v2"])
        self.assertEqual(self.versions(f'{mine} AND experiments.eval.params.lr IN (0.01, 0.04)'), ["v4", "v1"])

    def test_experiments_and_models(self) -> None:
        got = [(e.version, e.metrics["accuracy"]) for e in self.client.search_experiments(
            f'namespace = "{self.ns}" AND metrics.accuracy > 0.85', "metrics.accuracy desc", page_size=1)]
        self.assertEqual(got, [("v2", 0.95), ("v3", 0.91)])
        models = [m.name for m in self.client.search_models(f'namespace = "{self.ns}"', "name")]
        self.assertEqual(models, ["llm", "other"])
        self.assertEqual([m.name for m in self.client.search_models(f'namespace = "{self.ns}" AND name LIKE "ll%"')], ["llm"])

    def test_scoped_token_sees_its_namespaces(self) -> None:
        token = self.client.create_token(uniq("reader"), "read", [self.ns])
        scoped = self.server.client(token=token.secret)
        self.addCleanup(scoped.close)
        namespaces = {v.namespace for v in scoped.search_versions()}
        self.assertEqual(namespaces, {self.ns})
        self.assertEqual([v.version for v in scoped.search_versions('namespace != "' + self.ns + '"')], [])

    def test_refusals(self) -> None:
        with self.assertRaises(flymodel.BadRequest) as cm:
            list(self.client.search_versions("state >="))
        err = cm.exception
        self.assertEqual(err.status, 400)
        self.assertEqual(err.type, "invalid-filter")
        self.assertEqual((err.field, err.position, err.expected), ("filter", 9, "a value after '>='"))
        self.assertIn("at 9: expected a value after '>='", str(err))
        with self.assertRaises(flymodel.BadRequest) as cm:
            list(self.client.search_experiments("", "metrics.accuracy sideways"))
        self.assertEqual(cm.exception.field, "order_by")
        with self.assertRaises(flymodel.BadRequest):
            list(self.client.search_models("name = 'a'; DROP TABLE models; --"))


if __name__ == "__main__":
    unittest.main()
