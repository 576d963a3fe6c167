"""The flymodel package's PEP 517 build backend: standard library only.

pyproject.toml names it with ``requires = []`` and ``backend-path = ["_build"]``,
so ``pip install ./python`` needs nothing but pip itself: it works offline,
with or without build isolation, where setuptools is old or ``wheel`` is
missing. It builds a pure-Python wheel (``flymodel/**`` + ``.dist-info``), an
sdist, and a PEP 660 editable wheel (a ``.pth`` file naming this folder).

The metadata comes from the standard ``[project]`` table of pyproject.toml
(read with tomllib when the Python has it, else with a small reader of the
few key forms used there); the version is ``__version__`` in
``flymodel/__init__.py``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent  # the python/ folder
PACKAGE = "flymodel"
WHEEL_TAG = "py3-none-any"
GENERATOR = "flymodel_build"

__all__ = [
    "build_wheel",
    "build_sdist",
    "build_editable",
    "get_requires_for_build_wheel",
    "get_requires_for_build_sdist",
    "get_requires_for_build_editable",
    "prepare_metadata_for_build_wheel",
    "prepare_metadata_for_build_editable",
]


# --- pyproject.toml ---------------------------------------------------------


def _read_pyproject(path: Path) -> Dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib  # Python >= 3.11
    except ImportError:
        return _mini_toml(text)
    return tomllib.loads(text)


def _strip_comment(line: str) -> str:
    """line without a trailing # comment (a # inside a string is kept)."""
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i]
        i += 1
    return line


def _parse_value(text: str) -> Any:
    """A TOML string, array of strings, boolean, integer or inline table of
    strings: the forms a [project] table uses."""
    text = text.strip()
    if text.startswith('"""') or text.startswith("'''"):
        raise ValueError("multi-line strings are not supported by the fallback TOML reader")
    if text.startswith('"'):
        m = re.match(r'"((?:[^"\\]|\\.)*)"$', text)
        if not m:
            raise ValueError("bad string: " + text)
        return _unescape(m.group(1))
    if text.startswith("'"):
        if not (text.endswith("'") and len(text) >= 2):
            raise ValueError("bad string: " + text)
        return text[1:-1]
    if text.startswith("["):
        inner = text[1:-1] if text.endswith("]") else None
        if inner is None:
            raise ValueError("bad array: " + text)
        return [_parse_value(item) for item in _split_top(inner) if item.strip()]
    if text.startswith("{"):
        if not text.endswith("}"):
            raise ValueError("bad inline table: " + text)
        table: Dict[str, Any] = {}
        for item in _split_top(text[1:-1]):
            if item.strip():
                k, _, v = item.partition("=")
                table[_key(k)] = _parse_value(v)
        return table
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise ValueError("unsupported TOML value: " + text)


