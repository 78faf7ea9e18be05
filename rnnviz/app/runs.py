"""The runs of one window: the run training now, and earlier ones kept to compare with it.

A lesson on gradients is a comparison (without clipping the loss turns NaN, with it the run
survives), so a new run does not throw the previous one away: its ``RunData`` stays here,
drawn in its own colour in the panels that can hold several runs on one axis. The list is a
Qt object only for its ``changed`` signal; the entries are plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnviz.app.qt import QtCore, Signal
from rnnviz.app.run_data import RunData
from rnnviz.training import TrainConfig
from rnnviz.training.config import config_differences

# Paul Tol's "muted" colours, leaving out those the panels use for the current run (Okabe-Ito,
# and wine for b_hh); drawn dashed, they stay apart from the current run's curves on a projector.
COMPARISON_COLOURS = ("#332288", "#999933", "#117733", "#CC6677", "#661100", "#44AA99", "#AA4499")
MAX_RUNS = 10  # RunData is bounded (a few MB each); the oldest hidden runs go first


def comparable(a: RunData, b: RunData) -> bool:
    """Whether two runs' curves mean the same thing on one axis: the same task (the loss's
    unit) and the same cell (W_hh's spectrum or a gated cell's Jacobian). Others are kept in
    the list unticked."""
    return a.config.task == b.config.task and a.config.cell == b.config.cell


@dataclass(eq=False)
class RunEntry:
    """One run in the list: its data, what to call it and how to draw it."""

    data: RunData
    name: str
    preset: str  # the preset it was started from or is closest to; "" if none
    differs: list[str] = field(default_factory=list)  # from that preset: "clipping: none → norm 5"
    colour: str = COMPARISON_COLOURS[0]
    visible: bool = True
    source: str = ""  # the file it was opened from, if any
    number: int = 0  # in the order the window made or opened them
    live: bool = False  # trained beside the current run (Run both), in a second process
    base: TrainConfig | None = None  # what ``differs`` is measured from (its preset or original)

    @property
    def settings_text(self) -> str:
        """"exploding · clipping: none → norm 5", or the preset alone when nothing differs."""
        base = self.preset or "custom settings"
        text = " · ".join([base, *self.differs]) if self.differs else base
        return f"{text} · training beside" if self.live else text


class RunList(QtCore.QObject):
    """The current run first in importance, the others in the order they were made."""

    changed = Signal()

    def __init__(self, presets: dict[str, TrainConfig] | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.presets = dict(presets or {})
        self.entries: list[RunEntry] = []
        self.current: RunEntry | None = None
        self._next_number = 1
        self.replace_current_next = False  # the next adopted run takes the current one's place
        self._fork_of: tuple[RunEntry, int, TrainConfig] | None = None  # the next run forks this one

    # ---------------------------------------------------------------- changes
    def adopt(self, data: RunData, preset: str = "") -> RunEntry:
        """``data`` is the run training now; the previous current run stays for comparison if
        it got anywhere (a run with no steps has nothing to compare)."""
        if self.current is not None and self.current.data is data:
            return self.current
        previous = self.current
        if previous is not None:
            previous.data.view(None)  # compared runs are drawn as they are now
        if previous is not None and self.replace_current_next:
            # Run both restarted the current run: the new one takes its name and colour.
            self.replace_current_next = False
            previous.data = data
            self.changed.emit()
            return previous
        if previous is not None and not comparable(previous.data, data):
            previous.visible = False  # another task or cell: its curves are other quantities
        if self._fork_of is not None:
            original, step, base = self._fork_of
            self._fork_of = None
            entry = self._new_entry(data, "")
            entry.name = f"{original.name} fork at {step:,}"
            entry.preset = original.name
            entry.base = base
            entry.differs = config_differences(entry.base, data.config)
            self.entries.append(entry)
            self.current = entry
            self._bound()
            self.changed.emit()
            return entry
        if previous is not None and len(previous.data.steps) == 0:
            self.entries.remove(previous)  # nothing to compare; its number is free again
            if previous.number == self._next_number - 1:
                self._next_number -= 1
        entry = self._new_entry(data, preset)
        self.entries.append(entry)
        self.current = entry
        self._bound()
        self.changed.emit()
        return entry

    def add(self, data: RunData, name: str = "", preset: str = "", source: str = "") -> RunEntry:
        """A finished run (an opened run file) to compare with, not the one training."""
        entry = self._new_entry(data, preset, name=name)
        entry.source = source
        entry.visible = self.current is None or comparable(data, self.current.data)
        self.entries.append(entry)
        self._bound()
        self.changed.emit()
        return entry

    def fork_next(self, original: RunEntry, step: int, base: TrainConfig | None = None) -> None:
        """The next run adopted is a fork of ``original`` at ``step``: named after it, and
        described by what it changes from ``base``, the original's settings at that step (by
        default its settings now): "clipping: none → norm 1"."""
        self._fork_of = (original, step, base if base is not None else original.data.config)

    def settings_changed(self, entry: RunEntry) -> None:
        """``entry``'s run took live settings (a learning rate, clipping): say what it differs in now."""
        if entry.base is not None:
            entry.differs = config_differences(entry.base, entry.data.config)
        self.changed.emit()

    def cancel_fork(self) -> None:
        """The fork :meth:`fork_next` announced failed: the next run adopted is an ordinary one."""
        self._fork_of = None

    def take_over(self, entry: RunEntry, data: RunData) -> None:
        """``entry`` now shows ``data``, a run trained beside the current one."""
        entry.data = data
        entry.live = True
        entry.visible = True
        self.changed.emit()

    def remove(self, entry: RunEntry) -> None:
        """Forget a run (never the current one: it is still training)."""
        if entry is self.current or entry not in self.entries:
            return
        self.entries.remove(entry)
        self.changed.emit()

    def rename(self, entry: RunEntry, name: str) -> None:
        name = name.strip()
        if name and name != entry.name:
            entry.name = name
            self.changed.emit()

    def set_visible(self, entry: RunEntry, visible: bool) -> None:
        if entry.visible != visible:
            entry.visible = visible
            self.changed.emit()

    # ----------------------------------------------------------------- queries
    def comparisons(self) -> list[RunEntry]:
        """The visible runs other than the current one: the panels draw these beside it."""
        return [e for e in self.entries if e.visible and e is not self.current]

    def __len__(self) -> int:
        return len(self.entries)

    # ----------------------------------------------------------------- helpers
    def _new_entry(self, data: RunData, preset: str, name: str = "") -> RunEntry:
        number = self._next_number
        self._next_number += 1
        base_name, differs = self._closest_preset(data.config, preset)
        return RunEntry(data=data, name=name or f"{base_name or 'run'} #{number}", preset=base_name,
                        differs=differs, colour=self._free_colour(), number=number,
                        base=self.presets.get(base_name, data.config))  # custom: its start

    def _closest_preset(self, config: TrainConfig, likely: str) -> tuple[str, list[str]]:
        """The preset ``config`` differs least from (``likely`` wins ties), and how it differs."""
        best: tuple[int, int, str, list[str]] | None = None
        for name, preset_config in self.presets.items():
            differs = config_differences(preset_config, config)
            key = (len(differs), 0 if name == likely else 1)
            if best is None or key < best[:2]:
                best = (*key, name, differs)
        if best is None or (best[0] > 3 and best[2] != likely):
            return likely, []  # nothing close: just the name the run was started under
        return best[2], best[3]

    def _free_colour(self) -> str:
        used = [e.colour for e in self.entries]
        return min(COMPARISON_COLOURS, key=lambda c: (used.count(c), COMPARISON_COLOURS.index(c)))

    def _bound(self) -> None:
        """At most MAX_RUNS: drop the oldest hidden ones first, then the oldest."""
        while len(self.entries) > MAX_RUNS:
            others = [e for e in self.entries if e is not self.current]
            hidden = [e for e in others if not e.visible]
            self.entries.remove((hidden or others)[0])
