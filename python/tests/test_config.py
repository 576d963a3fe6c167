"""Where the client finds its server, token and TLS files (flymodel._config):
arguments, then the environment, then the configuration file the CLI reads,
in each of its formats, with the real parsers and with the fallback readers.
Unit tests: no server."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import unittest
from typing import Any, Dict, Iterator, Optional
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (HERE, os.path.dirname(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import flymodel  # noqa: E402
from flymodel import _config  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
CONF = os.path.join(REPO, "conf")

# The same configuration in each format, written as the CLI's own tests
# write it (internal/config/config_test.go), with the client's TLS files.
SAMPLES = {
    "toml": """# flymodel, in TOML
data_dir = "data"
[server]
bind = "0.0.0.0"   # a comment
port = 8080
[server.tls]
certs = { cert_file = "c.crt", key_file = "c.key" }
ca_source = "ca.crt"
[promotion.prod]
require = ["eval", "smoke"]
require_all_passed = true
[[storage.s3]]
bucket = "ml-prod"
endpoint = "http://localhost:9000"
role = "prod"
[client]
server = "https://registry.example.com:9443"
token = "fm_tok#en"   # a '#' in a string is no comment
[client.tls]
ca_file = "certs/ca.crt"
cert_file = "certs/client.crt"
key_file = "certs/client.key"
[[upsert.artifacts]]
name = "w"
path = "w.bin"
extra = { k = "v" }
""",
    "yaml": """# flymodel, in YAML
data_dir: data
server:
  bind: 0.0.0.0
  port: 8080
  tls:
    certs: {cert_file: c.crt, key_file: c.key}
    ca_source: ca.crt
promotion:
  prod: {require: [eval, smoke], require_all_passed: true}
storage:
  s3:
    - bucket: ml-prod
      endpoint: http://localhost:9000
      role: prod
client:
  server: https://registry.example.com:9443   # a comment
  token: "fm_tok#en"
  tls:
    ca_file: certs/ca.crt
    cert_file: 'certs/client.crt'
    key_file: certs/client.key
upsert:
  artifacts:
    - {name: w, path: w.bin, extra: {k: v}}
