"""Memory and time to load a large corpus with ``rnnviz.tasks.charlm.load_corpus``.

The product promises that a 100 MB text file needs "about 100 MB, not gigabytes": the
corpus is decoded in chunks and kept as one small-integer id array (1 byte per character for
up to 256 distinct characters). This script writes a ~100 MB UTF-8 file into a temporary
folder (the default corpus repeated, with a few non-ASCII characters mixed in once, so that
the decoder's multi-byte path and a wider-than-ASCII vocabulary are exercised), loads it,
and reports:

- ``tracemalloc`` peak: every Python and NumPy allocation made during the load (NumPy
  reports its array buffers to tracemalloc), the number the bound is about;
- peak RSS (``resource.getrusage``, maxrss) before and after the first load: what the OS
  saw, including the interpreter and NumPy themselves; it only grows, so the increase is
  the load's own peak as the OS counts it (page granularity, allocator slack included);
- wall-clock time, and bytes per character for both peaks.

tracemalloc slows allocation-heavy code down, so the time is the median of separate loads
without it (the freshly written file is in the page cache: this is decode speed, not disk).
Requirement: no more than a few bytes per character. ``tests/test_examples.py`` asserts a
tracemalloc peak below 4 bytes/char on a 5 MB file read in 256 kB chunks (at the real 4 MiB
chunk size a fixed ~70 MB of per-chunk transients would dominate such a small file).

``--chunk-bytes N`` overrides the loader's private read-chunk size (``charlm._CHUNK_BYTES``,
4 MiB) to show how the transient part of the peak scales with it.

Run:  PYTHONPATH=. python benchmarks/corpus_memory.py [--mb 100] [--chunk-bytes 262144]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from rnnviz.resource_files import default_corpus
from rnnviz.tasks import charlm
from rnnviz.tasks.charlm import load_corpus

TIMED_LOADS = 3
EXTRA = "Café crème, naïve façade — 20 °C, ½ tide, Ærø, “quoted”, 灯台 🌊\n"


def write_corpus(path: Path, megabytes: float) -> int:
    """Write ~``megabytes`` MB of UTF-8 text to ``path``; return its size in characters."""
    base = default_corpus().read_text(encoding="utf-8")
    target = int(megabytes * 1_000_000)
    copies = max(1, target // len(base.encode("utf-8")))
    with path.open("w", encoding="utf-8", newline="") as fh:
        for i in range(copies):
            fh.write(base)
            if i == copies // 2:
                fh.write(EXTRA)  # once, in the middle: pass 1 must still find every character
    return copies * len(base) + len(EXTRA)


def maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB, macOS bytes


def measure(path: Path) -> dict[str, float]:
    """Load ``path`` TIMED_LOADS times for the median time and RSS, then once under tracemalloc."""
    gc.collect()
    rss_before = maxrss_bytes()
    times, rss_after = [], 0
    for _ in range(TIMED_LOADS):
        start = time.perf_counter()
        vocab, ids = load_corpus(path)
        times.append(time.perf_counter() - start)
        rss_after = rss_after or maxrss_bytes()  # after the first load: later ones reuse freed pages
        chars, vocab_size, itemsize = ids.size, len(vocab), ids.itemsize
        del vocab, ids
        gc.collect()
    seconds = statistics.median(times)

    tracemalloc.start()
    loaded = load_corpus(path)  # kept alive so that "current" counts the result
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del loaded
    return {"chars": chars, "vocab": vocab_size, "itemsize": itemsize, "seconds": seconds,
            "rss_before": rss_before, "rss_after": rss_after, "trace_peak": peak,
            "trace_kept": current}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of the generated file in MB")
    parser.add_argument("--chunk-bytes", type=int, default=None,
                        help="override the loader's read-chunk size (an internal setting)")
    args = parser.parse_args(argv)
    if args.chunk_bytes is not None:
        charlm._CHUNK_BYTES = args.chunk_bytes
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big_corpus.txt"
        expected_chars = write_corpus(path, args.mb)
        size = path.stat().st_size
        r = measure(path)
    assert r["chars"] == expected_chars, (r["chars"], expected_chars)
    n = r["chars"]
    mib = 1024 * 1024
    print(f"read chunk: {charlm._CHUNK_BYTES:,} bytes")
    print(f"file: {size / 1e6:.1f} MB UTF-8, {n:,} characters, vocabulary {r['vocab']} "
          f"(ids stored as {r['itemsize']}-byte integers)")
    print(f"load time (median of {TIMED_LOADS}, no tracemalloc): {r['seconds']:.2f} s = "
          f"{n / r['seconds'] / 1e6:.1f} M chars/s")
    print(f"tracemalloc peak during load:    {r['trace_peak'] / mib:8.1f} MiB = "
          f"{r['trace_peak'] / n:.2f} bytes/char  (kept afterwards: {r['trace_kept'] / n:.2f} bytes/char)")
    grew = r["rss_after"] - r["rss_before"]
    print(f"peak RSS before / after load:    {r['rss_before'] / mib:8.1f} / {r['rss_after'] / mib:.1f} MiB "
          f"(+{grew / mib:.1f} MiB = {grew / n:.2f} bytes/char)")


if __name__ == "__main__":
    main()
