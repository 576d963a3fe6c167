"""A real ``flymodel serve`` for the Python client's tests.

    import harness

    srv = harness.shared_server()          # one per process, started on first use
    client = srv.client()                  # flymodel.Client(srv.url, token=srv.token)
    srv.cli("upsert", "--namespace", ...)  # the flymodel CLI, pointed at this server

    with_gate = harness.start_server(extra_toml='[promotion.prod]\\nrequire = ["eval"]\\n')
    try: ...
    finally: with_gate.stop()

The binary is FLYMODEL_PYTEST_BINARY, else built once from this tree with
``go build`` (no Go and no variable: the tests skip). The database is SQLite in
the server's temporary folder, or PostgreSQL when FLYMODEL_PYTEST_DATABASE_URL
is set (one URL, or several separated by spaces: each server takes the next
unused one, so that servers never share data). Storage is the data folder, or
the ``[[storage.s3]]`` stores of FLYMODEL_PYTEST_STORAGE_TOML, where
``{server}`` is replaced by a name unique to each server (fresh buckets);
the buckets are made with ``flymodel setup-storage`` before the server starts.
TLS material is FLYMODEL_PYTEST_TLS_DIR (ca.crt, server.crt, server.key,
client.crt, client.key), else made with the openssl command.

A missing prerequisite skips the test (unittest.SkipTest), or fails it when
FLYMODEL_REQUIRE_SERVICES=1, as in CI: see require().

Importing this module puts the python/ folder on sys.path, so that
``import flymodel`` finds the package of this tree.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

TESTS_DIR = Path(__file__).resolve().parent
PYTHON_DIR = TESTS_DIR.parent  # python/: holds the flymodel package
REPO_ROOT = PYTHON_DIR.parent  # the Go module's root

if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

READY_TIMEOUT = 30.0  # seconds for /readyz to answer 200
CLI_TIMEOUT = 120.0  # seconds for one CLI command

_lock = threading.RLock()


# --- skipping ---------------------------------------------------------------


def require(condition: Any, why: str) -> None:
    """Skip the test with why unless condition holds; fail instead (an
    AssertionError) when FLYMODEL_REQUIRE_SERVICES=1, as in CI."""
    if condition:
        return
    if os.environ.get("FLYMODEL_REQUIRE_SERVICES") == "1":
        raise AssertionError(why + ", and FLYMODEL_REQUIRE_SERVICES=1")
    raise unittest.SkipTest(why)


def backend() -> str:
    """"sqlite" or "postgres+s3" (or "postgres" without S3 stores): the
    configuration the servers of this process run on, for names and messages."""
    db = "postgres" if _database_urls() else "sqlite"
    if os.environ.get("FLYMODEL_PYTEST_STORAGE_TOML", "").strip():
        return db + "+s3"
    return db


# --- the binary -------------------------------------------------------------

_binary: Optional[str] = None
_build_dir: Optional[str] = None


def binary() -> str:
    """The flymodel executable: FLYMODEL_PYTEST_BINARY, else built once per
    process from this tree with go build."""
    global _binary, _build_dir
    with _lock:
        if _binary:
            return _binary
        env = os.environ.get("FLYMODEL_PYTEST_BINARY", "")
        if env:
            if not os.access(env, os.X_OK):
                raise RuntimeError("FLYMODEL_PYTEST_BINARY=%s: not an executable file" % env)
            _binary = env
            return _binary
        go = shutil.which("go")
        require(go, "neither FLYMODEL_PYTEST_BINARY nor go on PATH: cannot build flymodel, skipping the server tests")
        assert go is not None
        if not (REPO_ROOT / "go.mod").is_file():
            raise RuntimeError("%s: no go.mod: cannot build flymodel (set FLYMODEL_PYTEST_BINARY)" % REPO_ROOT)
        _build_dir = tempfile.mkdtemp(prefix="flymodel-pytest-bin-")
        atexit.register(shutil.rmtree, _build_dir, True)
        out = os.path.join(_build_dir, "flymodel")
        sys.stderr.write("harness: building flymodel (go build ./cmd/flymodel)...\n")
        proc = subprocess.run([go, "build", "-o", out, "./cmd/flymodel"], cwd=str(REPO_ROOT),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise RuntimeError("go build ./cmd/flymodel failed:\n" + proc.stdout)
        _binary = out
        return _binary


# --- ports, environment, configuration --------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> Dict[str, str]:
    """This process's environment without anything that configures flymodel
    (FLYMODEL_*, DB_URL), plus extra."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("FLYMODEL_") or k == "DB_URL")}
    env.update(extra)
    return env


