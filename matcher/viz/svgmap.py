"""A map of a county as an inline SVG string: towns by name, points and lines, no tiles.

Pure Python (standard library only) and deterministic: the same arguments give the
same string. Nothing is fetched: there are no tiles, fonts or images, so a page that
inlines the map opens offline.

What is drawn, bottom to top: a graticule and a scale bar; the lines (for example the
chosen pairs); each layer of points, in the order given; the towns, a small marker
and the Chinese name, placed greedily so that labels overlap as little as possible.

Hover, tap and keyboard: every line and point is an element of class ``pick`` with a
``<title>`` (browsers show it on hover, screen readers read it). :func:`script` returns
a small vanilla script that, for every ``<svg class="svgmap">`` on the page, shows the
title of the line (else the point) nearest the mouse in a tooltip, does the same for a
tap on a phone (with a larger reach), and, once the map has keyboard focus, steps
through the lines and points with the arrow keys (Home, End, Escape too). The current
element gets class ``on``; the map dispatches ``svgmap:pick`` with it as ``detail``.
:func:`style` returns the CSS the script and the default classes use.

Projection: equirectangular, x = (lon - lon_min) cos(lat_mid), y = lat_max - lat, in
degrees scaled to the SVG's user units. Across a county (50 km) the shape error is
under 0.5 %; it is not meant for a province.

Example
-------
>>> from matcher.viz.svgmap import Layer, Line, Point, Town, render_map
>>> towns = [Town("浒山街道", 30.170, 121.266, kind="street"), Town("周巷镇", 30.172, 121.125)]
>>> listings = Layer("listings", [Point("CX-L001", 30.18, 121.20, label="房源 CX-L001")], shape="square")
>>> pair = Line("p1", 30.172, 121.125, 30.18, 121.20, label="需求 XQ-001 → 房源 CX-L001",
...             data={"d": "XQ-001", "l": "CX-L001"})
>>> svg = render_map(towns, [listings], [pair], label="慈溪市")
>>> svg.startswith('<svg class="svgmap"') and "周巷镇" in svg and 'data-d="XQ-001"' in svg
True

A page shows it with the style and the script (both static text)::

    page = f"<style>{style()}</style>{svg}<script>{script()}</script>"
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

from matcher.viz.markup import escape

__all__ = ["Layer", "Line", "Point", "Projection", "Town", "render_map", "script", "stable_sample", "style"]

_KM_PER_DEG_LAT = 111.195  # on a sphere of radius 6371.0 km, as scoring.geo
_DATA_KEY = re.compile(r"[a-z][a-z0-9-]*")
_CLASS = re.compile(r"[A-Za-z_][-A-Za-z0-9_ ]*|")


@dataclass(frozen=True)
class Town:
    """A town, street or zone: a marker and its name.

    Attributes
    ----------
    name : str
        Shown as is (the Chinese name, ``"周巷镇"``).
    lat, lon : float
        Centroid, WGS-84 degrees.
    kind : str
        ``"town"``, ``"street"``, ``"zone"`` or empty: a CSS class (``kind-zone``).
        Zones are labelled after towns and streets, so those keep the best places.
    cls : str
        Extra CSS classes (``"wanted"``, for the towns a firm asked for, is red in :func:`style`).
    """

    name: str
    lat: float
    lon: float
    kind: str = ""
    cls: str = ""


@dataclass(frozen=True)
class Point:
    """One point of a layer.

    Attributes
    ----------
    id : str
        Written as ``data-id``.
    lat, lon : float
        WGS-84 degrees; a point with a non-finite coordinate is not drawn.
    label : str
        The ``<title>`` (hover text); the id when empty.
    cls : str
        Extra CSS classes for this point.
    data : mapping of str to str
        More ``data-*`` attributes (keys: lower-case letters, digits and ``-``).
    """

    id: str
    lat: float
    lon: float
    label: str = ""
    cls: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Layer:
    """Points drawn alike, as one ``<g class="layer layer-NAME CLS">``.

    Attributes
    ----------
    name : str
        ``data-layer`` and the class ``layer-NAME``.
    points : sequence of Point
    shape : {"circle", "square"}
    size : float
        Radius, or half the side of the square, in user units.
    cls : str
        Extra CSS classes for the group.
    """

    name: str
    points: Sequence[Point]
    shape: str = "circle"
    size: float = 3.0
    cls: str = ""


@dataclass(frozen=True)
class Line:
    """A segment between two places (a pair: a demand and the listing it got).

    Attributes
    ----------
    id : str
        Written as ``data-id``.
    lat1, lon1, lat2, lon2 : float
        Its ends, WGS-84 degrees; a line with a non-finite coordinate is not drawn.
    label : str
        The ``<title>`` (hover text, may hold line breaks); the id when empty.
    cls : str
        Extra CSS classes.
    data : mapping of str to str
        More ``data-*`` attributes (``{"d": "XQ-001"}`` gives ``data-d="XQ-001"``).
    """

    id: str
    lat1: float
    lon1: float
    lat2: float
    lon2: float
    label: str = ""
    cls: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection from WGS-84 degrees to SVG user units.

    ``x = margin + (lon - lon_min) cos(lat_mid) scale``,
    ``y = margin + (lat_max - lat) scale``, where ``lat_mid`` is the middle of the
    latitude range and ``scale`` is user units per degree of latitude.

    Attributes
    ----------
    lat_min, lat_max, lon_min, lon_max : float
        The area mapped, degrees.
    scale : float
        User units per degree of latitude.
    margin : float
        User units around the area.
    """

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    scale: float
    margin: float = 0.0

    @classmethod
    def fit(cls, lat: Iterable[float], lon: Iterable[float], width: float = 800.0, margin: float = 24.0,
            pad: float = 0.04, min_span_km: float = 4.0) -> Projection:
        """The projection that fits the given places into ``width`` user units.

        Parameters
        ----------
        lat, lon : iterable of float
            Degrees; non-finite values are ignored.
        width : float
            Width of the SVG in user units (the height follows from the area's shape).
        margin : float
            User units kept free on every side (for labels).
        pad : float
            Fraction of each span added on both sides.
        min_span_km : float
            Smallest span mapped in either direction, so one place still gives a map.

        Returns
        -------
        Projection

        Raises
        ------
        ValueError
            When no place has finite coordinates, or ``width <= 2 margin``.
        """
        pts = [(a, b) for a, b in zip(lat, lon) if math.isfinite(a) and math.isfinite(b)]
        if not pts:
            raise ValueError("no place with finite coordinates to fit the map to")
        if not width > 2 * margin:
            raise ValueError(f"width == {width}, must be > 2 * margin == {2 * margin}")
        la0, la1 = min(p[0] for p in pts), max(p[0] for p in pts)
        lo0, lo1 = min(p[1] for p in pts), max(p[1] for p in pts)
        k = math.cos(math.radians((la0 + la1) / 2))
        min_lat = min_span_km / _KM_PER_DEG_LAT
        min_lon = min_lat / max(k, 1e-6)
        la0, la1 = _widen(la0, la1, pad, min_lat)
        lo0, lo1 = _widen(lo0, lo1, pad, min_lon)
        scale = (width - 2 * margin) / ((lo1 - lo0) * k)
        return cls(la0, la1, lo0, lo1, scale, margin)

    @property
    def kx(self) -> float:
        """cos of the middle latitude: a degree of longitude in degrees of latitude."""
        return math.cos(math.radians((self.lat_min + self.lat_max) / 2))

    @property
    def width(self) -> float:
        """User units across."""
        return 2 * self.margin + (self.lon_max - self.lon_min) * self.kx * self.scale

    @property
    def height(self) -> float:
        """User units down."""
        return 2 * self.margin + (self.lat_max - self.lat_min) * self.scale

    @property
    def units_per_km(self) -> float:
        """User units per kilometre (on the ground, both directions)."""
        return self.scale / _KM_PER_DEG_LAT

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        """User-unit coordinates of a place (degrees): x east, y south."""
        return (self.margin + (lon - self.lon_min) * self.kx * self.scale,
                self.margin + (self.lat_max - lat) * self.scale)


