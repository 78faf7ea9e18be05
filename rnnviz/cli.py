"""The ``rnnviz`` command: the GUI by default, ``open`` a run file in it, ``train`` and ``sample``
headless.

Every expected failure (bad file, bad setting, unknown seed character, corrupt checkpoint,
diverging run) ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import math
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from rnnviz import __version__
from rnnviz.blas import limit_blas_threads
from rnnviz.core.checkpoint import CheckpointError
from rnnviz.core.vocab import UnknownTokensError
from rnnviz.runs.file import RUN_FILE_NAME, RunFileError, load_run
from rnnviz.runs.recorder import RunRecorder
from rnnviz.tasks import TaskError
from rnnviz.training import (
    DEFAULT_PRESET,
    RESUMABLE_FIELDS,
    SETTINGS,
    ConfigError,
    Setting,
    StepReport,
    TrainConfig,
    Trainer,
    list_presets,
    load_model,
    load_preset,
    sample_text,
)
from rnnviz.training.metrics import METRIC_COLUMNS

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130
SAMPLE_PREVIEW_CHARS = 60


class UserError(Exception):
    """An expected failure; its message is printed as one line."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fail(message: str) -> int:
    print(f"rnnviz: error: {message}", file=sys.stderr)
    return EXIT_ERROR


# --------------------------------------------------------------------------- parsing
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def flag_name(name: str) -> str:
    """The command-line flag of a TrainConfig field: ``seq_len`` -> ``--seq-len``."""
    return "--" + name.replace("_", "-")


def _setting_type(setting: Setting) -> Callable[[str], object]:
    """Parse a flag's text into the field's type; ``none_text`` (e.g. ``full``) means None."""
    def parse(text: str) -> object:
        if setting.optional and text.strip() == setting.none_text:
            return None
        if setting.kind is int:
            try:
                return int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if setting.kind is float:
            return _finite_float(text)
        return text

    parse.__name__ = setting.kind.__name__  # argparse names the type in some messages
    return parse


def _metavar(name: str, setting: Setting) -> str | None:
    if setting.choices:
        return None  # argparse shows {a,b,c}
    word = "FILE" if setting.path else {int: "N", float: "X"}.get(setting.kind, name.upper())
    return f"{word}|{setting.none_text}" if setting.optional and setting.none_text else word


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, all from its Setting: type, choices, help.

    Defaults are suppressed, so the namespace holds exactly the settings the user gave.
    """
    group = parser.add_argument_group("settings (default: the preset's)")
    for name, setting in SETTINGS.items():
        # An off/on setting also works as a bare switch: `--lines` is `--lines on`.
        is_switch = tuple(setting.choices or ()) == ("off", "on")
        switch: dict[str, Any] = {"nargs": "?", "const": "on"} if is_switch else {}
        group.add_argument(flag_name(name), dest=name, type=_setting_type(setting),
                           choices=setting.choices or None, default=argparse.SUPPRESS,
                           metavar=_metavar(name, setting), help=setting.help, **switch)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="rnnviz",
        description="Watch a from-scratch NumPy RNN train, live. With no command, opens the app.")
    parser.add_argument("--version", action="version", version=f"rnnviz {__version__}")
    parser.add_argument("--preset", default=None, help="preset to start with")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)

    # The subcommands' --preset defaults are suppressed: otherwise their default would
    # overwrite a top-level ``rnnviz --preset sine train``.
    gui = sub.add_parser("gui", help="open the app (the default)")
    gui.add_argument("--preset", default=argparse.SUPPRESS, help="preset to start training")

    open_run = sub.add_parser("open", help="open a run file (or a checkpoint) in the app, paused")
    open_run.add_argument("file", metavar="FILE",
                          help=f"a {RUN_FILE_NAME} (or checkpoint.npz) written by rnnviz")

    train = sub.add_parser("train",
                           help=f"train headless; write {RUN_FILE_NAME}, checkpoint.npz and metrics.csv")
    train.add_argument("--preset", default=argparse.SUPPRESS,
                       help=f"starting preset (default {DEFAULT_PRESET})")
    train.add_argument("--steps", type=_positive_int, default=1000, help="optimizer steps to run")
    train.add_argument("--out", default="rnnviz-run", help="output folder (default ./rnnviz-run)")
    train.add_argument("--resume", default=None, metavar="CHECKPOINT",
                       help="continue exactly from a checkpoint (its settings, except --corpus and the "
                            "live ones: " + ", ".join(flag_name(n) for n in SETTINGS if SETTINGS[n].live)
                            + ")")
    train.add_argument("--quiet", action="store_true", help="no progress bar or periodic lines")
    add_setting_flags(train)

    sample = sub.add_parser("sample", help="stream text from a checkpoint to stdout")
    sample.add_argument("--checkpoint", required=True, help="a checkpoint.npz written by rnnviz")
    sample.add_argument("--seed", dest="seed_text", default="\n", help="seed text to prime the model")
    sample.add_argument("--temperature", type=_finite_float, default=1.0, help="0 = greedy")
    sample.add_argument("--length", type=int, default=500,
                        help="tokens to generate (characters, or words for a word model)")
    sample.add_argument("--rng-seed", type=int, default=None, help="random seed for reproducible samples")

    sub.add_parser("presets", help="list the built-in presets")
    return parser


def setting_changes(args: argparse.Namespace) -> dict[str, object]:
    """The settings given on the command line, by TrainConfig field name."""
    return {name: getattr(args, name) for name in SETTINGS if hasattr(args, name)}


# ---------------------------------------------------------------------------- train
def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset (default charlm) with the settings given as flags."""
    return load_preset(args.preset or DEFAULT_PRESET).config.replace(**setting_changes(args))


