"""Panel drawing helpers, tested on real pyqtgraph items in an offscreen window."""

from __future__ import annotations

import numpy as np


def test_dense_curve_draws_one_envelope_per_pixel_and_keeps_every_spike(qtbot) -> None:
    from rnnviz.app.panels.base import dense_curve, new_plot
    from rnnviz.app.qt import pg

    view = pg.GraphicsLayoutWidget()
    plot = new_plot("step", "value")
    view.addItem(plot)
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)

    steps = np.arange(20_000, dtype=np.float64)
    values = np.random.default_rng(0).normal(1.0, 0.1, steps.size)
    values[12_345] = 50.0  # a single-step spike, as a gradient explosion looks
    values[777] = -20.0
    curve = dense_curve(plot, pen="k")
    curve.setData(steps, values)
    plot.setRange(xRange=(0, steps[-1]), yRange=(-25, 55), padding=0)
    qtbot.wait(50)

    shown_x, shown_y = curve.getData()  # what is drawn, after downsampling
    width = plot.getViewBox().width()
    assert shown_y.size <= 2 * width + 4  # one min/max pair per pixel column
    assert shown_y.max() == 50.0 and shown_y.min() == -20.0  # the envelope keeps both extremes
    bucket = steps.size / width  # steps per pixel column
    assert abs(shown_x[np.argmax(shown_y)] - 12_345) <= bucket  # and in the right pixel column
