"""The RNN's forward API, sampling (rnnviz/core/rnn.py) and the Vocabulary (vocab.py)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from rnnviz.core import PARAM_NAMES, RNN, UnknownTokensError, Vocabulary, softmax


def random_model(vocab=6, hidden=8, seed=0, activation="tanh"):
    """A char-level model whose parameters are large enough to make sampling interesting."""
    model = RNN(vocab, hidden, vocab, activation=activation, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for arr in model.params.values():
        arr *= 2.0
        arr += rng.normal(0.0, 0.3, arr.shape)
    return model


def reference_hidden(model, ids, h0=None):
    """Eqs. (1)-(2) with explicit one-hot vectors, one token at a time (a single sequence)."""
    p = model.params
    h = np.zeros(model.hidden_size) if h0 is None else h0
    for i in ids:
        h = np.tanh(p["W_xh"] @ np.eye(model.input_size)[i] + p["W_hh"] @ h + p["b_h"])
    return h


def logits_of(model, h):
    return model.params["W_hy"] @ h + model.params["b_y"]


# -------------------------------------------------------------------------------- forward
def test_token_lookup_equals_one_hot_product():
    """Looking up columns of W_xh for int input equals multiplying by one-hot float input."""
    model = random_model()
    x = np.array([[0, 5], [3, 3], [1, 0]])
    onehot = np.eye(6)[x]
    np.testing.assert_allclose(model.forward(x), model.forward(onehot), rtol=1e-14, atol=1e-15)
    assert x.tolist() == [[0, 5], [3, 3], [1, 0]]  # input untouched


def test_forward_matches_reference_and_step_by_step():
    """forward() over a sequence = reference eqs. (1)-(2) = repeated step() calls."""
    model = random_model()
    ids = [2, 0, 4, 4, 1]
    h0 = np.random.default_rng(1).normal(size=model.hidden_size) * 0.5
    hidden = model.forward(np.array(ids)[:, None], h0[None])
    np.testing.assert_allclose(hidden[-1, 0], reference_hidden(model, ids, h0), rtol=1e-13)
    h = h0[None]
    for i in ids:
        h = model.step(np.array([i]), h)
    np.testing.assert_allclose(h, hidden[-1], rtol=1e-14)


def test_forward_does_not_modify_h0():
    model = random_model()
    h0 = np.ones((2, model.hidden_size)) * 0.3
    model.forward(np.array([[1, 2], [3, 4]]), h0)
    np.testing.assert_array_equal(h0, 0.3)


def test_predict_outputs_per_head():
    """seq_* heads give (T, B, O) outputs, last_* heads only the last step's (B, O)."""
    model = random_model()
    x = np.array([[1, 2], [3, 4], [0, 0]])
    seq, hidden = model.predict(x, head="seq_softmax")
    last, _ = model.predict(x, head="last_softmax")
    assert seq.shape == (3, 2, 6) and last.shape == (2, 6)
    np.testing.assert_array_equal(last, seq[-1])
    np.testing.assert_allclose(seq, hidden @ model.params["W_hy"].T + model.params["b_y"])


def test_loss_is_mean_over_targets():
    """res.loss is a mean: cross-entropy over T·B targets, squared error over T·B·O values."""
    model = random_model()
    x = np.array([[1, 2], [3, 4], [0, 0]])
    y = np.array([[2, 3], [4, 0], [0, 5]])
    res = model.loss_and_grads(x, y, head="seq_softmax")
    log_p = np.log(softmax(res.outputs))
    expected = -np.mean([log_p[t, b, y[t, b]] for t in range(3) for b in range(2)])
    assert res.loss == pytest.approx(expected, rel=1e-13)
    targets = np.random.default_rng(0).normal(size=(3, 2, 6))
    res = model.loss_and_grads(x, targets, head="seq_mse")
    assert res.loss == pytest.approx(np.mean((res.outputs - targets) ** 2), rel=1e-13)


def test_h_last_is_a_copy_of_the_last_hidden_state():
    model = random_model()
    res = model.loss_and_grads(np.array([[1], [2]]), np.array([[2], [3]]))
    np.testing.assert_array_equal(res.h_last, res.hidden[-1])
    res.hidden[-1] += 1.0
    assert not np.array_equal(res.h_last, res.hidden[-1])


@pytest.mark.parametrize(("x", "kwargs"), [
    (np.array([[0, 6]]), {}),  # token id out of range
    (np.array([[-1, 0]]), {}),
    (np.array([0, 1]), {}),  # token input must be 2-D
    (np.zeros((2, 1, 5)), {}),  # wrong input size
    (np.zeros((0, 2), dtype=np.int64), {}),  # empty sequence
    (np.array([[0, 1]]), {"head": "seq_hinge"}),
    (np.array([[0, 1]]), {"truncate": -1}),
    (np.array([[0, 1]]), {"truncate": 1.5}),
    (np.array([[0, 1]]), {"h0": np.zeros((3, 8))}),  # wrong h0 batch
])
def test_loss_and_grads_rejects_bad_input(x, kwargs):
    model = random_model()
    y = np.zeros(x.shape[:2], dtype=np.int64) if x.ndim >= 2 else np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError):
        model.loss_and_grads(x, y, **kwargs)


