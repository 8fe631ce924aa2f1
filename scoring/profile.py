"""Scoring profiles: weights, decay scales, tolerances and the reservation score.

A profile is a TOML file (or a mapping of the same shape) laid over the documented
default, ``scoring/data/default_profile.toml``: a file only needs the keys it
changes. Validation is strict, and every error is one :class:`ProfileError` naming
the key (``"weights.area"``, ``"location.distance.scale"``):

* a key absent from the default is unknown;
* a value must have the default's type (a number where a number is expected, a
  date string for ``timing.as_of``, a kernel table for a kernel);
* weights are finite and >= 0 and do not all vanish; scores (``neutral``,
  ``same_*``, ``chain``, ``at_minimum``, ``reservation``) lie in [0, 1];
  tolerances and margins are >= 0; kernels obey :func:`scoring.kernels.decay`.

>>> p = load_profile({"weights": {"timing": 0}})
>>> p.weights["timing"], p.weights["area"]
(0.0, 0.25)
"""

from __future__ import annotations

import copy
import functools
import math
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from scoring.conventions import FIRE_CLASSES as FIRE_NAMES
from scoring.errors import ProfileError
from scoring.kernels import KERNELS

__all__ = ["Kernel", "Profile", "default_profile", "load_profile", "override_schema"]

_KERNEL_KEYS = {"kind", "offset", "scale", "decay"}
# keys whose value is a score in [0, 1]
_UNIT_KEYS = {"reservation", "neutral", "same_class", "same_group", "same_division",
              "same_section", "chain", "at_minimum", "negotiable_discount"}


class Kernel:
    """A decay kernel's parameters (see :mod:`scoring.kernels`)."""

    __slots__ = ("decay", "kind", "offset", "scale")

    def __init__(self, kind: str, offset: float, scale: float, decay: float) -> None:
        self.kind, self.offset, self.scale, self.decay = kind, float(offset), float(scale), float(decay)

    def __call__(self, x: np.ndarray, inplace: bool = False) -> np.ndarray:
        """Scores of the gaps ``x`` (float32, any shape); ``inplace`` overwrites ``x``."""
        from scoring.kernels import decay

        return decay(x, self.kind, self.offset, self.scale, self.decay, inplace=inplace)

    def scalar(self, x: float) -> float:
        """Score of one gap, float64."""
        from scoring.kernels import decay_scalar

        return decay_scalar(x, self.kind, self.offset, self.scale, self.decay)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": self.offset, "scale": self.scale, "decay": self.decay}

    def __repr__(self) -> str:
        return f"Kernel({self.kind}, offset={self.offset}, scale={self.scale}, decay={self.decay})"


