"""The flymodel client: the whole HTTP API, in Python's style."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import tempfile
import urllib.parse
from typing import Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, cast

from . import _config, _transport, errors
from ._progress import Progress
from ._types import (
    Alias,
    AliasChange,
    Artifact,
    AuditRecord,
    Bucket,
    CreatedToken,
    Diff,
    Experiment,
    Items,
    Lineage,
    Model,
    Namespace,
    Paged,
    Parent,
    StateChange,
    Tag,
    Token,
    Version,
)

API = "/api/v1"
LIFECYCLES = ("test", "qa", "stage", "prod")
ALIASES = {"staging": "stage"}
MAX_PAGE_SIZE = 1000

Source = Union[str, "os.PathLike[str]", bytes, bytearray, BinaryIO]


def _seg(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _artifact_seg(name: str) -> str:
    return "/".join(_seg(p) for p in name.split("/"))


def split_model(ref: str) -> Tuple[str, str]:
    """``"canada/llm.sm"`` -> ``("canada", "llm.sm")``."""
    parts = ref.split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"flymodel: {ref!r}: want NAMESPACE/MODEL")
    return parts[0], parts[1]


def split_version(ref: str, version: Optional[str] = None) -> Tuple[str, str, str]:
    """A version named as ``("ns/model", "v1")``, ``"ns/model/v1"``,
    ``"ns/model@prod"`` (the newest version now in prod) or
    ``"ns/model@champion"`` (the version the model's alias points to). A
    selector is kept as it is (``"@prod"``): the server resolves it."""
    if version is not None:
        ns, model = split_model(ref)
        return ns, model, version
    parts = ref.split("/")
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    if len(parts) == 2 and "@" in parts[1]:
        model, _, sel = parts[1].partition("@")
        if parts[0] and model and sel:
            return parts[0], model, "@" + sel
    raise ValueError(f"flymodel: {ref!r}: want NAMESPACE/MODEL/VERSION, NAMESPACE/MODEL@LIFECYCLE "
                     "or NAMESPACE/MODEL@ALIAS (or give version=)")


def canonical_lifecycle(state: str) -> str:
    s = state.lower()
    return ALIASES.get(s, s)


def sha256_file(path: str, progress: Optional[Callable[[int], None]] = None) -> Tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    buf = bytearray(_transport.BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            k = f.readinto(buf)
            if not k:
                break
            h.update(view[:k])
            n += k
            if progress:
                progress(k)
    return h.hexdigest(), n


def version_digest(artifacts: List[Artifact]) -> str:
    """The content digest a version's artifacts make up: sha256 of the lines
    ``<sha256>  <name>\\n`` sorted by name (what sha256sum prints)."""
    if not artifacts:
        return ""
    lines = "".join(f"{a.sha256}  {a.name}\n" for a in sorted(artifacts, key=lambda a: a.name.encode()))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def _response_sha256(res: _transport.Response) -> str:
    """The sha256 the server's Repr-Digest / Digest headers give (hex)."""
    found = []
    for name in ("Repr-Digest", "Digest"):
        for v in res.headers.get_all(name) or []:
            for item in v.split(","):
                alg, sep, val = item.strip().partition("=")
                if not sep:
                    continue
                try:
                    if alg.lower() == "sha256":
                        raw = bytes.fromhex(val)
                    elif alg.lower() == "sha-256":
                        raw = base64.b64decode(val.strip(":"), validate=True)
                    else:
                        continue
                except (ValueError, binascii.Error):
                    raw = b""
                if len(raw) != 32:
                    raise errors.IntegrityError(f"the server's {name} header {v!r} is not a sha256")
                found.append(raw.hex())
    if not found:
        raise errors.IntegrityError("the server sent no sha256 digest to verify the bytes against")
    if any(d != found[0] for d in found[1:]):
        raise errors.IntegrityError(f"the server's digest headers disagree: {', '.join(found)}")
    return found[0]


class Client:
    """A flymodel server.

    ``server`` and ``token`` come from the arguments, else ``FLYMODEL_SERVER``
    / ``FLYMODEL_TOKEN``, else the configuration file's ``client.server`` and
    ``client.token`` (the file ``config`` names, else the CLI's search path:
    ``config/flymodel.{toml,yaml,yml,json,json5}``, ``./flymodel.toml``);
    ``token=""`` sends no token whatever they say.
    ``ca_file`` adds a private CA to the system's roots; ``cert_file`` and
    ``key_file`` are a client certificate for a server with mTLS (also from
    ``client.tls.*``). ``timeout`` bounds each socket operation, in seconds.
    Requests are retried, with backoff, only where that is safe: any request
    that could not connect; idempotent ones (GET, PUT, DELETE) on a broken
    connection and on 502/503/504 — as the Go client does.

    Models are named ``"namespace/model"``; versions as ``(model, version)``,
    where version may be ``"@prod"`` (the newest version now in prod).
    """

    def __init__(
        self,
        server: Optional[str] = None,
        token: Optional[str] = None,
        *,
        ca_file: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        timeout: float = 60.0,
        retries: int = 4,
        config: Optional[str] = None,
        progress: Optional[bool] = None,
    ) -> None:
        s = _config.resolve(server, token, ca_file, cert_file, key_file, config)
        if not s.server:
            raise ValueError(
                "flymodel: no server: give Client(server=...), set FLYMODEL_SERVER, or client.server in "
                + (s.source or "config/flymodel.toml"))
        self.settings = s
        self.progress = progress
        self._t = _transport.Transport(
            s.server, s.token or None, timeout=timeout, ca_file=s.ca_file or None,
            cert_file=s.cert_file or None, key_file=s.key_file or None, retries=retries)

    @property
    def server(self) -> str:
        return self._t.server

    def __repr__(self) -> str:
        return f"flymodel.Client({self.server!r}{', token=…' if self._t.token else ''})"

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------

    def _json(self, method: str, path: str, body: Any = None, query: Optional[Mapping[str, Any]] = None) -> Any:
        return self._t.request(method, path, json_body=body, query=query).json()

    def _paged(self, path: str, cls: type, query: Optional[Dict[str, Any]] = None,
               page_size: int = 100, limit: Optional[int] = None) -> Paged:
        q = dict(query or {})
        size = max(1, min(page_size, MAX_PAGE_SIZE))

        def fetch(page: int, size: int) -> Dict[str, Any]:
            return self._json("GET", path, query={**q, "page": page, "size": size})

        return Paged(fetch, cls.from_dict, cls, size, limit)

    def _items(self, path: str, cls: Any, key: str = "data") -> Items:
        doc = self._json("GET", path) or {}
        return Items([cls.from_dict(d) for d in (doc.get(key) or [])], cls)

    @staticmethod
    def _ns(ns: str) -> str:
        return f"{API}/namespaces/{_seg(ns)}"

    def _model(self, model: str) -> str:
        ns, m = split_model(model)
        return f"{self._ns(ns)}/models/{_seg(m)}"

    def _version(self, model: str, version: str) -> str:
        # A selector (@prod, @champion) is the path's version segment as it
        # is: the server resolves it, for every route.
        return f"{self._model(model)}/versions/{_seg(version)}"

    def _experiment(self, model: str, version: str, name: str) -> str:
        return f"{self._version(model, version)}/experiments/{_seg(name)}"

    def _owner(self, model: str, version: str, experiment: Optional[str]) -> str:
        return self._experiment(model, version, experiment) if experiment else self._version(model, version)

    # --- health ----------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """``/healthz``: the process answers."""
        return self._json("GET", "/healthz")

    def ready(self) -> Dict[str, Any]:
        """``/readyz``: the database and stores answer (raises Unavailable when not)."""
        return self._json("GET", "/readyz")

    # --- namespaces, buckets, tags -------------------------------------------

    def namespaces(self, *, page_size: int = 100, limit: Optional[int] = None) -> Paged[Namespace]:
        return self._paged(f"{API}/namespaces", Namespace, page_size=page_size, limit=limit)

    def get_namespace(self, name: str) -> Namespace:
        return Namespace.from_dict(self._json("GET", self._ns(name)))

    def create_namespace(self, name: str, description: str = "") -> Namespace:
        body: Dict[str, Any] = {"name": name}
        if description:
            body["description"] = description
        return Namespace.from_dict(self._json("POST", f"{API}/namespaces", body))

    def update_namespace(self, name: str, *, new_name: Optional[str] = None, description: Optional[str] = None) -> Namespace:
        body = {k: v for k, v in (("name", new_name), ("description", description)) if v is not None}
        return Namespace.from_dict(self._json("PATCH", self._ns(name), body))

    def delete_namespace(self, name: str, *, cascade: bool = False) -> None:
        self._t.request("DELETE", self._ns(name), query={"cascade": cascade or None})

    def buckets(self, namespace: str) -> Paged[Bucket]:
        return self._paged(f"{self._ns(namespace)}/buckets", Bucket)

    def create_bucket(self, namespace: str, name: str, role: str, region: str = "us-east-1") -> Bucket:
        body = {"name": name, "region": region, "role": canonical_lifecycle(role)}
        return Bucket.from_dict(self._json("POST", f"{self._ns(namespace)}/buckets", body))

    def delete_bucket(self, namespace: str, bucket_id: int) -> None:
        self._t.request("DELETE", f"{self._ns(namespace)}/buckets/{int(bucket_id)}")

    def tags(self, namespace: str) -> Paged[Tag]:
        return self._paged(f"{self._ns(namespace)}/tags", Tag)

    def create_tag(self, namespace: str, tag: str, color: Optional[str] = None) -> Tag:
        body = {"tag": tag}
        if color:
            body["color"] = color
        return Tag.from_dict(self._json("POST", f"{self._ns(namespace)}/tags", body))

    def delete_tag(self, namespace: str, tag: str) -> None:
        self._t.request("DELETE", f"{self._ns(namespace)}/tags/{_seg(tag)}")

    # --- models ----------------------------------------------------------------

    def models(self, namespace: str, *, name: Optional[str] = None, tag: Optional[str] = None,
               page_size: int = 100, limit: Optional[int] = None) -> Paged[Model]:
        """The models of a namespace; name= keeps those whose name holds it."""
        return self._paged(f"{self._ns(namespace)}/models", Model, {"name": name, "tag": tag}, page_size, limit)

    def get_model(self, model: str) -> Model:
        return Model.from_dict(self._json("GET", self._model(model)))

    def create_model(self, model: str, description: str = "", *, metadata: Optional[Mapping[str, Any]] = None) -> Model:
        """A new model; metadata is its model card's JSON object (see
        update_version)."""
        ns, name = split_model(model)
        body: Dict[str, Any] = {"name": name}
        if description:
            body["description"] = description
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return Model.from_dict(self._json("POST", f"{self._ns(ns)}/models", body))

    def update_model(self, model: str, *, new_name: Optional[str] = None, description: Optional[str] = None,
                     metadata: Optional[Mapping[str, Any]] = None) -> Model:
        """Rename a model and/or change its description; metadata replaces
        the whole object."""
        body: Dict[str, Any] = {k: v for k, v in (("name", new_name), ("description", description)) if v is not None}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return Model.from_dict(self._json("PATCH", self._model(model), body))

    def delete_model(self, model: str, *, cascade: bool = False) -> None:
        self._t.request("DELETE", self._model(model), query={"cascade": cascade or None})

    def tag_model(self, model: str, tag: str) -> None:
        self._t.request("PUT", f"{self._model(model)}/tags/{_seg(tag)}")

    def untag_model(self, model: str, tag: str) -> None:
        self._t.request("DELETE", f"{self._model(model)}/tags/{_seg(tag)}")

    # --- versions --------------------------------------------------------------

    def versions(self, model: str, *, state: Optional[str] = None, tag: Optional[str] = None,
                 page_size: int = 100, limit: Optional[int] = None) -> Paged[Version]:
        """The versions of a model, newest first; state= keeps one lifecycle."""
        st = canonical_lifecycle(state) if state else None
        return self._paged(f"{self._model(model)}/versions", Version, {"state": st, "tag": tag}, page_size, limit)

    def get_version(self, model: str, version: Optional[str] = None) -> Version:
        """A version: ``get_version("canada/llm.sm", "v1")``, ``"canada/llm.sm/v1"``
        or ``"canada/llm.sm@prod"``."""
        ns, m, v = split_version(model, version)
        return Version.from_dict(self._json("GET", self._version(f"{ns}/{m}", v)))

    def resolve(self, model: str, selector: str) -> Version:
        """A version name; ``@LIFECYCLE``: the newest version now in that
        lifecycle (the one created last among those in it; ``@staging`` is
        ``@stage``, any case); or ``@ALIAS``: the version the model's alias
        points to. The server resolves it (the selector is the path's
        version segment), so there is one resolution; one that names
        nothing raises NotFound saying what is missing."""
        if selector.startswith("@"):
            lifecycle = canonical_lifecycle(selector[1:])
            if lifecycle in LIFECYCLES:
                selector = "@" + lifecycle
        return Version.from_dict(self._json("GET", self._version(model, selector)))

    def create_version(self, model: str, version: str, *, state: Optional[str] = None, description: str = "",
                       metadata: Optional[Mapping[str, Any]] = None, parents: Optional[Sequence[Any]] = None) -> Version:
        """A new version; metadata is its model card's JSON object, parents
        the versions it was made from (see set_parents)."""
        body: Dict[str, Any] = {"version": version}
        if state:
            body["state"] = canonical_lifecycle(state)
        if description:
            body["description"] = description
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if parents:
            body["parents"] = _parent_refs(parents)
        return Version.from_dict(self._json("POST", f"{self._model(model)}/versions", body))

    def update_version(self, model: str, version: str, *, description: Optional[str] = None,
                       metadata: Optional[Mapping[str, Any]] = None) -> Version:
        """Change a version's description and/or metadata (a sealed
        version's too). metadata replaces the whole object (``{}`` clears
        it); its documented keys (license, framework, task, base_model,
        datasets, code, parameters) are checked by the server
        (ValidationError naming the member)."""
        body: Dict[str, Any] = {}
        if description is not None:
            body["description"] = description
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return Version.from_dict(self._json("PATCH", self._version(model, version), body))

    def delete_version(self, model: str, version: str, *, hard: bool = False, cascade: bool = False) -> None:
        """Soft-delete a version (hard: remove it). A version that live
        versions name as a parent raises Conflict unless cascade, which
        removes those links."""
        self._t.request("DELETE", self._version(model, version), query={"hard": hard or None, "cascade": cascade or None})

    def set_state(self, model: str, version: str, state: str) -> Version:
        """Move a version to a lifecycle (a promotion or a rollback). A gate
        not met raises PromotionGateError (``missing``, ``not_passed``)."""
        body = {"state": canonical_lifecycle(state)}
        return Version.from_dict(self._json("PUT", f"{self._version(model, version)}/state", body))

    promote = set_state

    def history(self, model: str, version: str) -> Items[StateChange]:
        """The version's lifecycle changes, oldest first."""
        return self._items(f"{self._version(model, version)}/history", StateChange)

    def version_tags(self, model: str, version: str) -> Items[Tag]:
        return self._items(f"{self._version(model, version)}/tags", Tag)

    def tag_version(self, model: str, version: str, tag: str) -> None:
        self._t.request("PUT", f"{self._version(model, version)}/tags/{_seg(tag)}")

    def untag_version(self, model: str, version: str, tag: str) -> None:
        self._t.request("DELETE", f"{self._version(model, version)}/tags/{_seg(tag)}")

    # --- experiments -----------------------------------------------------------

    def experiments(self, model: str, version: str, *, state: Optional[str] = None,
                    page_size: int = 100, limit: Optional[int] = None) -> Paged[Experiment]:
        return self._paged(f"{self._version(model, version)}/experiments", Experiment, {"state": state}, page_size, limit)

    def get_experiment(self, model: str, version: str, name: str) -> Experiment:
        return Experiment.from_dict(self._json("GET", self._experiment(model, version, name)))

    def create_experiment(self, model: str, version: str, name: str, params: Optional[Mapping[str, Any]] = None) -> Experiment:
        body: Dict[str, Any] = {"name": name}
        if params:
            body["params"] = dict(params)
        return Experiment.from_dict(self._json("POST", f"{self._version(model, version)}/experiments", body))

    def set_experiment_state(self, model: str, version: str, name: str, state: str, *,
                             metrics: Optional[Mapping[str, Any]] = None, duration_ms: Optional[int] = None) -> Experiment:
        """created -> running -> passed | failed; the result (metrics, duration)
        is recorded once, with passed or failed."""
        body: Dict[str, Any] = {"state": state}
        if metrics is not None:
            body["metrics"] = dict(metrics)
        if duration_ms is not None:
            body["duration_ms"] = int(duration_ms)
        return Experiment.from_dict(self._json("PUT", f"{self._experiment(model, version, name)}/state", body))

    def start_experiment(self, model: str, version: str, name: str) -> Experiment:
        return self.set_experiment_state(model, version, name, "running")

    def finish_experiment(self, model: str, version: str, name: str, passed: bool, *,
                          metrics: Optional[Mapping[str, Any]] = None, duration_ms: Optional[int] = None) -> Experiment:
        return self.set_experiment_state(model, version, name, "passed" if passed else "failed",
                                         metrics=metrics, duration_ms=duration_ms)

    def delete_experiment(self, model: str, version: str, name: str, *, hard: bool = False) -> None:
        self._t.request("DELETE", self._experiment(model, version, name), query={"hard": hard or None})

    def experiment_tags(self, model: str, version: str, name: str) -> Items[Tag]:
        return self._items(f"{self._experiment(model, version, name)}/tags", Tag)

    def tag_experiment(self, model: str, version: str, name: str, tag: str) -> None:
        self._t.request("PUT", f"{self._experiment(model, version, name)}/tags/{_seg(tag)}")

    def untag_experiment(self, model: str, version: str, name: str, tag: str) -> None:
        self._t.request("DELETE", f"{self._experiment(model, version, name)}/tags/{_seg(tag)}")

    def experiment(self, model: str, version: str, name: str, *, params: Optional[Mapping[str, Any]] = None) -> "Run":
        """A context manager that runs an experiment::

            with client.experiment("canada/llm.sm", "v1.2.0", "eval", params={"lr": 1e-3}) as run:
                run.log_metrics({"accuracy": evaluate()})

        It creates the experiment (or takes the one of that name that has not
        run yet) and moves it to running; a clean exit records ``passed`` with
        the metrics logged and the measured duration, an exception records
        ``failed`` (its message in the metrics, as ``error``) and re-raises.
        """
        from .experiment import Run

        return Run(self, model, version, name, params)

    # --- artifacts -------------------------------------------------------------

    def artifacts(self, model: str, version: str, *, experiment: Optional[str] = None,
                  page_size: int = MAX_PAGE_SIZE) -> Paged[Artifact]:
        """The artifacts of a version (or of one of its experiments), by name."""
        return self._paged(f"{self._owner(model, version, experiment)}/artifacts", Artifact, page_size=page_size)

    def get_artifact(self, model: str, version: str, name: str, *, experiment: Optional[str] = None) -> Artifact:
        """One artifact's record (read from the list: GET of its path is its bytes)."""
        for a in self.artifacts(model, version, experiment=experiment):
            if a.name == name:
                return a
        where = f"{model}/{version}" + (f"/experiments/{experiment}" if experiment else "")
        raise errors.NotFound(f"artifact {name} of {where} not found", status=404, type="not-found")

    def upload(
        self,
        model: str,
        version: str,
        name: str,
        source: Source,
        *,
        experiment: Optional[str] = None,
        format: Optional[str] = None,
        encoding: Optional[str] = None,
        extra: Optional[Mapping[str, Any]] = None,
        content_type: Optional[str] = None,
        file_name: Optional[str] = None,
        sha256: Optional[str] = None,
        progress: Optional[bool] = None,
    ) -> Artifact:
        """Store a file (a path), in-memory bytes or a binary file object as
        the artifact ``name`` of a version or of one of its experiments.

        The bytes are hashed first and the sha256 sent ahead: the server
        refuses bytes that do not match (DigestMismatch), answers at once when
        it already holds them, and the upload streams from disk in 256 KiB
        blocks whatever the file's size. The answer's ``created`` is True for
        a new artifact, False when it already held these bytes; other bytes
        under the name raise ImmutableError, a sealed version SealedError.
        """
        path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        spool: Optional[BinaryIO] = None
        owner = self._owner(model, version, experiment)
        query: Dict[str, Any] = {"format": format, "encoding": encoding, "file_name": file_name,
                                 "extra": dict(extra) if extra else None}
        headers = {"Content-Type": content_type or "application/octet-stream"}
        show = self.progress if progress is None else progress
        if path is not None:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"flymodel: upload {name}: {path} is not a file")
            if not sha256:
                sha256, size = sha256_file(path)
            else:
                size = os.path.getsize(path)
            headers["Digest"] = "sha256=" + sha256.lower()
            with open(path, "rb") as f, Progress(name, size, show) as bar:
                res = self._t.request("PUT", f"{owner}/artifacts/{_artifact_seg(name)}", query=query, body=f,
                                      length=size, headers=headers, progress=bar.update if bar.active else None)
        else:
            if isinstance(source, (bytes, bytearray, memoryview)):
                data: Union[bytes, BinaryIO] = bytes(source)
                size = len(data)
                if not sha256:
                    sha256 = hashlib.sha256(data).hexdigest()
            else:
                data = cast(BinaryIO, source)  # a binary file object
                if not data.seekable():
                    # Hash and send in one pass needs its length: spool it.
                    spool = tempfile.TemporaryFile()
                    while True:
                        b = data.read(_transport.BLOCK)
                        if not b:
                            break
                        spool.write(b)
                    data = spool
                    data.seek(0)
                start = data.tell()
                h = hashlib.sha256()
                while True:
                    b = data.read(_transport.BLOCK)
                    if not b:
                        break
                    h.update(b)
                size = data.tell() - start
                data.seek(start)
                sha256 = sha256 or h.hexdigest()
            headers["Digest"] = "sha256=" + sha256.lower()
            try:
                with Progress(name, size, show) as bar:
                    res = self._t.request("PUT", f"{owner}/artifacts/{_artifact_seg(name)}", query=query, body=data,
                                          length=size, headers=headers, progress=bar.update if bar.active else None)
            finally:
                if spool is not None:
                    spool.close()  # the copy of a stream that cannot seek
        a = Artifact.from_dict(res.json())
        a.created = res.status == 201
        return a

    def _open_download(self, path: str) -> Tuple[_transport.Response, str]:
        """The answer streaming an artifact's bytes and the sha256 they must
        have: from the store directly when the server redirects (S3), the
        presigned URL fetched without the token."""
        res = self._t.request("GET", path, query={"redirect": "true"}, stream=True, ok=(307,))
        if res.status == 307:
            want = _response_sha256(res)
            location = res.header("Location")
            res.close()
            try:
                direct = self._t.request("GET", external=location, stream=True)
                return direct, want
            except errors.TransportError:
                pass  # the store cannot be reached from here: through the server
            res = self._t.request("GET", path, stream=True)
        return res, _response_sha256(res)

    def download(self, model: str, version: str, name: str, dest: Union[str, "os.PathLike[str]"], *,
                 experiment: Optional[str] = None, progress: Optional[bool] = None) -> Artifact:
        """Download an artifact to the file dest (a folder: dest/<file name>),
        verified: written to a temporary file beside it, its sha256 and size
        checked, then renamed into place. A mismatch raises IntegrityError
        and leaves no file. A file already there with the right sha256 is
        not downloaded again."""
        a = self.get_artifact(model, version, name, experiment=experiment)
        dest = os.fspath(dest)
        if os.path.isdir(dest):
            # The server refuses a file_name with a separator; never trust
            # one to stay inside dest all the same.
            base = os.path.basename((a.file_name or "").replace("\\", "/"))
            if base in ("", ".", ".."):
                base = name.rsplit("/", 1)[-1]
            dest = os.path.join(dest, base)
        if os.path.isfile(dest) and os.path.getsize(dest) == a.size and sha256_file(dest)[0] == a.sha256:
            return a
        path = f"{self._owner(model, version, experiment)}/artifacts/{_artifact_seg(name)}"
        show = self.progress if progress is None else progress
        with Progress(name, a.size, show) as bar:
            self._fetch_to(path, dest, a, bar.update if bar.active else None)
        return a

    def read(self, model: str, version: str, name: str, *, experiment: Optional[str] = None) -> bytes:
        """An artifact's bytes, verified against its sha256 (for small ones)."""
        buf = io.BytesIO()
        path = f"{self._owner(model, version, experiment)}/artifacts/{_artifact_seg(name)}"
        res, want = self._open_download(path)
        try:
            h = hashlib.sha256()
            for block in _transport.iter_body(res):
                h.update(block)
                buf.write(block)
        finally:
            res.close()
        if h.hexdigest() != want:
            raise errors.IntegrityError(f"{name}: the bytes received hash to {h.hexdigest()}, want {want}",
                                        artifact=name, expected=want, actual=h.hexdigest())
        return buf.getvalue()

    def _fetch_to(self, path: str, dest: str, a: Artifact, report: Optional[Callable[[int], None]]) -> None:
        folder = os.path.dirname(os.path.abspath(dest))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(dest) + ".", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                res, want = self._open_download(path)
                try:
                    h = hashlib.sha256()
                    n = 0
                    for block in _transport.iter_body(res):
                        h.update(block)
                        out.write(block)
                        n += len(block)
                        if report:
                            report(len(block))
                finally:
                    res.close()
                got = h.hexdigest()
                if want != a.sha256:
                    raise errors.IntegrityError(
                        f"{a.name}: the server's digest {want} is not the recorded sha256 {a.sha256}",
                        artifact=a.name, expected=a.sha256, actual=want)
                if got != a.sha256 or n != a.size:
                    raise errors.IntegrityError(
                        f"{a.name}: the {n} bytes received hash to {got}, want {a.sha256} ({a.size} bytes)",
                        artifact=a.name, expected=a.sha256, actual=got)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def download_archive(self, model: str, version: str, dest: Union[str, "os.PathLike[str]"]) -> str:
        """The version's artifacts as one tar file (``…/archive``), written to
        dest; returns the ``Version-Digest`` it holds."""
        res = self._t.request("GET", f"{self._version(model, version)}/archive", stream=True)
        dest = os.fspath(dest)
        tmp = dest + ".part"
        try:
            with open(tmp, "wb") as out:
                for block in _transport.iter_body(res):
                    out.write(block)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        finally:
            res.close()
        return res.header("Version-Digest")

    def pull(self, ref: str, dest: Optional[Union[str, "os.PathLike[str]"]] = None, *, version: Optional[str] = None,
             parallel: int = 4, dry: bool = False, progress: Optional[bool] = None) -> "PullResult":
        """Download a whole version into dest (default ``./MODEL-VERSION``):
        ``pull("canada/llm.sm@prod", "models/llm")``. See flymodel.pull."""
        from .pull import pull

        return pull(self, ref, dest, version=version, parallel=parallel, dry=dry,
                    progress=self.progress if progress is None else progress)

    def upsert(self, namespace: str, model: str, version: str, *,
               artifacts: Optional[Union[Mapping[str, Any], Iterable[Any]]] = None, state: Optional[str] = None,
               experiments: Optional[Any] = None, dry: bool = False, progress: Optional[bool] = None) -> "UpsertResult":
        """Register a version idempotently, as ``flymodel upsert`` does. See
        flymodel.upsert."""
        from .upsert import upsert

        return upsert(self, namespace, model, version, artifacts=artifacts, state=state, experiments=experiments,
                      dry=dry, progress=self.progress if progress is None else progress)

    # --- aliases ---------------------------------------------------------------

    def set_alias(self, model: str, alias: str, version: str) -> Alias:
        """Point a model's alias to a version (a name, or a selector such as
        ``"@prod"`` resolved now), creating or moving it. A lifecycle name or
        a name starting with '@' raises ValidationError, an unknown version
        NotFound; a protected alias (the server's ``aliases.protected``)
        needs its rule's role (Forbidden) and a version in its rule's
        lifecycle (Conflict, type ``alias-protected``)."""
        body = {"version": version}
        return Alias.from_dict(self._json("PUT", f"{self._model(model)}/aliases/{_seg(alias)}", body))

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove a model's alias (its history keeps the removal)."""
        self._t.request("DELETE", f"{self._model(model)}/aliases/{_seg(alias)}")

    def get_alias(self, model: str, alias: str) -> Alias:
        return Alias.from_dict(self._json("GET", f"{self._model(model)}/aliases/{_seg(alias)}"))

    def aliases(self, model: str) -> Items[Alias]:
        """A model's aliases, by name."""
        return self._items(f"{self._model(model)}/aliases", Alias)

    def alias_history(self, model: str, alias: str, *, page_size: int = 100,
                      limit: Optional[int] = None) -> Paged[AliasChange]:
        """An alias's changes, newest first: ``from_`` None when it was
        created, ``to`` None when it was removed."""
        return self._paged(f"{self._model(model)}/aliases/{_seg(alias)}/history", AliasChange,
                           page_size=page_size, limit=limit)

    # --- tokens and audit --------------------------------------------------

    def tokens(self) -> Items[Token]:
        """The API tokens (an unscoped admin's)."""
        return self._items(f"{API}/tokens", Token, key="items")

    def create_token(self, name: str, role: str, namespaces: Optional[List[str]] = None,
                     expires_in: Optional[str] = None) -> CreatedToken:
        """A new token; its ``secret`` is shown this once."""
        body: Dict[str, Any] = {"name": name, "role": role, "namespaces": list(namespaces or ["*"])}
        if expires_in:
            body["expires_in"] = expires_in
        return CreatedToken.from_dict(self._json("POST", f"{API}/tokens", body))

    def revoke_token(self, name: str) -> None:
        self._t.request("DELETE", f"{API}/tokens/{_seg(name)}")

    def audit(self, *, namespace: Optional[str] = None, actor: Optional[str] = None, action: Optional[str] = None,
              outcome: Optional[str] = None, since: Any = None, until: Any = None,
              limit: Optional[int] = None, page_size: int = MAX_PAGE_SIZE) -> Iterator[AuditRecord]:
        """The audit log, oldest first, read page by page (the ``next`` cursor)."""
        q: Dict[str, Any] = {"namespace": namespace, "actor": actor, "action": action, "outcome": outcome,
                             "since": _rfc3339(since), "until": _rfc3339(until), "limit": page_size}
        after, seen = 0, 0
        while True:
            doc = self._json("GET", f"{API}/audit", query={**q, "after": after or None}) or {}
            items = doc.get("items") or []
            for d in items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield AuditRecord.from_dict(d)
            nxt = int(doc.get("next") or 0)
            if not items or nxt <= after:
                return
            after = nxt

    # --- lineage and diff (issue 17) -----------------------------------------

    def parents(self, model: str, version: str) -> Items[Parent]:
        """The versions a version was made from (in namespaces the caller may read)."""
        return self._items(f"{self._version(model, version)}/parents", Parent)

    def set_parents(self, model: str, version: str, parents: Sequence[Any]) -> Items[Parent]:
        """Replace a version's parents while it is not sealed (SealedError
        after): ``set_parents("nlp/small", "v2", [("nlp/base/v3", "distilled"),
        ("v1", "fine-tuned")])``; a pair is (version, relation), the version a
        name of the same model or ``ns/model/version``; a dict is the API's
        ``{version, relation, namespace?, model?}``. Relations: fine-tuned,
        distilled, derived, quantized, merged. A parent that is missing or
        unreadable raises NotFound, a cycle ValidationError; ``[]`` removes
        them all."""
        doc = self._json("PUT", f"{self._version(model, version)}/parents", {"parents": _parent_refs(parents)}) or {}
        return Items([Parent.from_dict(d) for d in (doc.get("data") or [])], Parent)

    def lineage(self, model: str, version: str, *, depth: Optional[int] = None) -> Lineage:
        """A version's ancestors and descendants, depth links each way
        (server default 3, at most 10)."""
        return Lineage.from_dict(self._json("GET", f"{self._version(model, version)}/lineage", query={"depth": depth}))

    def diff(self, model: str, a: str, b: str) -> Diff:
        """Compare version a of model with version b: a version of the same
        model, or ``ns/model/version`` of another. Both may be ``@LIFECYCLE``."""
        path = self._version(model, a) + "/diff"
        if "/" in b:
            ns, m, v = split_version(b)
            if v.startswith("@"):
                v = self.resolve(f"{ns}/{m}", v).version
            return Diff.from_dict(self._json("GET", path, query={"other": "/" + "/".join(_seg(x) for x in (ns, m, v))}))
        if b.startswith("@"):
            b = self.resolve(model, b).version
        return Diff.from_dict(self._json("GET", f"{path}/{_seg(b)}"))


    # --- search (the filter language) ------------------------------------

    def _search(self, resource: str, cls: Any, filter: Optional[str], order_by: Optional[str],
                limit: Optional[int], page_size: int) -> Iterator[Any]:
        q: Dict[str, Any] = {"filter": filter or None, "order_by": order_by or None,
                             "limit": max(1, min(page_size, MAX_PAGE_SIZE))}
        after: Optional[str] = None
        seen = 0
        while True:
            doc = self._json("GET", f"{API}/{resource}", query={**q, "after": after}) or {}
            for d in doc.get("data") or []:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield cls.from_dict(d)
            nxt = doc.get("next")
            if not nxt or nxt == after:
                return
            after = nxt

    def search_versions(self, filter: Optional[str] = None, order_by: Optional[str] = None, *,
                        limit: Optional[int] = None, page_size: int = 100) -> Iterator[Version]:
        """The live versions of every namespace the token reads that a filter
        selects (README: Search: the filter language), newest first or in
        order_by ("name", "created_at asc", ...), read page by page through
        the ``next`` cursors, e.g.
        ``search_versions('state = "prod" AND experiments.eval.metrics.accuracy >= 0.9')``.
        A filter that does not parse raises BadRequest (type invalid-filter)
        naming the position and what was expected."""
        return self._search("versions", Version, filter, order_by, limit, page_size)

    def search_models(self, filter: Optional[str] = None, order_by: Optional[str] = None, *,
                      limit: Optional[int] = None, page_size: int = 100) -> Iterator[Model]:
        """The models a filter selects, e.g. ``search_models('tags = "nlp"')``
        (see search_versions)."""
        return self._search("models", Model, filter, order_by, limit, page_size)

    def search_experiments(self, filter: Optional[str] = None, order_by: Optional[str] = None, *,
                           limit: Optional[int] = None, page_size: int = 100) -> Iterator[Experiment]:
        """The live experiments a filter selects, e.g.
        ``search_experiments("metrics.accuracy >= 0.9", "metrics.accuracy desc")``
        (see search_versions)."""
        return self._search("experiments", Experiment, filter, order_by, limit, page_size)


def _parent_refs(parents: Sequence[Any]) -> List[Dict[str, Any]]:
    """Parents as the API takes them: each a dict (version, relation,
    optional namespace and model) or a pair (version, relation) where
    version is a name of the child's model or ``ns/model/version``."""
    out: List[Dict[str, Any]] = []
    for p in parents:
        if isinstance(p, Mapping):
            out.append(dict(p))
            continue
        version, relation = p
        if "/" in version and not version.startswith("/"):
            version = "/" + "/".join(_seg(x) for x in version.split("/"))
        out.append({"version": version, "relation": relation})
    return out


def _rfc3339(t: Any) -> Optional[str]:
    if t is None:
        return None
    if hasattr(t, "isoformat"):
        if getattr(t, "tzinfo", None) is None:
            raise ValueError("flymodel: since/until: give a timezone-aware datetime")
        return t.isoformat()
    return str(t)


from .pull import PullResult  # noqa: E402  (for the annotations)
from .experiment import Run  # noqa: E402
from .upsert import UpsertResult  # noqa: E402
