"""One module per panel; each panel's only input is ``update(run_data)``."""

from rnnviz.app.panels.connectivity import ConnectivityPanel
from rnnviz.app.panels.flow import GradientFlowPanel
from rnnviz.app.panels.gradients import GradientNormsPanel
from rnnviz.app.panels.hidden import HiddenStatePanel
from rnnviz.app.panels.loss import LossPanel
from rnnviz.app.panels.sampler import SamplerPanel
from rnnviz.app.panels.spectrum import SpectrumPanel
from rnnviz.app.panels.task_output import TaskOutputPanel

# Panels built without arguments, in their default reading order (the sampler needs a
# model source and is added by the window).
ALL_PANELS = (LossPanel, GradientNormsPanel, SpectrumPanel, HiddenStatePanel, GradientFlowPanel,
              ConnectivityPanel, TaskOutputPanel)

__all__ = ["ALL_PANELS", "ConnectivityPanel", "GradientFlowPanel", "GradientNormsPanel", "HiddenStatePanel",
           "LossPanel", "SamplerPanel", "SpectrumPanel", "TaskOutputPanel"]
