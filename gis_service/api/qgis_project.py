"""A QGIS project (``.qgs``, QGIS 3.22+) that opens every published layer from the running server
as an OGC API – Features layer, so a planner gets the whole service with one double-click instead
of adding fourteen collections by hand.

The XML mimics what QGIS 3.22 itself writes (``QgsProject.write()`` of layers made with the
``OAPIF`` provider; tests/test_qgis.py reads the result back with PyQGIS). QGIS is not imported
here: the service's Python cannot import it. Details QGIS insists on, found by trying:

- a layer id of 10 characters or fewer is ignored on read (QGIS invents a new one and the layer
  tree loses the layer), so ids are the collection id plus a stable hash;
- a CRS needs its WKT (an EPSG code alone is not read), and the project CRS is only
  read when the ``SpatialRefSys/ProjectionsEnabled`` property is 1.

The project CRS is the region's metric CRS (UTM 49S, EPSG:32749, for Seruyan), the CRS of the
coverage analysis and of the Buku Putih maps: print layouts then get true scale bars, the status
bar shows metres and QGIS maps match the generated ones. The layers stay in EPSG:4326 (what the
server serves, CRS84) and QGIS reprojects them on the fly.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from pyproj import CRS, Transformer

from gis_service.api.layers import Layer, draw_order
from gis_service.settings import Region, get_settings

PROVIDER = "OAPIF"  # the key QGIS 3.22 writes (it also accepts "oapif")
LAYER_CRS = "EPSG:4326"
# Features per request. QGIS 3.22 otherwise pages by the server's default limit (100): a
# province's ~300k network edges would be 3000 requests, each an offset query (with its count) in
# the database; 300 at 1000 (the server allows up to 10000).
PAGE_SIZE = 1000
QGIS_VERSION = "3.22.0"
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"


# Web Mercator scale denominator at zoom 0 (OGC 0.28 mm pixel), to turn a layer's zoom range into
# QGIS scale visibility.
SCALE_AT_ZOOM_0 = 559082264.028

# QML root attributes that belong to the file, not to the layer.
_QML_ONLY_ATTRIBUTES = {"version"}
# Children the project writes itself; a style file cannot change where the data comes from.
_PROJECT_CHILDREN = {"id", "datasource", "layername", "srs", "provider", "keywordList"}


def qgis_project(layers: list[Layer], ogc_url: str, styles_dir: Path | None = None, *,
                 region: Region | None = None) -> str:
    """The ``.qgs`` XML for ``layers`` served at ``ogc_url`` (the ``…/ogc`` base), with the QML
    style ``styles_dir/<layer id>.qml`` embedded where it exists and the layers marked ``visible``
    checked; ``region`` (default: the configured one) gives the project CRS, title and view."""
    region = region or get_settings().region_config()
    ordered = draw_order(layers)[::-1]  # the layer tree lists the top layer first
    ids = {layer.id: layer_id(layer, ogc_url) for layer in ordered}

    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": _title(region)})
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = _title(region)
    ET.SubElement(root, "projectCrs").append(_spatialrefsys(region.metric_crs))

    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for layer in ordered:
        ET.SubElement(tree, "layer-tree-layer", {
            "id": ids[layer.id], "name": layer.title.id, "source": datasource(ogc_url, layer.id),
            "providerKey": PROVIDER, "checked": "Qt::Checked" if layer.visible else "Qt::Unchecked",
            "expanded": "0"})

    extent = _extent(region)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters" if not CRS(region.metric_crs).is_geographic else "degrees"
    box = ET.SubElement(canvas, "extent")
    for key, value in zip(("xmin", "ymin", "xmax", "ymax"), extent):
        ET.SubElement(box, key).text = repr(value)
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(canvas, "destinationsrs").append(_spatialrefsys(region.metric_crs))

    project_layers = ET.SubElement(root, "projectlayers")
    for layer in ordered:
        project_layers.append(_maplayer(layer, ids[layer.id], ogc_url, styles_dir))
    order = ET.SubElement(root, "layerorder")
    for layer in ordered:
        ET.SubElement(order, "layer", id=ids[layer.id])

    properties = ET.SubElement(root, "properties")
    _property(properties, "SpatialRefSys", "ProjectionsEnabled", "int", "1")  # else projectCrs is ignored
    _property(properties, "Measure", "Ellipsoid", "QString", "EPSG:7030")  # WGS 84: lengths in metres
    _property(properties, "Measurement", "DistanceUnits", "QString", "meters")
    _property(properties, "Measurement", "AreaUnits", "QString", "km2")  # as area_km2 in the data
    _property(properties, "Paths", "Absolute", "bool", "false")

    view = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    ET.SubElement(view, "Scales")
    default = ET.SubElement(view, "DefaultViewExtent",
                            dict(zip(("xmin", "ymin", "xmax", "ymax"), map(repr, extent))))
    default.append(_spatialrefsys(region.metric_crs))

    ET.indent(root, space="  ")
    return DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n"


def datasource(ogc_url: str, collection: str) -> str:
    """The OAPIF data source as QGIS 3.22 writes it (QgsDataSourceUri key='value' pairs). Only the
    features in view are requested (restrictToRequestBBOX), which keeps big layers usable, in pages
    of PAGE_SIZE."""
    return (f"url='{_quote(ogc_url)}' typename='{_quote(collection)}' "
            f"restrictToRequestBBOX='1' pageSize='{PAGE_SIZE}'")


def layer_id(layer: Layer, ogc_url: str) -> str:
    """A QGIS layer id: stable for the same layer and server (the file diffs cleanly) and longer
    than the 10 characters below which QGIS discards an id."""
    return f"{layer.id}_{uuid.uuid5(uuid.NAMESPACE_URL, datasource(ogc_url, layer.id)).hex}"


def min_scale(zoom: int) -> float:
    """The smallest-scale denominator at which a layer with minimum zoom ``zoom`` still shows."""
    return SCALE_AT_ZOOM_0 / 2 ** zoom


def _maplayer(layer: Layer, ident: str, ogc_url: str, styles_dir: Path | None) -> ET.Element:
    """One ``<maplayer>``. The layer's minimum zoom becomes its minimum scale, so QGIS does not
    download e.g. a province's road network at a regional view; zooming in has no limit."""
    zoom_min = layer.zoom[0]
    element = ET.Element("maplayer", {
        "type": "vector", "hasScaleBasedVisibilityFlag": "1" if zoom_min > 0 else "0",
        "minScale": f"{min_scale(zoom_min):.0f}" if zoom_min > 0 else "0", "maxScale": "0",
        "readOnly": "1", "styleCategories": "AllStyleCategories"})
    ET.SubElement(element, "id").text = ident
    ET.SubElement(element, "datasource").text = datasource(ogc_url, layer.id)
    keywords = ET.SubElement(element, "keywordList")
    for keyword in layer.keywords:
        ET.SubElement(keywords, "value").text = keyword
    ET.SubElement(element, "layername").text = layer.title.id
    ET.SubElement(element, "srs").append(_spatialrefsys(LAYER_CRS))
    ET.SubElement(element, "provider", encoding="").text = PROVIDER
    qml = Path(styles_dir) / f"{layer.id}.qml" if styles_dir else None
    if qml is not None and qml.is_file():
        _embed_style(element, qml)
    return element