def _widen(lo: float, hi: float, pad: float, min_span: float) -> tuple[float, float]:
    span = hi - lo
    if span < min_span:
        mid = (lo + hi) / 2
        return mid - min_span / 2, mid + min_span / 2
    return lo - pad * span, hi + pad * span


def stable_sample(ids: Sequence[str], n: int) -> list[int]:
    """Indices of ``n`` of ``ids`` picked by a fixed hash: the same whatever the order or the machine.

    Keeps the ids whose BLAKE2b-64 hash is smallest: a spread over the whole set that
    does not follow id prefixes, and stable as the data changes (an id kept from a set
    is also kept, for the same ``n``, from any subset holding it).

    Parameters
    ----------
    ids : sequence of str
    n : int
        How many to keep (all when ``n >= len(ids)``).

    Returns
    -------
    list of int
        Positions in ``ids``, ascending.

    >>> stable_sample(["a", "b", "c"], 5)
    [0, 1, 2]
    >>> len(stable_sample([str(k) for k in range(100)], 10))
    10
    """
    if n >= len(ids):
        return list(range(len(ids)))
    if n <= 0:
        return []
    key = [hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=8).digest() for s in ids]
    return sorted(sorted(range(len(ids)), key=lambda k: (key[k], ids[k]))[:n])


