"""Import direction and privacy, read from the source: ``scoring`` never imports
``matcher``; nothing outside a package imports its underscore modules; the packages
never reach into another object's private attributes; ``matcher`` uses ``scoring``
through public names only."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("matcher", "scoring")
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}  # public despite the underscore


def _files(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) of every import in a file; name is None for ``import m``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_of(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                stem = package[: len(package) - node.level + 1]
                base = ".".join([*stem, *([base] if base else [])])
            out += [(node.lineno, base, a.name) for a in node.names]
    return out


def _is_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _private_prefix(dotted: str) -> str | None:
    """The package owning the first underscore part of ``dotted`` (``scoring`` for
    ``scoring._fast_kernel``), or None when no part is private."""
    parts = dotted.split(".")
    for k, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:k])
    return None


def test_scoring_never_imports_matcher():
    bad = [(p.name, line, mod) for p in _files("scoring") for line, mod, _ in _imports(p)
           if mod == "matcher" or mod.startswith("matcher.")]
    assert bad == []


@pytest.mark.parametrize("top", ["matcher", "scoring", "tests", "benchmarks"])
def test_no_underscore_module_is_imported_from_outside_its_package(top):
    bad = []
    for path in _files(top):
        importer = _module_of(path)
        for line, mod, name in _imports(path):
            if mod.split(".")[0] not in PACKAGES:
                continue
            targets = [mod]
            if name is not None and _is_module(f"{mod}.{name}"):
                targets.append(f"{mod}.{name}")
            for target in targets:
                owner = _private_prefix(target)
                if owner is not None and not (importer == owner or importer.startswith(owner + ".")):
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert bad == []


@pytest.mark.parametrize("top", PACKAGES)
def test_packages_never_read_private_attributes_of_other_objects(top):
    bad = []
    for path in _files(top):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            private = (node.attr.startswith("_") and not node.attr.startswith("__")
                       and node.attr not in NAMEDTUPLE_API)
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            # os._exit: documented public API despite its name (a process that must end now)
            stdlib = isinstance(node.value, ast.Name) and (node.value.id, node.attr) == ("os", "_exit")
            if private and not own and not stdlib:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert bad == []


def test_matcher_uses_scoring_through_public_names_only():
    bad = []
    for path in _files("matcher"):
        for line, mod, name in _imports(path):
            if mod != "scoring" and not mod.startswith("scoring."):
                continue
            module = importlib.import_module(mod)
            if name is None:
                continue
            public = getattr(module, "__all__", None)
            is_submodule = _is_module(f"{mod}.{name}") and not name.startswith("_")
            if not is_submodule and (public is None or name not in public):
                bad.append(f"{path.relative_to(ROOT)}:{line} from {mod} import {name}")
    assert bad == []


def test_the_checks_see_a_violation():
    """The helpers above do find what they look for (so the tests above can fail)."""
    assert _private_prefix("scoring._fast_kernel") == "scoring"
    assert _private_prefix("matcher.io.tables") is None
    seen = [(mod, name) for p in _files("scoring") for _, mod, name in _imports(p)]
    assert any(mod == "scoring._fast_kernel" or (mod == "scoring" and name == "_fast_kernel") for mod, name in seen)
