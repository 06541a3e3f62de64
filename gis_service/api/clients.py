"""What map clients download besides the OGC APIs: each layer's QGIS (QML) and SLD style, a
TileJSON document per layer, one MapLibre style that draws every layer from our vector tiles, and
a QGIS project that opens every layer from this server. All are made from ``layers/*.yml`` and
``config/targets.yml`` on each request, so they always match the published layers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine

from gis_service.api.layers import Layer, draw_order, load_layers, table_columns
from gis_service.api.styles import maplibre_layers, point_markers, qml, read_targets, sld
from gis_service.settings import OSM_ATTRIBUTION, OSM_TILES, Settings

QML_TYPE = "application/vnd.qgis.qml+xml"
SLD_TYPE = "application/vnd.ogc.sld+xml"
QGS_TYPE = "application/x-qgis-project"
JSON_TYPES = {"integer": "Number", "bigint": "Number", "numeric": "Number", "double precision": "Number",
              "real": "Number", "smallint": "Number", "boolean": "Boolean"}


def tile_url(ogc_url: str, layer: Layer) -> str:
    return f"{ogc_url}/collections/{layer.id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"


def tilejson(layer: Layer, ogc_url: str, bbox: tuple, fields: dict[str, str]) -> dict:
    """TileJSON 3.0.0 for the layer's vector tiles."""
    return {"tilejson": "3.0.0", "name": layer.title.id, "description": layer.description.id,
            "tiles": [tile_url(ogc_url, layer)], "minzoom": layer.zoom[0], "maxzoom": layer.zoom[1],
            "bounds": list(bbox), "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, layer.zoom[0]],
            "vector_layers": [{"id": layer.id, "description": layer.title.en, "minzoom": layer.zoom[0],
                               "maxzoom": layer.zoom[1], "fields": fields}]}


def maplibre_style(layers: list[Layer], targets: list[dict], ogc_url: str, bbox: tuple, *,
                   language: str = "id", basemap: str | None = OSM_TILES,
                   attribution: str = OSM_ATTRIBUTION, sprite: str | None = None) -> dict:
    """A MapLibre GL style (v8): a raster basemap with its ``attribution`` (OpenStreetMap unless
    ``basemap`` says otherwise; none when empty, for offline use) and every styled layer from our tiles, drawn in
    ``draw_order``; layers not marked ``visible`` start hidden."""
    sources: dict = {}
    style_layers: list[dict] = []
    if basemap:
        sources["osm"] = {"type": "raster", "tiles": [basemap], "tileSize": 256, "attribution": attribution,
                          "maxzoom": 19}
        style_layers.append({"id": "osm", "type": "raster", "source": "osm"})
    for layer in (layer for layer in draw_order(layers) if layer.style):
        sources[layer.id] = {"type": "vector", "tiles": [tile_url(ogc_url, layer)], "minzoom": layer.zoom[0],
                             "maxzoom": layer.zoom[1], "bounds": list(bbox)}
        for item in maplibre_layers(layer.id, layer.style, targets, language=language):
            item["metadata"] |= {"group": getattr(layer.title, language)}
            item["layout"] = {**item.get("layout", {}), "visibility": "visible" if layer.visible else "none"}
            style_layers.append(item)
    style = {"version": 8, "name": "Layanan perencanaan sanitasi" if language == "id" else
             "Sanitation planning service", "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2],
             "zoom": 8, "sources": sources, "layers": style_layers}
    if sprite and any(item["type"] == "symbol" for item in style_layers):
        style["sprite"] = sprite  # the point markers (api/sprites.py)
    return style


def router(settings: Settings, engine: Engine, *, base_url: str, ogc_url: str) -> APIRouter:
    """The routes, bound to the settings' layers folder and the served URL."""
    api = APIRouter(tags=["clients"])
    bbox = tuple(settings.region_config().bbox)

    def layers() -> list[Layer]:
        return load_layers(settings.layers_dir, include_sensitive=settings.publish_household_points)

    def targets() -> list[dict]:
        return read_targets(settings.config_dir / "targets.yml")

    def styled(layer_id: str) -> Layer:
        for layer in layers():
            if layer.id == layer_id:
                if layer.style is None:
                    raise HTTPException(404, f"layer {layer_id} has no style")
                return layer
        raise HTTPException(404, f"no layer {layer_id}; see {ogc_url}/collections")

    @api.get("/styles/{layer_id}.qml", response_class=Response)
    def qgis_style(layer_id: str, lang: str = Query("id", pattern="^(id|en)$")) -> Response:
        """The layer's QGIS style (rule-based renderer), labels in Bahasa Indonesia or English."""
        layer = styled(layer_id)
        return Response(qml(layer.style, targets(), language=lang), media_type=QML_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{layer_id}.qml"'})

    @api.get("/styles/{layer_id}.sld", response_class=Response)
    def sld_style(layer_id: str, lang: str = Query("id", pattern="^(id|en)$")) -> Response:
        """The layer's style as OGC SLD 1.0."""
        layer = styled(layer_id)
        return Response(sld(layer.id, getattr(layer.title, lang), layer.style, targets(), language=lang),
                        media_type=SLD_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{layer_id}.sld"'})

    @api.get("/styles/maplibre.json")
    def maplibre(lang: str = Query("id", pattern="^(id|en)$")) -> JSONResponse:
        """A MapLibre GL style drawing every layer from the vector tiles."""
        return JSONResponse(maplibre_style(layers(), targets(), ogc_url, bbox, language=lang,
                                           basemap=settings.basemap_tiles,
                                           attribution=settings.basemap_attribution,
                                           sprite=f"{base_url.rstrip('/')}/styles/sprite"))

    @api.get("/styles/sprite{suffix}", response_class=Response,
             responses={200: {"content": {"application/json": {}, "image/png": {}}}})
    def style_sprite(suffix: str = Path(pattern=r"^(@2x)?\.(json|png)$")) -> Response:
        """The MapLibre sprite of the point markers: ``sprite.json`` / ``sprite.png``, ``@2x`` for
        high-density screens."""
        from gis_service.api.sprites import sprite

        ratio = 2 if suffix.startswith("@2x") else 1
        index, png = sprite(point_markers(layers(), targets()), ratio)
        if suffix.endswith(".json"):
            return JSONResponse(index)
        return Response(png, media_type="image/png")

    @api.get("/tiles/{layer_id}.json")
    def layer_tilejson(layer_id: str) -> JSONResponse:
        """TileJSON 3.0.0 for one layer's vector tiles."""
        layer = styled(layer_id)
        with engine.connect() as conn:
            columns = table_columns(conn, layer)
        fields = {name: JSON_TYPES.get(columns[name], "String") for name in [layer.id_field, *layer.public(columns)]}
        return JSONResponse(tilejson(layer, ogc_url, bbox, fields))

    @api.get("/project.qgs", response_class=Response)
    def qgis_project_file() -> Response:
        """A QGIS project opening every layer from this server as OGC API - Features, styled."""
        from gis_service.api.qgis_project import qgis_project

        return Response(qgis_project(layers(), ogc_url, settings.layers_dir / "styles"), media_type=QGS_TYPE,
                        headers={"Content-Disposition": 'attachment; filename="gis-service.qgs"'})

    return api
