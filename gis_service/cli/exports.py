"""``gis-service export`` and ``gis-service styles``: files for QGIS (styled GeoPackage, project) and the layer styles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gis_service.cli.common import console, fail, group
from gis_service.settings import get_settings

export_app = group("export", "Files for QGIS: the published layers as a styled GeoPackage or a project "
                                   "(.qgs) that opens them from the server.")
styles_app = group("styles", "Layer styles (layers/styles/*.qml, *.sld), made from layers/*.yml.")


def layers_and_targets():
    from gis_service.api.layers import load_layers
    from gis_service.api.styles import read_targets

    settings = get_settings()
    try:
        return (load_layers(settings.layers_dir, include_sensitive=settings.publish_household_points),
                read_targets(settings.config_dir / "targets.yml"))
    except ValueError as exc:
        fail(str(exc))


@export_app.command("gpkg")
def export_gpkg(
    file: Annotated[Path, typer.Argument(help="GeoPackage to write (replaced if it exists)")],
    layer: Annotated[Optional[list[str]], typer.Option(help="Only these layer ids (repeat the option)")] = None,
) -> None:
    """Write every published layer, with its QML and SLD style as the default (layer_styles)."""
    from gis_service.api.geopackage import export_geopackage
    from gis_service.db.engine import make_engine

    layers, targets = layers_and_targets()
    unknown = sorted(set(layer or []) - {item.id for item in layers})
    if unknown:
        fail(f"unknown layer {', '.join(unknown)}; published layers: {', '.join(i.id for i in layers)}")
    chosen = [item for item in layers if not layer or item.id in layer]
    counts = export_geopackage(make_engine(), chosen, targets, file)
    for name, count in counts.items():
        console.print(f"{name:26} {count:>9,} features")
    console.print(f"wrote {file} ({len(counts)} layers, styled)")


@export_app.command("qgs")
def export_qgs(
    file: Annotated[Path, typer.Argument(help="QGIS project file to write (.qgs)")],
    base_url: Annotated[str, typer.Option(help="URL of the running service")] = "http://127.0.0.1:8000",
) -> None:
    """Write a QGIS project that opens every published layer from the running server, styled."""
    from gis_service.api.qgis_project import qgis_project

    layers, targets = layers_and_targets()
    file.write_text(qgis_project(layers, base_url.rstrip("/") + "/ogc", get_settings().layers_dir / "styles"),
                    encoding="utf-8")
    console.print(f"wrote {file}: {len(layers)} layers from {base_url.rstrip('/')}/ogc")


@styles_app.command("write")
def styles_write() -> None:
    """Regenerate layers/styles/ from the style sections of layers/*.yml and config/targets.yml."""
    from gis_service.api.layers import load_layers
    from gis_service.api.styles import read_targets, write_styles

    settings = get_settings()
    layers = load_layers(settings.layers_dir, include_sensitive=True)  # their styles ship too
    paths = write_styles(layers, read_targets(settings.config_dir / "targets.yml"), settings.layers_dir / "styles")
    console.print(f"wrote {len(paths)} files to {get_settings().layers_dir / 'styles'}")
