"""Read a transport network from an OpenStreetMap extract (.osm.pbf) with pyosmium.

Highways become roads (or paths for foot classes), navigable waterways become rivers; the class
table in ``config/parameters/network.yml`` says which classes count. Speeds stay empty unless the
way carries ``maxspeed``: the coverage engine applies the class speed table, so editing the table
does not need a re-import.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import osmium
import shapely

from gis_service.ingest.readers import ReadError
from gis_service.settings import Settings

MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?")


def read_osm_network(path: Path, *, settings: Settings) -> tuple[gpd.GeoDataFrame, list[str]]:
    params = settings.network_config()
    roads = set(params["road"]) - {"default"}
    paths = set(params["path_classes"])
    waterways = set(params["navigable_waterways"])
    factory = osmium.geom.WKBFactory()
    records, wkbs, skipped = [], [], 0
    processor = (osmium.FileProcessor(str(path), osmium.osm.WAY | osmium.osm.NODE)
                 .with_locations()
                 .with_filter(osmium.filter.KeyFilter("highway", "waterway")))
    try:
        for way in processor:
            if not way.is_way():
                continue
            record = _edge(way, roads, paths, waterways)
            if record is None:
                continue
            try:
                wkb = factory.create_linestring(way)
            except (osmium.InvalidLocationError, RuntimeError):  # missing nodes, or fewer than two
                skipped += 1
                continue
            records.append(record)
            wkbs.append(bytes.fromhex(wkb))
    except RuntimeError as exc:  # libosmium's reader: not PBF, truncated or damaged
        raise ReadError(f"{path.name} is not a readable OpenStreetMap extract ({exc}): download the "
                        ".osm.pbf again, or export the network as GeoPackage or GeoJSON") from exc
    if not records:
        raise ReadError(f"{path.name} holds no highways or navigable waterways")
    notes = [f"OpenStreetMap: {len(records)} ways kept (highways and navigable waterways)"]
    if skipped:
        notes.append(f"{skipped} ways skipped: their nodes are missing from the extract or fewer than two")
    geoms = shapely.from_wkb(wkbs, on_invalid="ignore") if wkbs else []
    frame = gpd.GeoDataFrame(records, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
    frame.attrs.update(geometry_in_file=True, geometry_columns=["(OpenStreetMap ways)"])
    return frame, notes


def _edge(way, roads: set, paths: set, waterways: set) -> dict | None:
    """The edge record of a highway or navigable waterway, or None for any other way."""
    tags = way.tags
    highway, waterway = tags.get("highway"), tags.get("waterway")
    if highway in paths:
        mode, cls = "path", highway
    elif highway in roads:
        mode, cls = "road", highway
    elif waterway in waterways:
        mode, cls = "river", waterway
    else:
        return None
    speed = MAXSPEED.match(tags.get("maxspeed", ""))
    kmh = float(speed.group(1)) * (1.609 if speed.group(2) else 1.0) if speed else None
    return {"source_id": f"w{way.id}", "mode": mode, "class": cls, "name": tags.get("name"),
            "speed_kmh": kmh, "oneway": tags.get("oneway") in ("yes", "1", "true")}
