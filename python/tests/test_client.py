"""The client's API surface against a real flymodel server: namespaces,
buckets, tags, models, versions, experiments, tokens, audit, health, and the
lists that page (upsert, pull, download, upload and the experiment context
manager are tested in their own suites)."""

from __future__ import annotations

import os
import sys
import unittest
import uuid
from typing import Any, List

HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (HERE, os.path.dirname(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import harness  # noqa: E402

import flymodel  # noqa: E402
from flymodel import errors  # noqa: E402

# registry.DefaultTagColor's palette: the ten Tableau colours.
TABLEAU = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def rows(html_table: str) -> int:
    """The body rows of a table _repr_html_ made."""
    body = html_table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>")


class ServerTest(harness.ClientTestCase):
    """A test with the shared server, an admin client and a namespace of its own."""

    def setUp(self) -> None:
        self.ns = uniq("ns")
        self.c.create_namespace(self.ns)

    def tearDown(self) -> None:
        try:
            self.c.delete_namespace(self.ns, cascade=True)
        except errors.NotFound:
            pass

    def admin_name(self) -> str:
        """The name of the harness's admin token: the actor of its changes."""
        admins = [t for t in self.c.tokens() if t.role == "admin" and t.namespaces == ["*"] and t.status == "active"]
        self.assertTrue(admins)
        return min(admins, key=lambda t: t.id).name

    def model(self, description: str = "") -> str:
        ref = f"{self.ns}/{uniq('m')}"
        self.c.create_model(ref, description)
        return ref


class HealthTest(ServerTest):
    def setUp(self) -> None:
        pass

    def tearDown(self) -> None:
        pass

    def test_health_and_ready(self) -> None:
        self.assertEqual(self.c.health().get("status"), "ok")
        r = self.c.ready()
        self.assertEqual(r.get("status"), "ready")
        self.assertEqual(r["checks"]["database"], "ok")

    def test_health_takes_any_token(self) -> None:
        with flymodel.Client(self.server.url, token="fm_not-a-token") as bad:
            self.assertEqual(bad.health().get("status"), "ok")
            self.assertEqual(bad.ready().get("status"), "ready")
            with self.assertRaises(flymodel.Unauthorized):
                list(bad.namespaces())

    def test_repr_hides_the_token(self) -> None:
        r = repr(self.c)
        self.assertIn(self.server.url, r)
        self.assertIn("token=…", r)
        self.assertNotIn(self.server.token, r)
        self.assertNotIn(self.server.token[3:12], r)


class NamespaceTest(ServerTest):
    def test_create_get_list(self) -> None:
        name = uniq("ns")
        ns = self.c.create_namespace(name, "the <b>first</b> one")
        try:
            self.assertIsInstance(ns, flymodel.Namespace)
            self.assertEqual(ns.name, name)
            self.assertEqual(ns.description, "the <b>first</b> one")
            self.assertGreater(ns.id, 0)
            self.assertIsNotNone(ns.created_at)
            self.assertIsNotNone(ns.created_at.tzinfo)  # type: ignore[union-attr]
            got = self.c.get_namespace(name)
            self.assertEqual((got.id, got.name, got.description), (ns.id, name, ns.description))
            names = [n.name for n in self.c.namespaces()]
            self.assertIn(name, names)
            self.assertIn(self.ns, names)
            ours = [n for n in names if n.startswith("ns-")]  # one shape of name: the same order in any collation
            self.assertEqual(ours, sorted(ours), "namespaces are listed by name")
        finally:
            self.c.delete_namespace(name)

    def test_create_without_description(self) -> None:
        name = uniq("ns")
        ns = self.c.create_namespace(name)
        self.c.delete_namespace(name)
        self.assertEqual(ns.description, "")

    def test_update_description_and_rename(self) -> None:
        ns = self.c.update_namespace(self.ns, description="described")
        self.assertEqual(ns.description, "described")
        self.assertEqual(self.c.get_namespace(self.ns).description, "described")
        new = uniq("renamed")
        m = self.model()
        ns2 = self.c.update_namespace(self.ns, new_name=new)
        self.assertEqual(ns2.name, new)
        self.assertEqual(ns2.id, ns.id)
        self.assertEqual(ns2.description, "described", "a rename keeps the description")
        with self.assertRaises(flymodel.NotFound):
            self.c.get_namespace(self.ns)
        # The model moved with it.
        self.assertEqual(self.c.get_model(f"{new}/{m.split('/')[1]}").namespace, new)
        self.ns = new  # for tearDown

    def test_delete_empty(self) -> None:
        name = uniq("ns")
        self.c.create_namespace(name)
        self.assertIsNone(self.c.delete_namespace(name))
        with self.assertRaises(flymodel.NotFound):
            self.c.get_namespace(name)
        with self.assertRaises(flymodel.NotFound):
            self.c.delete_namespace(name)

    def test_delete_needs_cascade_when_not_empty(self) -> None:
        m = self.model()
        self.c.create_version(m, "v1")
        with self.assertRaises(flymodel.Conflict) as cm:
            self.c.delete_namespace(self.ns)
        self.assertEqual(cm.exception.status, 409)
        # Nothing was deleted.
        self.assertEqual(self.c.get_version(m, "v1").version, "v1")
        self.c.delete_namespace(self.ns, cascade=True)
        with self.assertRaises(flymodel.NotFound):
            self.c.get_namespace(self.ns)
        with self.assertRaises(flymodel.NotFound):
            self.c.get_model(m)


class BucketTest(ServerTest):
    def setUp(self) -> None:
        super().setUp()
        if harness.backend().endswith("+s3"):
            # With storage.s3 configured a bucket must be one of its stores.
            self.skipTest(f"buckets of any name need a server without storage.s3 configured (this one: {harness.backend()})")

    def test_create_list_delete(self) -> None:
        b_test = self.c.create_bucket(self.ns, uniq("bkt"), "test")
        b_prod = self.c.create_bucket(self.ns, uniq("bkt"), "prod", region="ca-central-1")
        self.assertIsInstance(b_test, flymodel.Bucket)
        self.assertEqual((b_test.namespace, b_test.role, b_test.region), (self.ns, "test", "us-east-1"))
        self.assertEqual((b_prod.role, b_prod.region), ("prod", "ca-central-1"))
        got = list(self.c.buckets(self.ns))
        self.assertEqual(sorted(b.name for b in got), sorted([b_test.name, b_prod.name]))
        self.assertEqual([b.name for b in got], sorted(b.name for b in got), "buckets are listed by name")
        self.assertEqual({b.id for b in got}, {b_test.id, b_prod.id})
        self.c.delete_bucket(self.ns, b_test.id)
        self.assertEqual([b.name for b in self.c.buckets(self.ns)], [b_prod.name])
        with self.assertRaises(flymodel.NotFound):
            self.c.delete_bucket(self.ns, b_test.id)

    def test_staging_alias_and_one_per_role(self) -> None:
        b = self.c.create_bucket(self.ns, uniq("bkt"), "staging")
        self.assertEqual(b.role, "stage")
        with self.assertRaises(flymodel.Conflict):
            self.c.create_bucket(self.ns, uniq("bkt"), "stage")
        self.assertEqual(len(self.c.buckets(self.ns)), 1)

    def test_bad_role(self) -> None:
        with self.assertRaises(flymodel.ValidationError) as cm:
            self.c.create_bucket(self.ns, uniq("bkt"), "production")
        self.assertIn("role", [e.get("field") for e in cm.exception.errors])

    def test_namespace_with_bucket_needs_cascade(self) -> None:
        self.c.create_bucket(self.ns, uniq("bkt"), "qa")
        with self.assertRaises(flymodel.Conflict):
            self.c.delete_namespace(self.ns)


class ConfiguredBucketTest(ServerTest):
    """With storage.s3 configured, a namespace's bucket must be one of its
    stores, for the lifecycle the configuration gives it."""

    def setUp(self) -> None:
        super().setUp()
        if not harness.backend().endswith("+s3"):
            self.skipTest(f"needs a server with storage.s3 configured (this one: {harness.backend()}; "
                          "the postgres+s3 run has it)")
        from flymodel import _config

        stores = (_config.load_file(self.server.config_path).get("storage") or {}).get("s3") or []
        self.by_role = {s["role"]: s["bucket"] for s in stores}
        self.assertIn("prod", self.by_role)

    def test_configured_bucket(self) -> None:
        b = self.c.create_bucket(self.ns, self.by_role["prod"], "prod")
        self.assertEqual((b.name, b.role, b.namespace), (self.by_role["prod"], "prod", self.ns))
        self.assertEqual([x.name for x in self.c.buckets(self.ns)], [b.name])
        self.c.delete_bucket(self.ns, b.id)
        self.assertEqual(list(self.c.buckets(self.ns)), [])

    def test_other_role_and_unknown_name(self) -> None:
        with self.assertRaises(flymodel.ValidationError) as cm:
            self.c.create_bucket(self.ns, self.by_role["prod"], "qa")
        self.assertIn("prod", str(cm.exception), "names the configured lifecycle")
        with self.assertRaises(flymodel.NoStore) as cm2:
            self.c.create_bucket(self.ns, uniq("nowhere"), "prod")
        e = cm2.exception
        self.assertEqual((e.status, e.type), (409, "no-store"))
        self.assertTrue(e.config_key)
        self.assertEqual(list(self.c.buckets(self.ns)), [])


class TagTest(ServerTest):
    def test_create_with_and_without_colour_list_delete(self) -> None:
        t1 = self.c.create_tag(self.ns, "nlp", "#12ab9f")
        self.assertIsInstance(t1, flymodel.Tag)
        self.assertEqual((t1.tag, t1.namespace), ("nlp", self.ns))
        self.assertEqual(t1.color, "#12ab9f")
        t2 = self.c.create_tag(self.ns, "best")
        self.assertIn(t2.color, TABLEAU)
        # The default colour depends on the name only: the same in another namespace.
        other = uniq("ns")
        self.c.create_namespace(other)
        try:
            self.assertEqual(self.c.create_tag(other, "best").color, t2.color)
        finally:
            self.c.delete_namespace(other, cascade=True)
        tags = list(self.c.tags(self.ns))
        self.assertEqual([t.tag for t in tags], ["best", "nlp"], "tags are listed by name")
        with self.assertRaises(flymodel.Conflict):
            self.c.create_tag(self.ns, "nlp")
        self.c.delete_tag(self.ns, "nlp")
        self.assertEqual([t.tag for t in self.c.tags(self.ns)], ["best"])
        with self.assertRaises(flymodel.NotFound):
            self.c.delete_tag(self.ns, "nlp")

    def test_bad_colour(self) -> None:
        for bad in ("red", "#12AB9F", "#12ab9"):
            with self.assertRaises(flymodel.ValidationError) as cm:
                self.c.create_tag(self.ns, "red", bad)
            self.assertIn("color", [e.get("field") for e in cm.exception.errors])
        self.assertEqual(len(self.c.tags(self.ns)), 0)

    def test_tag_and_untag_model(self) -> None:
        m, other = self.model(), self.model()
        self.c.create_tag(self.ns, "prod-ready")
        self.c.create_tag(self.ns, "alpha")
        self.c.tag_model(m, "prod-ready")
        self.c.tag_model(m, "alpha")
        self.assertEqual(self.c.get_model(m).tags, ["alpha", "prod-ready"])
        self.assertEqual(self.c.get_model(other).tags, [])
        self.assertEqual([x.ref for x in self.c.models(self.ns, tag="prod-ready")], [m])
        self.c.untag_model(m, "prod-ready")
        self.assertEqual(self.c.get_model(m).tags, ["alpha"])
        self.assertEqual(list(self.c.models(self.ns, tag="prod-ready")), [])
        with self.assertRaises(flymodel.NotFound):
            self.c.tag_model(m, "no-such-tag")

    def test_tag_version_and_experiment(self) -> None:
        m = self.model()
        self.c.create_version(m, "v1")
        self.c.create_version(m, "v2")
        self.c.create_experiment(m, "v1", "eval")
        self.c.create_tag(self.ns, "gold", "#ffd700")
        self.c.create_tag(self.ns, "flaky")

        self.c.tag_version(m, "v1", "gold")
        vt = self.c.version_tags(m, "v1")
        self.assertIsInstance(vt, flymodel.Items)
        self.assertEqual([(t.tag, t.color) for t in vt], [("gold", "#ffd700")])
        self.assertEqual(self.c.get_version(m, "v1").tags, ["gold"])
        self.assertEqual([v.version for v in self.c.versions(m, tag="gold")], ["v1"])
        self.assertEqual(list(self.c.version_tags(m, "v2")), [])

        self.c.tag_experiment(m, "v1", "eval", "flaky")
        self.assertEqual([t.tag for t in self.c.experiment_tags(m, "v1", "eval")], ["flaky"])
        self.c.untag_experiment(m, "v1", "eval", "flaky")
        self.assertEqual(list(self.c.experiment_tags(m, "v1", "eval")), [])

        self.c.untag_version(m, "v1", "gold")
        self.assertEqual(list(self.c.version_tags(m, "v1")), [])
        self.assertEqual(list(self.c.versions(m, tag="gold")), [])

    def test_delete_tag_detaches_it_everywhere(self) -> None:
        m = self.model()
        self.c.create_version(m, "v1")
        self.c.create_tag(self.ns, "temp")
        self.c.tag_model(m, "temp")
        self.c.tag_version(m, "v1", "temp")
        self.c.delete_tag(self.ns, "temp")
        self.assertEqual(self.c.get_model(m).tags, [])
        self.assertEqual(list(self.c.version_tags(m, "v1")), [])


class NamesTest(ServerTest):
    """Names with spaces, non-ASCII letters and URL punctuation go through
    paths and query strings unchanged."""

    def test_unusual_names(self) -> None:
        ns = uniq("ünï cødé +&=;@,$!~()'")
        self.c.create_namespace(ns)
        self.addCleanup(self.c.delete_namespace, ns, cascade=True)
        self.assertEqual(self.c.get_namespace(ns).name, ns)
        m = f"{ns}/模型 a+b=c&d"
        self.assertEqual(self.c.create_model(m).ref, m)
        self.c.create_model(f"{ns}/other")
        v = "v1 β@x"
        self.assertEqual(self.c.create_version(m, v).ref, f"{m}/{v}")
        self.assertEqual(self.c.get_version(f"{m}/{v}").version, v)
        tag = "ta g+ü&x=1"
        self.c.create_tag(ns, tag)
        self.c.tag_model(m, tag)
        self.c.tag_model(m, tag)  # attaching again changes nothing
        self.c.tag_version(m, v, tag)
        self.assertEqual(self.c.get_model(m).tags, [tag])
        self.assertEqual([t.tag for t in self.c.version_tags(m, v)], [tag])
        self.assertEqual([x.name for x in self.c.models(ns, name="a+b=c&d")], ["模型 a+b=c&d"])
        self.assertEqual([x.name for x in self.c.models(ns, tag=tag)], ["模型 a+b=c&d"])
        self.assertEqual([x.version for x in self.c.versions(m, tag=tag)], [v])
        self.c.create_experiment(m, v, "eval 1 ✓")
        self.assertEqual(self.c.get_experiment(m, v, "eval 1 ✓").name, "eval 1 ✓")
        self.c.untag_model(m, tag)
        self.assertEqual(self.c.get_model(m).tags, [])


class ModelTest(ServerTest):
    def test_create_get(self) -> None:
        ref = f"{self.ns}/llm.sm"
        m = self.c.create_model(ref, "a *small* model")
        self.assertIsInstance(m, flymodel.Model)
        self.assertEqual((m.namespace, m.name, m.ref, m.description), (self.ns, "llm.sm", ref, "a *small* model"))
        got = self.c.get_model(ref)
        self.assertEqual((got.id, got.description, got.tags), (m.id, m.description, []))
        with self.assertRaises(flymodel.Conflict):
            self.c.create_model(ref)
        with self.assertRaises(flymodel.NotFound):
            self.c.get_model(f"{self.ns}/nope")

    def test_bad_reference(self) -> None:
        with self.assertRaises(ValueError):
            self.c.get_model("no-slash")
        with self.assertRaises(ValueError):
            self.c.create_model("a/b/c")

    def test_list_with_name_filter(self) -> None:
        for name in ("bert-base", "bert-large", "gpt-small"):
            self.c.create_model(f"{self.ns}/{name}")
        self.assertEqual([m.name for m in self.c.models(self.ns)], ["bert-base", "bert-large", "gpt-small"])
        self.assertEqual([m.name for m in self.c.models(self.ns, name="bert")], ["bert-base", "bert-large"])
        self.assertEqual([m.name for m in self.c.models(self.ns, name="small")], ["gpt-small"])
        self.assertEqual(list(self.c.models(self.ns, name="zzz")), [])
        self.assertEqual(self.c.models(self.ns, name="bert").total, 2)

    def test_update_and_rename(self) -> None:
        ref = self.model("old")
        m = self.c.update_model(ref, description="new")
        self.assertEqual(m.description, "new")
        self.c.create_version(ref, "v1")
        renamed = self.c.update_model(ref, new_name="renamed")
        self.assertEqual((renamed.name, renamed.id, renamed.description), ("renamed", m.id, "new"))
        with self.assertRaises(flymodel.NotFound):
            self.c.get_model(ref)
        self.assertEqual(self.c.get_version(f"{self.ns}/renamed", "v1").model, "renamed")
        # Renaming onto a name taken is a conflict.
        taken = self.model()
        with self.assertRaises(flymodel.Conflict):
            self.c.update_model(f"{self.ns}/renamed", new_name=taken.split("/")[1])

    def test_delete(self) -> None:
        empty = self.model()
        self.c.delete_model(empty)
        with self.assertRaises(flymodel.NotFound):
            self.c.get_model(empty)
        full = self.model()
        self.c.create_version(full, "v1")
        with self.assertRaises(flymodel.Conflict):
            self.c.delete_model(full)
        self.assertEqual(self.c.get_model(full).ref, full)
        self.c.delete_model(full, cascade=True)
        with self.assertRaises(flymodel.NotFound):
            self.c.get_model(full)


class VersionTest(ServerTest):
    def test_create_with_state_and_description(self) -> None:
        m = self.model()
        v = self.c.create_version(m, "v1.0.0", state="qa", description="first <release>")
        self.assertIsInstance(v, flymodel.Version)
        self.assertEqual((v.namespace, v.model, v.version, v.state, v.description),
                         (self.ns, m.split("/")[1], "v1.0.0", "qa", "first <release>"))
        self.assertTrue(v.sealed, "a version created out of test is sealed")
        self.assertEqual(v.ref, f"{m}/v1.0.0")
        self.assertEqual(v.digest, "", "no artifacts, no digest")
        plain = self.c.create_version(m, "v0")
        self.assertEqual((plain.state, plain.sealed, plain.description), ("test", False, ""))
        with self.assertRaises(flymodel.Conflict):
            self.c.create_version(m, "v0")
        staged = self.c.create_version(m, "v2", state="staging")
        self.assertEqual(staged.state, "stage")

    def test_get_forms(self) -> None:
        m = self.model()
        self.c.create_version(m, "v1", state="qa")
        self.c.create_version(m, "v2", state="qa")
        self.c.create_version(m, "v3")
        self.assertEqual(self.c.get_version(m, "v1").version, "v1")
        self.assertEqual(self.c.get_version(f"{m}/v3").state, "test")
        # @qa: the newest version now in qa.
        self.assertEqual(self.c.get_version(f"{m}@qa").version, "v2")
        self.assertEqual(self.c.get_version(m, "@qa").version, "v2")
        self.assertEqual(self.c.resolve(m, "@QA").version, "v2")
        with self.assertRaises(flymodel.NotFound):
            self.c.get_version(f"{m}@prod")
        # Any other selector is an alias, which the server resolves.
        with self.assertRaises(flymodel.NotFound):
            self.c.get_version(f"{m}@nowhere")
        with self.assertRaises(ValueError):
            self.c.get_version(f"{m}@")
        with self.assertRaises(ValueError):
            self.c.get_version(m)  # neither a version nor a selector
        with self.assertRaises(flymodel.NotFound):
            self.c.get_version(m, "v9")
        # Methods taking a version accept the selector too.
        self.assertEqual([h.to for h in self.c.history(m, "@qa")], ["qa"])

    def test_list_newest_first_with_filters(self) -> None:
        m = self.model()
        for name, state in (("a", None), ("b", "qa"), ("c", None), ("d", "qa"), ("e", "prod")):
            self.c.create_version(m, name, state=state)
        self.assertEqual([v.version for v in self.c.versions(m)], ["e", "d", "c", "b", "a"])
        self.assertEqual([v.version for v in self.c.versions(m, state="qa")], ["d", "b"])
        self.assertEqual([v.version for v in self.c.versions(m, state="test")], ["c", "a"])
        self.assertEqual(list(self.c.versions(m, state="stage")), [])
        self.c.set_state(m, "c", "staging")
        self.assertEqual([v.version for v in self.c.versions(m, state="staging")], ["c"])
        with self.assertRaises(flymodel.ValidationError):
            list(self.c.versions(m, state="production"))

    def test_update_description(self) -> None:
        m = self.model()
        self.c.create_version(m, "v1", state="prod")
        v = self.c.update_version(m, "v1", description="a sealed version's description may change")
        self.assertEqual(v.description, "a sealed version's description may change")
        self.assertEqual(self.c.get_version(m, "v1").description, v.description)
        self.assertEqual(self.c.update_version(m, "v1", description="").description, "")

    def test_delete_soft_and_hard(self) -> None:
        m = self.model()
        self.c.create_version(m, "v1")
        self.c.create_version(m, "v2")
        self.c.delete_version(m, "v1")
        with self.assertRaises(flymodel.NotFound):
            self.c.get_version(m, "v1")
        self.assertEqual([v.version for v in self.c.versions(m)], ["v2"])
        # Soft-deleted: the name is still taken.
        with self.assertRaises(flymodel.Conflict):
            self.c.create_version(m, "v1")
        # A hard delete purges the soft-deleted one and frees the name.
        self.c.delete_version(m, "v1", hard=True)
        self.assertEqual(self.c.create_version(m, "v1").version, "v1")
        self.c.delete_version(m, "v2", hard=True)
        with self.assertRaises(flymodel.NotFound):
            self.c.get_version(m, "v2")
        self.assertEqual(self.c.create_version(m, "v2").version, "v2")
        with self.assertRaises(flymodel.NotFound):
            self.c.delete_version(m, "v3")

    def test_set_state_and_history(self) -> None:
        m = self.model()
        v = self.c.create_version(m, "v1")
        self.assertFalse(v.sealed)
        self.assertEqual(self.c.set_state(m, "v1", "qa").state, "qa")
        staged = self.c.set_state(m, "v1", "staging")
        self.assertEqual(staged.state, "stage")
        self.assertTrue(staged.sealed)
        self.assertIsNotNone(staged.sealed_at)
        self.assertEqual(self.c.promote(m, "v1", "PROD").state, "prod")
        back = self.c.set_state(m, "v1", "qa")  # a rollback
        self.assertEqual(back.state, "qa")
        self.assertTrue(back.sealed, "a version stays sealed for good")
        # Moving to the current state changes nothing.
        self.c.set_state(m, "v1", "qa")
        h = self.c.history(m, "v1")
        admin = self.admin_name()
        self.assertIsInstance(h, flymodel.Items)
        self.assertEqual([(e.from_, e.to) for e in h],
                         [(None, "test"), ("test", "qa"), ("qa", "stage"), ("stage", "prod"), ("prod", "qa")])
        for e in h:
            self.assertIsInstance(e, flymodel.StateChange)
            self.assertEqual(e.actor, admin, "the actor is the token's name")
            self.assertIsNotNone(e.changed_at)
        times = [e.changed_at for e in h]
        self.assertEqual(times, sorted(times), "history is oldest first")  # type: ignore[type-var]
        with self.assertRaises(flymodel.ValidationError):
            self.c.set_state(m, "v1", "released")


class ExperimentTest(ServerTest):
    def setUp(self) -> None:
        super().setUp()
        self.m = self.model()
        self.c.create_version(self.m, "v1")

    def test_create_get_list(self) -> None:
        e = self.c.create_experiment(self.m, "v1", "eval", params={"lr": 0.001, "layers": [1, 2], "name": "x"})
        self.assertIsInstance(e, flymodel.Experiment)
        self.assertEqual((e.name, e.version, e.state, e.namespace), ("eval", "v1", "created", self.ns))
        self.assertEqual(e.params, {"lr": 0.001, "layers": [1, 2], "name": "x"})
        self.assertIsNone(e.metrics)
        self.assertIsNone(e.duration_ms)
        self.assertFalse(e.passed)
        got = self.c.get_experiment(self.m, "v1", "eval")
        self.assertEqual((got.id, got.params), (e.id, e.params))
        bare = self.c.create_experiment(self.m, "v1", "load")
        self.assertFalse(bare.params)
        with self.assertRaises(flymodel.Conflict):
            self.c.create_experiment(self.m, "v1", "eval")
        # Oldest first.
        self.assertEqual([x.name for x in self.c.experiments(self.m, "v1")], ["eval", "load"])
        self.c.start_experiment(self.m, "v1", "load")
        self.assertEqual([x.name for x in self.c.experiments(self.m, "v1", state="running")], ["load"])
        self.assertEqual([x.name for x in self.c.experiments(self.m, "v1", state="created")], ["eval"])
        self.assertEqual(list(self.c.experiments(self.m, "v1", state="passed")), [])
        with self.assertRaises(flymodel.NotFound):
            self.c.get_experiment(self.m, "v1", "nope")

    def test_start_and_pass(self) -> None:
        self.c.create_experiment(self.m, "v1", "eval")
        r = self.c.start_experiment(self.m, "v1", "eval")
        self.assertEqual(r.state, "running")
        self.assertIsNotNone(r.started_at)
        self.assertEqual(r.retries, 0)
        # running again counts a retry
        self.assertEqual(self.c.start_experiment(self.m, "v1", "eval").retries, 1)
        done = self.c.finish_experiment(self.m, "v1", "eval", True, metrics={"accuracy": 0.93, "f1": 0.9},
                                        duration_ms=1234)
        self.assertEqual(done.state, "passed")
        self.assertTrue(done.passed)
        self.assertEqual(done.metrics, {"accuracy": 0.93, "f1": 0.9})
        self.assertEqual(done.duration_ms, 1234)
        self.assertIsNotNone(done.finished_at)
        self.assertEqual(self.c.get_experiment(self.m, "v1", "eval").metrics, done.metrics)
        self.assertEqual([x.name for x in self.c.experiments(self.m, "v1", state="passed")], ["eval"])
        # The result is recorded once.
        with self.assertRaises(flymodel.InvalidTransition) as cm:
            self.c.finish_experiment(self.m, "v1", "eval", False)
        self.assertEqual(cm.exception.problem.get("from"), "passed")
        self.assertEqual(self.c.get_experiment(self.m, "v1", "eval").state, "passed")

    def test_fail_measures_duration(self) -> None:
        self.c.create_experiment(self.m, "v1", "load")
        self.c.start_experiment(self.m, "v1", "load")
        done = self.c.finish_experiment(self.m, "v1", "load", False, metrics={"error": "OOM"})
        self.assertEqual(done.state, "failed")
        self.assertFalse(done.passed)
        self.assertEqual(done.metrics, {"error": "OOM"})
        self.assertIsNotNone(done.duration_ms, "measured from the start when not given")
        self.assertGreaterEqual(done.duration_ms, 0)  # type: ignore[arg-type]

    def test_result_before_running_is_invalid(self) -> None:
        self.c.create_experiment(self.m, "v1", "eval")
        with self.assertRaises(flymodel.InvalidTransition) as cm:
            self.c.finish_experiment(self.m, "v1", "eval", True, metrics={"a": 1})
        e = cm.exception
        self.assertIsInstance(e, flymodel.Conflict)
        self.assertEqual((e.status, e.type), (409, "invalid-transition"))
        self.assertEqual((e.problem.get("from"), e.problem.get("to")), ("created", "passed"))
        got = self.c.get_experiment(self.m, "v1", "eval")
        self.assertEqual((got.state, got.metrics), ("created", None), "nothing changed")
        with self.assertRaises(flymodel.ValidationError):
            self.c.set_experiment_state(self.m, "v1", "eval", "done")

    def test_delete(self) -> None:
        self.c.create_experiment(self.m, "v1", "eval")
        self.c.create_experiment(self.m, "v1", "load")
        self.c.delete_experiment(self.m, "v1", "eval")
        with self.assertRaises(flymodel.NotFound):
            self.c.get_experiment(self.m, "v1", "eval")
        self.assertEqual([x.name for x in self.c.experiments(self.m, "v1")], ["load"])
        with self.assertRaises(flymodel.Conflict):
            self.c.create_experiment(self.m, "v1", "eval")
        self.c.delete_experiment(self.m, "v1", "eval", hard=True)
        self.assertEqual(self.c.create_experiment(self.m, "v1", "eval").state, "created")


class TokenTest(ServerTest):
    def test_scoped_write_token(self) -> None:
        other = uniq("ns")
        self.c.create_namespace(other)
        self.addCleanup(self.c.delete_namespace, other, cascade=True)
        self.c.create_model(f"{other}/theirs")
        name = uniq("tok")
        tok = self.c.create_token(name, "write", [self.ns])
        self.addCleanup(self._revoke_quietly, name)
        self.assertIsInstance(tok, flymodel.CreatedToken)
        self.assertEqual((tok.name, tok.role, tok.namespaces), (name, "write", [self.ns]))
        self.assertTrue(tok.secret.startswith("fm_"))
        self.assertNotIn(tok.secret, repr(tok))
        self.assertNotIn(tok.secret[3:], repr(tok))
        self.assertIn(name, repr(tok))

        listed = {t.name: t for t in self.c.tokens()}
        self.assertIn(name, listed)
        self.assertEqual((listed[name].role, listed[name].namespaces, listed[name].status),
                         (tok.role, [self.ns], "active"))
        self.assertFalse(hasattr(listed[name], "secret"))

        with flymodel.Client(self.server.url, token=tok.secret) as w:
            # Reads and writes in its namespace.
            w.create_model(f"{self.ns}/mine")
            w.create_version(f"{self.ns}/mine", "v1")
            w.set_state(f"{self.ns}/mine", "v1", "qa")
            self.assertEqual(w.get_version(f"{self.ns}/mine/v1").state, "qa")
            self.assertEqual([m.name for m in w.models(self.ns)], ["mine"])
            # A scoped token lists only its namespaces.
            self.assertEqual([n.name for n in w.namespaces()], [self.ns])
            # Write is not admin: no deletes there.
            with self.assertRaises(flymodel.Forbidden) as cm:
                w.delete_version(f"{self.ns}/mine", "v1")
            self.assertEqual(cm.exception.status, 403)
            self.assertIn("admin", str(cm.exception))
            # Another namespace: refused (403, not 404: whether it exists is
            # not told either), nothing created.
            with self.assertRaises(flymodel.Forbidden) as cm1:
                w.create_model(f"{other}/intruder")
            self.assertIn(f"write role in namespace {other}", str(cm1.exception))
            with self.assertRaises(flymodel.Forbidden):
                w.get_model(f"{other}/theirs")
            with self.assertRaises(flymodel.Forbidden):
                w.get_namespace(other)
            with self.assertRaises(flymodel.Forbidden):
                w.get_model(f"{uniq('no-such-ns')}/m")
            # No tokens or audit log for a scoped token.
            with self.assertRaises(flymodel.Forbidden):
                w.tokens()
            with self.assertRaises(flymodel.Forbidden):
                w.create_namespace(uniq("ns"))
        with self.assertRaises(flymodel.NotFound):
            self.c.get_model(f"{other}/intruder")

        self.c.revoke_token(name)
        self.assertEqual({t.name: t for t in self.c.tokens()}[name].status, "revoked")
        with flymodel.Client(self.server.url, token=tok.secret) as w:
            with self.assertRaises(flymodel.Unauthorized) as cm2:
                w.get_model(f"{self.ns}/mine")
            self.assertEqual(cm2.exception.status, 401)
        with self.assertRaises(flymodel.NotFound):
            self.c.revoke_token(uniq("never"))

    def test_read_token_and_validation(self) -> None:
        name = uniq("tok")
        tok = self.c.create_token(name, "read", ["*"], expires_in="1h")
        self.addCleanup(self._revoke_quietly, name)
        self.assertEqual(tok.namespaces, ["*"])
        self.assertIsNotNone(tok.expires_at)
        with flymodel.Client(self.server.url, token=tok.secret) as r:
            self.assertIn(self.ns, [n.name for n in r.namespaces()])
            with self.assertRaises(flymodel.Forbidden):
                r.create_model(f"{self.ns}/nope")
        with self.assertRaises(flymodel.ValidationError):
            self.c.create_token(uniq("tok"), "owner", ["*"])
        with self.assertRaises(flymodel.ValidationError):
            self.c.create_token(uniq("tok"), "read", [uniq("no-such-ns")])

    def _revoke_quietly(self, name: str) -> None:
        try:
            self.c.revoke_token(name)
        except flymodel.FlymodelError:
            pass


class AuditTest(ServerTest):
    def test_filters_limit_and_paging(self) -> None:
        for i in range(5):
            self.c.create_model(f"{self.ns}/m{i}")
        self.c.create_version(f"{self.ns}/m0", "v1")
        recs = list(self.c.audit(namespace=self.ns))
        self.assertTrue(all(isinstance(r, flymodel.AuditRecord) for r in recs))
        self.assertTrue(all(r.namespace == self.ns for r in recs))
        actions = [r.action for r in recs]
        self.assertEqual(actions.count("model.create"), 5)
        self.assertEqual(actions.count("version.create"), 1)
        ids = [r.id for r in recs]
        self.assertEqual(ids, sorted(ids), "oldest first")
        self.assertEqual(len(set(ids)), len(ids))
        made = [r for r in recs if r.action == "model.create"]
        self.assertEqual([r.target for r in made], [f"/namespaces/{self.ns}/models/m{i}" for i in range(5)])
        for r in made:
            self.assertEqual((r.actor, r.outcome), (self.admin_name(), "ok"))
            self.assertTrue(r.request_id)
            self.assertIsNotNone(r.at)

        only = list(self.c.audit(namespace=self.ns, action="model.create"))
        self.assertEqual([r.id for r in only], [r.id for r in made])
        # limit stops the iteration; a small page size reads the same records page by page.
        self.assertEqual([r.id for r in self.c.audit(namespace=self.ns, limit=2)], ids[:2])
        calls: List[Any] = []
        orig = self.c._json

        def spy(method: str, path: str, body: Any = None, query: Any = None) -> Any:
            calls.append(dict(query or {}))
            return orig(method, path, body, query)

        self.c._json = spy  # type: ignore[method-assign]
        try:
            self.assertEqual([r.id for r in self.c.audit(namespace=self.ns, page_size=2)], ids)
        finally:
            del self.c._json
        self.assertGreaterEqual(len(calls), 4, "7 records, 2 a page")
        self.assertTrue(all(q["limit"] == 2 for q in calls))
        self.assertIsNone(calls[0].get("after"))
        self.assertEqual([q["after"] for q in calls[1:4]], [ids[1], ids[3], ids[5]])
        self.assertEqual([r.id for r in self.c.audit(namespace=self.ns, page_size=2, limit=3)], ids[:3])
        self.assertEqual(list(self.c.audit(namespace=self.ns, action="token.revoke")), [])
        self.assertEqual(list(self.c.audit(namespace=self.ns, outcome="denied")), [])

    def test_since_until(self) -> None:
        import datetime
        self.c.create_model(f"{self.ns}/m")
        recs = list(self.c.audit(namespace=self.ns))
        self.assertTrue(recs)
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        self.assertEqual(list(self.c.audit(namespace=self.ns, since=future)), [])
        self.assertEqual([r.id for r in self.c.audit(namespace=self.ns, until=future)], [r.id for r in recs])
        with self.assertRaises(ValueError):
            next(iter(self.c.audit(since=datetime.datetime(2020, 1, 1))))  # naive: refused

    def test_denied_records(self) -> None:
        name = uniq("tok")
        tok = self.c.create_token(name, "read", [self.ns])
        self.addCleanup(self.c.revoke_token, name)
        with flymodel.Client(self.server.url, token=tok.secret) as r:
            with self.assertRaises(flymodel.Forbidden):
                r.create_model(f"{self.ns}/nope")
        denied = list(self.c.audit(namespace=self.ns, outcome="denied"))
        self.assertEqual(len(denied), 1)
        self.assertEqual(denied[0].actor, name)
        self.assertEqual([r.id for r in self.c.audit(actor=name, namespace=self.ns)], [denied[0].id])


class PaginationTest(ServerTest):
    def setUp(self) -> None:
        super().setUp()
        self.m = self.model()
        self.names = [f"v{i}" for i in range(7)]
        for n in self.names:
            self.c.create_version(self.m, n, description=f"<i>{n}</i> & co")

    def test_pages_in_order(self) -> None:
        newest = list(reversed(self.names))
        pages: List[int] = []
        orig = self.c._json

        def spy(method: str, path: str, body: Any = None, query: Any = None) -> Any:
            if query and "page" in query:
                pages.append(query["page"])
                self.assertEqual(query["size"], 3)
            return orig(method, path, body, query)

        self.c._json = spy  # type: ignore[method-assign]
        try:
            lst = self.c.versions(self.m, page_size=3)
            self.assertEqual([v.version for v in lst], newest)
            self.assertEqual(pages, [1, 2, 3], "three pages of 3 for 7 versions")
            self.assertEqual(lst.total, 7)
            self.assertEqual(len(lst), 7)
            # Iterating again reads the list again, whole.
            self.assertEqual([v.version for v in lst], newest)
            self.assertEqual(pages, [1, 2, 3, 1, 2, 3])
            self.assertEqual(lst.to_list()[-1].version, "v0")
        finally:
            del self.c._json
        # ... from the server: a version made since is in it.
        self.c.create_version(self.m, "v7")
        self.assertEqual([v.version for v in lst], ["v7"] + newest)
        self.assertEqual((lst.total, len(lst)), (8, 8))

    def test_limit_and_first(self) -> None:
        newest = list(reversed(self.names))
        lim = self.c.versions(self.m, page_size=3, limit=5)
        self.assertEqual([v.version for v in lim], newest[:5])
        self.assertEqual(len(lim), 5)
        self.assertEqual(lim.total, 7)
        self.assertEqual([v.version for v in self.c.versions(self.m, limit=20)], newest)
        self.assertEqual(len(self.c.versions(self.m, limit=20)), 7)
        self.assertEqual(list(self.c.versions(self.m, limit=0)), [])
        first = self.c.versions(self.m, page_size=3).first()
        self.assertIsNotNone(first)
        self.assertEqual(first.version, "v6")  # type: ignore[union-attr]
        empty = self.model()
        self.assertIsNone(self.c.versions(empty).first())
        self.assertEqual(len(self.c.versions(empty)), 0)
        self.assertEqual(list(self.c.versions(empty)), [])

    def test_page_size_is_bounded(self) -> None:
        self.assertEqual(self.c.versions(self.m, page_size=0).page_size, 1)
        self.assertEqual([v.version for v in self.c.versions(self.m, page_size=0)], list(reversed(self.names)))
        self.assertEqual(self.c.versions(self.m, page_size=10**6).page_size, 1000)

    def test_namespaces_and_models_page(self) -> None:
        for i in range(4):
            self.c.create_model(f"{self.ns}/p{i}")
        got = [m.name for m in self.c.models(self.ns, page_size=2)]
        self.assertEqual(got, sorted(got))
        self.assertEqual(len(got), 5)
        self.assertEqual(len(self.c.models(self.ns, page_size=2)), 5)
        nss = [n.name for n in self.c.namespaces(page_size=2)]
        self.assertIn(self.ns, nss)
        ours = [n for n in nss if n.startswith("ns-")]
        self.assertEqual(ours, sorted(ours))
        self.assertEqual(len(nss), len(set(nss)))
        self.assertEqual(len(nss), self.c.namespaces().total)

    def test_to_pandas(self) -> None:
        try:
            import pandas  # type: ignore[import-not-found,import-untyped]  # noqa: F401
        except ImportError:
            with self.assertRaises(ImportError) as cm:
                self.c.versions(self.m).to_pandas()
            self.assertIn("pandas", str(cm.exception))
            self.assertIn("pip install", str(cm.exception))
            with self.assertRaises(ImportError):
                self.c.history(self.m, "v0").to_pandas()
            return
        df = self.c.versions(self.m, page_size=3).to_pandas()
        self.assertEqual(list(df["version"]), list(reversed(self.names)))
        self.assertEqual(len(self.c.history(self.m, "v0").to_pandas()), 1)

    def test_repr_html(self) -> None:
        v = self.c.get_version(self.m, "v3")
        h = v._repr_html_()
        self.assertEqual(rows(h), 1)
        self.assertIn("<th style='text-align:left'>version</th>", h)
        self.assertIn(">v3<", h)
        # A list: one row per item of the first page, a footer with the count.
        lst = self.c.versions(self.m, page_size=3)
        hl = lst._repr_html_()
        self.assertEqual(rows(hl), 3)
        self.assertIn("3 of 7", hl)
        whole = self.c.versions(self.m)._repr_html_()
        self.assertEqual(rows(whole), 7)
        self.assertIn("7 item(s)", whole)
        hist = self.c.history(self.m, "v0")._repr_html_()
        self.assertEqual(rows(hist), 1)
        self.assertIn(">from<", hist)
        self.assertIn("<flymodel list of Version", repr(lst))

    def test_repr_html_escapes(self) -> None:
        m = f"{self.ns}/<script>alert(1)"
        self.c.create_model(m, "<img src=x onerror=alert(1)>")
        self.c.create_version(m, "<b>v1", description="<i>x</i> & y")
        v = self.c.get_version(m, "<b>v1")
        self.assertEqual(v.model, "<script>alert(1)")
        for h in (v._repr_html_(), self.c.versions(m)._repr_html_(), self.c.models(self.ns)._repr_html_(),
                  self.c.get_model(m)._repr_html_()):
            self.assertNotIn("<script>", h)
            self.assertNotIn("<b>", h)
            self.assertNotIn("<img", h)
        self.assertIn("&lt;script&gt;alert(1)", v._repr_html_())
        self.assertIn("&lt;b&gt;v1", self.c.versions(m)._repr_html_())


if __name__ == "__main__":
    unittest.main()
