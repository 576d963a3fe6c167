"""What the server answers, as small dataclasses, and lists that page.

Field names are the API's (snake_case); times are timezone-aware
``datetime`` objects in UTC; members the server adds later are ignored, so
an older client keeps working against a newer server.
"""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, Generic, Iterable, Iterator, List, Optional, Sequence, Type, TypeVar

T = TypeVar("T")

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(v: Any) -> Optional[datetime]:
    """An RFC 3339 time (the API's), as an aware datetime; None stays None."""
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v
    s = str(v)
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    # fromisoformat before 3.11 takes 3 or 6 fractional digits only.
    s = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], s, count=1)
    return datetime.fromisoformat(s)


def _build(cls: Type[T], d: Dict[str, Any]) -> T:
    kw: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in d:
            continue
        v = d[f.name]
        if f.metadata.get("time"):
            v = parse_time(v)
        kw[f.name] = v
    obj = cls(**kw)
    return obj


def _time() -> Any:
    return field(default=None, metadata={"time": True})


class _Resource:
    @classmethod
    def from_dict(cls: Type[T], d: Dict[str, Any]) -> T:
        return _build(cls, d)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def _repr_html_(self) -> str:
        return _html_table([self], _columns(type(self)))


@dataclass
class Namespace(_Resource):
    id: int = 0
    name: str = ""
    description: str = ""
    created_at: Optional[datetime] = _time()
    updated_at: Optional[datetime] = _time()


@dataclass
class Bucket(_Resource):
    id: int = 0
    namespace: str = ""
    name: str = ""
    region: str = ""
    role: str = ""
    created_at: Optional[datetime] = _time()


@dataclass
class Tag(_Resource):
    id: int = 0
    namespace: str = ""
    tag: str = ""
    color: str = ""
    created_at: Optional[datetime] = _time()


@dataclass
class Model(_Resource):
    id: int = 0
    namespace: str = ""
    name: str = ""
    description: str = ""
    tags: List[str] = field(default_factory=list)
    aliases: List[str] = field(default_factory=list)
    created_at: Optional[datetime] = _time()
    updated_at: Optional[datetime] = _time()
    metadata: Dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``namespace/model``."""
        return f"{self.namespace}/{self.name}"


@dataclass
class Version(_Resource):
    id: int = 0
    namespace: str = ""
    model: str = ""
    version: str = ""
    state: str = ""
    state_changed_at: Optional[datetime] = _time()
    sealed: bool = False
    sealed_at: Optional[datetime] = _time()
    digest: str = ""
    description: str = ""
    tags: List[str] = field(default_factory=list)
    aliases: List[str] = field(default_factory=list)
    created_at: Optional[datetime] = _time()
    updated_at: Optional[datetime] = _time()
    metadata: Dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``namespace/model/version``."""
        return f"{self.namespace}/{self.model}/{self.version}"


@dataclass
class StateChange(_Resource):
    from_: Optional[str] = None
    to: str = ""
    actor: str = ""
    changed_at: Optional[datetime] = _time()

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "StateChange":
        return cls(from_=d.get("from"), to=d.get("to", ""), actor=d.get("actor", ""),
                   changed_at=parse_time(d.get("changed_at")))


@dataclass
class Alias(_Resource):
    """A model's alias: a named, movable pointer to one of its versions."""

    alias: str = ""
    version: str = ""
    model: str = ""
    namespace: str = ""
    updated_at: Optional[datetime] = _time()
    updated_by: str = ""

    @property
    def ref(self) -> str:
        """``namespace/model@alias``: names the version wherever one is named."""
        return f"{self.namespace}/{self.model}@{self.alias}"


@dataclass
class AliasChange(_Resource):
    """One entry of an alias's history."""

    alias: str = ""
    from_: Optional[str] = None
    to: Optional[str] = None
    actor: str = ""
    changed_at: Optional[datetime] = _time()

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "AliasChange":
        return cls(alias=d.get("alias", ""), from_=d.get("from"), to=d.get("to"), actor=d.get("actor", ""),
                   changed_at=parse_time(d.get("changed_at")))


