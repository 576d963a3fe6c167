"""Where the client finds its server and token, as the CLI does.

Arguments first, then the environment (``FLYMODEL_CLIENT_SERVER``, else
``FLYMODEL_SERVER``; ``FLYMODEL_CLIENT_TOKEN``, else ``FLYMODEL_TOKEN``;
``FLYMODEL_CLIENT_TLS_CA_FILE`` ...), then the configuration file's
``[client]`` section: the file ``config`` names, else ``FLYMODEL_CONFIG``,
else the first of ``config/flymodel.{toml,yaml,yml,json,json5}`` and
``./flymodel.toml`` that exists (the CLI's search path).

TOML is read with ``tomllib`` (Python 3.11+) or ``tomli``; JSON with
``json``; YAML with PyYAML when installed; JSON5 with ``json5`` when
installed. Without those, a small reader takes the ``client`` keys of a
YAML or JSON5 file written the way the samples are (nested keys, scalar
values, comments).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

SEARCH_PATH = (
    "config/flymodel.toml",
    "config/flymodel.yaml",
    "config/flymodel.yml",
    "config/flymodel.json",
    "config/flymodel.json5",
    "flymodel.toml",
)


@dataclass
class Settings:
    server: str = ""
    token: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    source: str = ""  # the configuration file read, "" for none


def resolve(
    server: Optional[str] = None,
    token: Optional[str] = None,
    ca_file: Optional[str] = None,
    cert_file: Optional[str] = None,
    key_file: Optional[str] = None,
    config: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
) -> Settings:
    env = os.environ if environ is None else environ
    path = find_file(config or env.get("FLYMODEL_CONFIG") or None, cwd)
    file_client: Dict[str, Any] = {}
    if path:
        file_client = _client_section(load_file(path), path)
    tls = file_client.get("tls") or {}
    if not isinstance(tls, dict):
        raise ValueError(f"flymodel: {path}: client.tls is not a table")

    def pick(arg: Optional[str], env_keys: tuple, file_value: Any, empty_wins: bool = False) -> str:
        # An argument given wins. For the token even "" does: Client(token="")
        # sends no token whatever the environment and the file say.
        if arg or (empty_wins and arg is not None):
            return arg
        for k in env_keys:
            if env.get(k):
                return env[k]
        return str(file_value or "")

    s = Settings(
        server=pick(server, ("FLYMODEL_CLIENT_SERVER", "FLYMODEL_SERVER"), file_client.get("server")),
        token=pick(token, ("FLYMODEL_CLIENT_TOKEN", "FLYMODEL_TOKEN"), file_client.get("token"), empty_wins=True),
        ca_file=pick(ca_file, ("FLYMODEL_CLIENT_TLS_CA_FILE",), tls.get("ca_file")),
        cert_file=pick(cert_file, ("FLYMODEL_CLIENT_TLS_CERT_FILE",), tls.get("cert_file")),
        key_file=pick(key_file, ("FLYMODEL_CLIENT_TLS_KEY_FILE",), tls.get("key_file")),
        source=path or "",
    )
    return s


def find_file(given: Optional[str], cwd: Optional[str] = None) -> str:
    base = cwd or os.getcwd()
    if given:
        p = given if os.path.isabs(given) else os.path.join(base, given)
        if not os.path.isfile(p):
            raise FileNotFoundError(f"flymodel: configuration file {given} not found")
        return p
    for rel in SEARCH_PATH:
        p = os.path.join(base, rel)
        if os.path.isfile(p):
            return p
    return ""


def _client_section(doc: Any, path: str) -> Dict[str, Any]:
    if not isinstance(doc, dict):
        raise ValueError(f"flymodel: {path}: not a table of keys")
    c = doc.get("client") or {}
    if not isinstance(c, dict):
        raise ValueError(f"flymodel: {path}: client is not a table")
    return c


def load_file(path: str) -> Any:
    ext = os.path.splitext(path)[1].lower()
    with open(path, "rb") as f:
        raw = f.read()
    if ext == ".toml":
        try:
            import tomllib  # type: ignore[import-not-found]
        except ImportError:  # Python < 3.11
            try:
                import tomli as tomllib  # type: ignore[import-not-found,no-redef]
            except ImportError:
                return _mini_toml(raw.decode("utf-8"))
        return tomllib.loads(raw.decode("utf-8"))
    if ext == ".json":
        return json.loads(raw)
    if ext in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            return _mini_yaml(raw.decode("utf-8"))
        return yaml.safe_load(raw)
    if ext == ".json5":
        try:
            import json5  # type: ignore[import-not-found]
        except ImportError:
            return json.loads(_json5_to_json(raw.decode("utf-8")))
        return json5.loads(raw.decode("utf-8"))
    raise ValueError(f"flymodel: {path}: unknown file type {ext!r} (want .toml, .yaml, .yml, .json or .json5)")


def _scalar(v: str) -> Any:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        inner = v[1:-1]
        return json.loads('"' + inner.replace('"', '\\"') + '"') if v[0] == '"' else inner
    if v in ("true", "false"):
        return v == "true"
    try:
        return int(v)
    except ValueError:
        return v


def _strip_comment(line: str) -> str:
    out, quote = [], ""
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        out.append(ch)
    return "".join(out).rstrip()


def _mini_toml(text: str) -> Dict[str, Any]:
    """The [table] / key = "value" subset of TOML (Python < 3.11 without tomli)."""
    doc: Dict[str, Any] = {}
    cur = doc
    for line in text.splitlines():
        line = _strip_comment(line).strip()
        if not line:
            continue
        m = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]?\]", line)
        if m:
            cur = doc
            if line.startswith("[["):
                cur = {}  # arrays of tables: not needed for [client]
                continue
            for part in m.group(1).split("."):
                cur = cur.setdefault(part.strip().strip('"'), {})
            continue
        if "=" in line:
            k, v = line.split("=", 1)
            k, v = k.strip(), v.strip()
            # Dotted keys (tls.ca_file = ...) are nested tables.
            parts = [k.strip('"')] if k.startswith('"') else [p.strip().strip('"') for p in k.split(".")]
            t = cur
            for part in parts[:-1]:
                t = t.setdefault(part, {})
                if not isinstance(t, dict):
                    break
            else:
                # Inline tables and arrays on one line: { ca_file = "ca.pem" }, ["eval"].
                t[parts[-1]] = _flow(v, 0, sep="=")[0] if v[:1] in ("{", "[") else _scalar(v)
    return doc


def _mini_yaml(text: str) -> Dict[str, Any]:
    """Nested mappings of scalars (the sample files' shape; lists are skipped)."""
    doc: Dict[str, Any] = {}
    stack = [(-1, doc)]
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line.strip() or line.strip().startswith("-"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        m = re.fullmatch(r"\s*([^:]+?)\s*:\s*(.*)", line)
        if not m:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        key, value = m.group(1).strip("\"'"), m.group(2)
        if value == "":
            child: Dict[str, Any] = {}
            parent[key] = child
            stack.append((indent, child))
        elif value[0] in "{[":
            parent[key] = _flow(value, 0)[0]
        else:
            parent[key] = _scalar(value)
    return doc


def _flow(s: str, i: int, key: bool = False, sep: str = ":") -> Any:
    """A YAML flow value on one line (``{ca_file: ca.pem, k: [a, b]}``), or
    a TOML inline table or array (sep "=": ``{ ca_file = "ca.pem" }``), from
    s[i:]: (value, index after it)."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] in "{[":
        close = "}" if s[i] == "{" else "]"
        out: Any = {} if close == "}" else []
        i += 1
        while True:
            while i < len(s) and s[i] in " ,":
                i += 1
            if i >= len(s) or s[i] == close:
                return out, i + 1
            if close == "]":
                v, i = _flow(s, i, sep=sep)
                out.append(v)
                continue
            k, i = _flow(s, i, key=True, sep=sep)
            while i < len(s) and s[i] == " ":
                i += 1
            if i < len(s) and s[i] == sep:
                v, i = _flow(s, i + 1, sep=sep)
            else:
                v = None
            out[str(k)] = v
    if i < len(s) and s[i] in "\"'":
        j = i + 1
        while j < len(s) and s[j] != s[i]:
            j += 2 if s[j] == "\\" and s[i] == '"' else 1
        return _scalar(s[i:j + 1]), j + 1
    j = i
    # A plain scalar ends at , } ] and, for a key, at "=" or ": " (not the colon of a URL).
    while j < len(s) and s[j] not in ",}]" and not (
            key and s[j] == sep and (sep == "=" or s[j + 1:j + 2] in ("", " ", ",", "}"))):
        j += 1
    return _scalar(s[i:j]), j


def _json5_to_json(text: str) -> str:
    """JSON5's comments, trailing commas, unquoted keys and single quotes, as JSON."""
    parts: List[Tuple[bool, str]] = []  # (is a string, text)
    code: List[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    buf.append("'" if text[j + 1] == "'" else text[j:j + 2])
                    j += 2
                    continue
                buf.append('\\"' if text[j] == '"' else text[j])
                j += 1
            parts.append((False, "".join(code)))
            code = []
            parts.append((True, '"' + "".join(buf) + '"'))
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            code.append(ch)
            i += 1
    parts.append((False, "".join(code)))
    # Trailing commas and unquoted keys, outside strings only (a string's
    # text may hold ", word:"); comments are gone, so each is within one part.
    out = []
    for is_string, t in parts:
        if not is_string:
            t = re.sub(r",(\s*[}\]])", r"\1", t)
            t = re.sub(r"([{,]\s*)([A-Za-z_$][\w$]*)(\s*:)", r'\1"\2"\3', t)
        out.append(t)
    return "".join(out)