def _database_urls() -> List[str]:
    return os.environ.get("FLYMODEL_PYTEST_DATABASE_URL", "").split()


_used_databases: List[str] = []


def _take_database() -> Optional[str]:
    """The next PostgreSQL URL no server of this process has used, or None
    for SQLite."""
    urls = _database_urls()
    if not urls:
        return None
    with _lock:
        for url in urls:
            if url not in _used_databases:
                _used_databases.append(url)
                return url
    raise RuntimeError("start_server: all %d databases of FLYMODEL_PYTEST_DATABASE_URL are taken by earlier "
                       "servers of this run; give more URLs (separated by spaces)" % len(urls))


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")


def _sections(toml: str) -> Tuple[List[str], List[Tuple[str, List[str]]]]:
    """toml split into its top-level lines and its blocks: (header line,
    lines) in order. Array-of-tables headers ([[x]]) start blocks too."""
    top: List[str] = []
    blocks: List[Tuple[str, List[str]]] = []
    for line in toml.splitlines():
        if line.lstrip().startswith("[[") or _HEADER.match(line):
            blocks.append((line.strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
        else:
            top.append(line)
    return top, blocks


def merge_toml(base: str, extra: str) -> str:
    """base followed by extra, where a [table] of extra that base also has
    adds its keys to base's table instead of repeating the header (TOML
    forbids that): extra_toml may say [server] or [database] freely."""
    top, blocks = _sections(base)
    extra_top, extra_blocks = _sections(extra)
    index = {h: i for i, (h, _) in enumerate(blocks) if not h.startswith("[[")}
    for header, lines in extra_blocks:
        if header in index:
            blocks[index[header]][1].extend(lines)
        else:
            blocks.append((header, list(lines)))
            if not header.startswith("[["):
                index[header] = len(blocks) - 1
    out = [l for l in top + extra_top if l.strip()]
    for header, lines in blocks:
        out.append("")
        out.append(header)
        out.extend(l for l in lines if l.strip())
    return "\n".join(out) + "\n"


# --- TLS material -----------------------------------------------------------

TLS_FILES = ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")
_tls_dir: Optional[str] = None
_tls_error = ""


def _openssl(args: List[str], cwd: str) -> None:
    proc = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), proc.stdout.strip()))