def _embed_style(element: ET.Element, qml: Path) -> None:
    """Copy a QML style into the layer: a QML file is a ``<qgis>`` document whose attributes
    (labelsEnabled, scale visibility, …) and children (renderer-v2, labeling, …) are exactly those
    of a project's ``<maplayer>``; the style wins over the defaults set here."""
    try:
        style = ET.parse(qml).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{qml}: not a QML style: {exc}") from exc
    if style.tag != "qgis":
        raise ValueError(f"{qml}: not a QML style (root element <{style.tag}>, expected <qgis>)")
    for key, value in style.attrib.items():
        if key not in _QML_ONLY_ATTRIBUTES:
            element.set(key, value)
    for child in style:
        if child.tag not in _PROJECT_CHILDREN:
            element.append(child)


def _spatialrefsys(code: str) -> ET.Element:
    """A ``<spatialrefsys>`` QGIS can read: the WKT (from pyproj) is what it needs; the code
    alone is not enough."""
    crs = CRS(code)
    element = ET.Element("spatialrefsys")
    ET.SubElement(element, "wkt").text = crs.to_wkt()
    ET.SubElement(element, "authid").text = code
    ET.SubElement(element, "description").text = crs.name
    ET.SubElement(element, "geographicflag").text = "true" if crs.is_geographic else "false"
    return element


def _extent(region: Region) -> tuple[float, float, float, float]:
    """The region's bbox in its metric CRS: the view the project opens on."""
    transformer = Transformer.from_crs(LAYER_CRS, region.metric_crs, always_xy=True)
    return tuple(round(v, 3) for v in transformer.transform_bounds(*region.bbox))


def _property(properties: ET.Element, group: str, key: str, kind: str, value: str) -> None:
    """A project property ``group/key`` (QgsProject's ``<properties>`` tree)."""
    node = properties.find(group)
    if node is None:
        node = ET.SubElement(properties, group)
    ET.SubElement(node, key, type=kind).text = value


def _title(region: Region) -> str:
    return f"Perencanaan sanitasi – {region.name}"


def _quote(value: str) -> str:
    """Escape a QgsDataSourceUri value (backslash and single quote)."""
    return value.replace("\\", "\\\\").replace("'", "\\'")