@dataclass
class Experiment(_Resource):
    id: int = 0
    namespace: str = ""
    model: str = ""
    version: str = ""
    name: str = ""
    state: str = ""
    retries: int = 0
    params: Optional[Dict[str, Any]] = None
    metrics: Optional[Dict[str, Any]] = None
    duration_ms: Optional[int] = None
    started_at: Optional[datetime] = _time()
    finished_at: Optional[datetime] = _time()
    created_at: Optional[datetime] = _time()
    updated_at: Optional[datetime] = _time()

    @property
    def passed(self) -> bool:
        return self.state == "passed"


@dataclass
class Artifact(_Resource):
    id: int = 0
    version_id: int = 0
    experiment_id: int = 0
    name: str = ""
    file_name: str = ""
    content_type: str = ""
    format: Optional[str] = None
    encoding: str = ""
    extra: Optional[Dict[str, Any]] = None
    sha256: str = ""
    size: int = 0
    blob: int = 0
    created_at: Optional[datetime] = _time()
    url: str = ""
    # Set by Client.upload: True for a new artifact, False when the server
    # already held these bytes under the name; None elsewhere.
    created: Optional[bool] = None


@dataclass
class Token(_Resource):
    id: int = 0
    name: str = ""
    role: str = ""
    namespaces: List[str] = field(default_factory=list)
    status: str = ""
    created_by: str = ""
    created_at: Optional[datetime] = _time()
    expires_at: Optional[datetime] = _time()
    revoked_at: Optional[datetime] = _time()


@dataclass
class CreatedToken(Token):
    secret: str = ""

    def __repr__(self) -> str:  # never print the secret by accident
        return f"CreatedToken(name={self.name!r}, role={self.role!r}, namespaces={self.namespaces!r}, secret='fm_…')"


@dataclass
class AuditRecord(_Resource):
    id: int = 0
    at: Optional[datetime] = _time()
    actor: str = ""
    action: str = ""
    target: str = ""
    namespace: str = ""
    outcome: str = ""
    request_id: str = ""
    detail: Any = None
    repeats: int = 0
    last_at: Optional[datetime] = _time()


@dataclass
class Parent(_Resource):
    """A parent of a version (lineage): what it was made from."""

    namespace: str = ""
    model: str = ""
    version: str = ""
    path: str = ""
    relation: str = ""


@dataclass
class Lineage(_Resource):
    """The graph around a version: ``nodes`` (dicts with namespace, model,
    version, path, state, digest and depth: negative for ancestors) and
    ``edges`` (child, parent, relation); ``hidden`` counts the versions in
    namespaces the caller may not read."""

    root: str = ""
    depth: int = 0
    nodes: List[Dict[str, Any]] = field(default_factory=list)
    edges: List[Dict[str, Any]] = field(default_factory=list)
    hidden: int = 0