def _trainer_from_args(args: argparse.Namespace) -> Trainer:
    if not args.resume:
        return Trainer(_config_from_args(args))
    if args.preset is not None:
        raise UserError("--preset cannot be combined with --resume: the checkpoint carries its settings")
    return Trainer.from_checkpoint(args.resume, changes=setting_changes(args))


def _metrics_row(report: StepReport) -> dict[str, object]:
    row: dict[str, object] = {
        "step": report.step, "chars_seen": report.tokens_seen, "elapsed_s": f"{report.elapsed_s:.4f}",
        "train_loss": repr(report.loss), "lr": repr(report.lr),
        "global_norm_before": repr(report.global_norm_before),
        "global_norm_after": repr(report.global_norm_after), "clipped": int(report.clipped),
        "saturation": f"{report.saturation:.6f}",
    }
    if report.spectrum is not None and report.spectrum_step == report.step:
        row["spectral_radius"] = repr(report.spectrum.spectral_radius)
        row["largest_singular_value"] = repr(report.spectrum.largest_singular_value)
    if report.evaluation is not None:
        metrics = report.evaluation.metrics
        row["val_loss"] = repr(report.evaluation.val_loss)
        if "accuracy" in metrics:
            row["val_accuracy"] = repr(metrics["accuracy"])
        if "rmse" in metrics:
            row["val_rmse"] = repr(metrics["rmse"])
        if "val_windows" in metrics:
            row["val_loss_se"] = repr(metrics.get("val_loss_se", 0.0))
            row["val_windows"] = int(metrics["val_windows"])
    return row


def _eval_line(report: StepReport) -> str:
    assert report.evaluation is not None
    metrics = report.evaluation.metrics
    val = f"val {report.evaluation.val_loss:.4f}"
    scored, total = int(metrics.get("val_windows", 0)), int(metrics.get("val_windows_total", 0))
    if scored < total:  # a sample of the held-out windows: say how sure the number is
        val += f" ± {metrics.get('val_loss_se', 0.0):.4f} ({scored:,} of {total:,} windows)"
    parts = [f"step {report.step:>7}", f"train {report.loss:.4f}", val]
    if "accuracy" in metrics:
        parts.append(f"acc {metrics['accuracy']:.1%}")
    if "rmse" in metrics:
        parts.append(f"rmse {metrics['rmse']:.4f}")
    if "perplexity" in metrics:
        parts.append(f"ppl {metrics['perplexity']:.1f}")
    parts.append(f"|g| {report.global_norm_before:.3g}")
    sample = report.evaluation.preview.get("sample")
    if sample:
        flat = sample[:SAMPLE_PREVIEW_CHARS].replace("\n", "⏎")
        parts.append(f"sample: {flat}")
    return "  ".join(parts)


def _drop_rows_after(path: Path, step: int) -> None:
    """Resuming from ``step``: rows of later steps (a run that diverged and went back, or was
    saved earlier than it was logged) would be written again, so they go."""
    if not path.is_file():
        return
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) <= step]
    if len(kept) < len(rows):
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(kept)


def _earlier_history(args: argparse.Namespace, trainer: Trainer, run_file: Path) -> RunRecorder:
    """Resuming: the history goes on from the run file given to --resume, or else from the one
    in --out if it holds the same run; otherwise it starts at the checkpoint's step."""
    candidates = [Path(args.resume), run_file] if args.resume else []
    def fixed_settings(config: TrainConfig) -> dict[str, object]:
        return {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_FIELDS}

    for path in candidates:
        if not path.is_file():
            continue
        try:
            earlier = load_run(path)
        except RunFileError as exc:
            if path == run_file:  # the file this run writes: say it is replaced, not silently
                print(f"rnnviz: note: {exc}; {run_file} is written anew", file=sys.stderr)
            continue
        data = earlier.data
        if data is None or fixed_settings(data.config) != fixed_settings(trainer.config):
            continue
        data.truncate_after(trainer.step_count)
        data.start_step = trainer.step_count
        recorder = RunRecorder(trainer, run_file, data)
        recorder.mark(trainer.step_count, f"resumed from {Path(args.resume).name}")
        return recorder
    return RunRecorder(trainer, run_file)


