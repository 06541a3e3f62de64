"""Headless QGIS as a client of the running server, run with the *system* Python (PyQGIS comes from
Debian's python3-qgis and cannot be imported from the project's virtualenv):

    /usr/bin/python3 tests/qgis_probe.py --url http://127.0.0.1:8000/ogc --collections villages,facilities
    /usr/bin/python3 tests/qgis_probe.py --project sanitasi.qgs
    /usr/bin/python3 tests/qgis_probe.py --gpkg layers.gpkg --collections villages,facilities

It loads each collection as a QgsVectorLayer with the OAPIF provider and/or reads a project with
QgsProject.read(), and prints one JSON document on stdout: per layer whether it is valid and how
many features QGIS actually delivers (counted by iterating getFeatures(): featureCount() is -1 or
a guess for OAPIF until everything has been downloaded), plus the messages QGIS logged, which
carry the provider's HTTP errors. tests/test_qgis.py runs it; the exit code is 0 whenever the JSON
was written, judging the result is the caller's job.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is loaded

from qgis.core import (  # needs QT_QPA_PLATFORM set above
    Qgis,
    QgsApplication,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)

PROVIDER = "OAPIF"


def error_text(error) -> str | None:
    """A QgsError as text; QGIS 3.22 crashes on summary() of an empty error, hence the check."""
    return None if error.isEmpty() else error.summary()


def describe(layer: QgsVectorLayer) -> dict:
    """Validity, feature count (by iteration) and what QGIS made of the layer."""
    info = {"name": layer.name(), "provider": layer.providerType(), "source": layer.source(),
            "valid": layer.isValid(), "count": None, "feature_count": None, "crs": layer.crs().authid(),
            "geometry": QgsWkbTypes.displayString(layer.wkbType()), "fields": layer.fields().names(),
            "error": error_text(layer.error())}
    if layer.isValid():
        started = time.perf_counter()
        info["count"] = sum(1 for _ in layer.getFeatures())
        info["seconds"] = round(time.perf_counter() - started, 3)
        info["feature_count"] = layer.featureCount()
    else:
        provider = layer.dataProvider()
        if provider is not None and not provider.error().isEmpty():
            info["error"] = error_text(provider.error())
    return info


def probe_collections(url: str, collections: list[str]) -> dict:
    """Each collection as a fresh OAPIF layer, the way *Add WFS / OGC API – Features Layer* does."""
    out = {}
    for collection in collections:
        layer = QgsVectorLayer(f"url='{url}' typename='{collection}'", collection, PROVIDER)
        out[collection] = describe(layer)
        del layer
    return out


def probe_geopackage(path: str, layers: list[str]) -> dict:
    """Each layer of a GeoPackage as *Add Vector Layer* opens it: QGIS applies the default style
    it finds in the file's ``layer_styles`` table."""
    out = {}
    for name in layers:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        out[name] = {**describe(layer), "renderer": layer.renderer().type() if layer.renderer() else None,
                     "rules": [rule.label() for rule in layer.renderer().rootRule().children()]
                     if layer.renderer() and layer.renderer().type() == "RuleRenderer" else []}
        del layer
    return out


def probe_project(path: str) -> dict:
    """Read a .qgs and report the project CRS, the layer tree order and every layer; layers that
    are in the file but not in the project after reading are listed as missing."""
    in_file = [(node.findtext("id"), node.findtext("layername"))
               for node in ET.parse(path).getroot().iter("maplayer")]
    project = QgsProject.instance()
    read = project.read(path)
    out = {"read": read, "error": project.error() or None, "title": project.title(),
           "crs": project.crs().authid(), "crs_valid": project.crs().isValid(),
           "ellipsoid": project.ellipsoid(), "layers_in_file": len(in_file)}
    extent = project.viewSettings().defaultViewExtent()
    out["default_view_extent"] = None if extent.isNull() else [
        extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
    out["default_view_crs"] = extent.crs().authid() if not extent.isNull() else None
    tree = project.layerTreeRoot().findLayers()
    out["tree"] = [node.name() for node in tree]
    layers = []
    for node in tree:
        layer = node.layer()
        if layer is None:
            layers.append({"id": node.layerId(), "name": node.name(), "valid": False,
                           "error": "in the layer tree but not loaded"})
            continue
        info = {"id": layer.id(), "visible": node.isVisible(), **describe(layer),
                "scale_based": layer.hasScaleBasedVisibility(), "min_scale": layer.minimumScale(),
                "max_scale": layer.maximumScale(), "read_only": layer.readOnly(),
                "renderer": layer.renderer().type() if layer.renderer() else None,
                "renderer_attribute": getattr(layer.renderer(), "classAttribute", lambda: None)(),
                "labels": layer.labelsEnabled()}
        layers.append(info)
        del layer
    loaded = {info["id"] for info in layers}
    out["missing"] = [{"id": ident, "name": name} for ident, name in in_file if ident not in loaded]
    out["layers"] = layers
    del tree
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="OGC API base URL, e.g. http://127.0.0.1:8000/ogc")
    parser.add_argument("--collections", default="", help="comma-separated collection ids (with --url)")
    parser.add_argument("--project", help="a .qgs file to read")
    parser.add_argument("--gpkg", help="a GeoPackage whose --collections layers to open")
    args = parser.parse_args(argv)
    if not args.project and not ((args.url or args.gpkg) and args.collections):
        parser.error("give --url or --gpkg with --collections, or --project")

    profile = tempfile.mkdtemp(prefix="qgis-probe-")  # no user settings (page size, cache) leak in
    app = QgsApplication([], False, profile)
    app.initQgis()
    messages: list[dict] = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda message, tag, level: messages.append({"tag": tag, "level": int(level), "message": message}))
    result: dict = {"qgis": Qgis.QGIS_VERSION}
    try:
        if args.url and args.collections:
            result["collections"] = probe_collections(args.url, [c for c in args.collections.split(",") if c])
        if args.gpkg and args.collections:
            result["geopackage"] = probe_geopackage(args.gpkg, [c for c in args.collections.split(",") if c])
        if args.project:
            result["project"] = probe_project(args.project)
    finally:
        result["messages"] = messages
        print(json.dumps(result, ensure_ascii=False, indent=1))
        sys.stdout.flush()
        QgsProject.instance().clear()
        gc.collect()  # layers must be gone before exitQgis(), or it crashes on the way out
        app.exitQgis()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
