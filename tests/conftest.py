import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

# what hypothesis keeps between runs (examples, caches) lives in the system's temporary
# folder, never in the checkout: a test run leaves `git status` as it found it
_HOME = Path(tempfile.gettempdir()) / "changfang-hypothesis"
set_hypothesis_home_dir(_HOME)
_DB = DirectoryBasedExampleDatabase(_HOME / "examples")
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          database=_DB)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          database=_DB)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