def _f(v: float) -> str:
    """One decimal, no ``-0.0``."""
    s = f"{v:.1f}"
    return "0.0" if s == "-0.0" else s


def _cls(*parts: str) -> str:
    for p in parts:
        if not _CLASS.fullmatch(p):
            raise ValueError(f"CSS class {p!r} must be letters, digits, '-' and '_' separated by spaces")
    return " ".join(" ".join(parts).split())


def _data(data: Mapping[str, str]) -> str:
    out = []
    for k in sorted(data):
        if not _DATA_KEY.fullmatch(k):
            raise ValueError(f"data key {k!r} must be lower-case letters, digits and '-', starting with a letter")
        out.append(f' data-{k}="{escape(data[k])}"')
    return "".join(out)


def _text_width(s: str, size: float) -> float:
    """Rough advance of ``s`` at font size ``size``: CJK and full-width one em, the rest 0.6."""
    return size * sum(1.0 if ord(ch) >= 0x2E80 else 0.6 for ch in s)


def _place_labels(boxes_at: list[tuple[float, float, str]], size: float, width: float, height: float
                  ) -> list[tuple[float, float, str]]:
    """Greedy label placement: for each (x, y, text), in order, the first of eight
    positions (right, left, above, below the marker, then the four diagonals) that
    overlaps least with the labels already placed and the edges. Returns
    (x, y, text-anchor) for each."""
    gap = size * 0.45
    placed: list[tuple[float, float, float, float]] = []
    out: list[tuple[float, float, str]] = []
    for x, y, text in boxes_at:
        w, h = _text_width(text, size), size * 1.15
        up, down = y - gap * 0.6, y + gap * 0.6 + size * 0.85  # baselines above and below the marker
        options = [(x + gap, y + size * 0.35, "start", x + gap, y - h / 2),
                   (x - gap, y + size * 0.35, "end", x - gap - w, y - h / 2),
                   (x, y - gap, "middle", x - w / 2, y - gap - h),
                   (x, y + gap + size * 0.85, "middle", x - w / 2, y + gap - size * 0.1),
                   (x + gap * 0.6, up, "start", x + gap * 0.6, up - size * 0.95),
                   (x + gap * 0.6, down, "start", x + gap * 0.6, down - size * 0.95),
                   (x - gap * 0.6, up, "end", x - gap * 0.6 - w, up - size * 0.95),
                   (x - gap * 0.6, down, "end", x - gap * 0.6 - w, down - size * 0.95)]
        best, best_cost = options[0], math.inf
        for opt in options:
            bx, by = opt[3], opt[4]
            cost = sum((max(0.0, min(bx + w, px + pw) - max(bx, px)) * max(0.0, min(by + h, py + ph) - max(by, py))
                        for px, py, pw, ph in placed), 0.0)
            outside = (max(0.0, -bx) + max(0.0, bx + w - width)) * h + (max(0.0, -by) + max(0.0, by + h - height)) * w
            cost += 4 * outside
            if cost < best_cost - 1e-9:
                best, best_cost = opt, cost
        placed.append((best[3], best[4], w, h))
        out.append((best[0], best[1], best[2]))
    return out


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _graticule(p: Projection, font: float) -> list[str]:
    out = ['<g class="grid" aria-hidden="true">']
    step = _nice_step(max(p.lon_max - p.lon_min, p.lat_max - p.lat_min), 5)
    w, h = p.width, p.height
    lon = math.ceil(p.lon_min / step) * step
    while lon <= p.lon_max + 1e-12:
        x = p.xy(p.lat_max, lon)[0]
        out.append(f'<line x1="{_f(x)}" y1="0.0" x2="{_f(x)}" y2="{_f(h)}"/>')
        if x + 2 + _text_width(f"{lon:.2f}°E", font * 0.75) <= w:
            out.append(f'<text x="{_f(x + 2)}" y="{_f(font * 0.85)}" font-size="{_f(font * 0.75)}">{lon:.2f}°E</text>')
        lon += step
    lat = math.ceil(p.lat_min / step) * step
    while lat <= p.lat_max + 1e-12:
        y = p.xy(lat, p.lon_min)[1]
        out.append(f'<line x1="0.0" y1="{_f(y)}" x2="{_f(w)}" y2="{_f(y)}"/>'
                   f'<text x="2.0" y="{_f(y - 2)}" font-size="{_f(font * 0.75)}">{lat:.2f}°N</text>')
        lat += step
    out.append("</g>")
    return out


