"""Exceptions of the flymodel client.

Every answer the server gives as ``application/problem+json`` (RFC 9457)
becomes an exception of the class its problem ``type`` belongs to; its
message is the server's ``detail``. The problem's members are attributes
(``existing``, ``missing``, ``not_passed``, ...) and the whole document is
``problem``. Catch a broad class (``Conflict``) or a narrow one
(``ImmutableError``) as the case needs::

    try:
        client.set_state("canada/llm.sm", "v1.2.0", "prod")
    except flymodel.PromotionGateError as e:
        print("missing:", e.missing, "not passed:", e.not_passed)
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Type

__all__ = [
    "FlymodelError",
    "BadRequest",
    "InvalidName",
    "DigestMismatch",
    "ValidationError",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "ImmutableError",
    "SealedError",
    "PromotionGateError",
    "InvalidTransition",
    "NoStore",
    "TooLarge",
    "TooManyRequests",
    "ServerError",
    "Unavailable",
    "IntegrityError",
    "TransportError",
]

PROBLEM_TYPE_BASE = "https://flymodel.dev/problems/"


class FlymodelError(Exception):
    """Base of every error of the client.

    ``status`` is the HTTP status (None for an error found by the client
    itself), ``type`` the problem's slug (``not-found``), ``detail`` the
    server's explanation, ``request_id`` the id to quote to an operator, and
    ``problem`` the whole problem document.
    """

    status: Optional[int]
    type: str
    title: str
    detail: str
    request_id: str
    instance: str
    problem: Dict[str, Any]

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        type: str = "",
        title: str = "",
        request_id: str = "",
        instance: str = "",
        problem: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.title = title
        self.detail = message
        self.request_id = request_id
        self.instance = instance
        self.problem = dict(problem or {})

    def __reduce__(self) -> Any:
        # Pickled (multiprocessing, joblib) with its status and problem.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def __getattr__(self, name: str) -> Any:
        # A problem's own members (existing, expected, actual, ...) read as
        # attributes; an unknown one is an AttributeError as usual.
        problem = self.__dict__.get("problem") or {}
        if name in problem:
            return problem[name]
        raise AttributeError(name)

    def __str__(self) -> str:
        msg = self.detail or self.title or self.type or "error"
        if self.status is not None and self.status >= 500 and self.request_id:
            msg += f" (request id {self.request_id})"
        return msg


def _rebuild(cls: Type["FlymodelError"], args: Any, state: Dict[str, Any]) -> "FlymodelError":
    e = cls.__new__(cls)
    Exception.__init__(e, *args)
    e.__dict__.update(state)
    return e


class BadRequest(FlymodelError):
    """400: malformed JSON, an unknown field, a bad query value."""


class InvalidName(BadRequest):
    """400 ``invalid-name``: a name in the path breaks the naming rules."""


class DigestMismatch(BadRequest):
    """400 ``digest-mismatch``: the bytes sent do not have the declared digest
    (``algorithm``, ``expected``, ``actual``); nothing was stored."""


class ValidationError(FlymodelError, ValueError):
    """422 ``validation``: invalid values; ``errors`` lists ``{field, message}``."""

    @property
    def errors(self) -> List[Dict[str, str]]:
        return list(self.problem.get("errors") or [])


class Unauthorized(FlymodelError):
    """401: no token where one is needed, or a bad, expired or revoked one."""


class Forbidden(FlymodelError):
    """403: the token lacks the role in that namespace."""


class NotFound(FlymodelError, LookupError):
    """404: no such resource (``resource`` names the missing path)."""


class Conflict(FlymodelError):
    """409: a duplicate name (``existing``) or another conflict with what the
    registry holds; nothing changed."""


class ImmutableError(Conflict):
    """409 ``immutable``: an artifact exists under that name with other bytes.

    ``artifact`` names it, ``existing_sha256`` and ``actual_sha256`` are
    the two digests.
    """

    @property
    def artifact(self) -> str:
        a = self.problem.get("artifact")
        if a:
            return str(a)
        existing = str(self.problem.get("existing") or "")
        marker = "/artifacts/"
        return existing.split(marker, 1)[1] if marker in existing else existing


class SealedError(Conflict):
    """409 ``sealed``: the version has left ``test``; it takes no new artifacts."""


class PromotionGateError(Conflict):
    """409 ``promotion-gate``: the version does not meet the gate of the
    lifecycle ``to``: ``missing`` experiments, and ``not_passed`` ones."""

    @property
    def to(self) -> str:
        return str(self.problem.get("to") or "")

    @property
    def missing(self) -> List[str]:
        return list(self.problem.get("missing") or [])

    @property
    def not_passed(self) -> List[str]:
        return list(self.problem.get("not_passed") or [])


class InvalidTransition(Conflict):
    """409 ``invalid-transition``: an experiment move its state machine
    forbids (``from``, ``to``)."""


class NoStore(Conflict):
    """409 ``no-store``: no blob store serves that lifecycle (``config_key``
    says what the server's configuration lacks)."""


class TooLarge(FlymodelError):
    """413: a body over the server's limit."""


class TooManyRequests(FlymodelError):
    """429: every upload slot is taken; try again shortly."""


class ServerError(FlymodelError):
    """5xx: the server failed; quote ``request_id`` to its operator."""


class Unavailable(ServerError):
    """503: a store or the database is unavailable for now (retried where safe)."""


class IntegrityError(FlymodelError):
    """Bytes that do not match their recorded sha256 or size, or a list of
    artifacts that does not make up the version's digest. Found by the
    client; no file was left in place."""

    def __init__(self, message: str, *, artifact: str = "", expected: str = "", actual: str = "") -> None:
        super().__init__(message, type="integrity")
        self.artifact = artifact
        self.expected = expected
        self.actual = actual


class TransportError(FlymodelError, ConnectionError):
    """The server could not be reached, or the connection failed, after the
    retries that were safe."""


# The class of each problem type; types not listed fall back to the class of
# their status.
_BY_TYPE: Dict[str, Type[FlymodelError]] = {
    "malformed-request": BadRequest,
    "invalid-filter": BadRequest,
    "malformed-multipart": BadRequest,
    "empty-upload": BadRequest,
    "invalid-name": InvalidName,
    "digest-mismatch": DigestMismatch,
    "validation": ValidationError,
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "cross-origin-request": Forbidden,
    "not-found": NotFound,
    "conflict": Conflict,
    "immutable": ImmutableError,
    "sealed": SealedError,
    "promotion-gate": PromotionGateError,
    "alias-protected": Conflict,
    "invalid-transition": InvalidTransition,
    "no-store": NoStore,
    "too-large": TooLarge,
    "too-many-uploads": TooManyRequests,
    "storage-unavailable": Unavailable,
    "placement-failed": Unavailable,
    "database-busy": Unavailable,
    "not-ready": Unavailable,
    "method-not-allowed": BadRequest,
    "unsupported-media-type": BadRequest,
    "range-not-satisfiable": BadRequest,
    "misdirected-request": BadRequest,
    "request-timeout": FlymodelError,
    "internal": ServerError,
    "blob-missing": ServerError,
    "blob-altered": ServerError,
}

_BY_STATUS: Dict[int, Type[FlymodelError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    422: ValidationError,
    429: TooManyRequests,
    503: Unavailable,
}


def from_problem(status: int, problem: Mapping[str, Any], request_id: str = "") -> FlymodelError:
    """The exception for a problem document answered with status."""
    full = str(problem.get("type") or "")
    slug = full[len(PROBLEM_TYPE_BASE):] if full.startswith(PROBLEM_TYPE_BASE) else full
    cls = _BY_TYPE.get(slug) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else FlymodelError
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or title or f"HTTP {status}")
    return cls(
        detail,
        status=status,
        type=slug,
        title=title,
        request_id=str(problem.get("request_id") or request_id),
        instance=str(problem.get("instance") or ""),
        problem=problem,
    )
