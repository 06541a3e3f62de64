"""Real clients against a real server (`create_app` under uvicorn on a loopback port): GDAL's
OAPIF driver (what QGIS uses underneath) reads every published collection with the database's
feature counts, its bbox filter matches PostGIS and its MVT driver reads our tiles (these need
`ogrinfo`, from gdal-bin, which scripts/bootstrap.sh installs); OWSLib reads the conformance,
collections, queryables and filtered items."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest
from sqlalchemy import text

from gis_service.api.layers import load_layers
from gis_service.settings import get_settings

needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None,
                                reason="gdal-bin is not installed (scripts/bootstrap.sh installs it)")


def _ogr(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_gdal
def test_gdal_reads_every_collection_with_the_database_counts(server, admin_loaded):
    layers = load_layers(get_settings().layers_dir)
    with admin_loaded.connect() as conn:
        expected = {layer.id: conn.execute(text(f"SELECT count(*) FROM {layer.table}")).scalar()
                    for layer in layers}
    for layer in layers:
        summary = _ogr("ogrinfo", "-ro", "-so", f"OAPIF:{server}", layer.id)
        count = int(re.search(r"Feature Count: (\d+)", summary).group(1))
        assert count == expected[layer.id], layer.id
    assert expected["villages"] == 2 and expected["coverage_villages"] == 1  # households in one village


@needs_gdal
def test_gdal_bbox_filter_matches_postgis(server, admin_loaded):
    out = _ogr("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"OAPIF:{server}", "villages",
               "-spat", "112.01", "-2.95", "112.1", "-2.8")
    got = sorted(f["properties"]["id"] for f in json.loads(out)["features"])  # GDAL keeps the id as a field
    with admin_loaded.connect() as conn:
        want = conn.execute(text(
            "SELECT code FROM layer_village WHERE geom && ST_MakeEnvelope(112.01, -2.95, 112.1, -2.8, 4326) "
            "AND ST_Intersects(geom, ST_MakeEnvelope(112.01, -2.95, 112.1, -2.8, 4326)) ORDER BY 1")).scalars().all()
    assert got == want == ["62.07.01.2001"]


@needs_gdal
def test_gdal_reads_vector_tiles_within_each_layers_zoom_range(server, admin_loaded, tmp_path):
    """Tile 8/130/207 (z/row/col, WebMercatorQuad) covers the two test villages."""
    base = f"{server}/collections/villages/tiles/WebMercatorQuad"
    path = tmp_path / "tile.pbf"
    with urllib.request.urlopen(f"{base}/8/130/207?f=mvt") as response:
        path.write_bytes(response.read())
    summary = _ogr("ogrinfo", "-ro", "-al", "-so", str(path))
    assert "Layer name: villages" in summary and "Feature Count: 2" in summary
    with urllib.request.urlopen(f"{base}/8/100/100?f=mvt") as empty:  # no village there
        assert empty.status == 200 and empty.read() == b""
    with pytest.raises(urllib.error.HTTPError) as outside:  # villages start at zoom 8 (layers/villages.yml)
        urllib.request.urlopen(f"{base}/3/4/6?f=mvt")
    assert outside.value.code == 404


@needs_gdal
def test_gdal_reads_a_tile_of_every_layer_that_has_features(server, admin_loaded, tmp_path):
    """For each layer, the tile at its first zoom (at least 10) around a point of its first
    located feature: GDAL's MVT driver opens it and finds the layer, named after the collection,
    with the features PostGIS puts in that tile."""
    read = []
    for layer in load_layers(get_settings().layers_dir):
        with admin_loaded.connect() as conn:
            point = conn.execute(text(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                                      f"FROM {layer.table} WHERE geom IS NOT NULL LIMIT 1) t")).first()
            if point is None:
                continue
            z = max(layer.zoom[0], 10)
            x, y = conn.execute(text(
                "SELECT floor((:lon + 180) / 360 * 2 ^ :z)::int, "
                "floor((1 - ln(tan(radians(:lat)) + 1 / cos(radians(:lat))) / pi()) / 2 * 2 ^ :z)::int"),
                {"lon": point[0], "lat": point[1], "z": z}).one()
            expected = conn.execute(text(
                f"SELECT count(*) FROM {layer.table} WHERE ST_AsMVTGeom(ST_Transform(geom, 3857), "
                "ST_TileEnvelope(:z, :x, :y), 4096, 64, true) IS NOT NULL"), {"z": z, "x": x, "y": y}).scalar()
        path = tmp_path / f"{layer.id}.pbf"
        with urllib.request.urlopen(f"{server}/collections/{layer.id}/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt") as tile:
            path.write_bytes(tile.read())
        summary = _ogr("ogrinfo", "-ro", "-al", "-so", str(path))
        assert f"Layer name: {layer.id}" in summary and f"Feature Count: {expected}" in summary, (layer.id, summary)
        read.append(layer.id)
    assert {"villages", "facilities", "coverage_villages", "service_areas"} <= set(read), read


def test_owslib_reads_conformance_collections_queryables_and_filtered_items(server, admin_loaded):
    from owslib.ogcapi.features import Features

    api = Features(server)
    conforms = api.conformance()["conformsTo"]
    assert any(c.endswith("ogcapi-features-1/1.0/conf/core") for c in conforms)
    assert "villages" in api.feature_collections()
    queryables = api.collection_queryables("villages")["properties"]
    assert {"name", "village_kind"} <= set(queryables)
    items = api.collection_items("villages", village_kind="kelurahan", limit=10)
    assert [f["properties"]["name"] for f in items["features"]] == ["Desa Timur"]
    cql = api.collection_items("facilities", filter="type = 'desludging_depot'", **{"filter-lang": "cql-text"})
    with admin_loaded.connect() as conn:
        depots = conn.execute(text("SELECT count(*) FROM facility WHERE type = 'desludging_depot'")).scalar()
    assert len(cql["features"]) == depots == 1
