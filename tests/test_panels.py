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


def test_envelope_keeps_each_buckets_extremes_in_bounded_points() -> None:
    from rnnviz.app.panels.base import envelope

    rng = np.random.default_rng(1)
    x = np.arange(10_007, dtype=np.float64)
    y = rng.normal(size=x.size)
    y[5000] = 99.0
    y[4000:4003] = np.nan  # NaN inside a bucket is skipped
    y[7000] = np.inf  # an infinite value is its bucket's maximum: a gap in the drawn curve
    y[9000:9100] = np.nan  # a bucket with nothing finite is a gap
    columns = 250
    x_out, (y_out,) = envelope(x, [y], columns)

    assert x_out.size == y_out.size <= 2 * columns
    assert np.all(np.diff(x_out) >= 0)
    size = int(np.ceil(x.size / columns))
    for b, start in enumerate(range(0, x.size, size)):
        bucket = y[start : start + size]
        low, high = y_out[2 * b], y_out[2 * b + 1]
        if np.isnan(bucket).all():
            assert np.isnan(low) and np.isnan(high)
        else:
            assert low == np.nanmin(bucket) and high == np.nanmax(bucket)
        assert x_out[2 * b] == x[start]
    assert np.nanmax(y_out[np.isfinite(y_out)]) == 99.0 and np.isinf(y_out).sum() == 1


def test_envelope_leaves_short_curves_alone() -> None:
    from rnnviz.app.panels.base import envelope

    x = np.arange(100.0)
    x_out, (y_out,) = envelope(x, [x * 2], 50)
    assert x_out is x and np.array_equal(y_out, x * 2)


def test_live_summaries_change_at_a_readable_rate_and_end_on_the_latest(qtbot, monkeypatch) -> None:
    from rnnviz.app.panels import base

    clock = [100.0]
    monkeypatch.setattr(base.time, "monotonic", lambda: clock[0])
    panel = base.Panel()
    qtbot.addWidget(panel.widget)
    panel.set_live_summary("step 1")
    assert panel.summary.text() == "step 1"  # the first one shows at once
    for step in range(2, 10):  # a burst of batches within one interval
        clock[0] += 0.01
        panel.set_live_summary(f"step {step}")
    assert panel.summary.text() == "step 1"
    panel.flush_summary()
    assert panel.summary.text() == "step 1"  # not yet due
    clock[0] += 1.0 / base.SUMMARY_HZ
    panel.flush_summary()
    assert panel.summary.text() == "step 9"  # the latest, not a stale one
    panel.set_live_summary("step 10")
    panel.flush_summary(force=True)  # an export shows what is current
    assert panel.summary.text() == "step 10"
    panel.set_summary("paused")  # a one-off message replaces any pending live text
    clock[0] += 10
    panel.flush_summary()
    assert panel.summary.text() == "paused"


def test_steady_label_repaints_new_numbers_without_a_new_layout(qtbot) -> None:
    from rnnviz.app.qt import QtCore, QtGui, QtWidgets
    from rnnviz.app.steady_label import SteadyLabel

    class LayoutRequests(QtCore.QObject):
        count = 0

        def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
            if event.type() == QtCore.QEvent.Type.LayoutRequest:
                self.count += 1
            return False

    parent = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(parent)
    label = SteadyLabel("step <b>1</b> · loss 4.29")
    layout.addWidget(label)
    layout.addStretch(1)
    qtbot.addWidget(parent)
    parent.resize(300, 200)
    parent.show()
    qtbot.waitExposed(parent)
    requests = LayoutRequests()
    parent.installEventFilter(requests)
    qtbot.wait(20)
    requests.count = 0

    for step in range(2, 30):  # same height: repaints only
        label.setText(f"step <b>{step}</b> · loss {4.29 - step / 100:.2f}")
        QtWidgets.QApplication.processEvents()
    assert requests.count == 0
    assert label.text() == "step <b>29</b> · loss 4.00" and label.plain_text() == "step 29 · loss 4.00"

    one_line = label.height()
    label.setText("a much longer summary that cannot fit on one line of a 300-pixel panel " * 3)
    qtbot.waitUntil(lambda: label.height() > one_line, timeout=2000)  # it wraps: the layout follows
    assert requests.count >= 1

    image = label.grab().toImage()  # the text is really drawn
    dark = sum(QtGui.QColor(image.pixel(x, y)).value() < 128
               for x in range(0, image.width(), 2) for y in range(image.height()))
    assert dark > 20