def test_set_params_checks_names_and_shapes_and_copies():
    model = random_model()
    params = {k: v.copy() for k, v in model.params.items()}
    params["W_hh"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match="W_hh"):
        model.set_params(params)
    del params["W_hh"]
    with pytest.raises(ValueError, match="W_hh"):
        model.set_params(params)
    good = {k: v.copy() for k, v in random_model(seed=5).params.items()}
    model.set_params(good)
    good["b_y"][:] = 99.0
    assert not np.any(model.params["b_y"] == 99.0)
    assert model.num_params() == 6 * 8 + 8 * 8 + 8 * 6 + 8 + 6


def test_params_are_views_of_the_flat_buffer_in_param_order():
    """params[name] are views into flat_params laid out W_xh, W_hh, W_hy, b_h, b_y (row-major),
    so an in-place change through either is seen by the other and by the engine."""
    model = random_model()
    flat = model.flat_params
    np.testing.assert_array_equal(flat, np.concatenate([model.params[n].ravel() for n in PARAM_NAMES]))
    for name in PARAM_NAMES:
        assert np.shares_memory(model.params[name], flat), name
    x = np.array([[1, 2]])
    before = model.predict(x)[0]
    b_y = model.params["b_y"].copy()
    flat[-model.output_size:] += 1.0  # b_y is last
    np.testing.assert_array_equal(model.params["b_y"], b_y + 1.0)
    np.testing.assert_allclose(model.predict(x)[0], before + 1.0, rtol=1e-13)


def test_set_params_writes_into_the_same_buffer():
    model = random_model()
    flat = model.flat_params
    other = random_model(seed=9)
    model.set_params(other.params)
    assert model.flat_params is flat
    np.testing.assert_array_equal(flat, other.flat_params)
    assert not np.shares_memory(flat, other.flat_params)


def test_flat_grads_match_named_grads():
    """res.flat_grads is laid out like flat_params and res.grads are views of it."""
    model = random_model()
    res = model.loss_and_grads(np.array([[1, 2], [0, 3]]), np.array([[2, 2], [5, 1]]))
    assert res.flat_grads.shape == model.flat_params.shape
    np.testing.assert_array_equal(res.flat_grads,
                                  np.concatenate([res.grads[n].ravel() for n in PARAM_NAMES]))
    for name in PARAM_NAMES:
        assert res.grads[name].shape == model.params[name].shape
        assert np.shares_memory(res.grads[name], res.flat_grads)


def test_deepcopy_is_independent_and_keeps_views():
    """copy.deepcopy (used to sample on another thread) gets its own buffer with live views."""
    model = random_model()
    clone = copy.deepcopy(model)
    for name in PARAM_NAMES:
        assert np.shares_memory(clone.params[name], clone.flat_params)
        assert not np.shares_memory(clone.params[name], model.flat_params)
    saved = model.flat_params.copy()
    clone.flat_params[:] = 0.0
    np.testing.assert_array_equal(model.flat_params, saved)
    assert not clone.params["W_hh"].any()


# ------------------------------------------------------------------------------- sampling
def primed_state(model, monkeypatch, prime):
    """The hidden state sample() reads its first distribution from (spied on output())."""
    seen = []
    original = model.output

    def spy(h):
        seen.append(np.array(h, copy=True))
        return original(h)

    monkeypatch.setattr(model, "output", spy)
    next(iter(model.sample(prime, 1, temperature=0)))
    monkeypatch.undo()
    return seen[0][0]


def test_priming_feeds_every_prime_character(monkeypatch):
    """The first distribution comes from the state after the *whole* prime: it equals the
    reference state, and primes differing only in their first character give different
    states (a prime that only used its last character would not)."""
    model = random_model()
    a = primed_state(model, monkeypatch, [1, 3, 2, 5])
    b = primed_state(model, monkeypatch, [4, 3, 2, 5])
    np.testing.assert_allclose(a, reference_hidden(model, [1, 3, 2, 5]), rtol=1e-13)
    np.testing.assert_allclose(b, reference_hidden(model, [4, 3, 2, 5]), rtol=1e-13)
    assert not np.allclose(a, b)
    assert not np.allclose(a, reference_hidden(model, [5]))


