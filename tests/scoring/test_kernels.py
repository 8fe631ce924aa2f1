"""Decay kernels against the documented formulas, and their contract."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.kernels import KERNELS, decay, decay_scalar

# independent reference: the table in scoring/kernels.py's docstring, written out again
REFERENCE = {
    "step": lambda d, q: float(d <= 1),
    "linear": lambda d, q: max(0.0, 1 - (1 - q) * d),
    "exp": lambda d, q: math.exp(d * math.log(q)),
    "gauss": lambda d, q: math.exp(d * d * math.log(q)),
    "rational": lambda d, q: 1 / (1 + (1 / q - 1) * d),
    "cauchy": lambda d, q: 1 / (1 + (1 / q - 1) * d * d),
}

gaps = st.lists(st.floats(-5, 1e4, allow_nan=False), min_size=1, max_size=40)
params = st.tuples(st.floats(0, 50), st.floats(0.01, 100), st.floats(0.05, 0.95))


def test_every_kernel_has_a_reference():
    assert set(KERNELS) == set(REFERENCE)


@pytest.mark.parametrize("kind", sorted(KERNELS))
@given(x=gaps, p=params)
def test_matches_reference_and_contract(kind, x, p):
    offset, scale, q = p
    got = decay(np.array(x), kind, offset, scale, q)
    assert got.dtype == np.float32 and got.shape == (len(x),)
    assert np.all((got >= 0) & (got <= 1))
    for xi, gi in zip(x, got):
        d = max(xi - offset, 0) / scale
        if kind == "step" and abs(d - 1) < 1e-5:
            continue  # float32 rounding at the jump
        want = REFERENCE[kind](d, q)
        assert gi == pytest.approx(want, abs=2e-6, rel=1e-5)
        assert decay_scalar(xi, kind, offset, scale, q) == pytest.approx(want, abs=1e-12, rel=1e-9)


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_offset_scores_one_and_scale_scores_decay(kind):
    got = decay([0.0, 2.0, 2.0 + 4.0], kind, offset=2.0, scale=4.0, q=0.3)
    assert got[0] == got[1] == 1
    assert got[2] == pytest.approx(1.0 if kind == "step" else 0.3, rel=1e-6)


@pytest.mark.parametrize("kind", sorted(KERNELS))
@given(x=gaps, p=params)
def test_non_increasing(kind, x, p):
    got = decay(np.sort(np.array(x)), kind, *p)
    assert np.all(np.diff(got) <= 1e-7)


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_nan_in_nan_out_and_input_untouched(kind):
    x = np.array([np.nan, 1.0, 5.0], dtype=np.float32)
    before = x.copy()
    got = decay(x, kind, 0.0, 1.0)
    assert math.isnan(got[0]) and not np.isnan(got[1:]).any()
    assert np.array_equal(x, before, equal_nan=True)
    assert math.isnan(decay_scalar(math.nan, kind, 0.0, 1.0))


@pytest.mark.parametrize(("kind", "offset", "scale", "q", "msg"), [
    ("cosine", 0, 1, 0.5, "kind"), ("exp", -1, 1, 0.5, "offset"), ("exp", 0, 0, 0.5, "scale"),
    ("exp", 0, 1, 1.0, "decay"), ("exp", 0, math.inf, 0.5, "scale"), ("gauss", 0, 1, 0.0, "decay"),
])
def test_bad_parameters_are_named(kind, offset, scale, q, msg):
    with pytest.raises(ValueError, match=msg):
        decay([1.0], kind, offset, scale, q)
    with pytest.raises(ValueError, match=msg):
        decay_scalar(1.0, kind, offset, scale, q)