def _scale_bar(p: Projection, font: float) -> str:
    km = _nice_step(p.width / p.units_per_km / 5, 1)
    length = km * p.units_per_km
    x0, y0 = p.width - p.margin - length, p.height - p.margin * 0.5
    km_s = f"{km:g}"
    return (f'<g class="scalebar" aria-hidden="true"><path d="M{_f(x0)} {_f(y0 - 4)}V{_f(y0)}H{_f(x0 + length)}'
            f'V{_f(y0 - 4)}"/><text x="{_f(x0 + length / 2)}" y="{_f(y0 - 6)}" text-anchor="middle" '
            f'font-size="{_f(font * 0.8)}">{km_s} 公里</text></g>')


def render_map(towns: Sequence[Town], layers: Sequence[Layer] = (), lines: Sequence[Line] = (), *,
               projection: Projection | None = None, width: float = 800.0, label: str = "",
               font_size: float = 13.0, graticule: bool = True, scale_bar: bool = True,
               standalone: bool = False, css_class: str = "", element_id: str = "") -> str:
    """The map as one ``<svg>`` element.

    Parameters
    ----------
    towns : sequence of Town
        Every one is drawn and labelled.
    layers : sequence of Layer
        Drawn in order, above the lines.
    lines : sequence of Line
        Drawn below the points, in order.
    projection : Projection, optional
        Default: :meth:`Projection.fit` to the towns, points and line ends, ``width`` wide.
    width : float
        User units across when ``projection`` is None.
    label : str
        The map's ``<title>`` and ``aria-label`` (say what it shows and how to use it).
    font_size : float
        Town labels, user units (the graticule and scale bar are smaller).
    graticule, scale_bar : bool
        Draw degree lines, and a scale bar in km.
    standalone : bool
        Add the SVG namespace (for an ``.svg`` file or ``image/svg+xml``); inline SVG
        in an HTML page needs none.
    css_class : str
        Extra classes on the ``<svg>`` (it always has ``svgmap``).
    element_id : str
        The ``id`` of the ``<svg>`` (none when empty).

    Returns
    -------
    str
        ``<svg class="svgmap" viewBox="0 0 W H" ...>...</svg>``; text and attributes are
        escaped (:func:`matcher.viz.markup.escape`).

    Raises
    ------
    ValueError
        When nothing has finite coordinates and no projection is given, or a class or
        data key is malformed, or a layer's shape is unknown.
    """
    if projection is None:
        lats = [t.lat for t in towns] + [q.lat for lay in layers for q in lay.points]
        lons = [t.lon for t in towns] + [q.lon for lay in layers for q in lay.points]
        lats += [v for ln in lines for v in (ln.lat1, ln.lat2)]
        lons += [v for ln in lines for v in (ln.lon1, ln.lon2)]
        projection = Projection.fit(lats, lons, width=width, margin=max(font_size * 1.5, 12.0))
    p = projection
    w, h = p.width, p.height
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    ident = f' id="{escape(element_id)}"' if element_id else ""
    out = [f'<svg class="{_cls("svgmap", css_class)}"{ident}{ns} viewBox="0 0 {_f(w)} {_f(h)}" '
           f'role="img" tabindex="0" aria-label="{escape(label)}" font-size="{_f(font_size)}">',
           f"<title>{escape(label)}</title>"]
    if graticule:
        out += _graticule(p, font_size)
    if scale_bar:
        out.append(_scale_bar(p, font_size))

    out.append('<g class="lines">')
    for ln in lines:
        if not all(math.isfinite(v) for v in (ln.lat1, ln.lon1, ln.lat2, ln.lon2)):
            continue
        x1, y1 = p.xy(ln.lat1, ln.lon1)
        x2, y2 = p.xy(ln.lat2, ln.lon2)
        out.append(f'<line class="{_cls("pick", ln.cls)}" x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" '
                   f'data-id="{escape(ln.id)}"{_data(ln.data)}><title>{escape(ln.label or ln.id)}</title></line>')
    out.append("</g>")

    for lay in layers:
        if lay.shape not in ("circle", "square"):
            raise ValueError(f"layer {lay.name!r}: shape == {lay.shape!r}, must be 'circle' or 'square'")
        s = lay.size
        out.append(f'<g class="{_cls("layer", "layer-" + re.sub(r"[^-A-Za-z0-9_]", "_", lay.name), lay.cls)}" '
                   f'data-layer="{escape(lay.name)}">')
        for q in lay.points:
            if not (math.isfinite(q.lat) and math.isfinite(q.lon)):
                continue
            x, y = p.xy(q.lat, q.lon)
            attrs = f'class="{_cls("pick", q.cls)}" data-id="{escape(q.id)}"{_data(q.data)}'
            title = f"<title>{escape(q.label or q.id)}</title>"
            if lay.shape == "circle":
                out.append(f'<circle {attrs} cx="{_f(x)}" cy="{_f(y)}" r="{_f(s)}">{title}</circle>')
            else:
                out.append(f'<rect {attrs} x="{_f(x - s)}" y="{_f(y - s)}" width="{_f(2 * s)}" '
                           f'height="{_f(2 * s)}">{title}</rect>')
        out.append("</g>")

    order = sorted(range(len(towns)), key=lambda k: (towns[k].kind == "zone", k))
    drawn = [k for k in order if math.isfinite(towns[k].lat) and math.isfinite(towns[k].lon)]
    at = [(*p.xy(towns[k].lat, towns[k].lon), towns[k].name) for k in drawn]
    places = _place_labels(at, font_size, w, h)
    out.append('<g class="towns">')
    for k, (x, y, _), (tx, ty, anchor) in zip(drawn, at, places):
        t = towns[k]
        kind = f"kind-{t.kind}" if re.fullmatch(r"[a-z]+", t.kind) else ""
        out.append(f'<g class="{_cls("town", kind, t.cls)}"><circle cx="{_f(x)}" cy="{_f(y)}" r="2.4"/>'
                   f'<text x="{_f(tx)}" y="{_f(ty)}" text-anchor="{anchor}">{escape(t.name)}</text></g>')
    out.append("</g></svg>")
    return "".join(out)


@functools.cache
def script() -> str:
    """The hover, tap and keyboard script for every ``svg.svgmap`` on a page (vanilla JS)."""
    return resources.files("matcher.viz").joinpath("svgmap.js").read_text(encoding="utf-8")


@functools.cache
def style() -> str:
    """Default CSS for the map, its classes and the tooltip."""
    return resources.files("matcher.viz").joinpath("svgmap.css").read_text(encoding="utf-8")
