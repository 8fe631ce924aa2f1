"""The public face: exported names, a light import, the fixed layout."""

import importlib.util
import subprocess
import sys

import matcher


def test_all_is_exactly_the_public_names():
    import types

    public = {n for n in dir(matcher) if not n.startswith("_")
              and not isinstance(getattr(matcher, n), types.ModuleType)}  # submodules appear once imported
    assert set(matcher.__all__) - {"__version__"} == public
    for name in matcher.__all__:
        assert hasattr(matcher, name)


def test_import_is_light_and_side_effect_free():
    code = ("import sys, warnings, numpy; f = list(warnings.filters); import matcher, scoring; "
            "heavy = [m for m in ('openpyxl', 'cn2an', 'pandas', 'geopy', 'scipy', 'networkx', 'numba') "
            "if m in sys.modules]; "
            "assert not heavy, heavy; assert warnings.filters == f; "
            "from scoring import reference; assert reference.gazetteer.cache_info().currsize == 0")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_datasets_is_not_an_importable_package():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    assert not (root / "datasets" / "__init__.py").exists()
    spec = importlib.util.find_spec("datasets")
    assert spec is None or "changfang" not in str(spec.origin or "")


def test_scoring_does_not_import_matcher():
    code = ("import sys, pkgutil, importlib, scoring\n"
            "for m in pkgutil.walk_packages(scoring.__path__, 'scoring.'): importlib.import_module(m.name)\n"
            "assert 'matcher' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_has_one_source():
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8"))
    assert matcher.__version__ == version("changfang") == pyproject["project"]["version"]
    code = "\n".join(Path(p).read_text("utf-8") for p in Path(matcher.__file__).parent.rglob("*.py"))
    assert pyproject["project"]["version"] not in code  # written nowhere else in the package
