"""Register a model version idempotently, with ``flymodel upsert``'s semantics.

The plan is made with reads only; anything the inputs contradict (other
bytes under an artifact name, new files for a sealed version, an experiment
with another result or other params) raises before anything is written;
otherwise what is missing is created, only the files the server lacks are
uploaded (hashed locally first), and the state is moved last. A rerun with
the same inputs makes no write request and reports every item unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import errors
from ._names import validate_artifact_name, validate_name, validate_version_name
from ._types import _html_table

LIFECYCLES = ("test", "qa", "stage", "prod")
EXPERIMENT_STATES = ("created", "running", "passed", "failed")

# The format each extension names (api/extensions.go): what the server would
# infer itself from the artifact's name, taken from the local file's name
# when the artifact's says nothing (weights=./model.safetensors).
FORMAT_BY_EXTENSION = {
    "json": "json", "jsonl": "jsonl", "ndjson": "jsonl", "arrow": "arrow", "feather": "arrow",
    "parquet": "parquet", "msgpack": "msgpack", "mpk": "msgpack", "xml": "xml", "csv": "csv", "xls": "xls",
    "jpeg": "jpeg", "jpg": "jpeg", "png": "png", "wav": "wav", "mov": "mov", "mp4": "mp4", "pdf": "pdf",
    "html": "html", "htm": "html", "txt": "txt", "md": "md", "markdown": "md", "safetensors": "safetensors",
    "gguf": "gguf", "onnx": "onnx", "pt": "pt", "pth": "pt", "pkl": "pkl", "pickle": "pkl", "npy": "npy",
    "npz": "npz", "h5": "h5", "hdf5": "h5", "yaml": "yaml", "yml": "yaml",
}
FORMATS = tuple(sorted(set(FORMAT_BY_EXTENSION.values())))


def format_by_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    i = base.rfind(".")
    if i <= 0 or i == len(base) - 1:
        return ""
    return FORMAT_BY_EXTENSION.get(base[i + 1:].lower(), "")


@dataclass
class UpsertItem:
    """One line of a plan or a result: ``kind`` (namespace, model, version,
    artifact, experiment, experiment-state, state), ``name``, and ``action``
    (create, upload, move, unchanged, conflict)."""

    kind: str
    name: str
    action: str
    detail: str = ""
    sha256: str = ""
    existing_sha256: str = ""
    size: int = 0

    def __str__(self) -> str:
        line = f"{self.action:<9} {self.kind:<16} {self.name}"
        if self.action == "upload":
            line += f" ({_size(self.size)}, sha256 {self.sha256})"
        elif self.detail:
            line += ": " + self.detail
        return line


@dataclass
class UpsertResult:
    """What a run did (or, dry, would do): ``items`` in order, ``changed``
    (writes made), ``conflicts``."""

    version: str
    dry: bool = False
    items: List[UpsertItem] = field(default_factory=list)
    changed: int = 0
    conflicts: int = 0

    @property
    def unchanged(self) -> bool:
        """True when every item was already as asked (a rerun)."""
        return all(i.action == "unchanged" for i in self.items)

    def __str__(self) -> str:
        """The CLI's text output: one line per item, then the summary."""
        lines = [str(i) for i in self.items]
        unchanged = sum(1 for i in self.items if i.action == "unchanged")
        if self.conflicts:
            lines.append(f"{self.conflicts} conflict(s): nothing was written")
        elif self.dry:
            lines.append(f"dry run: {len(self.items) - unchanged} change(s) planned, {unchanged} unchanged; nothing was written")
        else:
            lines.append(f"{self.version}: {self.changed} changed, {unchanged} unchanged")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return _html_table(self.items, ["action", "kind", "name", "detail", "sha256", "size"], str(self).splitlines()[-1])

    def to_dict(self) -> Dict[str, Any]:
        return {"dry": self.dry, "version": self.version, "changed": self.changed, "conflicts": self.conflicts,
                "items": [{k: v for k, v in vars(i).items() if v not in ("", 0) or k in ("kind", "name", "action")}
                          for i in self.items]}


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


@dataclass
class _File:
    name: str
    path: Optional[str] = None
    data: Optional[bytes] = None
    format: str = ""
    encoding: str = ""
    extra: Optional[Dict[str, Any]] = None
    sha256: str = ""
    size: int = 0


@dataclass
class _Exp:
    name: str
    state: str = ""
    params: Optional[Dict[str, Any]] = None
    metrics: Optional[Dict[str, Any]] = None
    duration_ms: Optional[int] = None


