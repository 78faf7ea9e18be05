"""Checkpoints (rnnviz/core/checkpoint.py): pickle-free .npz + JSON metadata, atomic writes,
and a CheckpointError with a clear message (never another exception) for any bad file."""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile

import numpy as np
import pytest

from rnnviz.core import CheckpointError, load_checkpoint, save_checkpoint
from rnnviz.core.checkpoint import FORMAT_NAME, FORMAT_VERSION


def sample_arrays():
    rng = np.random.default_rng(0)
    return {
        "param.W_hh": rng.normal(size=(4, 4)),
        "param.b_y": rng.normal(size=3).astype(np.float32),
        "optim.steps": np.array(7),
        "ids": np.arange(10, dtype=np.uint8),
        "empty": np.zeros((0, 3)),
    }


SAMPLE_META = {"step": 12, "vocab": ["a", "é", "\n"], "config": {"lr": 0.003, "truncate": None},
               "rng_state": {"state": 2**100, "has_uint32": 0}, "loss": float("nan")}


def write_meta_npz(path, meta_bytes, **arrays):
    """An .npz laid out like a checkpoint, with arbitrary metadata bytes."""
    np.savez(path, __meta__=np.frombuffer(meta_bytes, dtype=np.uint8), **arrays)
    return path


def files_in(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------- round trip
def test_round_trip_of_arrays_and_metadata(tmp_path):
    """Every array comes back with the same dtype, shape and bits; metadata comes back as
    JSON values (big ints, non-ASCII, None, NaN) plus the format name and version."""
    arrays = sample_arrays()
    path = save_checkpoint(tmp_path / "run.npz", arrays, SAMPLE_META)
    assert path == tmp_path / "run.npz"
    loaded, meta = load_checkpoint(path)
    assert set(loaded) == set(arrays)
    for name, arr in arrays.items():
        assert loaded[name].dtype == arr.dtype and loaded[name].shape == arr.shape, name
        np.testing.assert_array_equal(loaded[name], arr)
    assert meta["format"] == FORMAT_NAME and meta["version"] == FORMAT_VERSION
    assert meta["step"] == 12 and meta["vocab"] == ["a", "é", "\n"]
    assert meta["config"] == {"lr": 0.003, "truncate": None}
    assert meta["rng_state"]["state"] == 2**100
    assert np.isnan(meta["loss"])


def test_npz_suffix_is_added(tmp_path):
    path = save_checkpoint(tmp_path / "model", {"a": np.ones(2)}, {})
    assert path.name == "model.npz" and path.is_file()
    assert load_checkpoint(path)[0]["a"].tolist() == [1.0, 1.0]


def test_file_contains_no_pickle(tmp_path):
    """The file is a plain zip of .npy members that loads with allow_pickle=False, and no
    member has an object dtype."""
    path = save_checkpoint(tmp_path / "c.npz", sample_arrays(), SAMPLE_META)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(f"{k}.npy" for k in [*sample_arrays(), "__meta__"])
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            assert data[key].dtype != object
        meta = json.loads(bytes(data["__meta__"]).decode("utf-8"))
    assert meta["step"] == 12


def test_object_arrays_are_refused_and_nothing_is_written(tmp_path):
    arrays = {"ok": np.ones(2), "bad": np.array([{"a": 1}, None], dtype=object)}
    with pytest.raises(CheckpointError, match="bad"):
        save_checkpoint(tmp_path / "c.npz", arrays, {})
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(("arrays", "meta"), [
    ({"__meta__": np.ones(1)}, {}),  # reserved name
    ({"a": np.ones(1)}, {"bad": object()}),  # not JSON
    ({"a": np.ones(1)}, {"bad": np.ones(2)}),
])
def test_unsaveable_input_raises_checkpoint_error(tmp_path, arrays, meta):
    with pytest.raises(CheckpointError):
        save_checkpoint(tmp_path / "c.npz", arrays, meta)
    assert files_in(tmp_path) == []


# ------------------------------------------------------------------------------ atomicity
def test_write_leaves_no_temporary_files(tmp_path):
    save_checkpoint(tmp_path / "a.npz", sample_arrays(), SAMPLE_META)
    save_checkpoint(tmp_path / "a.npz", sample_arrays(), SAMPLE_META)
    assert files_in(tmp_path) == ["a.npz"]


def test_existing_file_is_replaced_whole(tmp_path):
    """Overwriting a big checkpoint with a small one leaves exactly the small one."""
    path = tmp_path / "c.npz"
    save_checkpoint(path, {f"big{i}": np.ones((50, 50)) for i in range(5)}, {"step": 1})
    big_size = path.stat().st_size
    save_checkpoint(path, {"small": np.zeros(3)}, {"step": 2})
    arrays, meta = load_checkpoint(path)
    assert set(arrays) == {"small"} and meta["step"] == 2
    assert path.stat().st_size < big_size
    assert files_in(tmp_path) == ["c.npz"]


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_crash_mid_write_keeps_the_old_checkpoint(tmp_path, monkeypatch, error):
    """If writing fails halfway (disk full, Ctrl-C), the previous checkpoint is intact under
    the real name and the temporary file is removed."""
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.arange(5.0)}, {"step": 1})
    original = path.read_bytes()

    def half_write(fh, **arrays):
        fh.write(b"PK\x03\x04 partial")
        raise error

    monkeypatch.setattr(np, "savez", half_write)
    expected = CheckpointError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        save_checkpoint(path, {"w": np.arange(6.0)}, {"step": 2})
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert files_in(tmp_path) == ["c.npz"]
    assert load_checkpoint(path)[1]["step"] == 1


