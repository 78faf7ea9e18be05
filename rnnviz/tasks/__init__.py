"""Tasks: where batches come from and how a model is judged on held-out data."""

from __future__ import annotations

from rnnviz.tasks.base import Batch, Task, TaskError
from rnnviz.tasks.charlm import CharLMTask, load_corpus
from rnnviz.tasks.lines import LineLMTask
from rnnviz.tasks.recall import RecallTask
from rnnviz.tasks.sentiment import SentimentTask
from rnnviz.tasks.sine import SineTask

__all__ = ["Batch", "CharLMTask", "LineLMTask", "RecallTask", "SentimentTask", "SineTask", "Task",
           "TaskError", "load_corpus", "make_task"]


def make_task(config) -> Task:
    """Build the task a TrainConfig names."""
    if config.task == "charlm":
        task_class = LineLMTask if config.lines == "on" else CharLMTask
        return task_class(config.corpus, config.seq_len, config.batch, tokens=config.tokens,
                          vocab_size=config.vocab_size)
    if config.task == "sentiment":
        return SentimentTask(config.batch)
    if config.task == "sine":
        return SineTask(config.seq_len, config.batch, config.sine_freq, config.sine_noise, config.seed)
    if config.task == "recall":
        return RecallTask(config.recall_distance, config.recall_symbols, config.batch, config.recall_filler)
    raise TaskError(f"unknown task {config.task!r}")