def expand(name: str, value: Any) -> List[_File]:
    """One ``artifacts`` entry as files: a path to a file is one artifact
    named name (its base name when name is ""); a folder is every regular
    file under it, named name/relative/path (in lexical order); bytes are
    one artifact; a mapping gives path or data with format, encoding and
    extra."""
    fmt, enc, extra = "", "", None
    if isinstance(value, Mapping):
        fmt, enc, extra = value.get("format") or "", value.get("encoding") or "", value.get("extra")
        if "data" in value:
            value = value["data"]
        elif "path" in value:
            value = value["path"]
        else:
            raise ValueError(f"flymodel: artifact {name!r}: give path or data")
    if isinstance(value, (bytes, bytearray, memoryview)):
        if not name:
            raise ValueError("flymodel: in-memory bytes need an artifact name")
        b = bytes(value)
        f = _File(name=name, data=b, format=fmt, encoding=enc, extra=extra)
        f.format = fmt or format_by_name(name)
        return [f]
    path = os.fspath(value)
    if not os.path.exists(path):
        raise FileNotFoundError(f"flymodel: artifact {name or path!r}: {path} does not exist")
    if not os.path.isdir(path):
        if not os.path.isfile(path):
            raise ValueError(f"flymodel: {path} is not a regular file")
        n = name or os.path.basename(path)
        return [_File(name=n, path=path, encoding=enc, extra=extra,
                      format=fmt or format_by_name(n) or format_by_name(path))]
    out: List[_File] = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for fn in files:
            p = os.path.join(root, fn)
            if os.path.islink(p) or not os.path.isfile(p):
                continue  # regular files only, as the CLI
            rel = os.path.relpath(p, path).replace(os.sep, "/")
            n = (name.rstrip("/") + "/" + rel) if name else rel
            out.append(_File(name=n, path=p, encoding=enc, extra=extra,
                             format=format_by_name(n) or format_by_name(p) or fmt))
    if not out:
        raise ValueError(f"flymodel: folder {path} holds no files")
    out.sort(key=lambda f: f.name)
    return out