def run_train(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout  # looked up now, so redirection works
    from tqdm import tqdm

    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} exists and is not a folder")
    trainer = _trainer_from_args(args)
    for note in trainer.load_notes:
        print(f"rnnviz: note: {note}", file=sys.stderr)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if args.resume:
            _drop_rows_after(out_dir / "metrics.csv", trainer.step_count)
        csv_file = (out_dir / "metrics.csv").open("a" if args.resume else "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write to {out_dir}: {exc.strerror}") from exc
    checkpoint = out_dir / "checkpoint.npz"
    recorder = _earlier_history(args, trainer, out_dir / RUN_FILE_NAME)
    recorder.save()  # a run file from the first moment: an interrupted run always leaves one
    cfg = trainer.config
    if not args.quiet:
        task = trainer.task
        print(f"rnnviz {__version__}: {cfg.task}, {trainer.model.num_params():,} parameters, "
              f"vocab {len(task.vocab) if task.vocab else '-'}, baseline loss {task.baseline_loss:.3f}; "
              f"{args.steps} steps -> {out_dir}", file=out)
    interrupted = False

    def _interrupt(signum, frame):  # finish the current step, then save and stop
        nonlocal interrupted
        interrupted = True

    previous = signal.signal(signal.SIGINT, _interrupt)
    diverged_report = None
    with csv_file:
        writer = csv.DictWriter(csv_file, fieldnames=METRIC_COLUMNS)
        if not args.resume or csv_file.tell() == 0:
            writer.writeheader()
        bar = tqdm(total=args.steps, disable=args.quiet, unit="step", dynamic_ncols=True,
                   file=sys.stderr, leave=False)
        try:
            for _ in range(args.steps):
                report = trainer.step()
                recorder.add(report)
                if report.diverged:
                    diverged_report = report
                    break
                writer.writerow(_metrics_row(report))
                bar.update(1)
                if report.step % 10 == 0:
                    bar.set_postfix(loss=f"{report.loss:.3f}", refresh=False)
                if report.evaluation is not None:
                    csv_file.flush()
                    trainer.save(checkpoint)
                    if not args.quiet:
                        bar.write(_eval_line(report), file=out)
                recorder.save_if_due()
                if interrupted:
                    break
        finally:
            bar.close()
            signal.signal(signal.SIGINT, previous)
    back = trainer.rewind_to_healthy() if diverged_report is not None else None
    trainer.save(checkpoint)
    if back is not None:
        recorder.went_back(back)
    recorder.save()
    if diverged_report is not None:
        loss = diverged_report.loss
        what = f"the loss became {loss}" if not math.isfinite(loss) else "the weights became infinite"
        where = (f"the state of step {back}, before the loss left its normal range, is in {checkpoint}"
                 if back is not None else f"the last finite weights are in {checkpoint}")
        raise UserError(f"training diverged at step {diverged_report.step + 1} ({what}); {where} (resume "
                        "from it with a lower --lr or --clip norm)")
    if interrupted:
        print(f"interrupted at step {trainer.step_count}; saved {checkpoint} and {recorder.path}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"done: step {trainer.step_count}, {trainer.tokens_seen:,} tokens in "
              f"{trainer.elapsed_s:.1f} s; wrote {recorder.path}, {checkpoint} and {out_dir / 'metrics.csv'}",
              file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- sample
def run_sample(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    import numpy as np

    if args.length < 0:
        raise UserError("--length must be 0 or more")
    if args.temperature < 0:
        raise UserError("--temperature must be 0 (greedy) or more")
    model, vocab, meta = load_model(args.checkpoint)
    if vocab is None or meta.get("head") != "seq_softmax":
        raise UserError(f"this checkpoint is a {meta.get('task', 'non-text')} model; sampling needs a "
                        "language model (task charlm)")
    text = args.seed_text
    rng = np.random.default_rng(args.rng_seed)
    for char in sample_text(model, vocab, text, args.length, args.temperature, rng):
        out.write(char)
        out.flush()
    out.write("\n")
    return EXIT_OK


def run_presets(out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    names = list_presets()
    width = max(map(len, names)) + 2
    for name in names:
        preset = load_preset(name)
        pace = "" if not preset.pace else f"  ({preset.pace:g} step{'' if preset.pace == 1 else 's'}/s)"
        print(f"{name:<{width}}{preset.title}{pace}", file=out)
    return EXIT_OK


def run_open(args: argparse.Namespace) -> int:
    """Check the file here (a bad one is one line and exit 2, before any window), then show it."""
    load_run(args.file)
    from rnnviz.app import run_app

    return run_app(run_file=args.file, exit_process=True)


# ----------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    limit_blas_threads()
    try:
        if args.command == "train":
            return run_train(args)
        if args.command == "sample":
            return run_sample(args)
        if args.command == "presets":
            return run_presets()
        if args.command == "open":
            return run_open(args)
        from rnnviz.app import run_app

        preset = args.preset
        if preset is not None and preset not in list_presets():
            raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(list_presets())}")
        return run_app(preset=preset, exit_process=True)
    except (ConfigError, TaskError, CheckpointError, UnknownTokensError, UserError) as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
