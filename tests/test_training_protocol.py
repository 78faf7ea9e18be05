"""The pipe between the window and the training process, without Qt: a reader that never
blocks on half a message, and a backlog that stays bounded in bytes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import struct
import sys

import numpy as np
import pytest

from rnnviz.app.training_process import MAX_PENDING_PROFILE_BYTES, StepAccumulator
from rnnviz.training import TrainConfig, Trainer


@pytest.mark.skipif(sys.platform == "win32", reason="socket pipes are POSIX")
def test_reader_returns_only_whole_messages_and_never_blocks() -> None:
    from rnnviz.app.pipe_reader import MessageReader

    window_end, process_end = multiprocessing.Pipe()
    reader = MessageReader(window_end)
    payload = pickle.dumps(("batch", np.arange(5_000.0)))
    frame = struct.pack("!i", len(payload)) + payload
    half = len(frame) // 2
    os.write(process_end.fileno(), frame[:half])  # the sender stopped mid-message
    assert reader.read() == []  # returns at once, keeps the half
    os.write(process_end.fileno(), frame[half:] + frame)  # the rest, and one more whole one
    messages = reader.read()
    assert len(messages) == 2
    assert messages[0][0] == "batch" and np.array_equal(messages[1][1], np.arange(5_000.0))
    process_end.send(("reply", 7, True, "ok"))  # what Connection.send writes decodes the same
    assert reader.read() == [("reply", 7, True, "ok")]
    process_end.close()
    assert reader.read() == [] and reader.eof
    reader.close()


def test_backlog_of_profiles_is_bounded_in_bytes_and_keeps_every_scalar() -> None:
    trainer = Trainer(TrainConfig(task="sine", hidden=4, seq_len=8, batch=2))
    report = trainer.step()
    big = np.ones(10_000)  # a long sequence: 80 kB per step
    acc = StepAccumulator()
    steps = 400  # 32 MB of profiles if all were kept
    for step in range(1, steps + 1):
        acc.add(dataclasses.replace(report, step=step, dh_norms=big))
        assert acc.dh_bytes <= MAX_PENDING_PROFILE_BYTES + big.nbytes
    batch = acc.take(run=1, seq=1, running=True)
    assert len(batch.scalars["step"]) == steps  # every step's scalars travel
    assert batch.dh_steps[-1] == steps  # the newest profile is always there
    assert np.all(np.diff(batch.dh_steps) > 0) and len(batch.dh_steps) == len(batch.dh_norms)
    assert len(batch.dh_norms) < steps
