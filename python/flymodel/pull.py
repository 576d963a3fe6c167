"""Download a whole version, every file verified and written atomically."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, List, Optional, Union

from . import errors
from ._names import validate_artifact_name
from ._progress import Progress
from ._types import Version, _html_table


@dataclass
class PulledFile:
    """One artifact of a pull: ``action`` is download, replace (other bytes
    were there), unchanged (the right bytes were there) or failed."""

    name: str
    size: int
    sha256: str
    action: str = ""


@dataclass
class PullResult:
    version: Version
    dir: str
    files: List[PulledFile] = field(default_factory=list)
    downloaded: int = 0
    unchanged: int = 0
    failed: int = 0
    bytes: int = 0
    dry: bool = False

    def __str__(self) -> str:
        from .upsert import _size

        lines = [f"{f.action:<9} {f.name}" + (f" ({_size(f.size)})" if f.action in ("download", "replace") else "")
                 for f in self.files]
        v = self.version
        lines.append(f"{v.ref} ({v.state}, {v.digest or 'no artifacts'}): {self.downloaded} downloaded, "
                     f"{self.unchanged} unchanged in {self.dir}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return _html_table(self.files, ["action", "name", "size", "sha256"], str(self).splitlines()[-1])


def _check_names(names: List[str]) -> None:
    problems = []
    for n in names:
        why = validate_artifact_name(n)
        if why:
            problems.append(f"{n!r}: {why}")
    # A name that would need a file to also be a folder (a and a/b).
    s = set(names)
    for n in names:
        parts = n.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in s:
                problems.append(f"{'/'.join(parts[:i])!r} is both a file and a folder of {n!r}")
    if problems:
        raise errors.IntegrityError("cannot pull: artifact names that are not plain relative paths: " + "; ".join(problems))


def _inside(root: str, path: str) -> bool:
    r = os.path.realpath(root)
    p = os.path.realpath(path)
    return p == r or p.startswith(r + os.sep)


def pull(client: Any, ref: str, dest: Optional[Union[str, "os.PathLike[str]"]] = None, *,
         version: Optional[str] = None, parallel: int = 4, dry: bool = False,
         progress: Optional[bool] = None) -> PullResult:
    """Download every artifact of a version (its own, not its experiments')
    into dest, one file per artifact under its name.

    The list of artifacts must make up the version's digest before anything
    is downloaded; each file is written to a temporary ``.NAME.*.part``
    beside it, its sha256 and size checked, then renamed into place, so a
    mismatch raises IntegrityError and leaves no file. Files already there
    with the right sha256 are left alone; other files in dest are not
    touched. Downloads come from the bucket directly when the server
    redirects (S3). On an error the files already placed stay (a rerun
    completes the pull); the error has ``result``.
    """
    from .client import _artifact_seg, sha256_file, split_version, version_digest

    ns, model, sel = split_version(ref, version)
    v = client.get_version(f"{ns}/{model}", sel)
    target = os.fspath(dest) if dest is not None else f"{model}-{v.version}"
    res = PullResult(version=v, dir=target, dry=dry)
    arts = list(client.artifacts(f"{ns}/{model}", v.version))
    _check_names([a.name for a in arts])
    got = version_digest(arts)
    if got != v.digest:
        raise errors.IntegrityError(
            f"the {len(arts)} artifacts listed make up digest {got!r}, the version's is {v.digest!r} "
            "(did it change during the pull? try again)", artifact=v.ref, expected=v.digest, actual=got)
    todo = []
    for a in arts:
        path = os.path.join(target, *a.name.split("/"))
        action = "download"
        if os.path.lexists(path):
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) == a.size \
                    and sha256_file(path)[0] == a.sha256:
                action = "unchanged"
            else:
                action = "replace"
        res.files.append(PulledFile(a.name, a.size, a.sha256, action))
        if action == "unchanged":
            res.unchanged += 1
        else:
            todo.append((a, path))
    total = sum(a.size for a, _ in todo)
    if dry:
        res.downloaded, res.bytes = len(todo), total
        return res
    if not todo:
        return res
    os.makedirs(target, exist_ok=True)
    lock = threading.Lock()
    stop = threading.Event()
    done = set()
    failure: List[BaseException] = []
    owner = f"{ns}/{model}"

    with Progress(f"{model}-{v.version}", total, progress) as bar:
        def report(n: int) -> None:
            with lock:
                bar.update(n)

        def one(item: Any) -> None:
            a, path = item
            if stop.is_set():
                return
            try:
                parent = os.path.dirname(path)
                os.makedirs(parent, exist_ok=True)
                if not _inside(target, parent):
                    raise errors.IntegrityError(f"{a.name}: its folder leads out of {target} (a symbolic link)",
                                                artifact=a.name)
                if os.path.islink(path) or os.path.isdir(path):
                    raise errors.IntegrityError(f"{a.name}: {path} is a folder or a symbolic link", artifact=a.name)
                apath = f"{client._version(owner, v.version)}/artifacts/{_artifact_seg(a.name)}"
                client._fetch_to(apath, path, a, report if bar.active else None)
                with lock:
                    done.add(a.name)
            except BaseException as e:  # noqa: BLE001 - the first error stops the pull
                with lock:
                    failure.append(e)
                stop.set()

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            list(pool.map(one, todo))

    for f in res.files:
        if f.action == "unchanged":
            continue
        if f.name in done:
            res.downloaded += 1
            res.bytes += f.size
        else:
            f.action = "failed"
            res.failed += 1
    if failure:
        err = failure[0]
        try:
            err.result = res  # type: ignore[attr-defined]
        except AttributeError:
            pass
        raise err
    return res
