"""Locate the files shipped in ``resources/`` (corpora, datasets, presets, icons).

In an installed wheel they live inside the package as ``rnnviz/resources``; in a source
checkout (editable install, tests) they are the top-level ``resources/`` folder.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def resource_root() -> Path:
    packaged = Path(__file__).resolve().parent / "resources"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("rnnviz's resources folder is missing; reinstall rnnviz")


def resource_dir(*parts: str) -> Path:
    return resource_root().joinpath(*parts)


def default_corpus() -> Path:
    return resource_dir("corpora", "lighthouse.txt")