def test_unwritable_location_raises_checkpoint_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CheckpointError):
        save_checkpoint(blocker / "sub" / "c.npz", {"a": np.ones(1)}, {})


# ------------------------------------------------------------------------------ bad files
@pytest.fixture
def good_bytes(tmp_path):
    """A small valid checkpoint (two arrays), so that every byte can be mangled quickly."""
    arrays = {"w": np.arange(4.0), "n": np.array(3, dtype=np.int32)}
    return save_checkpoint(tmp_path / "good.npz", arrays, {"step": 1}).read_bytes()


def assert_refused(path, *words):
    """load_checkpoint raises CheckpointError (nothing else), naming the file and saying why."""
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert path.name in message
    for word in words:
        assert word in message, message
    return message


def test_truncated_file_at_every_length_is_refused(tmp_path, good_bytes):
    """Cutting a valid checkpoint anywhere (including to 0 bytes) gives CheckpointError."""
    path = tmp_path / "cut.npz"
    for n in range(len(good_bytes)):
        path.write_bytes(good_bytes[:n])
        assert_refused(path)


def test_random_bytes_are_refused(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "noise.npz"
    for size in (1, 10, 1000):
        path.write_bytes(rng.bytes(size))
        assert_refused(path, "not")


def test_corrupted_bytes_never_raise_anything_else(tmp_path, good_bytes):
    """Flipping any byte of a valid file either still loads or raises CheckpointError
    (zipfile's BadZipFile, NotImplementedError and 'encrypted' RuntimeError are wrapped)."""
    path = tmp_path / "flipped.npz"
    for i in range(len(good_bytes)):
        for mask in (0x08, 0xFF):
            corrupt = bytearray(good_bytes)
            corrupt[i] ^= mask
            path.write_bytes(bytes(corrupt))
            with contextlib.suppress(CheckpointError):  # any other exception fails the test
                load_checkpoint(path)


def test_zip_that_is_not_an_npz_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert_refused(path, "not an rnnviz checkpoint")


def test_npz_without_metadata_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weights=np.ones(3))
    assert_refused(path, "not an rnnviz checkpoint")


def test_bare_npy_array_is_refused(tmp_path):
    """A single .npy array (not an archive) is refused cleanly, not with a TypeError."""
    path = tmp_path / "array.npy"
    np.save(path, np.arange(4))
    assert_refused(path, "not an rnnviz checkpoint")


@pytest.mark.parametrize("meta_bytes", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"',
                                        b'{"format": "other", "version": 1}', b'{"version": 1}'])
def test_bad_metadata_is_refused(tmp_path, meta_bytes):
    path = write_meta_npz(tmp_path / "meta.npz", meta_bytes, w=np.ones(2))
    assert_refused(path)


def test_folder_is_refused(tmp_path):
    folder = tmp_path / "ckpt.npz"
    folder.mkdir()
    assert_refused(folder, "folder")


def test_missing_path_is_refused(tmp_path):
    assert_refused(tmp_path / "nope.npz", "does not exist")


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 99, "1", None, 1.5])
def test_future_or_malformed_version_is_refused(tmp_path, version):
    """A newer format (or a version that is not an integer) is refused with the version in
    the message, instead of being misread."""
    meta = json.dumps({"format": FORMAT_NAME, "version": version}).encode()
    path = write_meta_npz(tmp_path / "future.npz", meta, w=np.ones(2))
    assert_refused(path, "version", repr(version))


def test_pickled_member_is_refused_without_unpickling(tmp_path):
    """An npz whose array member holds pickled objects is refused (allow_pickle=False), and
    the pickle is never executed."""
    path = tmp_path / "evil.npz"
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    meta = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}).encode()
    meta_buf = io.BytesIO()
    np.save(meta_buf, np.frombuffer(meta, dtype=np.uint8))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__meta__.npy", meta_buf.getvalue())
        zf.writestr("payload.npy", buf.getvalue())
    assert_refused(path)