class Profile:
    """A validated scoring profile.

    Attributes
    ----------
    weights : dict of str to float
        Criterion weights as written (not normalised).
    reservation : float
        Score below which a pair is never allocated.
    data : dict
        The whole profile as plain TOML-shaped values (see :meth:`to_dict`).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.weights: dict[str, float] = dict(data["weights"])
        self.reservation: float = float(data["reservation"])

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.data[section]

    def kernel(self, section: str, name: str) -> Kernel:
        """The kernel ``section.name``."""
        return Kernel(**self.data[section][name])

    @property
    def unknown_fire_class(self) -> int:
        """Fire class code (1 甲 .. 5 戊) assumed for a building without a rating."""
        return FIRE_NAMES.index(self.data["rules"]["unknown_fire_class"]) + 1

    @property
    def as_of(self) -> np.datetime64:
        """The date "now" stands for, or NaT."""
        s = self.data["timing"]["as_of"]
        return np.datetime64(s, "D") if s else np.datetime64("NaT")

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the full profile (every key, defaults filled in)."""
        return copy.deepcopy(self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self.data == other.data

    def __repr__(self) -> str:
        return f"Profile(weights={self.weights}, reservation={self.reservation})"


@functools.cache
def _default_data() -> dict[str, Any]:
    text = resources.files("scoring").joinpath("data", "default_profile.toml").read_text("utf-8")
    return tomllib.loads(text)


def default_profile() -> Profile:
    """The documented default profile."""
    return load_profile(None)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_kernel(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ProfileError(key, f"must be a table with {', '.join(sorted(_KERNEL_KEYS))}")
    for k in value:
        if k not in _KERNEL_KEYS:
            raise ProfileError(f"{key}.{k}", "unknown key")
    out = dict(value)
    kind = out.get("kind")
    if not isinstance(kind, str) or kind not in KERNELS:
        raise ProfileError(f"{key}.kind", f"must be one of {', '.join(KERNELS)}, got {kind!r}")
    for k in ("offset", "scale", "decay"):
        if k not in out:
            raise ProfileError(f"{key}.{k}", "missing")
        if not _is_number(out[k]) or not math.isfinite(out[k]):
            raise ProfileError(f"{key}.{k}", f"must be a finite number, got {out[k]!r}")
        out[k] = float(out[k])
    if out["offset"] < 0:
        raise ProfileError(f"{key}.offset", "must be >= 0")
    if out["scale"] <= 0:
        raise ProfileError(f"{key}.scale", "must be > 0")
    if not 0 < out["decay"] < 1:
        raise ProfileError(f"{key}.decay", "must be strictly between 0 and 1")
    return out


def _merge(key: str, default: Any, value: Any) -> Any:
    if isinstance(default, Mapping) and set(default) == _KERNEL_KEYS:
        merged = dict(default)
        if isinstance(value, Mapping):
            merged.update(value)
        else:
            merged = value
        return _check_kernel(key, merged)
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping):
            raise ProfileError(key, "must be a table")
        out = dict(default)
        for k, v in value.items():
            sub = f"{key}.{k}" if key else str(k)
            if k not in default:
                raise ProfileError(sub, "unknown key")
            out[k] = _merge(sub, default[k], v)
        return out
    name = key.rsplit(".", 1)[-1]
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ProfileError(key, f"must be a string, got {value!r}")
        return value
    if not _is_number(value) or not math.isfinite(value):
        raise ProfileError(key, f"must be a finite number, got {value!r}")
    value = float(value)
    if value < 0:
        raise ProfileError(key, f"must be >= 0, got {value}")
    if name in _UNIT_KEYS and value > 1:
        raise ProfileError(key, f"must be between 0 and 1, got {value}")
    return value


def load_profile(source: str | os.PathLike[str] | Mapping[str, Any] | Profile | None = None) -> Profile:
    """Read and validate a profile.

    Parameters
    ----------
    source : path, mapping, Profile or None
        A TOML file, a mapping of the same shape, an existing profile (returned as is)
        or None for the default.

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        The file cannot be read or parsed, or a key is unknown or out of range; the
        message names the key.
    """
    if isinstance(source, Profile):
        return source
    if source is None:
        user: Mapping[str, Any] = {}
    elif isinstance(source, Mapping):
        user = source
    else:
        path = Path(source)
        try:
            user = tomllib.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise ProfileError(str(path), f"cannot read the profile: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProfileError(str(path), f"not a valid TOML file: {exc}") from None
    data = _merge("", _default_data(), user)
    weights = data["weights"]
    total = sum(weights.values())
    if not math.isfinite(total):
        raise ProfileError("weights", f"the weights sum to {total}, which is not a finite number; scale them down")
    if total <= 0:
        raise ProfileError("weights", "the weights sum to zero; at least one must be positive")
    if data["rules"]["unknown_fire_class"] not in FIRE_NAMES or len(data["rules"]["unknown_fire_class"]) != 1:
        raise ProfileError("rules.unknown_fire_class", f"must be one of {' '.join(FIRE_NAMES)}")
    if data["timing"]["as_of"]:
        try:
            np.datetime64(data["timing"]["as_of"], "D")
        except ValueError:
            raise ProfileError("timing.as_of", "must be a date such as 2027-01-01, or empty") from None
    return Profile(data)


def override_schema(max_number: float = 1e6) -> dict[str, Any]:
    """The JSON schema of what :func:`load_profile` takes as a mapping: every key of the
    default profile, each optional, with its type and range (a kernel table may name
    only the keys it changes). ``max_number`` bounds the numbers without a range of
    their own (the loader takes any finite number; a service states a bound).

    The weights must not all be zero: the schema says so as "some weight is left out (it
    keeps its positive default) or some weight is positive".

    >>> s = override_schema()
    >>> s["properties"]["reservation"], s["properties"]["rules"]["properties"]["unknown_fire_class"]["enum"][:2]
    ({'type': 'number', 'minimum': 0, 'maximum': 1}, ['甲', '乙'])
    """
    def node(name: str, default: Any) -> dict[str, Any]:
        if isinstance(default, Mapping) and set(default) == _KERNEL_KEYS:
            number: dict[str, Any] = {"type": "number"}
            return {"type": "object", "additionalProperties": False, "properties": {
                "kind": {"enum": list(KERNELS)},
                "offset": {**number, "minimum": 0, "maximum": max_number},
                "scale": {**number, "exclusiveMinimum": 0, "maximum": max_number},
                "decay": {**number, "exclusiveMinimum": 0, "exclusiveMaximum": 1}}}
        if isinstance(default, Mapping):
            out = {"type": "object", "additionalProperties": False,
                   "properties": {str(k): node(str(k), v) for k, v in default.items()}}
            if name == "weights":  # a weight left out keeps its default, which is positive
                names = [str(k) for k in default]
                out["anyOf"] = [{"not": {"required": names}},
                                *({"required": [w], "properties": {w: {"exclusiveMinimum": 0}}} for w in names)]
            return out
        if name == "unknown_fire_class":
            return {"enum": list(FIRE_NAMES)}
        if name == "as_of":
            return {"anyOf": [{"type": "string", "maxLength": 0}, {"type": "string", "format": "date"}]}
        if isinstance(default, str):
            return {"type": "string"}
        return {"type": "number", "minimum": 0, "maximum": 1 if name in _UNIT_KEYS else max_number}

    return node("", _default_data())

