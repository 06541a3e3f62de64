"""Published layers, one YAML file each in ``layers/``: the view or table, the id field, titles and
descriptions in Bahasa Indonesia and English, keywords, the public properties, zoom range and style.
Adding a layer is adding a file; the pygeoapi configuration is generated from these."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Connection, text

from gis_service.api.styles import Style


class Text(BaseModel):
    """A text in Bahasa Indonesia (first) and English."""

    id: str
    en: str


class Layer(BaseModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="view or table in the public schema")
    id_field: str
    geometry: str = "geom"
    title: Text
    description: Text
    keywords: list[str] = []
    time_field: str | None = None
    properties: list[str] | None = None  # public properties; None: every column but the geometry
    zoom: tuple[int, int] = (0, 16)
    style: Style | None = None  # how QGIS, SLD clients and the web map draw it
    visible: bool = False  # shown when a map opens (MapLibre style, QGIS project)
    sensitive: bool = False  # personal data: published only when the settings allow it

    def public(self, columns) -> list[str]:
        """The published property columns among ``columns``: not the id, not the geometry, and
        within ``properties`` when the layer names them."""
        return [name for name in columns if name not in (self.id_field, self.geometry)
                and (self.properties is None or name in self.properties)]

    @field_validator("zoom")
    @classmethod
    def _zoom_order(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= value[0] <= value[1] <= 22:
            raise ValueError("zoom must be [min, max] with 0 <= min <= max <= 22")
        return value


def table_columns(conn: Connection, layer: Layer) -> dict[str, str]:
    """The columns of the layer's table or view and their PostgreSQL types, in table order;
    empty when it does not exist."""
    return dict(conn.execute(text(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = :t ORDER BY ordinal_position"), {"t": layer.table}).all())


def load_layers(folder: Path, *, include_sensitive: bool = False) -> list[Layer]:
    """Every ``*.yml`` in ``folder``, sorted by file name, without the sensitive ones unless
    ``include_sensitive``; a bad file names itself in the error."""
    layers = []
    for path in sorted(Path(folder).glob("*.yml")):
        with open(path, encoding="utf-8") as fh:
            try:
                layers.append(Layer(**yaml.safe_load(fh)))
            except Exception as exc:
                raise ValueError(f"{path}: {exc}") from exc
    layers = [layer for layer in layers if include_sensitive or not layer.sensitive]
    ids = [layer.id for layer in layers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"layer ids used twice in {folder}: {', '.join(duplicates)}")
    return layers


GEOMETRY_RANK = {"polygon": 0, "line": 1, "point": 2}


def draw_order(layers: list[Layer]) -> list[Layer]:
    """Bottom to top, as the web map draws them and the QGIS layer tree (reversed) lists them:
    areas under lines under points, and outline-only areas (admin boundaries) over filled ones;
    a layer without a style counts as filled areas. Equal layers keep their file order."""
    def key(layer: Layer) -> tuple[int, bool]:
        if layer.style is None:
            return GEOMETRY_RANK["polygon"], False
        return GEOMETRY_RANK[layer.style.geometry], layer.style.symbol.opacity == 0
    return sorted(layers, key=key)
