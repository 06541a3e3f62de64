"""QGIS itself as a client of a live server (`server` fixture): every collection opens in QGIS
3.22 as an OGC API – Features layer with the database's feature counts, paging included, and the
project written by `qgis_project()` opens with every layer valid, in order, styled and in the
region's CRS. QGIS runs headless in a subprocess with the system Python (tests/qgis_probe.py),
because PyQGIS comes from Debian's python3-qgis and cannot be imported from the virtualenv; those
tests skip when it is not installed. The XML itself is also checked without QGIS."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import text

from gis_service.api.layers import draw_order, load_layers
from gis_service.api.qgis_project import PAGE_SIZE, datasource, min_scale, qgis_project
from gis_service.settings import get_settings

SYSTEM_PYTHON = "/usr/bin/python3"
PROBE = Path(__file__).with_name("qgis_probe.py")
INSTALL = "apt-get install -y --no-install-recommends python3-qgis qgis-providers"

FACILITIES_QML = """<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="1">
  <renderer-v2 type="categorizedSymbol" attr="type" symbollevels="0" enableorderby="0" forceraster="0">
    <categories>
      <category value="desludging_depot" symbol="0" label="Depo sedot tinja" render="true"/>
      <category value="mck" symbol="1" label="MCK" render="true"/>
    </categories>
    <symbols>
      <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
          <prop k="color" v="190,30,45,255"/><prop k="name" v="square"/><prop k="size" v="3"/>
        </layer>
      </symbol>
      <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
          <prop k="color" v="30,90,190,255"/><prop k="name" v="circle"/><prop k="size" v="2"/>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="name" fontSize="8" textColor="0,0,0,255"/>
      <placement placement="6" dist="1"/>
    </settings>
  </labeling>
</qgis>
"""


@functools.lru_cache(maxsize=1)
def _qgis_missing() -> str | None:
    """Why QGIS cannot be used here, or None when the system Python imports qgis.core."""
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], check=False, capture_output=True,
                              text=True, timeout=120, env=_qgis_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot run: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"PyQGIS is not installed for {SYSTEM_PYTHON} ({last}); install it with: {INSTALL}"
    return None


@pytest.fixture
def qgis():
    reason = _qgis_missing()
    if reason:
        pytest.skip(reason)


def _qgis_env() -> dict[str, str]:
    """The environment for the system Python: headless Qt, nothing of the virtualenv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _probe(*args: str) -> dict:
    done = subprocess.run([SYSTEM_PYTHON, str(PROBE), *args], check=False, capture_output=True, text=True,
                          timeout=600, env=_qgis_env())
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


