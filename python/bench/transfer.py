"""Upload and download of one large artifact with the Python client beside
the Go client, in the same run, against one real ``flymodel serve``.

    make bench-python                                    # 1 GiB, 3 runs each
    python3 python/bench/transfer.py --size 256MiB --runs 5

The server is started by the tests' harness (python/tests/harness.py) on its
backend: SQLite and the data folder, or PostgreSQL and S3 when
FLYMODEL_PYTEST_DATABASE_URL / FLYMODEL_PYTEST_STORAGE_TOML are set. The
file is random bytes written once into a temporary folder. Each run:

- Python upload: ``Client.upload(path)`` into a new version (hash the file,
  then stream it with its digest);
- Go upload: ``flymodel upsert --artifact NAME=PATH`` into a new version
  (the same work: hash, then stream with the digest), the CLI as a process;
- Python download: ``Client.download`` into an empty folder (streamed,
  hashed as it arrives, fsynced, renamed into place);
- Go download: ``flymodel pull`` of a version holding only that file into an
  empty folder (the same steps).

The Go figures include starting the flymodel process (a few milliseconds of
the seconds a 1 GiB transfer takes). Uploads and downloads alternate between
the two clients so that a busy moment of the machine hits both. It prints
the median MB/s (10^6 bytes per second) of each and the Python/Go ratios
(target: at least 70 % both ways); it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from typing import Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import harness  # type: ignore[import-not-found]  # noqa: E402  (puts python/ on sys.path)

UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 10**3, "mb": 10**6, "gb": 10**9}


def parse_size(s: str) -> int:
    t = s.strip().lower()
    i = len(t)
    while i > 0 and not t[i - 1].isdigit():
        i -= 1
    return int(t[:i]) * UNITS[t[i:].strip()]


def make_file(path: str, size: int) -> None:
    block = 8 << 20
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(block, left)
            f.write(os.urandom(n))
            left -= n
        f.flush()
        os.fsync(f.fileno())


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--size", default="1GiB", help="file size (1GiB, 256MiB, ...)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each measure (the median is reported)")
    ap.add_argument("--dir", default=None, help="folder for the file and the downloads (default: a temporary one)")
    ap.add_argument("--profile", choices=("upload", "download"), help="cProfile one Python transfer and print the top of it")
    args = ap.parse_args()
    size = parse_size(args.size)

    work = tempfile.mkdtemp(prefix="flymodel-bench-python-", dir=args.dir)
    srv = None
    try:
        t0 = time.perf_counter()
        src = os.path.join(work, "blob.bin")
        make_file(src, size)
        print(f"file: {size} bytes of random data in {time.perf_counter() - t0:.1f} s ({src})", flush=True)
        srv = harness.start_server()
        print(f"server: {srv.url} on {harness.backend()} ({harness.binary()})", flush=True)
        client = srv.client(timeout=300)
        ns, model = "bench", "py-" + uuid.uuid4().hex[:8]
        ref = f"{ns}/{model}"
        times: Dict[str, List[float]] = {"python upload": [], "go upload": [], "python download": [], "go download": []}

        def py_upload(v: str) -> None:
            client.upload(ref, v, "blob.bin", src)

        def go_upload(v: str) -> None:
            srv.cli("upsert", "--namespace", ns, "--model", model, "--version", v,
                    "--artifact", "blob.bin=" + src, "--output", "json", timeout=3600)

        def fresh(name: str) -> str:
            d = os.path.join(work, name)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            return d

        # The version every download reads (created by the Go CLI, so that
        # it exists before the first Python call is timed).
        go_upload("dl")
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            if args.profile == "upload":
                client.create_version(ref, "profiled")
                prof.runcall(py_upload, "profiled")
            else:
                d = fresh("profile")
                prof.runcall(client.download, ref, "dl", "blob.bin", d)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            return 0

        for i in range(args.runs):
            for who in ("python", "go") if i % 2 == 0 else ("go", "python"):
                v = f"{who}-{i}"
                if who == "python":
                    client.create_version(ref, v)  # not timed: the Go run creates its version too, once
                    secs = timed(lambda: py_upload(v))
                else:
                    secs = timed(lambda: go_upload(v))
                times[f"{who} upload"].append(secs)
                print(f"run {i + 1}: {who} upload {size / secs / 1e6:7.1f} MB/s ({secs:.2f} s)", flush=True)
            for who in ("go", "python") if i % 2 == 0 else ("python", "go"):
                d = fresh(f"{who}-dl")
                if who == "python":
                    secs = timed(lambda: client.download(ref, "dl", "blob.bin", d))
                else:
                    secs = timed(lambda: srv.cli("pull", ref, "dl", d, "--output", "json", timeout=3600))
                got = os.path.getsize(os.path.join(d, "blob.bin"))
                if got != size:
                    raise SystemExit(f"{who} download: {got} bytes, want {size}")
                times[f"{who} download"].append(secs)
                print(f"run {i + 1}: {who} download {size / secs / 1e6:7.1f} MB/s ({secs:.2f} s)", flush=True)
                shutil.rmtree(d)

        def mbps(k: str) -> float:
            return size / statistics.median(times[k]) / 1e6

        def spread(k: str) -> str:
            rates = sorted(size / t / 1e6 for t in times[k])
            return f"{rates[0]:.0f}–{rates[-1]:.0f}"

        print()
        print(f"{harness.backend()}, {size} bytes, {args.runs} runs, median MB/s (range):")
        print("| direction | Python | Go (CLI) | Python / Go |")
        print("|---|---:|---:|---:|")
        for d in ("upload", "download"):
            p, g = mbps(f"python {d}"), mbps(f"go {d}")
            print(f"| {d} | {p:.0f} ({spread(f'python {d}')}) | {g:.0f} ({spread(f'go {d}')}) | {100 * p / g:.0f} % |")
        return 0
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
