"""The pygeoapi side: its configuration and OpenAPI document are generated at start-up from
``layers/*.yml`` and the settings (nobody edits pygeoapi YAML by hand), written to the data
folder, and pygeoapi's Starlette application is loaded from them.

pygeoapi reads ``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI`` when its Starlette module is imported,
so the module is (re)loaded after both files are written; links in its responses are built from
``server.url``, which therefore carries the mount path (docs/architecture.md).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from pygeoapi.util import json_serial

from gis_service.api.layers import Layer, load_layers
from gis_service.api.ogc_jobs import install, manager_config
from gis_service.db.engine import statement_timeout_option
from gis_service.db.roles import ServingUrls
from gis_service.job_queue import JobLimits
from gis_service.settings import OSM_TILES, Settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
MOUNT = "/ogc"
DEFAULT_ITEMS, MAX_ITEMS = 100, 10000
TILE_PROVIDER = "gis_service.api.tiles.FastMVTProvider"


def pygeoapi_config(layers: list[Layer], settings: Settings, *, base_url: str, urls: ServingUrls) -> dict:
    """The whole pygeoapi configuration for ``layers`` served under ``base_url`` + /ogc, with
    the coverage process, whose executions are jobs of the job table (``ogc_jobs.py``). The
    providers connect as the read-only role, the job manager as the web role."""
    url = make_url(urls.read)
    connection = {"host": url.host, "port": url.port or 5432, "dbname": url.database,
                  "user": url.username, "password": url.password, "search_path": ["public"]}
    region = settings.region_config()
    bbox = list(region.bbox)
    crs = [CRS84, EPSG_URI.format(4326), EPSG_URI.format(region.metric_crs.split(":")[-1])]
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 8000},
            "url": base_url.rstrip("/") + MOUNT,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["id-ID", "en-US"],
            "limits": {"default_items": DEFAULT_ITEMS, "max_items": MAX_ITEMS},
            "map": {"url": settings.basemap_tiles or OSM_TILES, "attribution": settings.basemap_attribution},
            "manager": manager_config(urls.web, urls.worker, JobLimits.of(settings),
                                      callback_hosts=settings.callback_hosts),
        },
        "logging": {"level": "WARNING"},
        "metadata": {
            "identification": {
                "title": {"id": "Layanan perencanaan sanitasi", "en": "Sanitation planning service"},
                "description": {"id": "Wilayah, fasilitas sanitasi, cakupan layanan dan kesenjangan "
                                      "terhadap target, dari basis data perencanaan",
                                "en": "Admin areas, sanitation facilities, service coverage and gaps to "
                                      "targets, from the planning database"},
                "keywords": {"id": ["sanitasi", "air limbah", "SSK", "PPSP"],
                             "en": ["sanitation", "wastewater", "coverage"]},
                "keywords_type": "theme",
                "terms_of_service": "https://creativecommons.org/licenses/by/4.0/",
                "url": base_url,
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "gis-service", "url": base_url},
            "contact": {"name": "Bappeda (planning office)", "position": "Planner", "address": "-",
                        "city": "-", "stateorprovince": "-", "postalcode": "-", "country": "Indonesia",
                        "phone": "-", "fax": "-", "email": "-", "url": base_url, "hours": "-",
                        "instructions": "-", "role": "pointOfContact"},
        },
        "resources": {**{layer.id: _resource(layer, connection, bbox, crs, settings.api_count_limit, base_url,
                                             statement_timeout_option(settings.statement_timeout_s))
                         for layer in layers},
                      "coverage": {"type": "process",
                                   "processor": {"name": "gis_service.api.processes.CoverageProcessor"}}},
    }


def _resource(layer: Layer, connection: dict, bbox: list[float], crs: list[str], count_limit: int,
              base_url: str, libpq_options: str) -> dict:
    # pygeoapi's SQL provider passes the options that are not dicts to the driver: libpq's
    # ``options`` carries the statement timeout
    provider = {"type": "feature", "name": "gis_service.api.features.FastFeatureProvider",
                "data": connection, "id_field": layer.id_field, "table": layer.table,
                "geom_field": layer.geometry, "storage_crs": CRS84, "crs": crs,
                "options": {"count": {"limit": count_limit}, "options": libpq_options}}
    if layer.time_field:
        provider["time_field"] = layer.time_field
    tiles = {"type": "tile", "name": TILE_PROVIDER, "data": connection, "layer": layer.id,
             "id_field": layer.id_field, "table": layer.table, "geom_field": layer.geometry,
             "options": {"options": libpq_options,
                         "zoom": {"min": layer.zoom[0], "max": layer.zoom[1]},  # a list here would break
                         "simplify": {"pixels": 0 if layer.style and layer.style.geometry == "point" else 0.5}},
             # pygeoapi's SQL provider, which passes non-dict options to the driver
             "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"}}
    if layer.properties is not None:  # the same public properties in features and tiles
        provider["properties"] = tiles["properties"] = list(layer.properties)
    return {
        "type": "collection",
        "links": _style_links(layer, base_url),
        "title": layer.title.model_dump(),
        "description": layer.description.model_dump(),
        "keywords": layer.keywords,
        "extents": {"spatial": {"bbox": bbox, "crs": CRS84}},
        "providers": [provider, tiles],
    }


def _style_links(layer: Layer, base_url: str) -> list[dict]:
    """Links from the collection to its styles and TileJSON (served by clients.py)."""
    if layer.style is None:
        return []
    root = base_url.rstrip("/")
    return [{"type": "application/vnd.qgis.qml+xml", "rel": "stylesheet", "title": "QGIS style (QML)",
             "href": f"{root}/styles/{layer.id}.qml"},
            {"type": "application/vnd.ogc.sld+xml;version=1.0", "rel": "stylesheet", "title": "SLD 1.0 style",
             "href": f"{root}/styles/{layer.id}.sld"},
            {"type": "application/json", "rel": "describedby", "title": "TileJSON of the vector tiles",
             "href": f"{root}/tiles/{layer.id}.json"}]


DATETIME = {"name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
            "schema": {"type": "string"},
            "description": "Instant or interval (RFC 3339); a collection without a time property "
                           "matches every feature"}


def with_datetime(openapi: dict) -> dict:
    """pygeoapi declares ``datetime`` only on collections with a time field, but every items
    operation supports it (/req/core/fc-time-definition)."""
    for path, operations in openapi.get("paths", {}).items():
        get = operations.get("get") if path.endswith("/items") else None
        if get is not None and not any("datetime" in (p.get("name") or p.get("$ref", ""))
                                       for p in get.get("parameters", [])):
            get.setdefault("parameters", []).append(dict(DATETIME))
    return openapi


def write_config(settings: Settings, *, base_url: str, urls: ServingUrls) -> tuple[Path, Path, dict]:
    """Write the pygeoapi configuration and its OpenAPI document to ``<data dir>/api/``; returns
    both paths and the configuration."""
    from pygeoapi.openapi import generate_openapi_document

    folder = Path(settings.data_dir) / "api"
    folder.mkdir(parents=True, exist_ok=True)
    config = pygeoapi_config(load_layers(settings.layers_dir, include_sensitive=settings.publish_household_points),
                             settings, base_url=base_url, urls=urls)
    config_path, openapi_path = folder / "pygeoapi-config.yml", folder / "pygeoapi-openapi.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.chmod(config_path, 0o600)  # it holds the database password
    openapi = yaml.safe_load(generate_openapi_document(config_path, "yaml"))
    openapi_path.write_text(yaml.safe_dump(with_datetime(openapi), allow_unicode=True, sort_keys=False),
                            encoding="utf-8")
    return config_path, openapi_path, config


def script_safe_json(dict_, pretty: bool = False) -> str:
    """pygeoapi's ``to_json`` template filter, made safe inside ``<script>``: its HTML pages write
    features into inline scripts as ``{{ data | to_json | safe }}``, so a facility named
    ``</script><script>...`` would end the script and run its own. ``<``, ``>`` and ``&`` become ``\\u``
    escapes (the output is ASCII, so JavaScript's line separators are escaped too): the same JSON
    value, no markup."""
    text = json.dumps(dict_, default=json_serial, indent=4 if pretty else None, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):  # ASCII-only already
        text = text.replace(char, escape)
    return text


def ogc_app(settings: Settings, *, base_url: str, urls: ServingUrls):
    """pygeoapi's Starlette application for the current layers and database, and its configuration.
    Its templates' ``to_json`` filter is replaced by ``script_safe_json`` (the filter is looked up in
    ``pygeoapi.util`` each time a page is rendered; its JSON responses use their own import)."""
    import pygeoapi.util

    pygeoapi.util.to_json = script_safe_json
    install()
    config_path, openapi_path, config = write_config(settings, base_url=base_url, urls=urls)
    os.environ["PYGEOAPI_CONFIG"], os.environ["PYGEOAPI_OPENAPI"] = str(config_path), str(openapi_path)
    module = sys.modules.get("pygeoapi.starlette_app")
    module = importlib.reload(module) if module else importlib.import_module("pygeoapi.starlette_app")
    return module.APP, config
