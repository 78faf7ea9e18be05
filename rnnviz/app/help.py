"""Help: what each panel plots and how to read it, the keys, and the preset stories.

Every paragraph states the quantity its panel draws, with the equation from
``docs/engine.md``; the key list is read from the window's own actions when the help opens,
and the stories from the preset files, so neither can drift from what the app does. Each
panel's "?" button opens its own paragraph.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from rnnviz.app.panels import ALL_PANELS, SamplerPanel
from rnnviz.app.panels.base import Panel
from rnnviz.app.qt import QtCore, QtGui, QtWidgets
from rnnviz.training import ConfigError, list_presets, load_preset

# What each panel draws, keyed by Panel.key, in the panels' reading order.
PANEL_HELP: dict[str, str] = {
    "loss": (
        "The training loss of every step (grey): the mean of the loss over the step's batch, "
        "measured before the update (the character model runs on the hidden state carried over "
        "from the previous chunk, as min-char-rnn does); a smoothed curve of it (blue: an "
        "exponential moving average with weight 0.97, debiased); and the validation loss "
        "(orange points, as often as the <i>Evaluate every</i> setting says): frozen weights, "
        "every held-out sequence "
        "started from <i>h</i> = 0. The character model's loss is "
        "<i>L</i> = −(1/<i>TB</i>) Σ<sub><i>t,b</i></sub> "
        "log softmax(<i>o<sub>t</sub></i>)[<i>y<sub>t</sub></i>] "
        "in nats per character; sentiment scores only the last step, "
        "<i>L</i> = −(1/<i>B</i>) Σ<sub><i>b</i></sub> log softmax(<i>o</i><sub><i>T</i>−1</sub>)[<i>y</i>]; "
        "sine uses the mean squared error mean((<i>o</i> − <i>y</i>)²). The dashed baseline is what "
        "a model that has learned nothing scores: ln <i>V</i> for a uniform guess over <i>V</i> "
        "characters (ln 2 for two classes), or the error of always predicting 0. Training far "
        "below validation means the model leans on carried state or memorises its data. A red "
        "vertical line marks a step whose loss was not finite. <i>log scale</i> switches the axis; "
        "the plot's tooltip says how many held-out windows were scored."),
    "gradients": (
        "For every step, each parameter's gradient norm ‖∂<i>L</i>/∂<i>W</i><sub>xh</sub>‖, "
        "‖∂<i>L</i>/∂<i>W</i><sub>hh</sub>‖, ‖∂<i>L</i>/∂<i>W</i><sub>hy</sub>‖, "
        "‖∂<i>L</i>/∂<i>b</i><sub>h</sub>‖, ‖∂<i>L</i>/∂<i>b</i><sub>y</sub>‖ (thin coloured lines, "
        "Frobenius norms), and the global norm ‖<i>g</i>‖ = √(Σ<sub><i>p</i></sub> ‖<i>g<sub>p</sub></i>‖²) "
        "before clipping (black) and after it (grey dashed), on a log axis. With norm clipping, "
        "when ‖<i>g</i>‖ &gt; <i>c</i> every gradient is scaled by <i>c</i>/‖<i>g</i>‖ and keeps its "
        "direction (Pascanu et al. 2013); the dashed red line is the threshold <i>c</i>. With value "
        "clipping every element is clipped into [−<i>c</i>, <i>c</i>], which changes the direction. "
        "The red band along the bottom marks the steps where clipping fired; the summary gives the "
        "share of steps it fired on, overall and in the last 100. <i>each after clipping</i> adds "
        "each parameter's norm after clipping (dashed). A zero norm is drawn at the axis's \"0\". "
        "A slow climb and then a jump of orders of magnitude is an exploding gradient; clipping "
        "on nearly every step means the threshold, not the gradient, sets the step size. An LSTM or a "
        "GRU has its own parameters, as in PyTorch: the gate-stacked <i>W</i><sub>xh</sub> and "
        "<i>W</i><sub>hh</sub> and two bias vectors <i>b</i><sub>xh</sub> and <i>b</i><sub>hh</sub> "
        "in the place of <i>b</i><sub>h</sub>, each with its own line. In the LSTM both biases add "
        "to the same pre-activation, so their gradients are equal and the thin <i>b</i><sub>hh</sub> "
        "line runs inside the wide <i>b</i><sub>xh</sub> one; in the GRU the reset gate multiplies "
        "the candidate's part of <i>b</i><sub>hh</sub> only, so the two differ."),
    "spectrum": (
        "Left: the eigenvalues λ of the recurrent matrix <i>W</i><sub>hh</sub> in the complex plane, "
        "with the unit circle |λ| = 1 (grey), the circle of the spectral radius "
        "ρ = max |λ| (red dashed) and the circle of the largest singular value "
        "σ<sub>1</sub> = ‖<i>W</i><sub>hh</sub>‖<sub>2</sub> (blue dashed); every eigenvalue lies "
        "inside the σ<sub>1</sub> circle, since ρ ≤ σ<sub>1</sub>. Right: ρ (red) and σ<sub>1</sub> "
        "(blue) over training, with a dashed line at 1; both are measured as often as the "
        "<i>Spectrum every</i> "
        "setting says. Why they matter (Pascanu, Mikolov &amp; Bengio 2013): each step back through time "
        "multiplies the gradient by <i>W</i><sub>hh</sub><sup>T</sup> diag(<i>f</i>′(<i>a<sub>t</sub></i>)), "
        "and |<i>f</i>′| ≤ γ (γ = 1 for tanh and ReLU, ¼ for sigmoid). So σ<sub>1</sub> &lt; 1/γ is "
        "<b>sufficient</b> for gradients through time to vanish, and ρ &gt; 1 is <b>necessary</b> for "
        "them to explode. Neither works the other way round: σ<sub>1</sub> ≥ 1/γ does not mean the "
        "gradient survives, and ρ &gt; 1 does not mean it explodes. The summary says which of the "
        "two conditions the current numbers meet. In an LSTM or a GRU the gates multiply the "
        "recurrent path, so <i>W</i><sub>hh</sub> alone no longer decides how the gradient grows, and "
        "the panel (titled <i>Spectrum of the recurrent Jacobian</i>) shows instead the Jacobian of the "
        "whole state from one step to the next, <i>J<sub>t</sub></i> = "
        "∂(<i>h</i>,<i>c</i>)<sub><i>t</i></sub>/∂(<i>h</i>,<i>c</i>)<sub><i>t</i>−1</sub> (2<i>H</i> × "
        "2<i>H</i>) for the LSTM and ∂<i>h<sub>t</sub></i>/∂<i>h</i><sub><i>t</i>−1</sub> for the GRU, "
        "averaged over the timesteps of the watched sequence of the batch it was measured on, with "
        "the weights of that batch's forward pass. A gradient travels back through "
        "<i>J<sub>t</sub></i><sup>T</sup> at each step; in the LSTM the block "
        "∂<i>c<sub>t</sub></i>/∂<i>c</i><sub><i>t</i>−1</sub> is diag(<i>f<sub>t</sub></i>), so forget "
        "gates held near 1 keep that block near the identity. ρ of the mean Jacobian near 1 means "
        "the average step carries some direction of the state almost unchanged; above 1, repeating "
        "the average step would grow it; well below 1, fade it. The ρ and σ<sub>1</sub> curves then "
        "track this mean Jacobian. Be careful: the mean of the <i>J<sub>t</sub></i> is not their product "
        "<i>J<sub>T</sub></i> ⋯ <i>J</i><sub>1</sub>, which is what sets how a gradient grows or fades "
        "over many steps; the mean is a tendency, and Pascanu's two conditions are not claimed for it."),
    "hidden": (
        "The hidden state <i>h<sub>t</sub></i> = <i>f</i>(<i>W</i><sub>xh</sub> <i>x<sub>t</sub></i> + "
        "<i>W</i><sub>hh</sub> <i>h</i><sub><i>t</i>−1</sub> + <i>b</i><sub>h</sub>) of one sequence "
        "of the latest batch: one row per hidden unit, one column per timestep, the inputs written "
        "under the time axis (as many as fit; ␣ is a space, ⏎ a newline). Colours are fixed by "
        "the activation's range (tanh −1 to 1, sigmoid 0 to 1, ReLU 0 up to a round number that "
        "changes only in steps), so a colour means the same value from one frame to the next. "
        "<i>Order by</i> sorts the rows by unit number, by running mean activation, or puts "
        "units that rise and fall together next to each other. The summary gives the share of "
        "saturated values over the whole batch (|<i>h</i>| &gt; 0.99 for tanh, <i>h</i> &lt; 0.01 "
        "or &gt; 0.99 for sigmoid, <i>h</i> = 0 for ReLU): there <i>f</i>′ ≈ 0, and almost no "
        "gradient passes back through that unit. Point at a cell to read its value. For an LSTM or a "
        "GRU, <i>Show</i> picks what the rows are: <i>h</i>, the LSTM's cell state <i>c</i> "
        "(<i>c<sub>t</sub></i> = <i>f<sub>t</sub></i> ⊙ <i>c</i><sub><i>t</i>−1</sub> + "
        "<i>i<sub>t</sub></i> ⊙ <i>g<sub>t</sub></i>, not squashed, so its colours run over ± a round "
        "number that changes only in steps), or one gate's activations: the input, forget and output "
        "gates <i>i</i>, <i>f</i>, <i>o</i> and the GRU's reset and update gates <i>r</i>, <i>z</i> are "
        "sigmoids, drawn from 0 to 1 on a sequential scale; the candidates <i>g</i> and <i>n</i> are "
        "tanh, −1 to 1. A forget gate held open (<i>f</i> ≈ 1, bright rows) keeps a unit's "
        "<i>c</i> from step to step. The summary then describes what is shown, over the watched "
        "sequence: a gate's mean and how often it is open (&gt; 0.9) or shut (&lt; 0.1)."),
    "flow": (
        "Top: ‖∂<i>L</i>/∂<i>h<sub>t</sub></i>‖, the norm over the batch of the total gradient "
        "<i>g<sub>t</sub></i> reaching the hidden state at timestep <i>t</i>, for the latest step "
        "(blue) and for the first step of the run (grey dashed), on a log axis. It is computed by "
        "backpropagation through time (docs/engine.md, eq. 4): "
        "<i>g<sub>t</sub></i> = ∂<i>L<sub>t</sub></i>/∂<i>h<sub>t</sub></i> + "
        "<i>W</i><sub>hh</sub><sup>T</sup> (<i>g</i><sub><i>t</i>+1</sub> ⊙ "
        "<i>f</i>′(<i>a</i><sub><i>t</i>+1</sub>)), where ∂<i>L<sub>t</sub></i>/∂<i>h<sub>t</sub></i> = "
        "<i>W</i><sub>hy</sub><sup>T</sup> ∂<i>L<sub>t</sub></i>/∂<i>o<sub>t</sub></i> comes from "
        "the loss at step <i>t</i> itself: each step back multiplies by <i>W</i><sub>hh</sub><sup>T</sup> "
        "diag(<i>f</i>′). Bottom: the same profile at every step of training (across: training "
        "step; up: timestep <i>t</i>; colour: the norm, on a log scale), to see when it changed. "
        "When only the last step has a loss (sentiment), the curve shows how much of that error "
        "survives the trip back to each earlier word: a straight line falling towards <i>t</i> = 0 "
        "is vanishing, rising is exploding, and the summary gives "
        "‖∂<i>L</i>/∂<i>h</i><sub>0</sub>‖ as a multiple of the norm at the last step. When every "
        "step has a loss (character model, sine), each ‖<i>g<sub>t</sub></i>‖ is its own loss's "
        "share plus what later losses send back, so a flat curve means little reaches back. With "
        "truncated BPTT nothing flows further back than <i>k</i> steps. For an LSTM the orange curve "
        "is ‖∂<i>L</i>/∂<i>c<sub>t</sub></i>‖, the gradient reaching the cell state; its direct path "
        "back is only the forget gate (<i>c<sub>t</sub></i> = <i>f<sub>t</sub></i> ⊙ "
        "<i>c</i><sub><i>t</i>−1</sub> + <i>i<sub>t</sub></i> ⊙ <i>g<sub>t</sub></i>, so "
        "∂<i>c<sub>t</sub></i>/∂<i>c</i><sub><i>t</i>−1</sub> along it is diag(<i>f<sub>t</sub></i>): "
        "the \"constant error carousel\"), with no <i>W</i><sub>hh</sub> in it."),
    "connectivity": (
        "How much each earlier input sways each prediction (Madsen, \"Visualizing memorization in "
        "RNNs\", Distill 2019), for the watched sequence of a recent batch, with the weights of the step "
        "the summary names (it is recomputed every few steps, at most 3% of the training time). The "
        "influence of input <i>s</i> on the prediction at position <i>t</i> is "
        "<i>M</i>[<i>t</i>, <i>s</i>] = ‖∂ log <i>p</i>(<i>y<sub>t</sub></i>)/∂<i>e<sub>s</sub></i>‖ "
        "for <i>s</i> ≤ <i>t</i>, where <i>y<sub>t</sub></i> is the actual next token and "
        "<i>e<sub>s</sub></i> = <i>W</i><sub>xh</sub>[:, <i>x<sub>s</sub></i>] is the input's column "
        "of <i>W</i><sub>xh</sub> (for the LSTM and the GRU the whole stacked column, every gate's "
        "rows): the same backpropagation through time as training, started from one prediction "
        "alone. For the sine task there is no probability, so it is ‖∂<i>o<sub>t</sub></i>/∂"
        "<i>x<sub>s</sub></i>‖, the pull of an input value on the predicted value; for sentiment and "
        "recall only the last position has a prediction, so only its row is drawn. Top: the text, "
        "each input's background shaded by its influence on the position under the mouse (click to "
        "keep one; the last position otherwise), which is underlined; later inputs are grey, as they "
        "cannot sway it. Bottom: every position <i>t</i> (down) against how far back the input is, "
        "<i>k</i> = <i>t</i> − <i>s</i> (across), on a log colour scale that the text's shading "
        "shares. A vanilla RNN's colours fade within a few steps of <i>k</i> = 0, as each step back "
        "multiplies by <i>W</i><sub>hh</sub><sup>T</sup> diag(<i>f</i>′); a trained LSTM keeps "
        "inputs far back alive through its cell state. The summary reads the median over positions "
        "at each distance (the \"median prediction\"): how many of the nearest inputs have at least "
        "a tenth of the peak influence, and the influence 10 steps back (or, with one prediction, of "
        "the first input) as a multiple of the current input's. A confident, right prediction has a "
        "small gradient, so rows where the model is sure are pale. For a character or word model, "
        "type your own text in the field and press Enter: a copy of the model as it is now reads it "
        "from <i>h</i> = 0, each position scored on the token that follows it in your text, and "
        "reads it again every few seconds while training runs; empty the field to return to the "
        "training sequence."),
    "task": (
        "What the model does on held-out data at the latest evaluation (as often as the "
        "<i>Evaluate every</i> setting says). Sine: the held-out wave (black), the one-step "
        "predictions <i>o<sub>t</sub></i>, "
        "each fed the true previous value (wide blue), and free-running generation after the "
        "dashed line, fed its own previous prediction (orange dashed); the summary gives the "
        "one-step RMSE = √mean((<i>o</i> − <i>y</i>)²). Sentiment: the first test phrases with "
        "their label, P(positive) = softmax(<i>o</i><sub><i>T</i>−1</sub>)[positive] shaded from "
        "red to green, and ✓ or ✗ for the most likely class; the summary gives the test accuracy. "
        "Character model: a sample drawn at temperature 1 from <i>h</i> = 0 after a short prompt, "
        "with the validation loss in nats per character."),
    "sampler": (
        "Character model only. Type a seed and press <i>Generate</i> (or Enter): a copy of the "
        "model as it is now reads the seed from <i>h</i> = 0, then writes one character at a time, "
        "drawing each from <i>p</i> = softmax(<i>o<sub>t</sub></i> / τ) and feeding it back in. "
        "The temperature τ divides the logits: low values give safe, repetitive text, high values "
        "surprising text, and 0 always takes the most likely character. The seed is shown "
        "underlined in grey. <i>New sample every N steps</i> starts a fresh sample while training "
        "runs. Characters the model has never seen are named, and must be removed to sample."),
}

PANEL_TITLES: dict[str, str] = {cls.key: cls.title for cls in (*ALL_PANELS, SamplerPanel)}
RUNS_HELP = (
    "<p>A new run (Reset, a preset, an opened run) keeps the previous one in the <b>Runs</b> tab "
    "beside Settings, with what it changes from its preset. Ticked runs are drawn beside the current "
    "one, dashed in their colour: smoothed loss, global gradient norm, ρ (dashed) and σ₁ (dotted), "
    "and the latest ‖∂L/∂h<sub>t</sub>‖. <b>Run both</b> restarts the current run and the selected "
    "run's settings together from step 0, each in its own training process. <b>Add file…</b> puts a "
    "saved run in the list.</p>"
    "<p>Every 10 steps (the interval doubles as the run grows, so at most 64 are kept) the run's "
    "whole state is kept. The <b>History</b> slider in the toolbar shows any of these snapshots in "
    "the hidden-state, gradient-flow, spectrum, connectivity and task panels and in the sampler, "
    "while the curves mark the step and training goes on; <b>Live</b> returns. <b>Fork from here</b> "
    "starts a new run from that exact state with the clipping, learning rate and schedule now in "
    "the form: unchanged, it repeats the original's steps exactly.</p>"
    "<p>File → <b>Save run</b> writes all of it (curves, snapshots, weights) to one file that "
    "<b>Open run</b>, <code>rnnviz open</code> or a drop on the window shows again; File → "
    "<b>Export animation</b> turns the snapshots into a GIF or MP4 for slides.</p>")

HELP_SHORTCUT = "F1"


def panel_anchor(key: str) -> str:
    return f"panel-{key}"


@dataclass(frozen=True)
class KeyRow:
    keys: str  # as the platform writes them, e.g. "Ctrl+S"
    action: str
    tip: str


def key_rows(actions: Iterable[QtGui.QAction]) -> list[KeyRow]:
    """One row per action that has a shortcut, in the order the window made them."""
    rows = []
    for action in actions:
        shortcuts = [s for s in action.shortcuts() if not s.isEmpty()]
        if not shortcuts:
            continue
        keys = " or ".join(s.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for s in shortcuts)
        name = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…. ")
        tip = action.statusTip() or action.toolTip()
        rows.append(KeyRow(keys, name, "" if tip.replace("&", "").rstrip("…. ") == name else tip))
    return rows


@dataclass(frozen=True)
class Story:
    name: str
    title: str
    description: str
    watch: str
    pace: float | None
    problem: str = ""  # the preset file could not be read


def preset_stories() -> list[Story]:
    """Every built-in preset's title and what to watch; a broken file is named, not hidden."""
    stories = []
    for name in list_presets():
        try:
            preset = load_preset(name)
        except ConfigError as exc:
            stories.append(Story(name, name, "", "", None, problem=str(exc)))
            continue
        stories.append(Story(name, preset.title, preset.description, preset.watch, preset.pace))
    return stories