def _make_pki(d: str) -> None:
    """A CA (P-256), a server certificate for localhost/127.0.0.1/::1 and a
    client certificate, signed by it, valid for two days."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                                      "-subj", "/CN=flymodel pytest CA",
                                      "-addext", "basicConstraints=critical,CA:TRUE",
                                      "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], d)
    exts = {
        "server": "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nkeyUsage=critical,digitalSignature\n"
                  "extendedKeyUsage=serverAuth\n",
        "client": "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    }
    for name, ext in exts.items():
        cn = "localhost" if name == "server" else "pytest client"
        _openssl(["req", "-new"] + ec + ["-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn], d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        _openssl(["x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                  "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext"], d)


def tls_dir() -> Optional[str]:
    """The folder of TLS_FILES: FLYMODEL_PYTEST_TLS_DIR, else made once with
    openssl; None when neither is available (tls_why() says why)."""
    global _tls_dir, _tls_error
    with _lock:
        if _tls_dir or _tls_error:
            return _tls_dir
        env = os.environ.get("FLYMODEL_PYTEST_TLS_DIR", "")
        if env:
            missing = [f for f in TLS_FILES if not os.path.isfile(os.path.join(env, f))]
            if missing:
                raise RuntimeError("FLYMODEL_PYTEST_TLS_DIR=%s lacks %s" % (env, ", ".join(missing)))
            _tls_dir = env
            return _tls_dir
        if not shutil.which("openssl"):
            _tls_error = "no FLYMODEL_PYTEST_TLS_DIR and no openssl command: skipping the TLS tests"
            return None
        d = tempfile.mkdtemp(prefix="flymodel-pytest-pki-")
        atexit.register(shutil.rmtree, d, True)
        try:
            _make_pki(d)
        except (RuntimeError, OSError) as e:
            _tls_error = "cannot make TLS certificates with openssl: %s" % e
            return None
        _tls_dir = d
        return _tls_dir


def tls_available() -> bool:
    return tls_dir() is not None


def tls_why() -> str:
    """Why tls_available() is False (empty when it is True)."""
    tls_dir()
    return _tls_error


def require_tls() -> str:
    """The TLS folder, or skip (fail in CI) with the reason."""
    d = tls_dir()
    require(d, tls_why())
    assert d is not None
    return d


# --- the server -------------------------------------------------------------


class ServerError(RuntimeError):
    """The server did not start; the message ends with its log."""


class Server:
    """A running flymodel serve with its own temporary folder."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:8]  # unique to this server: replaces {server} in the storage snippet
        self.url = ""
        self.token = ""
        self.port = 0
        self.dir = ""
        self.config_path = ""
        self.data_dir = ""
        self.database_url: Optional[str] = None
        self.ca_file: Optional[str] = None
        self.client_cert: Optional[str] = None
        self.client_key: Optional[str] = None
        self.log_path = ""
        self.proc: Optional[subprocess.Popen] = None  # type: ignore[type-arg]
        self._log_file: Any = None
        self._stopped = False

    def __repr__(self) -> str:
        return "<flymodel.Server %s %s>" % (self.url, backend())

    # -- for tests

    def log(self) -> str:
        """What the server printed so far."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def client(self, **kw: Any) -> Any:
        """flymodel.Client on this server with the admin token (and the CA and
        client certificate when TLS); kw override or add arguments."""
        import flymodel  # lazily: python/ is on sys.path (see above)

        if self.ca_file:
            kw.setdefault("ca_file", self.ca_file)
        if self.client_cert:
            kw.setdefault("cert_file", self.client_cert)
            kw.setdefault("key_file", self.client_key)
        token = kw.pop("token", self.token)
        return flymodel.Client(self.url, token=token, **kw)

    def env(self, **extra: str) -> Dict[str, str]:
        """The environment of a CLI command on this server: clean_env() with
        FLYMODEL_SERVER, FLYMODEL_TOKEN and the client TLS files."""
        env = clean_env(FLYMODEL_SERVER=self.url, FLYMODEL_TOKEN=self.token)
        if self.ca_file:
            env["FLYMODEL_CLIENT_TLS_CA_FILE"] = self.ca_file
        if self.client_cert and self.client_key:
            env["FLYMODEL_CLIENT_TLS_CERT_FILE"] = self.client_cert
            env["FLYMODEL_CLIENT_TLS_KEY_FILE"] = self.client_key
        env.update(extra)
        return env

    def cli(self, *args: str, check: bool = True, env: Optional[Dict[str, str]] = None,
            cwd: Optional[str] = None, input: Optional[str] = None,
            timeout: float = CLI_TIMEOUT) -> "subprocess.CompletedProcess[str]":
        """flymodel -c config_path ARGS, run to its end with this server's
        address and token in the environment (env adds to it); check=True
        raises AssertionError with the output on a non-zero exit."""
        cmd = [binary(), "-c", self.config_path] + list(args)
        proc = subprocess.run(cmd, env=self.env(**(env or {})), cwd=cwd or self.dir, input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("flymodel %s: exit %d\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def ssl_context(self, client_cert: bool = True) -> Optional[ssl.SSLContext]:
        """An SSL context trusting the test CA (with the client certificate
        unless client_cert is False); None for a plain HTTP server."""
        if not self.ca_file:
            return None
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if client_cert and self.client_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 15 s) and remove its
        folder. Safe to call twice."""
        with _lock:
            if self._stopped:
                return
            self._stopped = True
            if self in _servers:
                _servers.remove(self)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        if self._log_file is not None:
            self._log_file.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- starting

    def _write_config(self, extra_toml: str, tls: bool, mtls: bool) -> None:
        lines = ["data_dir = " + _toml_str(self.data_dir)]
        lines += ["", "[log]", 'format = "text"', 'level = "info"']
        if self.database_url:
            lines += ["", "[database]", "url = " + _toml_str(self.database_url)]
        lines += ["", "[server]", 'bind = "127.0.0.1"', "port = %d" % self.port]
        if tls:
            d = require_tls()
            self.ca_file = os.path.join(d, "ca.crt")
            lines += ["", "[server.tls]"]
            if mtls:
                lines.append("ca_source = " + _toml_str(self.ca_file))
                self.client_cert = os.path.join(d, "client.crt")
                self.client_key = os.path.join(d, "client.key")
            lines += ["", "[server.tls.certs]",
                      "cert_file = " + _toml_str(os.path.join(d, "server.crt")),
                      "key_file = " + _toml_str(os.path.join(d, "server.key"))]
        config = "\n".join(lines) + "\n"
        storage = os.environ.get("FLYMODEL_PYTEST_STORAGE_TOML", "")
        if storage.strip():
            config = merge_toml(config, storage.replace("{server}", self.id))
        if extra_toml:
            config = merge_toml(config, extra_toml)
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(config)

    def _get(self, path: str, timeout: float = 5.0) -> Tuple[int, str]:
        req = urllib.request.Request(self.url + path)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context()) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def _fail(self, why: str) -> "ServerError":
        config = ""
        try:
            with open(self.config_path, encoding="utf-8") as f:
                config = f.read()
        except OSError:
            pass
        err = ServerError("%s\n--- config %s\n%s--- server log (last lines)\n%s"
                          % (why, self.config_path, _redact(config), self.log_tail()))
        self.stop()
        return err

    def _start(self, extra_toml: str, tls: bool, mtls: bool) -> None:
        self.dir = tempfile.mkdtemp(prefix="flymodel-pytest-")
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "flymodel.toml")
        self.log_path = os.path.join(self.dir, "serve.log")
        self.database_url = _take_database()
        exe = binary()
        for attempt in range(3):  # another process may take the free port first
            self.port = free_port()
            scheme = "https" if tls else "http"
            self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
            self._write_config(extra_toml, tls, mtls)
            if attempt == 0 and os.environ.get("FLYMODEL_PYTEST_STORAGE_TOML", "").strip():
                setup = subprocess.run([exe, "-c", self.config_path, "setup-storage"], env=clean_env(),
                                       cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       timeout=CLI_TIMEOUT)
                if setup.returncode != 0:
                    raise self._fail("flymodel setup-storage failed (exit %d):\n%s" % (setup.returncode, setup.stdout))
            self._log_file = open(self.log_path, "ab")
            self.proc = subprocess.Popen([exe, "-c", self.config_path, "serve"], env=clean_env(), cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=self._log_file,
                                         stderr=subprocess.STDOUT)
            if self._wait_ready():
                break
            code = self.proc.poll()
            if code is not None and "address already in use" in self.log() and attempt < 2:
                self._log_file.close()
                continue
            raise self._fail("flymodel serve did not become ready on %s within %.0f s (%s)"
                             % (self.url, READY_TIMEOUT,
                                "running" if code is None else "exited with %d" % code))
        token = self.cli("token", "create", "--name", "pytest-admin", "--role", "admin", check=False)
        secret = token.stdout.strip().splitlines()[0] if token.stdout.strip() else ""
        if token.returncode != 0 or not secret:
            raise self._fail("flymodel token create failed (exit %d):\n%s%s"
                             % (token.returncode, token.stdout, token.stderr))
        self.token = secret

    def _wait_ready(self) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                status, _ = self._get("/readyz", timeout=2.0)
                if status == 200:
                    return True
            except (OSError, ssl.SSLError):
                pass
            time.sleep(0.1)
        return False