@dataclass
class Diff(_Resource):
    """Two versions compared: ``a`` and ``b`` (Versions, with both digests),
    ``artifacts`` (added, removed, changed, unchanged), ``description``
    (``{"a", "b"}`` or None when equal), ``metadata`` (the keys that differ:
    ``{"key", "a", "b"}``) and ``experiments`` (``{"name", "a_state",
    "b_state", "metrics": [{"key", "a", "b"}]}``)."""

    a: Version = field(default_factory=Version)
    b: Version = field(default_factory=Version)
    artifacts: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    description: Optional[Dict[str, str]] = None
    metadata: List[Dict[str, Any]] = field(default_factory=list)
    experiments: List[Dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Diff":  # type: ignore[override]
        out = _build(cls, d)
        out.a = Version.from_dict(d.get("a") or {})
        out.b = Version.from_dict(d.get("b") or {})
        return out


def _columns(cls: type) -> List[str]:
    skip = {"id", "version_id", "experiment_id", "blob", "updated_at", "description", "extra", "detail",
            "request_id", "last_at", "repeats", "created_by", "state_changed_at", "sealed_at", "started_at"}
    return [f.name for f in dataclasses.fields(cls) if f.name not in skip]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={x}" for k, x in v.items())
    if isinstance(v, str) and re.fullmatch(r"(sha256:)?[0-9a-f]{64}", v):
        return v[: v.find(":") + 13] + "…"  # a digest: its start is enough
    if isinstance(v, bool):
        return "✓" if v else ""
    return str(v)


def _html_table(rows: Sequence[Any], columns: List[str], footer: str = "") -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(c.rstrip('_'))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(_cell(getattr(r, c, None)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    foot = f"<caption style='caption-side:bottom;text-align:left'>{html.escape(footer)}</caption>" if footer else ""
    return f"<table>{foot}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _frame(items: Iterable[Any]) -> Any:
    try:
        import pandas as pd  # type: ignore[import-not-found,import-untyped]
    except ImportError as e:
        raise ImportError("to_pandas needs pandas: pip install pandas") from e
    return pd.DataFrame([dataclasses.asdict(x) for x in items])


class Paged(Generic[T]):
    """A list the server answers page by page: iterating it fetches the
    pages as they are needed (``page_size`` items each). ``total`` is the
    server's count (one request when nothing was fetched yet). Iterate it
    again to read it again from the server."""

    def __init__(self, fetch: Callable[[int, int], Dict[str, Any]], parse: Callable[[Dict[str, Any]], T],
                 cls: type, page_size: int = 100, limit: Optional[int] = None) -> None:
        self._fetch = fetch
        self._parse = parse
        self._cls = cls
        self.page_size = page_size
        self.limit = limit
        self._first: Optional[Dict[str, Any]] = None

    def _page(self, n: int, fresh: bool = False) -> Dict[str, Any]:
        if n == 1 and self._first is not None and not fresh:
            return self._first
        doc = self._fetch(n, self.page_size)
        if n == 1:
            self._first = doc
        return doc

    def __iter__(self) -> Iterator[T]:
        n, seen = 1, 0
        while True:
            doc = self._page(n, fresh=True)  # each iteration reads the list anew
            data = doc.get("data") or []
            for d in data:
                if self.limit is not None and seen >= self.limit:
                    return
                seen += 1
                yield self._parse(d)
            total_pages = int(doc.get("total_pages") or 0)
            if not data or n >= total_pages:
                return
            n += 1
        # the first page is kept for total/_repr_html_ only

    @property
    def total(self) -> int:
        return int(self._page(1).get("total_items") or 0)

    def __len__(self) -> int:
        t = self.total
        return t if self.limit is None else min(t, self.limit)

    def to_list(self) -> List[T]:
        return list(self)

    def first(self) -> Optional[T]:
        for x in self:
            return x
        return None

    def to_pandas(self) -> Any:
        """The items as a pandas DataFrame (pandas must be installed)."""
        return _frame(self)

    def _repr_html_(self) -> str:
        doc = self._page(1)
        rows = [self._parse(d) for d in (doc.get("data") or [])][:25]
        total = len(self)
        footer = f"{len(rows)} of {total}" if total > len(rows) else f"{total} item(s)"
        return _html_table(rows, _columns(self._cls), footer)

    def __repr__(self) -> str:
        return f"<flymodel list of {self._cls.__name__}: iterate it, or .to_list()>"


class Items(List[T]):
    """A list answered whole (history, tags, tokens), with the same notebook
    niceties as Paged."""

    def __init__(self, items: Sequence[T], cls: type) -> None:
        super().__init__(items)
        self._cls = cls

    def to_list(self) -> List[T]:
        return list(self)

    def to_pandas(self) -> Any:
        """The items as a pandas DataFrame (pandas must be installed)."""
        return _frame(self)

    def _repr_html_(self) -> str:
        return _html_table(self[:50], _columns(self._cls), f"{len(self)} item(s)")