""",
    "json": """{
"data_dir": "data",
"server": {"bind": "0.0.0.0", "port": 8080,
  "tls": {"certs": {"cert_file": "c.crt", "key_file": "c.key"}, "ca_source": "ca.crt"}},
"promotion": {"prod": {"require": ["eval", "smoke"], "require_all_passed": true}},
"storage": {"s3": [{"bucket": "ml-prod", "endpoint": "http://localhost:9000", "role": "prod"}]},
"client": {"server": "https://registry.example.com:9443", "token": "fm_tok#en",
  "tls": {"ca_file": "certs/ca.crt", "cert_file": "certs/client.crt", "key_file": "certs/client.key"}},
"upsert": {"artifacts": [{"name": "w", "path": "w.bin", "extra": {"k": "v"}}]}
}""",
    "json5": """// flymodel, in JSON5
{
  data_dir: 'data',
  server: {bind: '0.0.0.0', port: 8080,
    tls: {certs: {cert_file: 'c.crt', key_file: 'c.key'}, ca_source: 'ca.crt'}},
  promotion: {prod: {require: ['eval', 'smoke',], require_all_passed: true}},
  /* one bucket per role */
  storage: {
    s3: [{bucket: 'ml-prod', endpoint: 'http://localhost:9000', role: 'prod'},],
  },
  client: {server: 'https://registry.example.com:9443', token: "fm_tok#en",
    tls: {ca_file: 'certs/ca.crt', cert_file: 'certs/client.crt', key_file: 'certs/client.key',},},
  upsert: {artifacts: [{name: 'w', path: 'w.bin', extra: {k: 'v'}}]},
}
""",
}

WANT = _config.Settings(server="https://registry.example.com:9443", token="fm_tok#en", ca_file="certs/ca.crt",
                        cert_file="certs/client.crt", key_file="certs/client.key")

# The CLI's flow-style YAML (config_test.go writes client: {server: ..., token: t}).
FLOW_YAML = """data_dir: data
log: {level: debug, format: json}
client: {server: "http://localhost:9009", token: t}
"""


@contextlib.contextmanager
def without(*modules: str) -> Iterator[None]:
    """Importing these modules fails (None in sys.modules): the fallback readers run."""
    with mock.patch.dict(sys.modules, {m: None for m in modules}):  # type: ignore[dict-item]
        yield


NO_LIBS = ("tomllib", "tomli", "yaml", "json5")


def has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def real_toml() -> Any:
    """tomllib (Python 3.11+) or tomli; skips the test without either."""
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef]
        except ImportError:
            raise unittest.SkipTest("no TOML library (tomllib or tomli)") from None
    return tomllib


class TempDirTest(unittest.TestCase):
    def setUp(self) -> None:
        t = tempfile.TemporaryDirectory()
        self.addCleanup(t.cleanup)
        self.dir = t.name

    def write(self, rel: str, text: str) -> str:
        p = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def resolve(self, environ: Optional[Dict[str, str]] = None, **kw: Any) -> _config.Settings:
        return _config.resolve(environ=environ or {}, cwd=self.dir, **kw)


class PrecedenceTest(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.write("config/flymodel.toml", SAMPLES["toml"])

    def test_file_alone(self) -> None:
        s = self.resolve()
        self.assertEqual((s.server, s.token, s.ca_file, s.cert_file, s.key_file),
                         (WANT.server, WANT.token, WANT.ca_file, WANT.cert_file, WANT.key_file))
        self.assertEqual(s.source, os.path.join(self.dir, "config/flymodel.toml"))

    def test_env_beats_file(self) -> None:
        s = self.resolve({"FLYMODEL_SERVER": "http://env:1", "FLYMODEL_TOKEN": "envtok",
                          "FLYMODEL_CLIENT_TLS_CA_FILE": "env-ca.pem",
                          "FLYMODEL_CLIENT_TLS_CERT_FILE": "env.crt", "FLYMODEL_CLIENT_TLS_KEY_FILE": "env.key"})
        self.assertEqual((s.server, s.token, s.ca_file, s.cert_file, s.key_file),
                         ("http://env:1", "envtok", "env-ca.pem", "env.crt", "env.key"))

    def test_argument_beats_env(self) -> None:
        env = {"FLYMODEL_SERVER": "http://env:1", "FLYMODEL_TOKEN": "envtok", "FLYMODEL_CLIENT_TLS_CA_FILE": "env-ca"}
        s = self.resolve(env, server="http://arg:2", token="argtok", ca_file="arg-ca", cert_file="a.crt",
                         key_file="a.key")
        self.assertEqual((s.server, s.token, s.ca_file, s.cert_file, s.key_file),
                         ("http://arg:2", "argtok", "arg-ca", "a.crt", "a.key"))
        # Each key on its own: an argument for one leaves the others to env and file.
        s = self.resolve(env, token="argtok")
        self.assertEqual((s.server, s.token, s.ca_file, s.key_file), ("http://env:1", "argtok", "env-ca", WANT.key_file))

    def test_client_variables_beat_the_short_ones(self) -> None:
        s = self.resolve({"FLYMODEL_SERVER": "http://short:1", "FLYMODEL_CLIENT_SERVER": "http://long:2",
                          "FLYMODEL_TOKEN": "short", "FLYMODEL_CLIENT_TOKEN": "long"})
        self.assertEqual((s.server, s.token), ("http://long:2", "long"))
        # An empty variable counts as unset.
        s = self.resolve({"FLYMODEL_SERVER": "http://short:1", "FLYMODEL_CLIENT_SERVER": "",
                          "FLYMODEL_TOKEN": "", "FLYMODEL_CLIENT_TOKEN": ""})
        self.assertEqual((s.server, s.token), ("http://short:1", WANT.token))

    def test_empty_argument_is_unset(self) -> None:
        s = self.resolve({"FLYMODEL_SERVER": "http://env:1"}, server="", token=None)
        self.assertEqual((s.server, s.token), ("http://env:1", WANT.token))

    def test_empty_token_argument_means_no_token(self) -> None:
        s = self.resolve({"FLYMODEL_SERVER": "http://env:1", "FLYMODEL_TOKEN": "from-env"}, token="")
        self.assertEqual((s.server, s.token), ("http://env:1", ""))
        s = self.resolve({"FLYMODEL_SERVER": "http://env:1"}, token="")
        self.assertEqual(s.token, "")  # the file's token is not taken either

    def test_uses_the_process_environment_by_default(self) -> None:
        with mock.patch.dict(os.environ, {"FLYMODEL_CLIENT_SERVER": "http://proc:3", "FLYMODEL_CONFIG": ""}):
            s = _config.resolve(cwd=self.dir)
        self.assertEqual(s.server, "http://proc:3")


class SearchPathTest(TempDirTest):
    def content(self, rel: str, port: int) -> str:
        server = f"http://host:{port}"
        ext = os.path.splitext(rel)[1]
        if ext == ".toml":
            return f'[client]\nserver = "{server}"\n'
        if ext in (".yaml", ".yml"):
            return f"client:\n  server: {server}\n"
        if ext == ".json":
            return json.dumps({"client": {"server": server}})
        return f"{{client: {{server: '{server}'}}}}"

    def check(self, files: list, want: str, given: Optional[str] = None) -> None:
        for i, rel in enumerate(files):
            self.write(rel, self.content(rel, 9100 + i))
        for libs in (True, False):
            with contextlib.ExitStack() as stack:
                if not libs:
                    stack.enter_context(without(*NO_LIBS))
                s = self.resolve(config=given)
            if want:
                self.assertEqual(s.source, os.path.join(self.dir, want), files)
                self.assertEqual(s.server, f"http://host:{9100 + files.index(want)}", files)
            else:
                self.assertEqual((s.source, s.server), ("", ""), files)

    # One case per test: each gets a fresh folder.
    def test_config_beats_root(self) -> None:
        self.check(["flymodel.toml", "config/flymodel.json5"], "config/flymodel.json5")

    def test_json_beats_json5(self) -> None:
        self.check(["config/flymodel.json5", "config/flymodel.json"], "config/flymodel.json")

    def test_yml_beats_json(self) -> None:
        self.check(["config/flymodel.json", "config/flymodel.yml"], "config/flymodel.yml")

    def test_yaml_beats_yml(self) -> None:
        self.check(["config/flymodel.yml", "config/flymodel.yaml"], "config/flymodel.yaml")

    def test_toml_beats_yaml(self) -> None:
        self.check(["flymodel.toml", "config/flymodel.yaml", "config/flymodel.toml"], "config/flymodel.toml")

    def test_root_toml(self) -> None:
        self.check(["flymodel.toml"], "flymodel.toml")

    def test_ignores_others(self) -> None:
        # Only ./flymodel.toml is read from the folder itself; no .ini anywhere.
        self.check(["flymodel.yaml", "flymodel.json", "config/flymodel.ini"], "")

    def test_explicit_beats_search(self) -> None:
        self.check(["config/flymodel.toml", "other.yaml"], "other.yaml", given="other.yaml")

    def test_flymodel_config_variable(self) -> None:
        self.write("config/flymodel.toml", self.content("x.toml", 1))
        p = self.write("elsewhere/conf.json", self.content("x.json", 2))
        s = self.resolve({"FLYMODEL_CONFIG": p})
        self.assertEqual((s.source, s.server), (p, "http://host:2"))
        # config= beats FLYMODEL_CONFIG.
        s = self.resolve({"FLYMODEL_CONFIG": p}, config="config/flymodel.toml")
        self.assertEqual(s.server, "http://host:1")

    def test_missing_explicit_file(self) -> None:
        with self.assertRaises(FileNotFoundError) as cm:
            self.resolve(config="nope.toml")
        self.assertIn("nope.toml", str(cm.exception))
        with self.assertRaises(FileNotFoundError):
            self.resolve({"FLYMODEL_CONFIG": os.path.join(self.dir, "gone.yaml")})

    def test_no_file(self) -> None:
        s = self.resolve()
        self.assertEqual(s, _config.Settings())
        s = self.resolve({"FLYMODEL_SERVER": "http://env:1"})
        self.assertEqual((s.server, s.source), ("http://env:1", ""))


class FormatsTest(TempDirTest):
    def load(self, ext: str, text: str) -> _config.Settings:
        p = self.write(f"cfg-{len(os.listdir(self.dir))}.{ext}", text)
        return self.resolve(config=p)

    def assertSample(self, s: _config.Settings) -> None:
        self.assertEqual((s.server, s.token, s.ca_file, s.cert_file, s.key_file),
                         (WANT.server, WANT.token, WANT.ca_file, WANT.cert_file, WANT.key_file))

    def test_each_format_with_the_installed_readers(self) -> None:
        for ext, text in SAMPLES.items():
            with self.subTest(ext):
                self.assertSample(self.load(ext, text))

    def test_each_format_with_the_fallback_readers(self) -> None:
        for ext, text in SAMPLES.items():
            with self.subTest(ext), without(*NO_LIBS):
                self.assertSample(self.load(ext, text))

    def test_yml(self) -> None:
        self.assertSample(self.load("yml", SAMPLES["yaml"]))

    def test_real_libraries_where_installed(self) -> None:
        toml = real_toml()
        self.assertEqual(_config.load_file(self.write("a.toml", SAMPLES["toml"])),
                         toml.loads(SAMPLES["toml"]))
        if has("yaml"):
            import yaml  # type: ignore[import-untyped]

            self.assertEqual(_config.load_file(self.write("a.yaml", SAMPLES["yaml"])), yaml.safe_load(SAMPLES["yaml"]))

    def test_mini_toml(self) -> None:
        doc = _config._mini_toml(SAMPLES["toml"])
        self.assertEqual(doc["client"], {"server": WANT.server, "token": WANT.token,
                                         "tls": {"ca_file": WANT.ca_file, "cert_file": WANT.cert_file,
                                                 "key_file": WANT.key_file}})
        self.assertEqual(doc["data_dir"], "data")
        self.assertEqual(doc["server"]["port"], 8080)
        self.assertIs(doc["promotion"]["prod"]["require_all_passed"], True)
        # Quoted keys and a dotted table name with spaces.
        d = _config._mini_toml('[ client ]\n"server" = \'http://lit:1\'  # literal string\n')
        self.assertEqual(d, {"client": {"server": "http://lit:1"}})
        # Inline tables, arrays and dotted keys.
        text = ('client = { server = "http://x:1", tls = { ca_file = "c a.pem" } }\n'
                '[promotion.prod]\nrequire = ["eval", "smoke"]\nrequire_all_passed = true\n'
                '[server]\ntls.certs = { cert_file = "c.crt", key_file = "c.key" }\n'
                '"quoted.key" = 1\n')
        want = {"client": {"server": "http://x:1", "tls": {"ca_file": "c a.pem"}},
                "promotion": {"prod": {"require": ["eval", "smoke"], "require_all_passed": True}},
                "server": {"tls": {"certs": {"cert_file": "c.crt", "key_file": "c.key"}}, "quoted.key": 1}}
        self.assertEqual(_config._mini_toml(text), want)
        if has("tomllib") or has("tomli"):
            self.assertEqual(real_toml().loads(text), want)
        d = _config._mini_toml('[client]\nserver = "http://a:1"\ntls.ca_file = "ca.pem"\n')
        self.assertEqual(d["client"], {"server": "http://a:1", "tls": {"ca_file": "ca.pem"}})
        # An array of tables does not leak its keys into the table before it.
        d = _config._mini_toml('[client]\nserver = "http://a:1"\n[[upsert.artifacts]]\nserver = "http://no:2"\n')
        self.assertEqual(d["client"], {"server": "http://a:1"})

    def test_mini_yaml(self) -> None:
        doc = _config._mini_yaml(SAMPLES["yaml"])
        self.assertEqual(doc["client"], {"server": WANT.server, "token": WANT.token,
                                         "tls": {"ca_file": WANT.ca_file, "cert_file": WANT.cert_file,
                                                 "key_file": WANT.key_file}})
        self.assertEqual(doc["data_dir"], "data")
        self.assertEqual(doc["server"]["port"], 8080)
        # A key after a nested block goes back to its own level.
        d = _config._mini_yaml("a:\n  b:\n    c: 1\n  d: 2\ne: 3\n")
        self.assertEqual(d, {"a": {"b": {"c": 1}, "d": 2}, "e": 3})

    def test_mini_yaml_flow_mapping(self) -> None:
        # The CLI's tests write the client section in flow style.
        with without(*NO_LIBS):
            s = self.load("yaml", FLOW_YAML)
        self.assertEqual((s.server, s.token), ("http://localhost:9009", "t"))
        self.assertEqual(_config._mini_yaml("client: {server: 'http://x:1', tls: {ca_file: ca.pem}}\n")["client"],
                         {"server": "http://x:1", "tls": {"ca_file": "ca.pem"}})
        text = ('a: {b: [x, "y, z", 3], c: {}, d: [], e: "q}:", f: http://h:1/p, g: true}  # c\n'
                "client:\n  tls: {ca_file: 'c a.pem', cert_file: c.crt}\n  server: http://s:2\n")
        want = {"a": {"b": ["x", "y, z", 3], "c": {}, "d": [], "e": "q}:", "f": "http://h:1/p", "g": True},
                "client": {"tls": {"ca_file": "c a.pem", "cert_file": "c.crt"}, "server": "http://s:2"}}
        self.assertEqual(_config._mini_yaml(text), want)
        if has("yaml"):
            import yaml

            self.assertEqual(yaml.safe_load(text), want)
            self.assertEqual(_config._mini_yaml(FLOW_YAML), yaml.safe_load(FLOW_YAML))

    def test_json5_to_json(self) -> None:
        doc = json.loads(_config._json5_to_json(SAMPLES["json5"]))
        self.assertEqual(doc, json.loads(SAMPLES["json"]))
        # Comment markers and key-like text inside strings are left alone.
        doc = json.loads(_config._json5_to_json(
            "{a: 'http://x/*y*/', // c\n b: \"it's\", c: 'say \"hi\"', d: 'e, f: g', e: '{x: 1,}', f: 'it\\'s',}"))
        self.assertEqual(doc, {"a": "http://x/*y*/", "b": "it's", "c": 'say "hi"', "d": "e, f: g", "e": "{x: 1,}",
                               "f": "it's"})

    def test_errors(self) -> None:
        with self.assertRaises(ValueError) as cm:
            self.load("toml", 'client = "http://x"\n')
        self.assertIn("client is not a table", str(cm.exception))
        with self.assertRaises(ValueError) as cm:
            self.load("json", '{"client": {"server": "http://x", "tls": "ca.pem"}}')
        self.assertIn("client.tls is not a table", str(cm.exception))
        with self.assertRaises(ValueError):
            self.load("json", "[1, 2]")
        with self.assertRaises(ValueError) as cm:
            self.load("ini", "[client]\nserver = http://x\n")
        self.assertIn(".ini", str(cm.exception))
        with self.assertRaises(ValueError):  # json.JSONDecodeError is a ValueError
            self.load("json", "{client: }")

    def test_no_client_section(self) -> None:
        for ext, text in (("toml", "data_dir = 'x'\n"), ("yaml", "data_dir: x\n"), ("json", "{}"), ("json5", "{}")):
            for libs in (True, False):
                with self.subTest(ext=ext, libs=libs), contextlib.ExitStack() as st:
                    if not libs:
                        st.enter_context(without(*NO_LIBS))
                    s = self.load(ext, text)
                    self.assertEqual((s.server, s.token, s.ca_file), ("", "", ""))
                    self.assertTrue(s.source.endswith("." + ext))


class RepoSamplesTest(unittest.TestCase):
    """The repository's sample configurations load, with every reader, and
    give the client keys they hold."""

    def samples(self) -> list:
        files = sorted(os.path.join(CONF, f) for f in os.listdir(CONF)
                       if os.path.splitext(f)[1] in (".toml", ".yaml", ".yml", ".json", ".json5"))
        self.assertTrue(files, "conf/ holds sample configurations")
        return files

    def test_conf_samples(self) -> None:
        for path in self.samples():
            for libs in (True, False):
                with self.subTest(path=os.path.basename(path), libs=libs), contextlib.ExitStack() as st:
                    if not libs:
                        st.enter_context(without(*NO_LIBS))
                    s = _config.resolve(config=path, environ={})
                    # conf/ says client.server = http://localhost:9009 and leaves the token out.
                    self.assertEqual((s.server, s.token, s.ca_file, s.cert_file, s.key_file),
                                     ("http://localhost:9009", "", "", "", ""))
                    self.assertEqual(s.source, path)

    def test_conf_samples_agree_with_the_real_parsers(self) -> None:
        toml = real_toml()
        for path in self.samples():
            ext = os.path.splitext(path)[1]
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if ext == ".toml":
                real = toml.loads(text)
                mini = _config._mini_toml(text)
            elif ext in (".yaml", ".yml"):
                if not has("yaml"):
                    continue
                import yaml

                real = yaml.safe_load(text)
                mini = _config._mini_yaml(text)
            else:
                continue
            with self.subTest(os.path.basename(path)):
                self.assertEqual(mini.get("client"), real.get("client"))
                # Every section but the lists of tables (storage.s3, upsert's
                # artifacts and experiments), which the small readers skip.
                for key in set(real) - {"storage", "upsert"}:
                    self.assertEqual(mini.get(key), real[key], key)

    def test_original_flymodel_configuration(self) -> None:
        # The original flymodel's configuration, kept byte for byte: no client section.
        path = os.path.join(REPO, "cmd", "flymodel", "testdata", "original", "flymodel.toml")
        if not os.path.isfile(path):
            self.skipTest("no cmd/flymodel/testdata/original/flymodel.toml")
        for libs in (True, False):
            with contextlib.ExitStack() as st:
                if not libs:
                    st.enter_context(without(*NO_LIBS))
                s = _config.resolve(config=path, environ={})
            self.assertEqual((s.server, s.token), ("", ""))


class ClientConfigTest(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLYMODEL_")}
        p = mock.patch.dict(os.environ, env, clear=True)
        p.start()
        self.addCleanup(p.stop)
        old = os.getcwd()
        os.chdir(self.dir)
        self.addCleanup(os.chdir, old)

    def test_config_argument_picks_the_file(self) -> None:
        p = self.write("my.json", json.dumps({"client": {"server": "http://from-file:7", "token": "ftok"}}))
        with flymodel.Client(config=p) as c:
            self.assertEqual(c.server, "http://from-file:7")
            self.assertEqual(c._t.token, "ftok")
            self.assertEqual(c.settings.source, p)
        with flymodel.Client(config="my.json") as c:  # relative to the current folder
            self.assertEqual(c.server, "http://from-file:7")
        with flymodel.Client("http://arg:1", config=p) as c:
            self.assertEqual((c.server, c._t.token), ("http://arg:1", "ftok"))

    def test_search_path_from_the_current_folder(self) -> None:
        self.write("config/flymodel.yaml", "client:\n  server: http://searched:8/\n  token: stok\n")
        with flymodel.Client() as c:
            self.assertEqual(c.server, "http://searched:8", "the trailing slash is dropped")
            self.assertEqual(c._t.token, "stok")
        os.environ["FLYMODEL_SERVER"] = "http://env:9"
        with flymodel.Client() as c:
            self.assertEqual((c.server, c._t.token), ("http://env:9", "stok"))

    def test_tls_files_from_the_file(self) -> None:
        # A CA file that does not exist fails when the client builds its TLS context.
        self.write("flymodel.toml", '[client]\nserver = "https://x:1"\n[client.tls]\nca_file = "missing-ca.pem"\n')
        with self.assertRaises(OSError):
            flymodel.Client()
        self.write("flymodel.toml", '[client]\nserver = "https://x:1"\n[client.tls]\ncert_file = "c.crt"\n')
        with self.assertRaises(ValueError) as cm:
            flymodel.Client()
        self.assertIn("cert_file and key_file go together", str(cm.exception))

    def test_no_server(self) -> None:
        with self.assertRaises(ValueError) as cm:
            flymodel.Client(token="t")
        msg = str(cm.exception)
        self.assertIn("Client(server=...)", msg)
        self.assertIn("FLYMODEL_SERVER", msg)
        self.assertIn("client.server", msg)
        self.assertIn("config/flymodel.toml", msg)
        # With a file read, the message names it.
        p = self.write("empty.yaml", "data_dir: x\n")
        with self.assertRaises(ValueError) as cm:
            flymodel.Client(config=p)
        self.assertIn(p, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
