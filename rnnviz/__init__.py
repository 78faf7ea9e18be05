"""rnnviz: watch a from-scratch NumPy RNN train, live.

The numerical core (``rnnviz.core``), the tasks and the trainer import no Qt, so rnnviz
also works as a plain library and behind the headless ``rnnviz train`` command.
"""

__version__ = "0.1.0"

from rnnviz.core import RNN, LossResult

__all__ = ["RNN", "LossResult", "__version__"]
