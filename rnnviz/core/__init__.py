"""rnnviz's numerical core: pure NumPy, importable without Qt.

>>> from rnnviz.core import GRU, LSTM, RNN
>>> model = RNN(input_size=10, hidden_size=16, output_size=10, seed=0)
>>> lstm = LSTM(input_size=10, hidden_size=16, output_size=10, seed=0)  # same interface
"""

from rnnviz.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rnnviz.core.diagnostics import Spectrum, saturation_fraction, spectral_radius, spectrum
from rnnviz.core.gated import CELLS, GATED_PARAM_NAMES, GRU, LSTM, make_model
from rnnviz.core.heads import HEADS, softmax
from rnnviz.core.init import INITS, rescale_to_spectral_radius
from rnnviz.core.optim import (
    CLIP_MODES,
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    ClipResult,
    HalveOnPlateau,
    Momentum,
    Optimizer,
    RMSprop,
    clip_gradients,
    global_norm,
    make_optimizer,
)
from rnnviz.core.rnn import ACTIVATIONS, DTYPES, PARAM_NAMES, RNN, LossResult
from rnnviz.core.vocab import UnknownTokensError, Vocabulary

__all__ = [
    "ACTIVATIONS", "CELLS", "CLIP_MODES", "DTYPES", "GATED_PARAM_NAMES", "GRU", "HEADS", "INITS", "LSTM",
    "OPTIMIZERS", "PARAM_NAMES", "RNN",
    "SGD", "Adagrad", "Adam", "CheckpointError", "ClipResult", "HalveOnPlateau", "LossResult",
    "Momentum", "Optimizer", "RMSprop", "Spectrum", "UnknownTokensError", "Vocabulary",
    "clip_gradients", "global_norm", "load_checkpoint", "make_model", "make_optimizer",
    "rescale_to_spectral_radius", "saturation_fraction", "save_checkpoint", "softmax",
    "spectral_radius", "spectrum",
]