def _experiments(spec: Any) -> List[_Exp]:
    if spec is None:
        return []
    entries: List[Tuple[str, Mapping[str, Any]]] = []
    if isinstance(spec, Mapping):
        entries = [(k, v or {}) for k, v in spec.items()]
    else:
        for e in spec:
            if isinstance(e, str):
                entries.append((e, {}))
            else:
                entries.append((e["name"], e))
    out = []
    for name, e in entries:
        unknown = set(e) - {"name", "state", "params", "metrics", "duration_ms", "duration"}
        if unknown:
            raise ValueError(f"flymodel: experiment {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
        d = e.get("duration_ms")
        if d is None and e.get("duration") is not None:
            dur = e["duration"]
            d = int(dur.total_seconds() * 1000) if isinstance(dur, timedelta) else int(float(dur) * 1000)
        out.append(_Exp(name=name, state=e.get("state") or "", params=e.get("params"), metrics=e.get("metrics"),
                        duration_ms=None if d is None else int(d)))
    return out


def _validate(namespace: str, model: str, version: str, state: str, files: List[_File], exps: List[_Exp]) -> None:
    problems = []

    def check(what: str, name: str, rule: Callable[[str], Optional[str]]) -> None:
        why = rule(name)
        if why:
            problems.append(f"{what} {name!r}: {why}")

    check("namespace", namespace, validate_name)
    check("model", model, validate_name)
    check("version", version, validate_version_name)
    if state and state not in LIFECYCLES:
        problems.append(f"state {state!r}: want one of {', '.join(LIFECYCLES)}")
    seen = set()
    for f in files:
        check("artifact", f.name, validate_artifact_name)
        if f.name in seen:
            problems.append(f"artifact {f.name!r}: given twice")
        seen.add(f.name)
        if f.format and f.format not in FORMATS:
            problems.append(f"artifact {f.name!r}: format {f.format!r}: want one of {', '.join(FORMATS)}")
    for e in exps:
        check("experiment", e.name, validate_name)
        if e.state and e.state not in EXPERIMENT_STATES:
            problems.append(f"experiment {e.name!r}: state {e.state!r}: want one of {', '.join(EXPERIMENT_STATES)}")
        if e.state not in ("passed", "failed") and (e.metrics is not None or e.duration_ms is not None):
            problems.append(f"experiment {e.name!r}: metrics and duration are recorded with the result: give state passed or failed")
    if problems:
        raise errors.ValidationError("invalid: " + "; ".join(problems), type="validation",
                                     problem={"errors": [{"field": p.split(" ", 1)[0], "message": p} for p in problems]})


def _hash(f: _File) -> None:
    if f.data is not None:
        f.sha256, f.size = hashlib.sha256(f.data).hexdigest(), len(f.data)
    else:
        from .client import sha256_file

        assert f.path is not None
        f.sha256, f.size = sha256_file(f.path)


def _same_json(a: Any, b: Any) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def _compact(v: Any) -> str:
    if v is None:
        return "none"
    return json.dumps(v, separators=(",", ":"), sort_keys=False)


def _moves(state: str, want: str) -> List[Tuple[str, str, str]]:
    """(from, to, conflict) transitions from state to want."""
    if want in ("", "created"):
        return []
    if state == want:
        return [(state, want, "")]
    if state in ("passed", "failed"):
        return [(state, want, f"its result is already recorded as {state}; a result is written once")]
    if want == "running":
        return [(state, "running", "")]
    moves = []
    if state == "created":
        moves.append(("created", "running", ""))
    moves.append(("running", want, ""))
    return moves


def _exists(call: Callable[[], Any]) -> Tuple[bool, Any]:
    try:
        return True, call()
    except errors.NotFound:
        return False, None


def _made_meanwhile(call: Callable[[], Any]) -> None:
    """A create that lost a race to a concurrent one still leaves the thing."""
    try:
        call()
    except errors.Conflict as e:
        if isinstance(e, (errors.PromotionGateError, errors.InvalidTransition, errors.NoStore,
                          errors.ImmutableError, errors.SealedError)):
            raise


def upsert(client: Any, namespace: str, model: str, version: str, *,
           artifacts: Optional[Union[Mapping[str, Any], Iterable[Any]]] = None, state: Optional[str] = None,
           experiments: Any = None, dry: bool = False, progress: Optional[bool] = None) -> UpsertResult:
    """Register ``namespace/model/version`` with its artifacts and
    experiments, and move it to ``state`` last.

    ``artifacts`` maps artifact names to a file or folder path (a folder's
    files are registered as ``NAME/relative/path``), to bytes, or to
    ``{"path"|"data": …, "format": …, "encoding": …, "extra": {…}}``; a list
    of paths names each file by its base name (a folder's files by their
    relative paths). ``experiments`` maps names to ``{"state", "params",
    "metrics", "duration_ms" | "duration" (seconds)}`` (or is a list of
    names). Raises ValidationError for a bad name or state before anything
    is read, and ImmutableError / SealedError / Conflict — with ``result``,
    the plan — before anything is written when the inputs contradict the
    registry.
    """
    state = _canonical(state or "")
    files: List[_File] = []
    if artifacts is not None:
        if isinstance(artifacts, Mapping):
            for n, v in artifacts.items():
                files.extend(expand(n, v))
        else:
            for v in artifacts:
                files.extend(expand("", v))
    exps = _experiments(experiments)
    res = UpsertResult(version=f"{namespace}/{model}/{version}", dry=dry)
    _validate(namespace, model, version, state, files, exps)
    for f in files:
        _hash(f)

    ref = f"{namespace}/{model}"
    steps: List[Tuple[UpsertItem, Callable[[], Any]]] = []

    def add(item: UpsertItem, run: Optional[Callable[[], Any]] = None) -> None:
        res.items.append(item)
        if item.action == "conflict":
            res.conflicts += 1
        elif item.action != "unchanged":
            assert run is not None
            steps.append((item, run))

    ns_exists, _ = _exists(lambda: client.get_namespace(namespace))
    add(UpsertItem("namespace", namespace, "unchanged" if ns_exists else "create"),
        lambda: _made_meanwhile(lambda: client.create_namespace(namespace)))
    model_exists = ns_exists and _exists(lambda: client.get_model(ref))[0]
    add(UpsertItem("model", model, "unchanged" if model_exists else "create"),
        lambda: _made_meanwhile(lambda: client.create_model(ref)))
    v = None
    if model_exists:
        _, v = _exists(lambda: client.get_version(ref, version))
    add(UpsertItem("version", version, "unchanged" if v is not None else "create"),
        lambda: _made_meanwhile(lambda: client.create_version(ref, version)))

    stored: Dict[str, str] = {}
    if v is not None:
        stored = {a.name: a.sha256 for a in client.artifacts(ref, version)}
    for f in files:
        it = UpsertItem("artifact", f.name, "upload", sha256=f.sha256, size=f.size)
        have = stored.get(f.name)
        if have == f.sha256:
            it.action = "unchanged"
        elif have is not None:
            it.action, it.existing_sha256 = "conflict", have
            it.detail = (f"stored with sha256 {have}, the file hashes to {f.sha256}: artifacts are immutable, "
                         "create a new version")
        elif v is not None and v.sealed:
            it.action = "conflict"
            it.detail = f"version is sealed (state {v.state}): no new artifacts, create a new version"
        add(it, _uploader(client, ref, version, f, progress))

    for e in exps:
        info = None
        if v is not None:
            _, info = _exists(lambda e=e: client.get_experiment(ref, version, e.name))
        cur = "created"
        if info is None:
            add(UpsertItem("experiment", e.name, "create"),
                lambda e=e: _made_meanwhile(lambda: client.create_experiment(ref, version, e.name, e.params)))
        elif e.params and not _same_json(e.params, info.params):
            cur = info.state
            add(UpsertItem("experiment", e.name, "conflict",
                           detail=f"created with params {_compact(info.params)}, given {_compact(e.params)}: "
                                  "params are set once, name another experiment"))
        else:
            cur = info.state
            add(UpsertItem("experiment", e.name, "unchanged"))
        for frm, to, conflict in _moves(cur, e.state):
            it = UpsertItem("experiment-state", e.name, "move", detail=f"{frm} -> {to}")
            if conflict:
                it.action, it.detail = "conflict", conflict
            if frm == to:
                it.action, it.detail = "unchanged", to
                c = _result_conflict(info, e)
                if c:
                    it.action, it.detail = "conflict", c

            add(it, _state_mover(client, ref, version, e, to))

    if state:
        frm = v.state if v is not None else "test"
        it = UpsertItem("state", state, "move", detail=f"{frm} -> {state}")
        if frm == state:
            it.action, it.detail = "unchanged", frm
        add(it, lambda: client.set_state(ref, version, state))

    if res.conflicts:
        raise _conflict_error(res)
    if dry:
        return res
    for item, run in steps:
        try:
            run()
        except errors.FlymodelError as err:
            err.result = res  # type: ignore[attr-defined]
            err.step = f"{item.action} {item.kind} {item.name}"  # type: ignore[attr-defined]
            raise
        res.changed += 1
    return res


def _uploader(client: Any, ref: str, version: str, f: _File, progress: Optional[bool]) -> Callable[[], Any]:
    def run() -> Any:
        source: Any = f.data if f.data is not None else f.path
        return client.upload(ref, version, f.name, source, format=f.format or None, encoding=f.encoding or None,
                             extra=f.extra, sha256=f.sha256, progress=progress)
    return run


def _state_mover(client: Any, ref: str, version: str, e: _Exp, to: str) -> Callable[[], Any]:
    def run() -> Any:
        final = to in ("passed", "failed")
        return client.set_experiment_state(ref, version, e.name, to,
                                           metrics=e.metrics if final else None,
                                           duration_ms=e.duration_ms if final else None)
    return run


def _result_conflict(info: Any, e: _Exp) -> str:
    if info is None or info.state not in ("passed", "failed"):
        return ""
    diffs = []
    if e.metrics is not None and not _same_json(e.metrics, info.metrics):
        diffs.append(f"metrics {_compact(info.metrics)}, given {_compact(e.metrics)}")
    if e.duration_ms is not None and info.duration_ms != e.duration_ms:
        recorded = "none" if info.duration_ms is None else f"{info.duration_ms} ms"
        diffs.append(f"duration {recorded}, given {e.duration_ms} ms")
    if not diffs:
        return ""
    return (f"its result is already recorded as {info.state} with {'; '.join(diffs)}: a result is written once, "
            "name another experiment or version")


def _conflict_error(res: UpsertResult) -> errors.Conflict:
    bad = [i for i in res.items if i.action == "conflict"]
    lines = "; ".join(f"{i.kind} {i.name}: {i.detail}" for i in bad)
    msg = f"{res.version}: {len(bad)} conflicting item(s), nothing was written: {lines}"
    immutable = next((i for i in bad if i.kind == "artifact" and i.existing_sha256), None)
    err: errors.Conflict
    if immutable is not None:
        err = errors.ImmutableError(msg, type="immutable", problem={
            "artifact": immutable.name, "existing_sha256": immutable.existing_sha256, "actual_sha256": immutable.sha256})
    elif any(i.kind == "artifact" for i in bad):
        err = errors.SealedError(msg, type="sealed", problem={"version": res.version})
    else:
        err = errors.Conflict(msg, type="conflict")
    err.result = res  # type: ignore[attr-defined]
    return err


def _canonical(state: str) -> str:
    s = state.lower()
    return "stage" if s == "staging" else s
