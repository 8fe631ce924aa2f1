"""Profiles: the documented default, partial files, and one clear error per bad key."""

import tomllib
from importlib import resources

import pytest

import scoring
from scoring import ProfileError, load_profile


def test_default_is_the_shipped_toml():
    text = resources.files("scoring").joinpath("data", "default_profile.toml").read_text("utf-8")
    data = tomllib.loads(text)
    p = scoring.default_profile()
    assert p.weights == {k: float(v) for k, v in data["weights"].items()}
    assert p.reservation == data["reservation"]
    assert p.kernel("location", "distance").to_dict() == {k: float(v) if k != "kind" else v
                                                         for k, v in data["location"]["distance"].items()}


def test_a_file_only_needs_what_it_changes(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('reservation = 0.5\n[weights]\ntiming = 0\n[location]\ndistance = { scale = 9.0 }\n', "utf-8")
    p = load_profile(f)
    assert p.reservation == 0.5 and p.weights["timing"] == 0 and p.weights["area"] == 0.25
    k = p.kernel("location", "distance")
    assert (k.kind, k.offset, k.scale) == ("exp", 1.0, 9.0)  # the rest of the kernel kept
    assert load_profile(p) is p
    assert load_profile(p.to_dict()) == p


@pytest.mark.parametrize(("data", "key"), [
    ({"weights": {"colour": 1}}, "weights.colour"),
    ({"wieghts": {"area": 1}}, "wieghts"),
    ({"weights": {"area": -1}}, "weights.area"),
    ({"weights": dict.fromkeys(("area", "location", "price", "industry", "facilities", "timing"), 0)}, "weights"),
    ({"weights": {"area": "high"}}, "weights.area"),
    ({"weights": {"area": True}}, "weights.area"),
    ({"weights": {"area": float("nan")}}, "weights.area"),
    ({"reservation": 1.5}, "reservation"),
    ({"area": {"neutral": 2}}, "area.neutral"),
    ({"area": {"short": {"kind": "cosine"}}}, "area.short.kind"),
    ({"area": {"short": {"scale": 0}}}, "area.short.scale"),
    ({"area": {"short": {"decay": 1.0}}}, "area.short.decay"),
    ({"area": {"short": {"offset": -1}}}, "area.short.offset"),
    ({"area": {"short": {"width": 1}}}, "area.short.width"),
    ({"area": {"short": 3}}, "area.short"),
    ({"rules": {"unknown_fire_class": "X"}}, "rules.unknown_fire_class"),
    ({"rules": {"grace_days": -5}}, "rules.grace_days"),
    ({"timing": {"as_of": "soon"}}, "timing.as_of"),
    ({"rules": 3}, "rules"),
])
def test_bad_profiles_name_the_key(data, key):
    with pytest.raises(ProfileError) as err:
        load_profile(data)
    assert err.value.key == key
    assert repr(key) in str(err.value)
    assert isinstance(err.value, ValueError)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[weights\narea = 1", "utf-8")
    with pytest.raises(ProfileError, match="not a valid TOML"):
        load_profile(bad)


def test_weights_change_totals_as_documented():
    from matcher.generate import generate_market

    m = generate_market(30, 30, seed=1)
    only_area = scoring.score(m.demands, m.listings, {"weights": {"location": 0, "price": 0, "industry": 0,
                                                                   "facilities": 0, "timing": 0}}, criteria=True)
    ok = only_area.feasible
    assert set(only_area.criteria) == {"area"}
    assert (abs(only_area.total[ok] - only_area.criteria["area"][ok]) < 1e-6).all()