def help_html(actions: Iterable[QtGui.QAction]) -> str:
    """The whole help page: panels, keys, presets."""
    esc = html.escape
    out = ["<h1>rnnviz</h1>",
           "<p>A small recurrent network trains while you watch. Each panel below says what it "
           "plots and how to read it; the <b>?</b> on a panel opens its paragraph. "
           "<a href='#runs'>Runs and history</a> · <a href='#keys'>Keys</a> · "
           "<a href='#presets'>Preset stories</a></p>",
           "<h2>Panels</h2>"]
    for key, text in PANEL_HELP.items():
        out.append(f"<h3><a name='{panel_anchor(key)}'></a>{esc(PANEL_TITLES[key])}</h3><p>{text}</p>")
    out.append("<h2><a name='runs'></a>Runs, history and forks</h2>" + RUNS_HELP)
    out.append("<h2><a name='keys'></a>Keys</h2><table cellpadding='3'>")
    for row in key_rows(actions):
        tip = f" <span style='color:#606060'>{esc(row.tip)}</span>" if row.tip else ""
        out.append(f"<tr><td><b>{esc(row.keys)}</b></td><td>{esc(row.action)}{tip}</td></tr>")
    out.append("</table><p>Learning rate and clipping apply at once; settings that shape the model "
               "or the data apply on Reset, and the form marks them until then.</p>")
    out.append("<h2><a name='presets'></a>Preset stories</h2><p>Choose one in the <i>Preset</i> box; "
               "each is meant to be watched at its pace.</p>")
    for story in preset_stories():
        if story.problem:
            out.append(f"<h3>{esc(story.name)}</h3><p style='color:#B00020'>{esc(story.problem)}</p>")
            continue
        pace = f" · watch at {story.pace:g} step{'' if story.pace == 1 else 's'}/s" if story.pace else ""
        out.append(f"<h3><a name='preset-{esc(story.name)}'></a>{esc(story.title)} "
                   f"<span style='color:#606060; font-weight:normal'>({esc(story.name)}{pace})</span></h3>"
                   f"<p>{esc(story.description)}</p><p><b>What to watch:</b> {esc(story.watch)}</p>")
    return "\n".join(out)