def test_error_type_is_a_value_error_subclass():
    """Callers that catch ValueError for bad user input also catch CheckpointError."""
    assert issubclass(CheckpointError, ValueError)


def test_paths_may_be_strings(tmp_path):
    path = save_checkpoint(os.fspath(tmp_path / "s"), {"a": np.ones(1)}, {"k": 1})
    assert load_checkpoint(os.fspath(path))[1]["k"] == 1


# ------------------------------------------------- what a trainer checkpoint must contain
def _tiny_trainer(optimizer: str = "adam"):
    from rnnviz.training import TrainConfig, Trainer

    return Trainer(TrainConfig(task="sine", hidden=4, seq_len=5, batch=2, optimizer=optimizer,
                               eval_every=10**6))


def _saved_and_edited(tmp_path, edit, steps: int = 3, optimizer: str = "adam"):
    """A trained tiny trainer's checkpoint, with ``edit(arrays)`` applied to its arrays."""
    trainer = _tiny_trainer(optimizer)
    for _ in range(steps):
        trainer.step()
    path = trainer.save(tmp_path / "run.npz")
    arrays, meta = load_checkpoint(path)
    edit(arrays)
    save_checkpoint(path, arrays, meta)
    return trainer, path


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("param", ["W_hh", "b_y"])
def test_non_finite_weights_are_refused_by_every_loader(tmp_path, bad, param):
    """Resuming (the app and ``train --resume``) and sampling share one check."""
    from rnnviz.training import Trainer, load_model

    def poison(arrays):
        arrays[f"param.{param}"] = arrays[f"param.{param}"].copy()
        arrays[f"param.{param}"].flat[0] = bad

    _, path = _saved_and_edited(tmp_path, poison)
    for load in (Trainer.from_checkpoint, load_model):
        with pytest.raises(CheckpointError) as info:
            load(path)
        message = str(info.value)
        assert "non-finite" in message and param in message and "\n" not in message
        assert "damaged" not in message  # said once, plainly


@pytest.mark.parametrize("param", ["W_xh", "b_h"])
def test_missing_or_non_numeric_parameter_is_refused(tmp_path, param):
    from rnnviz.training import Trainer, load_model

    def drop(arrays):
        del arrays[f"param.{param}"]

    def as_text(arrays):
        arrays[f"param.{param}"] = np.full(arrays[f"param.{param}"].shape, "x")

    for edit in (drop, as_text):
        _, path = _saved_and_edited(tmp_path, edit)
        for load in (Trainer.from_checkpoint, load_model):
            with pytest.raises(CheckpointError, match=param):
                load(path)


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "rmsprop", "adagrad", "sgd"])
def test_missing_optimizer_state_is_noted_and_the_optimizer_starts_afresh(tmp_path, optimizer):
    from rnnviz.training import Trainer

    def drop_optimizer(arrays):
        for key in [k for k in arrays if k.startswith("optim.")]:
            del arrays[key]

    trained, path = _saved_and_edited(tmp_path, drop_optimizer, optimizer=optimizer)
    resumed = Trainer.from_checkpoint(path)
    assert len(resumed.load_notes) == 1
    note = resumed.load_notes[0]
    assert "optimizer" in note and optimizer in note and "\n" not in note
    assert resumed.optimizer.steps == 0 and resumed.optimizer.state == {}
    np.testing.assert_array_equal(resumed.model.flat_params, trained.model.flat_params)
    assert resumed.step().finite  # and it trains on


def test_partial_optimizer_state_is_noted(tmp_path):
    from rnnviz.training import Trainer

    _, path = _saved_and_edited(tmp_path, lambda a: a.pop("optim.v.theta"))
    resumed = Trainer.from_checkpoint(path)
    assert len(resumed.load_notes) == 1 and resumed.optimizer.state == {}


@pytest.mark.parametrize("steps", [0, 3])
def test_complete_checkpoint_has_no_notes(tmp_path, steps):
    """A checkpoint saved before the first step has no moments yet: nothing is missing."""
    from rnnviz.training import Trainer

    trained, path = _saved_and_edited(tmp_path, lambda a: None, steps=steps)
    resumed = Trainer.from_checkpoint(path)
    assert resumed.load_notes == []
    assert resumed.optimizer.steps == steps
    for key, value in trained.optimizer.state.items():
        np.testing.assert_array_equal(resumed.optimizer.state[key], value)


def test_optimizer_state_of_the_wrong_shape_is_refused(tmp_path):
    from rnnviz.training import Trainer

    _, path = _saved_and_edited(tmp_path, lambda a: a.__setitem__("optim.m.theta", np.zeros(3)))
    with pytest.raises(CheckpointError, match="optimizer state"):
        Trainer.from_checkpoint(path)
