"""Progress of uploads and downloads: tqdm when it is installed, else one
line that updates itself on a terminal, else nothing."""

from __future__ import annotations

import sys
import time
from typing import Any, Optional

MIN_BYTES = 8 << 20  # smaller transfers show nothing (as the CLI)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class Progress:
    """A context manager: ``update(n)`` adds n bytes done. ``show`` True
    forces it, False turns it off, None shows it for transfers of 8 MiB or
    more when stderr is a terminal (tqdm's notebook bar where tqdm is)."""

    def __init__(self, label: str, total: int, show: Optional[bool] = None, stream: Any = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream or sys.stderr
        forced = show is True
        if show is None:
            # A terminal, or a notebook (where stderr is no terminal but
            # tqdm draws a bar).
            show = total >= MIN_BYTES and (_interactive(self._stream) or "ipykernel" in sys.modules)
        self.active = bool(show)
        self._bar: Any = None
        self._last = 0.0
        self._start = time.monotonic()
        if self.active and stream is None:
            # tqdm draws on stderr: a stream given is written to as a line.
            try:
                from tqdm.auto import tqdm  # type: ignore[import-not-found,import-untyped]
            except ImportError:
                tqdm = None
            if tqdm is None and not forced and not _interactive(self._stream):
                self.active = False  # a notebook without tqdm: no line to update
            elif tqdm is not None:
                self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False)

    def __enter__(self) -> "Progress":
        return self

    def update(self, n: int) -> None:
        self.done += n
        if not self.active:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self._last >= 0.2 or self.done >= self.total:
            self._last = now
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-6)
        rate = self.done / elapsed
        share = 100.0 * self.done / self.total if self.total else 100.0
        left = (self.total - self.done) / rate if rate > 0 else 0
        self._stream.write(f"\r{self.label}: {share:5.1f}% {_size(self.done)} of {_size(self.total)}, "
                           f"{_size(rate)}/s, {left:.0f}s left\033[K")
        self._stream.flush()

    def __exit__(self, *exc: Any) -> None:
        if not self.active:
            return
        if self._bar is not None:
            self._bar.close()
            return
        self._stream.write("\r\033[K")
        self._stream.flush()


def _interactive(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
