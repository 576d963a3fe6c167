"""flymodel: the Python client of the flymodel model registry.

    import flymodel

    client = flymodel.Client()          # FLYMODEL_SERVER / FLYMODEL_TOKEN, or the config file
    client.upsert("canada", "llm.sm", "v1.2.0",
                  artifacts={"weights": "./out/weights", "config.json": "./out/config.json"})
    with client.experiment("canada/llm.sm", "v1.2.0", "eval", params={"lr": 1e-3}) as run:
        run.log_metrics({"accuracy": 0.93})
    client.set_state("canada/llm.sm", "v1.2.0", "prod")
    client.pull("canada/llm.sm@prod", "models/llm.sm")

Standard library only; tqdm (progress bars) and pandas (``to_pandas()``)
are used when installed.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
from .client import Client, version_digest
from .errors import (
    BadRequest,
    Conflict,
    DigestMismatch,
    FlymodelError,
    Forbidden,
    ImmutableError,
    IntegrityError,
    InvalidName,
    InvalidTransition,
    NoStore,
    NotFound,
    PromotionGateError,
    SealedError,
    ServerError,
    TooLarge,
    TooManyRequests,
    TransportError,
    Unauthorized,
    Unavailable,
    ValidationError,
)
from .experiment import Run
from .pull import PulledFile, PullResult
from .upsert import UpsertItem, UpsertResult

__all__ = [
    "Client", "version_digest", "Run", "Alias", "AliasChange",
    "Artifact", "AuditRecord", "Bucket", "CreatedToken", "Experiment", "Items", "Model", "Namespace", "Paged",
    "StateChange", "Tag", "Token", "Version", "PulledFile", "PullResult", "UpsertItem", "UpsertResult",
    "FlymodelError", "BadRequest", "InvalidName", "DigestMismatch", "ValidationError", "Unauthorized", "Forbidden",
    "NotFound", "Conflict", "ImmutableError", "SealedError", "PromotionGateError", "InvalidTransition", "NoStore",
    "TooLarge", "TooManyRequests", "ServerError", "Unavailable", "IntegrityError", "TransportError",
    "Parent", "Lineage", "Diff",
]
