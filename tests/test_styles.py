"""Layer styles: the files in layers/styles/ are what the layer YAML makes (so they cannot drift),
coverage classes break at the national targets, QML and SLD are well-formed with one rule per
class, the MapLibre style passes MapLibre's own validator, the API serves all of them and links
them from each collection, and the styled GeoPackage carries them in ``layer_styles``."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image
from fastapi.testclient import TestClient
from sqlalchemy import text

from gis_service.api.app import create_app
from gis_service.api.clients import maplibre_style
from gis_service.api.geopackage import export_geopackage
from gis_service.api.layers import load_layers
from gis_service.api.styles import Style, qml, read_targets, sld, write_styles
from gis_service.settings import get_settings

VALIDATOR = Path(__file__).resolve().parents[1] / ".tools/node_modules/@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs"
SLD = "{http://www.opengis.net/sld}"


@pytest.fixture(scope="module")
def layers_and_targets():
    settings = get_settings()
    return load_layers(settings.layers_dir, include_sensitive=True), read_targets(settings.config_dir / "targets.yml")


def test_committed_style_files_are_what_the_layer_files_make(layers_and_targets, tmp_path):
    layers, targets = layers_and_targets
    made = {path.name: path.read_text(encoding="utf-8") for path in write_styles(layers, targets, tmp_path)}
    folder = get_settings().layers_dir / "styles"
    committed = {path.name: path.read_text(encoding="utf-8") for path in folder.glob("*.*")}
    assert made == committed, "layers/styles is stale: run `gis-service styles write`"
    assert all(layer.style for layer in layers), "every published layer has a style"


def test_coverage_classes_break_at_the_targets(layers_and_targets):
    layers, targets = layers_and_targets
    coverage = next(layer for layer in layers if layer.id == "coverage_villages")
    rules = coverage.style.resolved_rules(targets)
    lows = [c.value for rule in rules for c in rule.where if c.op == ">="]
    expected = sorted({float(t["value"]) for t in targets if 0 < float(t["value"]) < 100})
    assert lows == expected and rules[-1].otherwise
    assert "target aman 2024" in rules[1].label.id


def test_qml_and_sld_have_one_rule_per_class(layers_and_targets):
    layers, targets = layers_and_targets
    for layer in layers:
        rules = layer.style.resolved_rules(targets)
        qgis = ET.fromstring(qml(layer.style, targets).split("\n", 1)[1])
        assert qgis.find("renderer-v2").get("type") == "RuleRenderer"
        assert len(qgis.findall("renderer-v2/rules/rule")) == len(rules) == len(qgis.findall("renderer-v2/symbols/symbol"))
        ogc = ET.fromstring(sld(layer.id, layer.title.id, layer.style, targets).encode())
        assert len(ogc.findall(f".//{SLD}Rule")) == len(rules), layer.id


def test_facility_symbols_cross_type_and_status(layers_and_targets):
    layers, targets = layers_and_targets
    facilities = next(layer for layer in layers if layer.id == "facilities")
    rules = facilities.style.resolved_rules(targets)
    iplt_pilot = next(r for r in rules if [(c.field, c.value) for c in r.where] == [("type", "iplt"), ("status", "pilot")])
    mck_candidate = next(r for r in rules if [(c.field, c.value) for c in r.where] == [("type", "mck"), ("status", "candidate")])
    assert iplt_pilot.symbol.shape == "square" and mck_candidate.symbol.shape == "triangle"
    assert iplt_pilot.symbol.color != mck_candidate.symbol.color
    # every type and status a facility may be saved with has a symbol: none is invisible
    from gis_service.vocabulary import FacilityStatus, FacilityType

    drawn = {tuple(c.value for c in r.where) for r in rules}
    assert drawn == {(t.value, s.value) for t in FacilityType for s in FacilityStatus}
    shapes = {r.where[0].value: r.symbol.shape for r in rules}
    assert len(set(shapes.values())) == len(FacilityType)  # each type its own marker


def test_a_bad_style_says_what_is_wrong():
    with pytest.raises(ValueError, match="2 breaks make 3 classes, but 2 colors"):
        Style(geometry="polygon", field="x", graduated=[1, 2], colors=["#000000", "#ffffff"]).resolved_rules([])
    with pytest.raises(ValueError, match="need a field"):
        Style(geometry="point", categories=[{"value": "a", "label": {"id": "A", "en": "A"}}])


@pytest.mark.skipif(not VALIDATOR.exists() or shutil.which("node") is None,
                    reason="MapLibre's style validator is not installed (scripts/bootstrap.sh installs it with npm)")
def test_the_maplibre_style_passes_maplibres_validator(layers_and_targets, tmp_path):
    layers, targets = layers_and_targets
    for language in ("id", "en"):
        path = tmp_path / f"style-{language}.json"
        path.write_text(json.dumps(maplibre_style(layers, targets, "http://127.0.0.1:8000/ogc",
                                                  (111.0, -3.5, 113.0, -0.5), language=language,
                                                  sprite="http://127.0.0.1:8000/styles/sprite")))
        done = subprocess.run(["node", str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    broken = json.loads(path.read_text())
    broken["layers"][1]["paint"] = {"fill-color": "not a colour"}
    path.write_text(json.dumps(broken))
    assert subprocess.run(["node", str(VALIDATOR), str(path)], capture_output=True, timeout=60).returncode != 0


def test_the_api_serves_styles_tilejson_and_the_maplibre_style(published_region):
    with TestClient(create_app(base_url="http://testserver")) as client:
        qgis = client.get("/styles/coverage_villages.qml")
        assert qgis.status_code == 200 and qgis.headers["content-type"].startswith("application/vnd.qgis.qml+xml")
        assert "RuleRenderer" in qgis.text and "Tanpa data" in qgis.text
        assert "No data" in client.get("/styles/coverage_villages.qml", params={"lang": "en"}).text
        assert client.get("/styles/facilities.sld").text.count("<Rule>") == 7 * 4  # every type x every status
        assert client.get("/styles/nosuch.qml").status_code == 404

        tiles = client.get("/tiles/network.json").json()
        assert tiles["tilejson"] == "3.0.0" and (tiles["minzoom"], tiles["maxzoom"]) == (9, 18)
        assert tiles["tiles"][0] == "http://testserver/ogc/collections/network/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"
        assert tiles["vector_layers"][0]["fields"]["mode"] == "String"
        assert tiles["vector_layers"][0]["fields"]["length_m"] == "Number"

        style = client.get("/styles/maplibre.json").json()
        assert style["version"] == 8
        drawn = [layer["source"] for layer in style["layers"][1:]]
        assert drawn.index("villages") < drawn.index("network") < drawn.index("facilities")
        one_tile = style["sources"]["facilities"]["tiles"][0].format(z=10, y=520, x=831)
        assert client.get(one_tile.replace("http://testserver", "")).status_code == 200

        # the point markers come from the sprite: every icon the style asks for is in it, drawn in
        # its rule's colour, at both pixel ratios
        assert style["sprite"] == "http://testserver/styles/sprite"
        icons = {layer["layout"]["icon-image"] for layer in style["layers"] if layer["type"] == "symbol"}
        facility_icons = {layer["layout"]["icon-image"] for layer in style["layers"] if layer["source"] == "facilities"
                          and layer["type"] == "symbol"}
        assert len(facility_icons) == 6 * 4  # the facility types other than the circle's x the statuses
        for suffix, ratio in (("", 1), ("@2x", 2)):
            index = client.get(f"/styles/sprite{suffix}.json").json()
            assert set(index) >= icons and {entry["pixelRatio"] for entry in index.values()} == {ratio}
            sheet = Image.open(io.BytesIO(client.get(f"/styles/sprite{suffix}.png").content)).convert("RGBA")
            assert sheet.width == max(e["x"] + e["width"] for e in index.values())
            cell = index["marker-triangle-fdae61-232323"]  # an MCK, candidate: orange inside
            assert sheet.getpixel((cell["x"] + cell["width"] // 2, cell["y"] + cell["height"] * 3 // 5)) == \
                (0xfd, 0xae, 0x61, 255)
        assert client.get("/styles/sprite.gif").status_code == 422

        links = client.get("/ogc/collections/coverage_villages", params={"f": "json"}).json()["links"]
        hrefs = {link["href"] for link in links if link["rel"] == "stylesheet"}
        assert hrefs == {"http://testserver/styles/coverage_villages.qml", "http://testserver/styles/coverage_villages.sld"}


def test_the_geopackage_carries_every_layer_with_its_default_style(published_region, layers_and_targets, tmp_path):
    layers, targets = layers_and_targets
    path = tmp_path / "layers.gpkg"
    counts = export_geopackage(published_region, layers, targets, path)
    with published_region.connect() as conn:
        expected = {layer.id: conn.execute(text(f"SELECT count(*) FROM {layer.table}")).scalar() for layer in layers}
    assert counts == expected
    with sqlite3.connect(path) as db:
        styles = dict(db.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault").fetchall())
        stored = {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in counts}
    assert set(styles) == set(counts) and stored == expected
    assert styles["facilities"] == qml(next(l for l in layers if l.id == "facilities").style, targets)
    assert not list(tmp_path.glob("*partial*"))


def test_household_points_are_published_only_when_configured(published_region, monkeypatch):
    with TestClient(create_app(base_url="http://testserver")) as client:
        assert client.get("/ogc/collections/households", params={"f": "json"}).status_code == 404
        assert client.get("/styles/households.qml").status_code == 404
    monkeypatch.setenv("GIS_SERVICE_PUBLISH_HOUSEHOLD_POINTS", "true")
    with TestClient(create_app(base_url="http://testserver")) as client:
        page = client.get("/ogc/collections/households/items", params={"f": "json", "limit": 5}).json()
    assert page["numberMatched"] == 300
    assert set(page["features"][0]["properties"]) <= {"village_code", "ladder_rung", "toilet_type", "disposal",
                                                      "has_septic_tank", "shared_toilet", "last_desludged",
                                                      "members", "survey_date"}


def test_tiles_carry_only_the_public_properties(published_region, monkeypatch, tmp_path):
    """A layer that names its public properties (households) publishes no others in its tiles."""
    monkeypatch.setenv("GIS_SERVICE_PUBLISH_HOUSEHOLD_POINTS", "true")
    with TestClient(create_app(base_url="http://testserver")) as client:
        fields = client.get("/tiles/households.json").json()["vector_layers"][0]["fields"]
        tile = client.get("/ogc/collections/households/tiles/WebMercatorQuad/13/4162/6645?f=mvt")
    assert "source_id" not in fields and "ladder_rung" in fields
    assert tile.status_code == 200 and b"ladder_rung" in tile.content and b"source_id" not in tile.content