def test_greedy_sampling_follows_reference_feedback_loop():
    """temperature=0 is argmax at every step, feeding each choice back in; it ignores rng."""
    model = random_model()
    prime = [0, 2, 2]
    h = reference_hidden(model, prime)
    expected = []
    for _ in range(12):
        token = int(np.argmax(logits_of(model, h)))
        expected.append(token)
        h = reference_hidden(model, [token], h)
    for rng in (None, np.random.default_rng(0), np.random.default_rng(1)):
        assert list(model.sample(prime, 12, temperature=0, rng=rng)) == expected


def test_greedy_sampling_depends_on_first_prime_character():
    """Some pair of primes differing only in the first character gives different greedy
    continuations (on this random model), so early characters are not dropped."""
    model = random_model(seed=2)
    model.params["b_y"][:] = 0.0  # no output bias that could win every argmax
    samples = {tuple(model.sample([first, 3, 1], 20, temperature=0)) for first in range(6)}
    assert len(samples) > 1


def test_same_seed_same_sample_and_different_seed_different():
    model = random_model()
    a = list(model.sample([1, 2], 60, temperature=1.0, rng=np.random.default_rng(7)))
    b = list(model.sample([1, 2], 60, temperature=1.0, rng=np.random.default_rng(7)))
    c = list(model.sample([1, 2], 60, temperature=1.0, rng=np.random.default_rng(8)))
    assert a == b
    assert a != c


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_first_sampled_token_follows_tempered_softmax(temperature):
    """Over many draws, the first token's frequencies match softmax(logits / τ) of the
    primed state (within 4 standard errors)."""
    model = random_model(seed=3)
    model.params["W_hy"] *= 0.3  # keep every probability away from 0
    probs = softmax(logits_of(model, reference_hidden(model, [1, 4])), temperature)
    n = 3000
    rng = np.random.default_rng(42)
    draws = [next(iter(model.sample([1, 4], 1, temperature=temperature, rng=rng))) for _ in range(n)]
    freq = np.bincount(draws, minlength=6) / n
    stderr = np.sqrt(probs * (1 - probs) / n)
    assert np.all(np.abs(freq - probs) < 4 * stderr + 1e-3), (freq, probs)


@pytest.mark.parametrize("length", [0, 1, 17])
def test_sample_length_is_honoured(length):
    tokens = list(random_model().sample([3], length, rng=np.random.default_rng(0)))
    assert len(tokens) == length
    assert all(isinstance(t, int) and 0 <= t < 6 for t in tokens)


@pytest.mark.parametrize(("prime", "length", "temperature"), [
    ([], 5, 1.0), ([1], 5, -0.1), ([1], 5, float("nan")), ([1], 5, float("inf")), ([1], -1, 1.0),
    ([9], 5, 1.0),  # token id outside the vocabulary
])
def test_invalid_sampling_arguments_raise_at_call(prime, length, temperature):
    """Bad arguments raise ValueError when sample() is called, not later at the first next()
    (a GUI would otherwise hear of them on its worker thread)."""
    with pytest.raises(ValueError):
        random_model().sample(prime, length, temperature=temperature)


def test_sampling_from_h0_uses_it():
    """Priming starts from h0 when one is given (e.g. a carried training state)."""
    model = random_model(seed=2)
    h0 = np.full(model.hidden_size, 0.9)
    b = list(model.sample([1], 15, temperature=0, h0=h0))
    h = reference_hidden(model, [1], h0)
    expected = []
    for _ in range(15):
        expected.append(int(np.argmax(logits_of(model, h))))
        h = reference_hidden(model, [expected[-1]], h)
    assert b == expected
    assert b != list(model.sample([1], 15, temperature=0))


# ----------------------------------------------------------------------------- vocabulary
def test_encode_decode_round_trip():
    vocab = Vocabulary("abc d")
    ids = vocab.encode("a cab")
    assert ids.dtype == np.int64
    assert ids.tolist() == [0, 3, 2, 0, 1]
    assert vocab.decode(ids) == "a cab"
    assert len(vocab) == 5 and "d" in vocab and "z" not in vocab


def test_encode_names_unknown_characters_once_each_in_order():
    """UnknownTokensError lists each unknown character once, in order of first appearance,
    and its message names them."""
    vocab = Vocabulary("abc")
    with pytest.raises(UnknownTokensError) as info:
        vocab.encode("axbyxzqa")
    assert info.value.unknown == ["x", "y", "z", "q"]
    for ch in "xyzq":
        assert repr(ch) in str(info.value)
    assert "characters" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_single_word_message_and_many_unknowns():
    words = Vocabulary(["good", "bad"], kind="word")
    with pytest.raises(UnknownTokensError, match="word 'meh'"):
        words.encode(["good", "meh"])
    chars = Vocabulary("a")
    with pytest.raises(UnknownTokensError) as info:
        chars.encode("bcdefghijklmnopq")
    assert len(info.value.unknown) == 16
    assert "and 4 more" in str(info.value)  # the message shows 12 of them


def test_vocabulary_rejects_duplicates():
    with pytest.raises(ValueError):
        Vocabulary("abca")
