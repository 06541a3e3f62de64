"""The MapLibre sprite of the point markers: every marker shape of the layer styles other than the
circle (MapLibre draws circles itself) in the colours its rules use, so that a web map tells a
depot (diamond) from an MCK (triangle) as the QGIS styles do. ``/styles/sprite.json`` and
``/styles/sprite.png`` (``@2x`` for high-density screens and print) follow the MapLibre sprite
format: a PNG of the images and a JSON index of where each one is.

Each image is one marker drawn (four times larger, then reduced, for smooth edges) at
``MARKER_PX`` across in a square cell with room for its outline; a style scales it to the rule's
size with ``icon-size``. Shapes are polygons in a unit square centred on 0, y pointing down, the
same ones the web map draws in its legend (web/app/shapes.js)."""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw

MARKER_PX = 20  # a marker's width in the sprite at pixel ratio 1; icon-size = wanted px / MARKER_PX
CELL_PX = 24
SUPERSAMPLE = 4


def _regular(n: int, radius: float = 1.0, turn: float = 0.0) -> list[tuple[float, float]]:
    return [(radius * math.sin(2 * math.pi * (k / n + turn)), -radius * math.cos(2 * math.pi * (k / n + turn)))
            for k in range(n)]


def _star() -> list[tuple[float, float]]:
    outer, inner = _regular(5), _regular(5, 0.45, 0.1)
    return [p for pair in zip(outer, inner) for p in pair]


SHAPES: dict[str, list[tuple[float, float]]] = {
    "square": [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)],
    "triangle": [(0.0, -1.0), (0.9, 0.7), (-0.9, 0.7)],
    "diamond": [(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)],
    "star": _star(),
    "pentagon": _regular(5),
    "cross": [(-0.32, -1), (0.32, -1), (0.32, -0.32), (1, -0.32), (1, 0.32), (0.32, 0.32), (0.32, 1),
              (-0.32, 1), (-0.32, 0.32), (-1, 0.32), (-1, -0.32), (-0.32, -0.32)],
}


def marker_id(shape: str, color: str, stroke: str) -> str:
    """The sprite image of a marker: ``marker-diamond-fdae61-232323``."""
    return f"marker-{shape}-{color.lstrip('#').lower()}-{stroke.lstrip('#').lower()}"


def _rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255


def _marker(shape: str, color: str, stroke: str, ratio: int) -> Image.Image:
    big = CELL_PX * ratio * SUPERSAMPLE
    half = MARKER_PX * ratio * SUPERSAMPLE / 2
    centre = big / 2
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    points = [(centre + x * half, centre + y * half) for x, y in SHAPES[shape]]
    ImageDraw.Draw(image).polygon(points, fill=_rgba(color), outline=_rgba(stroke),
                                  width=max(1, round(1.2 * ratio * SUPERSAMPLE)))
    return image.resize((CELL_PX * ratio, CELL_PX * ratio), Image.LANCZOS)


def sprite(markers: set[tuple[str, str, str]], ratio: int = 1) -> tuple[dict, bytes]:
    """The sprite index and PNG of ``markers`` (shape, fill colour, stroke colour) at ``ratio``."""
    markers = sorted(markers)
    cell = CELL_PX * ratio
    columns = max(1, math.ceil(math.sqrt(len(markers))))
    rows = max(1, math.ceil(len(markers) / columns))
    sheet = Image.new("RGBA", (columns * cell, rows * cell), (0, 0, 0, 0))
    index = {}
    for k, (shape, color, stroke) in enumerate(markers):
        x, y = (k % columns) * cell, (k // columns) * cell
        sheet.paste(_marker(shape, color, stroke, ratio), (x, y))
        index[marker_id(shape, color, stroke)] = {"x": x, "y": y, "width": cell, "height": cell, "pixelRatio": ratio}
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=True)
    return index, out.getvalue()
