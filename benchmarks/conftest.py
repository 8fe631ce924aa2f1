import os

import pytest

# Sizes: the figures by default; CHANGFANG_BENCH_SCALE=0.1 for a quick look.
SCALE = float(os.environ.get("CHANGFANG_BENCH_SCALE", "1"))


@pytest.fixture(scope="session")
def scale():
    return SCALE