def _unescape(s: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r", "b": "\b", "f": "\f"}
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in escapes:
                out.append(escapes[n])
                i += 2
                continue
            if n in "uU":
                width = 4 if n == "u" else 8
                out.append(chr(int(s[i + 2:i + 2 + width], 16)))
                i += 2 + width
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _split_top(text: str) -> List[str]:
    """text split at commas outside strings, arrays and inline tables."""
    parts: List[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _key(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _balanced(text: str) -> bool:
    depth = 0
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return depth <= 0 and not quote


def _mini_toml(text: str) -> Dict[str, Any]:
    """A small TOML reader for Pythons without tomllib (3.9, 3.10): tables,
    key = value with the values _parse_value reads, arrays over several
    lines. Enough for this project's pyproject.toml, not for TOML at large."""
    doc: Dict[str, Any] = {}
    table = doc
    pending = ""
    for raw in text.splitlines():
        line = _strip_comment(raw).strip()
        if pending:
            pending += " " + line
            if not _balanced(pending):
                continue
            line, pending = pending, ""
        if not line:
            continue
        if line.startswith("[[") and line.endswith("]]"):
            path = [_key(p) for p in line[2:-2].split(".")]
            parent = doc
            for p in path[:-1]:
                parent = parent.setdefault(p, {})
            entry: Dict[str, Any] = {}
            parent.setdefault(path[-1], []).append(entry)
            table = entry
            continue
        if line.startswith("[") and line.endswith("]"):
            table = doc
            for p in line[1:-1].split("."):
                table = table.setdefault(_key(p), {})
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError("pyproject.toml: cannot read line: " + raw)
        if not _balanced(value):
            pending = line
            continue
        path = [_key(p) for p in key.split(".")]
        target = table
        for p in path[:-1]:
            target = target.setdefault(p, {})
        target[path[-1]] = _parse_value(value)
    if pending:
        raise ValueError("pyproject.toml: unterminated value: " + pending)
    return doc


# --- metadata ---------------------------------------------------------------


def _version() -> str:
    init = ROOT / PACKAGE / "__init__.py"
    m = re.search(r"""^__version__\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", init.read_text(encoding="utf-8"), re.M)
    if not m:
        raise RuntimeError("%s: no __version__ = \"...\" line" % init)
    return m.group(1)


def _project() -> Dict[str, Any]:
    project = _read_pyproject(ROOT / "pyproject.toml").get("project")
    if not isinstance(project, dict) or project.get("name") != PACKAGE:
        raise RuntimeError("pyproject.toml: no [project] table named %r" % PACKAGE)
    return project


def _normalized_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata() -> Tuple[str, str, str]:
    """(distribution name for file names, version, METADATA text)."""
    project = _project()
    version = project.get("version") or _version()
    lines = [
        "Metadata-Version: 2.1",
        "Name: " + project["name"],
        "Version: " + version,
    ]
    if project.get("description"):
        lines.append("Summary: " + " ".join(str(project["description"]).split()))
    if project.get("requires-python"):
        lines.append("Requires-Python: " + project["requires-python"])
    license_ = project.get("license")
    if isinstance(license_, dict) and license_.get("text"):
        lines.append("License: " + license_["text"])
    for url_name, url in sorted((project.get("urls") or {}).items()):
        lines.append("Project-URL: %s, %s" % (url_name, url))
    for dep in project.get("dependencies") or []:
        lines.append("Requires-Dist: " + dep)
    for extra, deps in (project.get("optional-dependencies") or {}).items():
        lines.append("Provides-Extra: " + extra)
        for dep in deps:
            marker = 'extra == "%s"' % extra
            if ";" in dep:
                req, _, cond = dep.partition(";")
                lines.append("Requires-Dist: %s; (%s) and %s" % (req.strip(), cond.strip(), marker))
            else:
                lines.append("Requires-Dist: %s; %s" % (dep.strip(), marker))
    body = ""
    readme = project.get("readme")
    if isinstance(readme, str) and (ROOT / readme).is_file():
        body = (ROOT / readme).read_text(encoding="utf-8")
        lines.append("Description-Content-Type: " + ("text/markdown" if readme.endswith(".md") else "text/plain"))
    text = "\n".join(lines) + "\n"
    if body:
        text += "\n" + body
    return _normalized_name(project["name"]), version, text


def _wheel_file() -> str:
    return "Wheel-Version: 1.0\nGenerator: %s\nRoot-Is-Purelib: true\nTag: %s\n" % (GENERATOR, WHEEL_TAG)


def _dist_info(name: str, version: str) -> str:
    return "%s-%s.dist-info" % (name, version)


def _package_files() -> Iterator[Tuple[str, Path]]:
    """(archive name, path) of every file of the package, sorted; no bytecode."""
    base = ROOT / PACKAGE
    if not (base / "__init__.py").is_file():
        raise RuntimeError("%s: no package here" % base)
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(ROOT)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if not (path.suffix in (".py", ".pyi") or path.name == "py.typed"):
            continue
        yield rel.as_posix(), path


# --- archives ---------------------------------------------------------------


def _timestamp() -> Tuple[int, int, int, int, int, int]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = max(int(epoch), 315532800) if epoch and epoch.isdigit() else 315532800  # 1980-01-01
    return time.gmtime(t)[:6]


class _WheelWriter:
    """A wheel under construction: files with their RECORD lines."""

    def __init__(self, path: Path, dist_info: str) -> None:
        self.path = path
        self.dist_info = dist_info
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.records: List[Tuple[str, str, str]] = []
        self.when = _timestamp()

    def add(self, name: str, data: bytes, mode: int = 0o644) -> None:
        info = zipfile.ZipInfo(name, date_time=self.when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (0o100000 | mode) << 16
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
        self.records.append((name, "sha256=" + digest, str(len(data))))

    def close(self) -> None:
        record = self.dist_info + "/RECORD"
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in self.records:
            writer.writerow(row)
        writer.writerow((record, "", ""))
        info = zipfile.ZipInfo(record, date_time=self.when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (0o100000 | 0o644) << 16
        self.zip.writestr(info, out.getvalue().encode("utf-8"))
        self.zip.close()


def _write_metadata_dir(directory: str) -> str:
    name, version, metadata = _metadata()
    dist_info = _dist_info(name, version)
    target = Path(directory) / dist_info
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_text(metadata, encoding="utf-8")
    (target / "WHEEL").write_text(_wheel_file(), encoding="utf-8")
    return dist_info


def _build(wheel_directory: str, editable: bool) -> str:
    name, version, metadata = _metadata()
    dist_info = _dist_info(name, version)
    filename = "%s-%s-%s.whl" % (name, version, WHEEL_TAG)
    Path(wheel_directory).mkdir(parents=True, exist_ok=True)
    target = Path(wheel_directory) / filename
    tmp = target.with_name(filename + ".tmp")
    wheel = _WheelWriter(tmp, dist_info)
    try:
        if editable:
            # PEP 660: the package is imported from the source folder.
            wheel.add("__editable__.%s-%s.pth" % (name, version), (str(ROOT) + "\n").encode("utf-8"))
        else:
            for arcname, path in _package_files():
                wheel.add(arcname, path.read_bytes())
        wheel.add(dist_info + "/METADATA", metadata.encode("utf-8"))
        wheel.add(dist_info + "/WHEEL", _wheel_file().encode("utf-8"))
        wheel.add(dist_info + "/top_level.txt", (PACKAGE + "\n").encode("utf-8"))
        wheel.close()
    except BaseException:
        wheel.zip.close()
        tmp.unlink()
        raise
    os.replace(tmp, target)
    return filename


# --- PEP 517 / PEP 660 hooks ------------------------------------------------


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    return _write_metadata_dir(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    return _write_metadata_dir(metadata_directory)


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    return _build(wheel_directory, editable=False)


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    name, version, metadata = _metadata()
    base = "%s-%s" % (name, version)
    filename = base + ".tar.gz"
    Path(sdist_directory).mkdir(parents=True, exist_ok=True)
    target = Path(sdist_directory) / filename
    mtime = time.mktime(_timestamp() + (0, 0, -1)) if os.environ.get("SOURCE_DATE_EPOCH") else time.time()

    files: List[Tuple[str, Path]] = [("pyproject.toml", ROOT / "pyproject.toml"),
                                     ("_build/flymodel_build.py", ROOT / "_build" / "flymodel_build.py")]
    files += list(_package_files())
    for extra in ("README.md", "examples"):
        path = ROOT / extra
        if path.is_file():
            files.append((extra, path))
        elif path.is_dir():
            files += [(p.relative_to(ROOT).as_posix(), p) for p in sorted(path.rglob("*"))
                      if p.is_file() and "__pycache__" not in p.parts]

    def add(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
        info = tarfile.TarInfo(base + "/" + arcname)
        info.size = len(data)
        info.mtime = int(mtime)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))

    tmp = target.with_name(filename + ".tmp")
    with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for arcname, path in files:
            add(tar, arcname, path.read_bytes())
        add(tar, "PKG-INFO", metadata.encode("utf-8"))
    os.replace(tmp, target)
    return filename


if __name__ == "__main__":  # python3 _build/flymodel_build.py [wheel|sdist|editable] [DIR]
    kind = sys.argv[1] if len(sys.argv) > 1 else "wheel"
    out = sys.argv[2] if len(sys.argv) > 2 else str(ROOT / "dist")
    hooks = {"wheel": build_wheel, "sdist": build_sdist, "editable": build_editable}
    if kind not in hooks:
        sys.exit("usage: flymodel_build.py [wheel|sdist|editable] [DIR]")
    print(Path(out) / hooks[kind](out))
