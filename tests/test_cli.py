"""Tests for the headless ``rnnviz`` command: train, sample, presets, and its error contract.

The contract: every expected failure exits with code 2 and one ``rnnviz: error: ...`` line
on stderr, never a traceback. Most tests call ``rnnviz.cli.main`` in-process; two run the
real ``python -m rnnviz`` to prove the entry point works.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnnviz
from rnnviz.cli import main
from rnnviz.core.checkpoint import load_checkpoint
from rnnviz.core.rnn import PARAM_NAMES
from rnnviz.training import list_presets, load_model

REPO_ROOT = Path(__file__).resolve().parent.parent
TINY_CHARLM = ["--hidden", "16", "--batch", "2", "--seq-len", "8"]


def _prose(n_chars: int, seed: int = 7) -> str:
    words = ["lamp", "wick", "tide", "fog", "bell", "gull", "keeper", "oil", "storm", "calm", "Lit"]
    rng = np.random.default_rng(seed)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < n_chars:
        parts.append(str(rng.choice(words)) + ("." if rng.random() < 0.1 else ""))
    return " ".join(parts)[:n_chars]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str) -> str:
    """Exit 2 and exactly one ``rnnviz: error:`` line (after any erased progress bar)."""
    assert code == 2
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    line = err.rstrip("\n").split("\r")[-1]  # a progress bar erases itself with \r
    assert line.startswith("rnnviz: error: "), repr(err)
    return line


def read_metrics(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def params_of(checkpoint: Path) -> dict[str, np.ndarray]:
    arrays, _ = load_checkpoint(checkpoint)
    return {k: arrays[f"param.{k}"] for k in PARAM_NAMES}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(_prose(3000), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def charlm_checkpoint(tmp_path_factory, corpus) -> Path:
    out = tmp_path_factory.mktemp("charlm-run")
    assert main(["train", "--corpus", str(corpus), *TINY_CHARLM, "--steps", "30", "--eval-every", "30",
                 "--out", str(out), "--quiet"]) == 0
    return out / "checkpoint.npz"


@pytest.fixture(scope="module")
def sine_checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sine-run")
    assert main(["train", "--preset", "sine", "--hidden", "4", "--steps", "3", "--out", str(out),
                 "--quiet"]) == 0
    return out / "checkpoint.npz"


# ----------------------------------------------------------------------------- train
class TestTrain:
    def test_sine_run_writes_checkpoint_and_metrics(self, capsys, tmp_path):
        out = tmp_path / "run"
        code, stdout, _ = run(capsys, "train", "--preset", "sine", "--steps", "30", "--eval-every", "10",
                              "--out", str(out))
        assert code == 0
        assert (out / "checkpoint.npz").is_file()
        header, rows = read_metrics(out / "metrics.csv")
        assert ",".join(header).startswith("step,chars_seen,elapsed_s,train_loss,val_loss")
        assert [int(r["step"]) for r in rows] == list(range(1, 31))
        for row in rows:
            has_val = row["val_loss"] != ""
            assert has_val == (int(row["step"]) % 10 == 0), row
            assert math.isfinite(float(row["train_loss"]))
            if has_val:
                assert math.isfinite(float(row["val_loss"])) and row["val_rmse"] != ""
        seen = [int(r["chars_seen"]) for r in rows]
        assert seen == sorted(seen) and seen[0] > 0
        periodic = [line for line in stdout.splitlines() if line.lstrip().startswith("step")]
        assert len(periodic) == 3
        assert all("val" in line and "rmse" in line for line in periodic)
        _, _, meta = load_model(out / "checkpoint.npz")
        assert meta["step"] == 30 and meta["task"] == "sine"

    def test_charlm_run_on_a_custom_corpus_shows_samples(self, capsys, tmp_path, corpus):
        out = tmp_path / "run"
        code, stdout, _ = run(capsys, "train", "--corpus", str(corpus), *TINY_CHARLM, "--steps", "30",
                              "--eval-every", "10", "--out", str(out))
        assert code == 0
        _, rows = read_metrics(out / "metrics.csv")
        assert len(rows) == 30
        assert [r["step"] for r in rows if r["val_loss"]] == ["10", "20", "30"]
        assert int(rows[-1]["chars_seen"]) == 30 * 8 * 2
        periodic = [line for line in stdout.splitlines() if line.lstrip().startswith("step")]
        assert len(periodic) == 3
        corpus_chars = set(corpus.read_text(encoding="utf-8")) | {"⏎"}
        for line in periodic:
            assert "sample: " in line
            assert set(line.split("sample: ", 1)[1]) <= corpus_chars
        model, vocab, meta = load_model(out / "checkpoint.npz")
        assert vocab is not None and vocab.tokens == sorted(set(corpus.read_text(encoding="utf-8")))
        assert model.hidden_size == 16 and meta["config"]["corpus"] == str(corpus)

    def test_quiet_prints_nothing(self, capsys, tmp_path):
        code, stdout, err = run(capsys, "train", "--preset", "sine", "--hidden", "4", "--steps", "5",
                                "--eval-every", "5", "--out", str(tmp_path / "q"), "--quiet")
        assert code == 0 and stdout == "" and err == ""

    def test_presets_lists_every_preset(self, capsys):
        code, stdout, _ = run(capsys, "presets")
        assert code == 0
        listed = [line.split()[0] for line in stdout.splitlines() if line.strip()]
        assert listed == list_presets()


# ---------------------------------------------------------------------------- sample
class TestSample:
    def test_prints_exactly_the_requested_characters(self, capsys, charlm_checkpoint):
        code, stdout, err = run(capsys, "sample", "--checkpoint", str(charlm_checkpoint), "--seed", "lamp",
                                "--length", "50", "--rng-seed", "1")
        assert code == 0 and err == ""
        assert stdout.endswith("\n")
        text = stdout[:-1]
        assert len(text) == 50
        _, vocab, _ = load_model(charlm_checkpoint)
        assert set(text) <= set(vocab.tokens)

    def test_same_rng_seed_same_text(self, capsys, charlm_checkpoint):
        args = ["sample", "--checkpoint", str(charlm_checkpoint), "--seed", "tide", "--length", "50"]
        runs = [run(capsys, *args, "--rng-seed", seed) for seed in ("1", "1", "2")]
        assert [code for code, _, _ in runs] == [0, 0, 0]
        first, again, other = (stdout for _, stdout, _ in runs)
        assert len(first) == 51 and first == again
        assert first != other  # the seed really drives the sampling

    def test_temperature_zero_is_greedy_and_deterministic(self, capsys, charlm_checkpoint):
        args = ["sample", "--checkpoint", str(charlm_checkpoint), "--seed", "keeper ", "--length", "40",
                "--temperature", "0"]
        code_a, first, _ = run(capsys, *args, "--rng-seed", "1")
        code_b, second, _ = run(capsys, *args, "--rng-seed", "99")
        assert code_a == code_b == 0
        assert first == second and len(first) == 41


# ---------------------------------------------------------------------------- errors
def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 20)
    return path


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


TRAIN_ERRORS = {
    "missing corpus": (lambda t: ["--corpus", str(t / "missing.txt")], "does not exist"),
    "corpus is a folder": (lambda t: ["--corpus", str(t)], "folder"),
    "empty corpus": (lambda t: ["--corpus", str(_write(t, "empty.txt", b""))], "empty"),
    "binary corpus": (lambda t: ["--corpus", str(_binary(t))], "binary"),
    "latin-1 corpus": (lambda t: ["--corpus", str(_write(t, "l1.txt", "café ".encode("latin-1") * 99))],
                       "UTF-8"),
    "corpus too short": (lambda t: ["--corpus", str(_write(t, "short.txt", b"just a few words here"))],
                         "too short"),
    "negative lr": (lambda t: ["--lr", "-1"], "lr"),
    "zero hidden": (lambda t: ["--hidden", "0"], "hidden"),
    "negative truncate": (lambda t: ["--truncate", "-1"], "truncate"),
    "unknown preset": (lambda t: ["--preset", "no-such-preset"], "no-such-preset"),
    "out is a file": (lambda t: ["--preset", "sine", "--out", str(_write(t, "taken", b"x"))], "not a folder"),
}


class TestErrors:
    @pytest.mark.parametrize("case", list(TRAIN_ERRORS))
    def test_train_bad_input_is_one_line_exit_2(self, capsys, tmp_path, case):
        make_args, expected = TRAIN_ERRORS[case]
        args = make_args(tmp_path)
        if "--out" not in args:
            args += ["--out", str(tmp_path / "out")]
        code, _, err = run(capsys, "train", "--steps", "2", *args)
        line = assert_one_error_line(code, err)
        assert expected in line

    def test_corpus_too_short_message_names_the_numbers(self, capsys, tmp_path):
        short = _write(tmp_path, "short.txt", _prose(150).encode())
        code, _, err = run(capsys, "train", "--corpus", str(short), "--seq-len", "20", "--batch", "9",
                           "--out", str(tmp_path / "o"))
        line = assert_one_error_line(code, err)
        assert "20" in line and "9" in line and str(21 * 9) in line

    def test_unknown_seed_characters_are_named(self, capsys, charlm_checkpoint):
        code, stdout, err = run(capsys, "sample", "--checkpoint", str(charlm_checkpoint),
                                "--seed", "lamp §Ω", "--length", "10")
        line = assert_one_error_line(code, err)
        assert "§" in line and "Ω" in line
        assert stdout == ""

    def test_random_bytes_checkpoint(self, capsys, tmp_path):
        bad = _write(tmp_path, "checkpoint.npz", np.random.default_rng(0).bytes(4096))
        code, _, err = run(capsys, "sample", "--checkpoint", str(bad))
        assert "checkpoint" in assert_one_error_line(code, err)

    def test_truncated_checkpoint(self, capsys, tmp_path, charlm_checkpoint):
        data = charlm_checkpoint.read_bytes()
        cut = _write(tmp_path, "cut.npz", data[: len(data) // 2])
        code, _, err = run(capsys, "sample", "--checkpoint", str(cut))
        assert_one_error_line(code, err)
        code, _, err = run(capsys, "train", "--resume", str(cut), "--steps", "1",
                           "--out", str(tmp_path / "o"))
        assert_one_error_line(code, err)

    def test_missing_checkpoint(self, capsys, tmp_path):
        code, _, err = run(capsys, "sample", "--checkpoint", str(tmp_path / "none.npz"))
        assert "does not exist" in assert_one_error_line(code, err)

    def test_sampling_from_a_sine_checkpoint(self, capsys, sine_checkpoint):
        code, stdout, err = run(capsys, "sample", "--checkpoint", str(sine_checkpoint), "--length", "5")
        assert "sine" in assert_one_error_line(code, err)
        assert stdout == ""

    @pytest.mark.parametrize("args", [["--length", "-1"], ["--temperature", "-0.5"]])
    def test_bad_sample_settings(self, capsys, charlm_checkpoint, args):
        code, _, err = run(capsys, "sample", "--checkpoint", str(charlm_checkpoint), *args)
        assert_one_error_line(code, err)

    def test_diverging_run_keeps_finite_weights(self, capsys, tmp_path):
        """The exploding preset blows up; the user gets one line and a usable checkpoint."""
        out = tmp_path / "boom"
        code, _, err = run(capsys, "train", "--preset", "exploding", "--steps", "200", "--out", str(out))
        line = assert_one_error_line(code, err)
        assert "diverged" in line
        model, _, meta = load_model(out / "checkpoint.npz")
        assert 0 < meta["step"] < 200
        assert f"state of step {meta['step']}" in line  # it went back to before the blow-up
        assert all(np.isfinite(p).all() for p in model.params.values())
        _, rows = read_metrics(out / "metrics.csv")
        assert meta["step"] < len(rows) < 200  # every finite step is logged; the diverged one is not
        # Resuming with clipping, as the message advises, trains on and logs each step once.
        code, _, err = run(capsys, "train", "--resume", str(out / "checkpoint.npz"), "--clip", "norm",
                           "--clip-value", "5", "--steps", "50", "--out", str(out), "--quiet")
        assert code == 0, err
        _, rows = read_metrics(out / "metrics.csv")
        steps = [int(row["step"]) for row in rows]
        assert steps == list(range(1, meta["step"] + 51))


# ---------------------------------------------------------------------------- resume
RESUME_RUNS = {
    "sine": ["--preset", "sine", "--hidden", "8", "--eval-every", "10"],
    "charlm": [*TINY_CHARLM, "--eval-every", "15"],  # wraps around the short corpus mid-run
}


@pytest.mark.parametrize("kind", list(RESUME_RUNS))
def test_resume_continues_bit_identically(capsys, tmp_path, kind):
    """20 steps + resume 20 steps must equal 40 steps straight, to the last bit."""
    args = list(RESUME_RUNS[kind])
    if kind == "charlm":
        short = _write(tmp_path, "short.txt", _prose(600, seed=3).encode())
        args += ["--corpus", str(short)]
    first, resumed, straight = tmp_path / "first", tmp_path / "resumed", tmp_path / "straight"
    assert run(capsys, "train", *args, "--steps", "20", "--out", str(first), "--quiet")[0] == 0
    assert run(capsys, "train", "--resume", str(first / "checkpoint.npz"), "--steps", "20",
               "--out", str(resumed), "--quiet")[0] == 0
    assert run(capsys, "train", *args, "--steps", "40", "--out", str(straight), "--quiet")[0] == 0

    got, want = params_of(resumed / "checkpoint.npz"), params_of(straight / "checkpoint.npz")
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    assert not np.array_equal(params_of(first / "checkpoint.npz")["W_hh"], want["W_hh"])
    _, resumed_rows = read_metrics(resumed / "metrics.csv")
    _, straight_rows = read_metrics(straight / "metrics.csv")
    assert [r["step"] for r in resumed_rows] == [str(s) for s in range(21, 41)]
    assert [r["train_loss"] for r in resumed_rows] == [r["train_loss"] for r in straight_rows[20:]]


def test_resume_into_the_same_folder_appends_metrics(capsys, tmp_path):
    out = tmp_path / "run"
    base = ["--preset", "sine", "--hidden", "4", "--eval-every", "5", "--out", str(out), "--quiet"]
    assert run(capsys, "train", *base, "--steps", "5")[0] == 0
    assert run(capsys, "train", "--resume", str(out / "checkpoint.npz"), "--steps", "5",
               "--out", str(out), "--quiet")[0] == 0
    header, rows = read_metrics(out / "metrics.csv")
    assert header[0] == "step"
    assert [int(r["step"]) for r in rows] == list(range(1, 11))


# ------------------------------------------------------------------------ subprocess
def _python_m_rnnviz(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "rnnviz", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_entry_point_version(tmp_path):
    proc = _python_m_rnnviz("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"rnnviz {rnnviz.__version__}"


def test_entry_point_train(tmp_path):
    proc = _python_m_rnnviz("train", "--preset", "sine", "--hidden", "8", "--steps", "10", "--eval-every",
                            "5", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "done" in proc.stdout
    assert (tmp_path / "run" / "checkpoint.npz").is_file()
    assert len(read_metrics(tmp_path / "run" / "metrics.csv")[1]) == 10


def test_entry_point_error_exit_code(tmp_path):
    proc = _python_m_rnnviz("train", "--corpus", "nope.txt", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("rnnviz: error:") and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ presets and resume
@pytest.mark.parametrize(("argv", "expected"), [
    (["--preset", "sine", "train"], "sine"),
    (["train", "--preset", "sine"], "sine"),
    (["--preset", "sentiment", "train", "--preset", "sine"], "sine"),  # the nearer one wins
    (["train"], "charlm"),
])
def test_train_uses_the_preset_wherever_it_is_given(capsys, tmp_path, monkeypatch, argv, expected):
    import rnnviz.cli as cli

    built = []
    real_trainer = cli.Trainer

    def small_trainer(config):  # record the config, and keep the run tiny
        built.append(config)
        return real_trainer(config.replace(hidden=4, seq_len=8, batch=2, eval_every=10**6))

    monkeypatch.setattr(cli, "Trainer", small_trainer)
    code, _, err = run(capsys, *argv, "--steps", "1", "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0, err
    assert built[0] == cli.load_preset(expected).config


@pytest.mark.parametrize(("argv", "expected"), [
    (["--preset", "sine", "gui"], "sine"),
    (["--preset", "sine"], "sine"),
    (["gui", "--preset", "sine"], "sine"),
    (["--preset", "sentiment", "gui", "--preset", "sine"], "sine"),
    (["gui"], None),
    ([], None),
])
def test_gui_opens_the_preset_wherever_it_is_given(monkeypatch, argv, expected):
    import rnnviz.app

    opened = []
    monkeypatch.setattr(rnnviz.app, "run_app", lambda preset=None, **_: opened.append(preset) or 0)
    assert main(argv) == 0
    assert opened == [expected]


def test_gui_with_an_unknown_preset_is_one_line(capsys, monkeypatch):
    import rnnviz.app

    monkeypatch.setattr(rnnviz.app, "run_app", lambda preset=None, **_: pytest.fail("must not open"))
    code, _, err = run(capsys, "--preset", "no-such-preset", "gui")
    assert "no-such-preset" in assert_one_error_line(code, err)


def test_spectrum_every_has_a_flag(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, _ = run(capsys, "train", "--preset", "sine", "--hidden", "4", "--steps", "9",
                     "--spectrum-every", "3", "--out", str(out), "--quiet")
    assert code == 0
    _, rows = read_metrics(out / "metrics.csv")
    assert [r["step"] for r in rows if r["spectral_radius"]] == ["1", "3", "6", "9"]
    _, _, meta = load_model(out / "checkpoint.npz")
    assert meta["config"]["spectrum_every"] == 3


@pytest.mark.parametrize(("flag", "text", "field", "value"), [
    ("--truncate", "full", "truncate", None),
    ("--truncate", "0", "truncate", 0),
    ("--spectral-radius", "keep", "spectral_radius", None),
    ("--seed", str(2**63 - 1), "seed", 2**63 - 1),
])
def test_optional_and_wide_flags_reach_the_checkpoint(capsys, tmp_path, flag, text, field, value):
    out = tmp_path / "run"
    base = ["--preset", "exploding"] if field == "spectral_radius" else ["--preset", "sine"]
    code, _, err = run(capsys, "train", *base, "--hidden", "4", "--steps", "1", flag, text,
                       "--out", str(out), "--quiet")
    assert code == 0, err
    assert load_model(out / "checkpoint.npz")[2]["config"][field] == value


@pytest.fixture
def short_sine_run(tmp_path) -> Path:
    out = tmp_path / "first"
    assert main(["train", "--preset", "sine", "--hidden", "4", "--steps", "5", "--eval-every", "5",
                 "--out", str(out), "--quiet"]) == 0
    return out / "checkpoint.npz"


@pytest.mark.parametrize("args", [["--hidden", "8"], ["--seq-len", "3"], ["--batch", "3"], ["--seed", "9"],
                                  ["--init", "orthogonal"], ["--dtype", "float64"], ["--task", "charlm"],
                                  ["--activation", "relu"], ["--optimizer", "sgd"], ["--truncate", "2"],
                                  ["--sine-noise", "0.5"]])
def test_resume_refuses_structural_changes(capsys, tmp_path, short_sine_run, args):
    code, _, err = run(capsys, "train", "--resume", str(short_sine_run), *args, "--steps", "1",
                       "--out", str(tmp_path / "o"))
    line = assert_one_error_line(code, err)
    assert args[0][2:] in line and "cannot change when resuming" in line
    assert not (tmp_path / "o").exists()


def test_resume_accepts_a_structural_flag_that_matches_the_checkpoint(capsys, tmp_path, short_sine_run):
    code, _, err = run(capsys, "train", "--resume", str(short_sine_run), "--hidden", "4", "--task", "sine",
                       "--steps", "1", "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0, err


def test_resume_refuses_a_preset(capsys, tmp_path, short_sine_run):
    for argv in (["train", "--resume", str(short_sine_run), "--preset", "sine"],
                 ["--preset", "sine", "train", "--resume", str(short_sine_run)]):
        code, _, err = run(capsys, *argv, "--steps", "1", "--out", str(tmp_path / "o"))
        assert "--preset" in assert_one_error_line(code, err)


def test_resume_applies_live_settings(capsys, tmp_path, short_sine_run):
    out = tmp_path / "o"
    code, _, err = run(capsys, "train", "--resume", str(short_sine_run), "--lr", "0.0125", "--clip", "value",
                       "--clip-value", "0.5", "--eval-every", "2", "--spectrum-every", "2",
                       "--lr-schedule", "plateau", "--steps", "4", "--out", str(out), "--quiet")
    assert code == 0, err
    _, rows = read_metrics(out / "metrics.csv")
    assert [r["step"] for r in rows] == ["6", "7", "8", "9"]
    assert {float(r["lr"]) for r in rows} == {0.0125}
    assert all(float(r["global_norm_after"]) <= 0.5 * math.sqrt(sum(
        p.size for p in params_of(out / "checkpoint.npz").values())) for r in rows)
    assert [r["step"] for r in rows if r["val_loss"]] == ["6", "8"]
    assert [r["step"] for r in rows if r["spectral_radius"]] == ["6", "8"]
    config = load_model(out / "checkpoint.npz")[2]["config"]
    assert (config["lr"], config["clip"], config["clip_value"], config["eval_every"],
            config["spectrum_every"], config["lr_schedule"]) == (0.0125, "value", 0.5, 2, 2, "plateau")
    assert config["hidden"] == 4  # the rest is the checkpoint's


def test_resume_with_a_moved_corpus(capsys, tmp_path):
    """The corpus moved: --corpus points at its new place and the run continues exactly."""
    text = _prose(600, seed=5).encode()
    old, new = _write(tmp_path, "old.txt", text), tmp_path / "moved" / "new.txt"
    args = [*TINY_CHARLM, "--eval-every", "100", "--quiet"]
    first, resumed, straight = tmp_path / "first", tmp_path / "resumed", tmp_path / "straight"
    assert run(capsys, "train", "--corpus", str(old), *args, "--steps", "10", "--out", str(first))[0] == 0
    assert run(capsys, "train", "--corpus", str(old), *args, "--steps", "20", "--out", str(straight))[0] == 0
    new.parent.mkdir()
    old.rename(new)

    code, _, err = run(capsys, "train", "--resume", str(first / "checkpoint.npz"), "--steps", "10",
                       "--out", str(resumed))
    assert "does not exist" in assert_one_error_line(code, err)  # without --corpus: the old path
    code, _, err = run(capsys, "train", "--resume", str(first / "checkpoint.npz"), "--corpus", str(new),
                       "--steps", "10", "--out", str(resumed), "--quiet")
    assert code == 0, err
    got, want = params_of(resumed / "checkpoint.npz"), params_of(straight / "checkpoint.npz")
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    assert load_model(resumed / "checkpoint.npz")[2]["config"]["corpus"] == str(new)


def test_resume_with_a_corpus_of_other_characters_is_refused(capsys, tmp_path, corpus, charlm_checkpoint):
    other = _write(tmp_path, "other.txt", ("xyz " * 400).encode())
    code, _, err = run(capsys, "train", "--resume", str(charlm_checkpoint), "--corpus", str(other),
                       "--steps", "1", "--out", str(tmp_path / "o"))
    assert "vocabulary" in assert_one_error_line(code, err)


def test_resume_without_optimizer_state_says_so(capsys, tmp_path, short_sine_run):
    arrays, meta = load_checkpoint(short_sine_run)
    from rnnviz.core.checkpoint import save_checkpoint

    save_checkpoint(short_sine_run, {k: v for k, v in arrays.items() if not k.startswith("optim.")}, meta)
    code, _, err = run(capsys, "train", "--resume", str(short_sine_run), "--steps", "2",
                       "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnviz: note: ") and "optimizer" in lines[0]


# ----------------------------------------------------------------- non-finite weights
@pytest.fixture
def nan_checkpoint(tmp_path, charlm_checkpoint) -> Path:
    arrays, meta = load_checkpoint(charlm_checkpoint)
    arrays["param.W_hy"] = arrays["param.W_hy"].copy()
    arrays["param.W_hy"][0, 0] = np.nan
    from rnnviz.core.checkpoint import save_checkpoint

    return save_checkpoint(tmp_path / "nan.npz", arrays, meta)


@pytest.mark.parametrize("temperature", ["1", "0"])
def test_sampling_from_non_finite_weights_is_one_line(capsys, nan_checkpoint, temperature):
    code, stdout, err = run(capsys, "sample", "--checkpoint", str(nan_checkpoint), "--length", "20",
                            "--temperature", temperature)
    line = assert_one_error_line(code, err)
    assert "non-finite" in line and "W_hy" in line
    assert stdout == ""


def test_resuming_non_finite_weights_is_one_line(capsys, tmp_path, corpus, nan_checkpoint):
    code, _, err = run(capsys, "train", "--resume", str(nan_checkpoint), "--steps", "1",
                       "--out", str(tmp_path / "o"))
    assert "non-finite" in assert_one_error_line(code, err)


def test_an_off_on_setting_is_also_a_bare_switch():
    """The three-sentence tutorial's command, as a user types it: `--lines` alone means on."""
    from rnnviz.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["train", "--lines"]).lines == "on"
    assert parser.parse_args(["train", "--lines", "off"]).lines == "off"
    assert not hasattr(parser.parse_args(["train"]), "lines")  # left to the preset
