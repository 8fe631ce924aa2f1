"""Decay kernels on a 2000 × 2000 float32 gap matrix (4 M pairs).

The baseline is a bare ``np.exp`` over the same array in the same run: a kernel's
ratio to it says what it costs on top of the exponential the scoring issue measured as
the dominant cost.
"""

import numpy as np
import pytest

from scoring.kernels import KERNELS, decay


@pytest.fixture(scope="module")
def gaps(scale):
    n = max(int(2000 * scale**0.5), 10)
    return np.random.default_rng(0).uniform(0, 30, (n, n)).astype(np.float32)


def test_baseline_bare_exp(benchmark, gaps):
    out = benchmark(np.exp, -gaps)
    assert out.shape == gaps.shape


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_kernel(benchmark, gaps, kind):
    out = benchmark(decay, gaps, kind, 2.0, 5.0)
    assert out.dtype == np.float32 and out.shape == gaps.shape
