"""Run an experiment of a version as a ``with`` block."""

from __future__ import annotations

import os
import time
import warnings
from typing import Any, Dict, List, Mapping, Optional, Union

from . import errors
from ._types import Artifact, Experiment


class Run:
    """An experiment being run (see Client.experiment).

    Entering creates the experiment — or takes the one of that name that has
    no result yet — and moves it to ``running``. ``log_metric`` /
    ``log_metrics`` collect its result; ``log_artifact`` attaches files at
    once. Leaving cleanly records ``passed`` (or ``failed`` after
    ``fail()``) with the metrics and the measured duration; leaving by an
    exception records ``failed`` with the exception in ``metrics["error"]``,
    and the exception goes on.
    """

    def __init__(self, client: Any, model: str, version: str, name: str,
                 params: Optional[Mapping[str, Any]] = None) -> None:
        self.client = client
        self.model = model
        self.version = version
        self.name = name
        self.params = dict(params) if params else None
        self.metrics: Dict[str, Any] = {}
        self.experiment: Optional[Experiment] = None
        self.artifacts: List[Artifact] = []
        self._failed: Optional[str] = None
        self._start = 0.0

    def __enter__(self) -> "Run":
        if self.version.startswith("@"):
            self.version = self.client.resolve(self.model, self.version).version
        try:
            e = self.client.create_experiment(self.model, self.version, self.name, self.params)
        except errors.Conflict as err:
            if not err.type == "conflict":
                raise
            e = self.client.get_experiment(self.model, self.version, self.name)
            if e.state in ("passed", "failed"):
                raise errors.Conflict(
                    f"experiment {self.name} of {self.model}/{self.version} already recorded its result ({e.state}): "
                    "a result is written once, name another experiment", status=409, type="conflict") from None
            if self.params and self.params != (e.params or {}):
                raise errors.Conflict(
                    f"experiment {self.name} of {self.model}/{self.version} was created with params {e.params}, "
                    f"given {self.params}: params are set once, name another experiment", status=409, type="conflict") from None
        self.experiment = self.client.start_experiment(self.model, self.version, self.name)
        self._start = time.monotonic()
        return self

    def log_metric(self, key: str, value: Any) -> None:
        self.metrics[key] = value

    def log_metrics(self, metrics: Mapping[str, Any]) -> None:
        self.metrics.update(metrics)

    def log_artifact(self, path: Union[str, "os.PathLike[str]", bytes], name: Optional[str] = None,
                     **kw: Any) -> List[Artifact]:
        """Attach a file (named by its base name unless name is given), a
        folder (its files as ``name/relative/path``) or bytes (name needed)."""
        from .upsert import expand

        arts = []
        for f in expand(name or "", path):
            source: Any = f.data if f.data is not None else f.path
            a = self.client.upload(self.model, self.version, f.name, source, experiment=self.name,
                                   format=kw.get("format") or f.format or None, **{k: v for k, v in kw.items() if k != "format"})
            arts.append(a)
        self.artifacts.extend(arts)
        return arts

    def fail(self, reason: Optional[str] = None) -> None:
        """Record ``failed`` on a clean exit (a check that did not pass)."""
        self._failed = reason or "failed"

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> bool:
        duration_ms = int((time.monotonic() - self._start) * 1000)
        metrics = dict(self.metrics)
        passed = exc is None and self._failed is None
        if exc is not None:
            metrics["error"] = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
        elif self._failed is not None and self._failed != "failed":
            metrics.setdefault("error", self._failed)
        try:
            self.experiment = self.client.finish_experiment(self.model, self.version, self.name, passed,
                                                            metrics=metrics, duration_ms=duration_ms)
        except Exception as err:
            if exc is None:
                raise
            # Never hide the exception the block raised.
            warnings.warn(f"flymodel: could not record experiment {self.name} as failed: {err}", RuntimeWarning)
        return False
