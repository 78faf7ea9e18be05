"""Where the default initialisation starts on the vanishing/exploding map (rnnviz/core/init.py)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from rnnviz.core import RNN
from rnnviz.core.init import init_params, spectral_radius


@pytest.mark.parametrize(("scheme", "expected"), [("uniform", 1 / np.sqrt(3)), ("xavier", 1.0)])
@pytest.mark.parametrize("hidden", [100, 200])
def test_w_hh_starts_at_the_circular_law_radius(scheme, expected, hidden):
    """i.i.d. entries of variance s² give a spectral radius near s·√H: 1/√3 for U(±1/√H), 1 for
    Xavier's U(±√(3/H)), whatever H (averaged over seeds; at H = 100 the edge sits ~5% further out)."""
    with threadpool_limits(limits=1, user_api="blas"):  # eigvals: a 2nd thread only contends
        radii = [spectral_radius(init_params(5, hidden, 5, scheme, np.random.default_rng(seed))["W_hh"])
                 for seed in range(8)]
    assert np.mean(radii) == pytest.approx(expected, rel=0.1)


def test_the_default_character_model_starts_like_pytorch():
    """The RNN's default is PyTorch's nn.RNN initialisation, and the default preset uses it."""
    from rnnviz.training import load_preset

    default = inspect.signature(RNN).parameters["init"].default
    assert default == "uniform" == load_preset("charlm").config.init
    model = RNN(73, 100, 73, seed=0)
    bound = 1 / np.sqrt(100)
    for name in ("W_hh", "W_hy"):  # fan_in = H for both
        assert np.abs(model.params[name]).max() <= bound
    assert np.abs(model.params["W_xh"]).max() <= 1 / np.sqrt(73)