def _redact(text: str) -> str:
    return re.sub(r"(secret_access_key\s*=\s*)\"[^\"]*\"", r'\1"<redacted>"', text)


_servers: List[Server] = []
_shared: Optional[Server] = None


def start_server(extra_toml: str = "", tls: bool = False, mtls: bool = False) -> Server:
    """A new server in a fresh temporary folder, ready, with an admin token.
    extra_toml is appended to its configuration (a [table] the base has,
    such as [server], is merged into it). mtls implies tls. The caller
    stops it (stop()); it is stopped at exit otherwise."""
    tls = tls or mtls
    if tls:
        require_tls()
    srv = Server()
    with _lock:
        _servers.append(srv)
    srv._start(extra_toml, tls, mtls)
    return srv


def shared_server() -> Server:
    """The server of this process, started on first use (plain HTTP, base
    configuration) and shared by every test module; stopped at exit."""
    global _shared
    with _lock:
        if _shared is None or not _shared.alive():
            if _shared is not None:
                log = _shared.log_tail()
                _shared.stop()
                _shared = None
                raise ServerError("the shared flymodel server died; its log ends:\n" + log)
            _shared = start_server()
        return _shared


class ClientTestCase(unittest.TestCase):
    """A test class on the shared server, with an admin client of it: ``c``."""

    server: Server
    c: Any

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = shared_server()
        cls.c = cls.server.client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.c.close()


@atexit.register
def _stop_all() -> None:
    for srv in list(_servers):
        srv.stop()
