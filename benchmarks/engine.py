"""Training throughput of the engine against a min-char-rnn-style loop, in characters/s.

What is timed, per configuration: one full training step on the default corpus (V = 73
characters), H = 100, T = 25 — forward, loss, backward, gradient clipping, optimizer update,
and fetching the next chunk of text. Characters/s = B·T characters per step.

- ``tutorial loop``: the REFERENCE IMPLEMENTATION below, written fresh in the style of the
  classic tutorials (Karpathy's min-char-rnn): one-hot column vectors, a Python loop over
  timesteps in the forward and the backward pass, dicts of per-step states, ``np.dot``,
  element-wise clipping to ±5, Adagrad. Batch 1 only, as the tutorials do; running it 32
  times per step gives the same characters/s, so it is the baseline for every batch size.
- ``engine``: ``RNN.loss_and_grads`` + ``clip_gradients`` + an optimizer from
  ``rnnviz.core`` (one update of the flat parameter vector ``RNN.flat_params`` with
  ``LossResult.flat_grads``, as ``Trainer`` does) on batches from ``CharLMTask`` with the
  hidden state carried over, with the tutorial's settings (Adagrad, value clipping to ±5)
  so that both do the same work, for B ∈ {1, 32} and float32/float64; plus the default
  preset's optimizer (Adam, norm clipping) and ``Trainer.step()`` (what the app and the CLI
  run, with its reports, spectrum and saturation; evaluation switched off).
- ``engine lstm`` / ``engine gru``: the same step with the gated cells (``rnnviz.core.LSTM``,
  ``GRU``: 4 and 3 gate blocks, so roughly 4× and 3× the vanilla cell's arithmetic), for
  B ∈ {1, 32} and float32/float64. The product's speed bars apply to the vanilla cell only.

- ``word model``: the word-level language model of the BPTT tutorial at its size: a
  vocabulary of V = 8,000 words (+ ``<unk>``), H = 100, T = 10, B = 32, float32, Adam and
  norm clipping, on a synthetic text of Zipf-distributed words (so that 8,000 distinct words
  exist; the shipped corpus has about 1,300). The output layer and softmax over 8,001 words
  dominate; reported in steps/s as well, since the "vs loop" column compares characters.

Every configuration is warmed up, then timed ``--repeats`` times for ``--seconds`` each,
round-robin (each round runs every configuration once), so that a busy spell on a shared
machine slows all of them alike. The table shows the median chars/s and the median over
rounds of the ratio to the tutorial loop's rate in the same round. The whole measurement
runs twice, in child processes: with the BLAS thread pool as NumPy chooses it, and with
OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1 (these must be set before NumPy is imported, hence
the child processes).

Run:  PYTHONPATH=. python benchmarks/engine.py [--seconds 0.75] [--repeats 5] [--threads default|1|both]
      [--gated lstm,gru|none]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HIDDEN, SEQ_LEN, LR_ADAGRAD, CLIP = 100, 25, 0.1, 5.0
WORD_VOCAB, WORD_SEQ_LEN, WORD_BATCH = 8000, 10, 32
BARS = {1: 3.0, 32: 15.0}  # the product's bars: engine / tutorial loop at B=1 (any dtype), B=32 float32
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


# ============================================================================================
# REFERENCE IMPLEMENTATION: the classic tutorial's per-sequence loop (min-char-rnn style).
# Deliberately written the way the tutorials write it; it is the baseline, not our engine.
# ============================================================================================
class TutorialRNN:
    """min-char-rnn: float64, column vectors, randn×0.01 init, Adagrad, clip to ±5."""

    def __init__(self, text: str, hidden_size: int, seq_length: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        chars = sorted(set(text))
        self.data, self.seq_length = text, seq_length
        self.vocab_size = vs = len(chars)
        self.char_to_ix = {ch: i for i, ch in enumerate(chars)}
        self.Wxh = rng.standard_normal((hidden_size, vs)) * 0.01
        self.Whh = rng.standard_normal((hidden_size, hidden_size)) * 0.01
        self.Why = rng.standard_normal((vs, hidden_size)) * 0.01
        self.bh = np.zeros((hidden_size, 1))
        self.by = np.zeros((vs, 1))
        self.mem = [np.zeros_like(p) for p in self.params()]
        self.hprev = np.zeros((hidden_size, 1))
        self.p = 0

    def params(self) -> list[np.ndarray]:
        return [self.Wxh, self.Whh, self.Why, self.bh, self.by]

    def loss_fun(self, inputs: list[int], targets: list[int], hprev: np.ndarray):
        """Forward and backward over one sequence; loss is a sum over timesteps."""
        xs, hs, ys, ps = {}, {}, {}, {}
        hs[-1] = np.copy(hprev)
        loss = 0.0
        for t in range(len(inputs)):
            xs[t] = np.zeros((self.vocab_size, 1))
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(np.dot(self.Wxh, xs[t]) + np.dot(self.Whh, hs[t - 1]) + self.bh)
            ys[t] = np.dot(self.Why, hs[t]) + self.by
            ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(self.Wxh), np.zeros_like(self.Whh), np.zeros_like(self.Why)
        dbh, dby = np.zeros_like(self.bh), np.zeros_like(self.by)
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dh = np.dot(self.Why.T, dy) + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += np.dot(dhraw, xs[t].T)
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(self.Whh.T, dhraw)
        grads = [dWxh, dWhh, dWhy, dbh, dby]
        for dparam in grads:
            np.clip(dparam, -CLIP, CLIP, out=dparam)
        return loss, grads, hs[len(inputs) - 1]

    def train_step(self) -> int:
        """One tutorial iteration: next chunk of text, loss_fun, Adagrad. Returns characters used."""
        if self.p + self.seq_length + 1 >= len(self.data):
            self.hprev = np.zeros_like(self.hprev)
            self.p = 0
        inputs = [self.char_to_ix[ch] for ch in self.data[self.p : self.p + self.seq_length]]
        targets = [self.char_to_ix[ch] for ch in self.data[self.p + 1 : self.p + self.seq_length + 1]]
        _, grads, self.hprev = self.loss_fun(inputs, targets, self.hprev)
        for param, dparam, mem in zip(self.params(), grads, self.mem, strict=True):
            mem += dparam * dparam
            param += -LR_ADAGRAD * dparam / np.sqrt(mem + 1e-8)
        self.p += self.seq_length
        return self.seq_length


# ============================================================================== the engine
def engine_stepper(batch: int, dtype: str, optimizer: str, clip: str, cell: str = "rnn") -> Callable[[], int]:
    """One training step of the real engine, as a closure returning the characters used."""
    from rnnviz.core import clip_gradients, make_model, make_optimizer
    from rnnviz.tasks import CharLMTask

    task = CharLMTask(None, SEQ_LEN, batch)
    model = make_model(cell, task.input_size, HIDDEN, task.output_size, dtype=dtype, seed=0)
    opt = make_optimizer(optimizer, LR_ADAGRAD if optimizer == "adagrad" else 0.003)
    rng = np.random.default_rng(0)
    state: dict[str, np.ndarray | None] = {"h": None}

    def step() -> int:
        b = task.next_batch(rng)
        res = model.loss_and_grads(b.x, b.y, head=task.head, h0=state["h"] if b.carry_state else None)
        # All gradients as one vector (``res.grads`` are views of it): element-wise and global-norm
        # clipping of it equal clipping the parameters together, and one optimizer update on the
        # flat parameter buffer replaces five (what Trainer.step does too).
        clipped = clip_gradients({"theta": res.flat_grads}, clip, CLIP)
        opt.step({"theta": model.flat_params}, clipped.grads)
        state["h"] = res.h_last
        return b.tokens

    return step


def trainer_stepper(batch: int, dtype: str) -> Callable[[], int]:
    """``Trainer.step()`` of the default preset with evaluation switched off."""
    from rnnviz.training import Trainer, load_preset

    cfg = load_preset("charlm").config.replace(batch=batch, dtype=dtype, eval_every=10**9)
    trainer = Trainer(cfg)

    def step() -> int:
        trainer.step()
        return batch * SEQ_LEN

    return step


def zipf_word_text(path: Path, distinct: int = 12_000, words: int = 200_000, seed: int = 0) -> Path:
    """A text of made-up words with Zipf-like frequencies, so a V = 8,000 vocabulary is full."""
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.1, size=words), distinct) - 1
    names = [f"w{i}" for i in range(distinct)]
    ranks[:distinct] = np.arange(distinct)  # every word occurs at least once
    rng.shuffle(ranks)
    lines = [" ".join(names[r] for r in ranks[i : i + 12]) + " ." for i in range(0, words, 12)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def word_stepper(corpus: Path, trainer: bool) -> Callable[[], int]:
    """One step of the word-level model (V = 8,000): the engine alone, or ``Trainer.step()``."""
    from rnnviz.core import RNN, clip_gradients, make_optimizer
    from rnnviz.tasks import CharLMTask
    from rnnviz.training import TrainConfig, Trainer

    if trainer:
        cfg = TrainConfig(task="charlm", corpus=str(corpus), tokens="words", vocab_size=WORD_VOCAB,
                          hidden=HIDDEN, seq_len=WORD_SEQ_LEN, batch=WORD_BATCH, dtype="float32",
                          eval_every=10**9)
        run = Trainer(cfg)

        def trainer_step() -> int:
            run.step()
            return WORD_BATCH * WORD_SEQ_LEN

        return trainer_step
    task = CharLMTask(corpus, WORD_SEQ_LEN, WORD_BATCH, tokens="words", vocab_size=WORD_VOCAB)
    model = RNN(task.input_size, HIDDEN, task.output_size, dtype="float32", seed=0)
    opt = make_optimizer("adam", 0.003)
    rng = np.random.default_rng(0)
    state: dict[str, np.ndarray | None] = {"h": None}

    def step() -> int:
        b = task.next_batch(rng)
        res = model.loss_and_grads(b.x, b.y, head=task.head, h0=state["h"] if b.carry_state else None)
        clipped = clip_gradients({"theta": res.flat_grads}, "norm", CLIP)
        opt.step({"theta": model.flat_params}, clipped.grads)
        state["h"] = res.h_last
        return b.tokens

    return step


def check_reference_matches_engine(text: str) -> float:
    """The reference loop and the engine compute the same gradients (so both do the same work).

    min-char-rnn's loss is a sum over T steps, the engine's a mean, hence the factor T.
    Returns the largest relative difference (before clipping, which is why grads are small).
    """
    from rnnviz.core import RNN

    ref = TutorialRNN(text, hidden_size=8, seq_length=6)
    model = RNN(ref.vocab_size, 8, ref.vocab_size, seed=0)
    model.set_params({"W_xh": ref.Wxh, "W_hh": ref.Whh, "W_hy": ref.Why, "b_h": ref.bh[:, 0],
                      "b_y": ref.by[:, 0]})
    ids = [ref.char_to_ix[ch] for ch in text[:7]]
    _, grads, _ = ref.loss_fun(ids[:-1], ids[1:], ref.hprev)
    res = model.loss_and_grads(np.array(ids[:-1])[:, None], np.array(ids[1:])[:, None])
    worst = 0.0
    for g_ref, name in zip(grads, ("W_xh", "W_hh", "W_hy", "b_h", "b_y"), strict=True):
        g_eng = res.grads[name].reshape(g_ref.shape) * 6
        worst = max(worst, float(np.abs(g_ref - g_eng).max() / (np.abs(g_ref).max() + 1e-30)))
    return worst


# ============================================================================== measuring
def timed_chars_per_s(step: Callable[[], int], seconds: float) -> float:
    """Run ``step`` for at least ``seconds``; characters per second."""
    chars, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        chars += step()
    return chars / elapsed


def measure_round_robin(steps: list[Callable[[], int]], seconds: float, repeats: int) -> list[list[float]]:
    """chars/s of every step function, ``repeats`` rounds; in each round every configuration
    runs once, one after the other, so a slow spell on a shared machine hits all of them alike.
    Everything is warmed up first (allocator, BLAS buffers, caches)."""
    for step in steps:
        timed_chars_per_s(step, min(0.5, seconds))
    rates: list[list[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for i, step in enumerate(steps):
            rates[i].append(timed_chars_per_s(step, seconds))
    return rates


def child(seconds: float, repeats: int, cells: tuple[str, ...]) -> None:
    """Measure every configuration in this process and print the results as one JSON line."""
    from rnnviz.resource_files import default_corpus

    text = default_corpus().read_text(encoding="utf-8")
    configs: list[tuple[str, int, str, Callable[[], int]]] = [
        ("tutorial loop (reference)", 1, "float64", TutorialRNN(text, HIDDEN, SEQ_LEN).train_step)]
    for batch in (1, 32):
        for dtype in ("float64", "float32"):
            configs.append((f"engine adagrad+value-clip B={batch} {dtype}", batch, dtype,
                            engine_stepper(batch, dtype, "adagrad", "value")))
    configs.append(("engine adam+norm-clip B=32 float32", 32, "float32",
                    engine_stepper(32, "float32", "adam", "norm")))
    configs.append(("Trainer.step(), charlm preset, B=32 float32", 32, "float32",
                    trainer_stepper(32, "float32")))
    configs.append(("Trainer.step(), charlm preset, B=1 float32", 1, "float32",
                    trainer_stepper(1, "float32")))
    import tempfile

    word_dir = tempfile.TemporaryDirectory()
    words = zipf_word_text(Path(word_dir.name) / "zipf-words.txt")
    configs.append((f"word model V={WORD_VOCAB} T={WORD_SEQ_LEN} B={WORD_BATCH} engine", WORD_BATCH,
                    "float32", word_stepper(words, trainer=False)))
    configs.append((f"word model V={WORD_VOCAB} T={WORD_SEQ_LEN} B={WORD_BATCH} Trainer", WORD_BATCH,
                    "float32", word_stepper(words, trainer=True)))
    for cell in cells:
        for batch in (1, 32):
            for dtype in ("float64", "float32"):
                configs.append((f"engine {cell} adagrad+value-clip B={batch} {dtype}", batch, dtype,
                                engine_stepper(batch, dtype, "adagrad", "value", cell)))
    all_rates = measure_round_robin([c[3] for c in configs], seconds, repeats)
    word_dir.cleanup()
    base = all_rates[0]
    rows = []
    for (name, batch, dtype, _), rates in zip(configs, all_rates, strict=True):
        ratio = statistics.median(r / b for r, b in zip(rates, base, strict=True))  # same-round ratios
        rows.append({"name": name, "batch": batch, "dtype": dtype, "median": statistics.median(rates),
                     "ratio": ratio, "rates": rates})
    env = {k: os.environ.get(k) for k in THREAD_VARS}
    print(json.dumps({"rows": rows, "env": env, "ref_check": check_reference_matches_engine(text),
                      "numpy": np.__version__}))


def run_child(threads: str, seconds: float, repeats: int, cells: tuple[str, ...]) -> dict:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.pop(var, None)
        if threads == "1":
            env[var] = "1"
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, __file__, "--child", "--seconds", str(seconds),
                          "--repeats", str(repeats), "--gated", ",".join(cells) or "none"],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(label: str, result: dict) -> None:
    rows = result["rows"]
    print(f"\n== {label} ==  (reference loop matches engine gradients to {result['ref_check']:.1e})")
    print(f"{'configuration':<46} {'chars/s':>10} {'vs loop':>8}   range over repeats")
    for row in rows:
        lo, hi = min(row["rates"]), max(row["rates"])
        print(f"{row['name']:<46} {row['median']:>10,.0f} {row['ratio']:>7.1f}x   {lo:,.0f}-{hi:,.0f}")
    for row in rows:
        if row["name"].startswith("word model"):
            per_step = WORD_BATCH * WORD_SEQ_LEN
            print(f"{row['name']:<46} {row['median'] / per_step:>10,.1f} steps/s (H={HIDDEN}, float32, "
                  f"{min(row['rates']) / per_step:,.1f}-{max(row['rates']) / per_step:,.1f})")
    engine = {(r["batch"], r["dtype"]): r["ratio"] for r in rows if r["name"].startswith("engine adagrad")}
    for batch, dtype in ((1, "float64"), (1, "float32"), (32, "float32")):
        need = BARS[batch]
        ratio = engine[(batch, dtype)]
        verdict = "PASS" if ratio >= need else "MISS"
        print(f"bar: B={batch} {dtype} >= {need:g}x the tutorial loop: {ratio:.1f}x  {verdict}")


def source_state() -> str:
    """Which engine is measured: the git commit, plus a hash of each uncommitted core file."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rnnviz"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = [line[3:] for line in dirty if line.startswith(" M") and line.endswith(".py")]
    marks = [f"{name} {hashlib.sha1((root / name).read_bytes()).hexdigest()[:8]}" for name in changed]
    return f"git {head}" + (f" + uncommitted: {', '.join(marks)}" if marks else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.75, help="length of one timed repeat")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per configuration")
    parser.add_argument("--threads", choices=("default", "1", "both"), default="both",
                        help="BLAS threads: NumPy's default, 1, or both one after the other")
    parser.add_argument("--gated", default="lstm,gru",
                        help="gated cells to measure too, comma-separated (lstm, gru), or 'none'")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cells = tuple(c for c in args.gated.split(",") if c and c != "none")
    unknown = set(cells) - {"lstm", "gru"}
    if unknown:
        parser.error(f"--gated takes lstm, gru or none; got {', '.join(sorted(unknown))}")
    if args.child:
        child(args.seconds, args.repeats, cells)
        return
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
          f"H={HIDDEN}, T={SEQ_LEN}, default corpus; median of {args.repeats} rounds of {args.seconds:g} s")
    print(f"engine source: {source_state()}")
    if hasattr(os, "getloadavg"):  # other work on the machine skews every figure below
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    settings = {"default": "BLAS threads as NumPy chooses (OPENBLAS_NUM_THREADS/OMP_NUM_THREADS unset)",
                "1": "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1"}
    for threads in ("default", "1") if args.threads == "both" else (args.threads,):
        report(settings[threads], run_child(threads, args.seconds, args.repeats, cells))
    if hasattr(os, "getloadavg"):
        print("\nload average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