class HelpDialog(QtWidgets.QDialog):
    """The help page in a browser that stays open beside the panels (not modal)."""

    def __init__(self, window: QtWidgets.QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("rnnviz help")
        self._window = window
        layout = QtWidgets.QVBoxLayout(self)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenLinks(False)  # in-page links scroll; nothing leaves the app
        self.browser.anchorClicked.connect(lambda url: self.browser.scrollToAnchor(url.fragment()))
        layout.addWidget(self.browser)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.resize(760, 620)

    def show_topic(self, anchor: str = "") -> None:
        """Open (or raise) the help at ``anchor``; the page is rebuilt, so keys are current."""
        self.browser.setFont(self._window.font())
        self.browser.setHtml(help_html(self._window.actions()))
        self.show()
        self.raise_()
        self.activateWindow()
        if anchor:
            # After the show: the browser scrolls only once it is laid out at its final size.
            QtCore.QTimer.singleShot(0, lambda: self.browser.scrollToAnchor(anchor))
            self.browser.scrollToAnchor(anchor)
        else:
            self.browser.verticalScrollBar().setValue(0)


class Help:
    """The Help menu, its actions and every panel's "?" button, wired to one dialog."""

    def __init__(self, window: QtWidgets.QMainWindow, panels: Iterable[Panel]) -> None:
        self.window = window
        self.dialog: HelpDialog | None = None
        menu = window.menuBar().addMenu("&Help")
        self.contents_action = self._add(menu, "Panels, keys and presets", "", HELP_SHORTCUT)
        self._add(menu, "Keys", "keys")
        self._add(menu, "Preset stories", "presets")
        for panel in panels:
            panel.on_help = self.show_panel
        self.menu = menu

    def _add(self, menu: QtWidgets.QMenu, text: str, anchor: str,
             shortcut: str | None = None) -> QtGui.QAction:
        action = QtGui.QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setStatusTip("What each panel shows and how to read it, the keys and the presets")
        action.triggered.connect(lambda: self.show(anchor))
        self.window.addAction(action)  # the shortcut works with the menu bar hidden
        menu.addAction(action)
        return action

    def show(self, anchor: str = "") -> HelpDialog:
        if self.dialog is None:
            self.dialog = HelpDialog(self.window)
        self.dialog.show_topic(anchor)
        return self.dialog

    def show_panel(self, key: str) -> HelpDialog:
        return self.show(panel_anchor(key))