class _Requests(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def requests_seen():
    """The server's JSON access log lines (path, query, status) while the test runs."""
    logger = logging.getLogger("gis_service.api")
    handler, level = _Requests(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def _counts(engine, layers, *, located: bool = False) -> dict[str, int]:
    """Rows per layer in the database; ``located``: only rows with a geometry."""
    with engine.connect() as conn:
        return {layer.id: conn.execute(text(
            f"SELECT count({layer.geometry if located else '*'}) FROM {layer.table}")).scalar()
            for layer in layers}


def _more_facilities(engine, tmp_path, n: int = 250) -> None:
    """Candidate MCK sites, so that facilities needs several pages of the server's default 100."""
    from gis_service.ingest.importer import import_file
    from tests.helpers import write_csv

    rows = [{"id": f"M{i:03d}", "nama": f"MCK {i}", "jenis": "mck", "status": "candidate",
             "lon": f"{112.01 + i * 0.0005:.5f}", "lat": "-2.95"} for i in range(n)]
    import_file(engine, "facilities", write_csv(tmp_path / "mck.csv", rows))


def _refused(requests: list[dict]) -> list[str]:
    return [f"{r['status']} {r['path']}?{r['query']}" for r in requests if r["status"] >= 400]


def test_qgis_reads_every_collection_with_the_database_counts(qgis, server, admin_loaded, tmp_path,
                                                              requests_seen):
    _more_facilities(admin_loaded, tmp_path)
    layers = load_layers(get_settings().layers_dir)
    expected = _counts(admin_loaded, layers)
    result = _probe("--url", server, "--collections", ",".join(layer.id for layer in layers))
    got = result["collections"]
    problems = {k: v for k, v in got.items() if not v["valid"] or v["count"] != expected[k]}
    assert not problems, (problems, expected, result["messages"])
    assert expected["facilities"] == 251 and expected["villages"] == 2
    for layer in ("facilities", "villages", "coverage_villages"):
        assert got[layer]["crs"] == "EPSG:4326", got[layer]
    assert got["facilities"]["geometry"] == "Point" and got["villages"]["geometry"] == "MultiPolygon"
    pages = [r["query"] for r in requests_seen if r["path"] == "/ogc/collections/facilities/items"]
    # QGIS followed the `next` links, which page by key (keyset paging): after 100, after 200
    assert any("after=200" in q for q in pages) and not any("offset=" in q for q in pages), pages
    assert not _refused(requests_seen)


def test_generated_project_opens_in_qgis_with_every_layer_valid(qgis, server, admin_loaded, tmp_path,
                                                               requests_seen):
    """The project as `gis-service export qgs` and /project.qgs write it, with the styles in
    layers/styles/: every layer valid with the database's count, drawn with its QML's renderer."""
    _more_facilities(admin_loaded, tmp_path)
    settings = get_settings()
    layers, styles = load_layers(settings.layers_dir), settings.layers_dir / "styles"
    path = tmp_path / "sanitasi.qgs"
    path.write_text(qgis_project(layers, server, styles), encoding="utf-8")

    project = _probe("--project", str(path))["project"]
    assert project["read"], project["error"]
    assert project["missing"] == [] and project["layers_in_file"] == len(layers)
    invalid = [layer for layer in project["layers"] if not layer["valid"]]
    assert not invalid, invalid
    by_id = {layer.id: next(item for item in project["layers"] if item["name"] == layer.title.id)
             for layer in layers}
    assert {key: item["count"] for key, item in by_id.items()} == _counts(admin_loaded, layers)
    located = _counts(admin_loaded, layers, located=True)
    assert project["crs"] == project["default_view_crs"] == settings.region_config().metric_crs == "EPSG:32749"
    assert project["ellipsoid"] == "EPSG:7030"
    tree = [next(layer.id for layer in layers if layer.title.id == name) for name in project["tree"]]
    assert tree == [layer.id for layer in draw_order(layers)[::-1]]
    assert tree.index("facilities") < tree.index("network") < tree.index("districts") < tree.index("coverage_villages")
    for layer in layers:
        item = by_id[layer.id]
        assert item["visible"] == layer.visible, layer.id
        assert item["scale_based"] == (layer.zoom[0] > 0), layer.id
        assert item["min_scale"] == pytest.approx(min_scale(layer.zoom[0]) if layer.zoom[0] else 0, abs=1)
        # QGIS 3.22 takes the geometry type from the first features: a collection with no
        # geometry yet (no gaps, no network imported) opens as a table without renderer.
        assert (item["geometry"] == "NoGeometry") == (located[layer.id] == 0), (layer.id, item)
        qml = styles / f"{layer.id}.qml"
        if qml.exists() and located[layer.id]:  # drawn with the style's renderer, not QGIS's default
            style = ET.parse(qml).getroot()
            assert item["renderer"] == style.find("renderer-v2").get("type"), layer.id
            assert item["labels"] == (style.get("labelsEnabled") == "1"), layer.id
    assert by_id["facilities"]["geometry"] == "Point" and by_id["villages"]["geometry"] == "MultiPolygon"
    pages = [r["query"] for r in requests_seen if r["path"] == "/ogc/collections/facilities/items"]
    assert any(f"limit={PAGE_SIZE}" in q for q in pages), pages  # the project's page size is used
    assert not _refused(requests_seen)


def test_project_xml_is_what_qgis_reads(tmp_path):
    """Without QGIS: the parts QGIS 3.22 is strict about (see gis_service/api/qgis_project.py), the
    layer order and an embedded QML style."""
    (tmp_path / "facilities.qml").write_text(FACILITIES_QML, encoding="utf-8")
    layers = load_layers(get_settings().layers_dir)
    root = ET.fromstring(qgis_project(layers, "http://127.0.0.1:8000/ogc", tmp_path))
    maplayers = {m.findtext("id").rsplit("_", 1)[0]: m for m in root.findall("projectlayers/maplayer")}
    assert set(maplayers) == {layer.id for layer in layers}
    villages = maplayers["villages"]
    assert villages.findtext("provider") == "OAPIF" and villages.findtext("layername") == "Desa/kelurahan"
    assert villages.findtext("datasource") == datasource("http://127.0.0.1:8000/ogc", "villages") == (
        "url='http://127.0.0.1:8000/ogc' typename='villages' restrictToRequestBBOX='1' pageSize='1000'")
    assert all(len(m.findtext("id")) > 10 for m in maplayers.values())  # shorter ids are dropped by QGIS
    assert root.find("properties/SpatialRefSys/ProjectionsEnabled").text == "1"
    assert root.findtext("projectCrs/spatialrefsys/wkt").startswith("PROJCRS[")
    facilities = maplayers["facilities"]
    assert facilities.get("labelsEnabled") == "1" and facilities.get("version") is None
    assert facilities.find("renderer-v2").get("type") == "categorizedSymbol"
    assert facilities.find("labeling/settings/text-style").get("fieldName") == "name"
    assert villages.find("renderer-v2") is None  # no villages.qml in this styles folder
    nodes = root.findall("layer-tree-group/layer-tree-layer")
    order = [node.get("id").rsplit("_", 1)[0] for node in nodes]
    assert order == [m.findtext("id").rsplit("_", 1)[0] for m in root.findall("projectlayers/maplayer")]
    points = {"facilities", "scaleup_facilities"}  # points first, then lines, then areas
    assert set(order[:2]) == points and order[2] == "network"
    assert order.index("districts") < order.index("coverage_villages")
    visible = {layer.id: layer.visible for layer in layers}
    assert all((node.get("checked") == "Qt::Checked") == visible[key] for node, key in zip(nodes, order))


def test_the_exported_geopackage_opens_in_qgis_styled(qgis, published_region, tmp_path):
    """`gis-service export gpkg`: QGIS opens every layer with the database's count and applies the
    style stored in the file's layer_styles table (a rule-based renderer with our class labels)."""
    from gis_service.api.geopackage import export_geopackage
    from gis_service.api.styles import read_targets

    settings = get_settings()
    layers = load_layers(settings.layers_dir)
    targets = read_targets(settings.config_dir / "targets.yml")
    path = tmp_path / "sanitasi.gpkg"
    counts = export_geopackage(published_region, layers, targets, path)
    opened = _probe("--gpkg", str(path), "--collections", ",".join(layer.id for layer in layers))["geopackage"]
    assert {key: item["count"] for key, item in opened.items()} == counts
    assert all(item["valid"] and item["renderer"] == "RuleRenderer" for item in opened.values()), opened
    coverage = next(layer for layer in layers if layer.id == "coverage_villages")
    assert opened["coverage_villages"]["rules"] == [rule.label.id for rule in coverage.style.resolved_rules(targets)]
