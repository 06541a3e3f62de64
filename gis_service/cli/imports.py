"""``gis-service import`` (real files into the planning database) and ``gis-service summary``."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from gis_service.cli.common import app, console, err, fail
from gis_service.cli.tables import print_summary
from gis_service.db.cluster import ClusterError


def _parse_fields(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            fail(f"--field takes name=column, got '{pair}'", 2)
        name, col = pair.split("=", 1)
        out[name.strip()] = col.strip()
    return out


@app.command("import")
def import_cmd(
    kind: Annotated[str, typer.Argument(help="admin, population, settlements, households, facilities, "
                                            "service_areas, network, pilots, pilot_events (the pilot's operation log) or risk (EHRA classes)")],
    file: Annotated[Path, typer.Argument(help="GeoPackage, zipped Shapefile, GeoJSON, CSV, Kobo/ODK "
                                              "CSV, or .osm.pbf (network)")],
    source: Annotated[Optional[str], typer.Option(help="Data source name (default: file name)")] = None,
    title: Annotated[Optional[str], typer.Option(help="Data source title")] = None,
    crs: Annotated[Optional[str], typer.Option(help="CRS of the coordinates, e.g. EPSG:32749")] = None,
    layer: Annotated[Optional[str], typer.Option(help="Layer of a multi-layer file")] = None,
    field: Annotated[list[str], typer.Option("--field", help="Map a field: name=column")] = [],  # noqa: B006
    skip_bad: Annotated[bool, typer.Option(help="Write the good records, list the bad ones")] = False,
    swap_xy: Annotated[bool, typer.Option(help="Swap x/y (lat/lon given as x)")] = False,
    region_check: Annotated[bool, typer.Option(help="Reject locations outside the region")] = True,
    plain_codes: Annotated[bool, typer.Option(help="Codes without dots are Kemendagri codes")] = False,
    year: Annotated[Optional[int], typer.Option(help="Year for rows without one", min=1900, max=2100)] = None,
    dry_run: Annotated[bool, typer.Option(help="Check everything, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Import a file of KIND into the database, in one transaction.

    Exit 0: written (or checked, with --dry-run). Exit 2: the input is refused; the report names each
    record, what is wrong and the fix; nothing is written. Exit 1: the environment failed (database
    unreachable, connection lost); nothing is written and the same command can be run again."""
    from gis_service.db.engine import make_engine
    from gis_service.ingest.context import ImportOptions
    from gis_service.ingest.importer import import_file
    from gis_service.ingest.kinds import KINDS
    from gis_service.ingest.report import ImportEnvironmentError, ImportRejected

    if kind not in KINDS:
        fail(f"unknown import kind '{kind}'; choose one of {', '.join(KINDS)}", 2)
    # psycopg logs the failures it ignores while closing a broken COPY; the one line below says it all
    logging.getLogger("psycopg").setLevel(logging.CRITICAL)
    options = ImportOptions(source=source, title=title, crs=crs, layer=layer, fields=_parse_fields(field),
                            skip_bad=skip_bad, swap_xy=swap_xy, region_check=region_check,
                            plain_codes=plain_codes, year=year, dry_run=dry_run)
    try:
        with console.status(f"importing {kind} from {file.name} ..."):
            report = import_file(make_engine(), kind, file, options)
        code = 0
    except ImportRejected as exc:
        report, code = exc.report, 2
    except (ImportEnvironmentError, ClusterError) as exc:
        _environment_failure(str(exc), as_json)
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, never a traceback
        if os.environ.get("GIS_SERVICE_DEBUG"):
            raise
        _environment_failure(f"the importer failed unexpectedly ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); nothing was written. This "
                             "is a bug: please report it with the file (GIS_SERVICE_DEBUG=1 shows the "
                             "traceback)", as_json)
    if as_json:
        print(json.dumps(report.to_dict(), default=str, ensure_ascii=False, indent=2))
    else:
        out = console if code == 0 else err
        for line in report.lines():
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        if code:
            err.print("[bold red]nothing was written[/]: fix the records above, or pass --skip-bad to "
                      "write the good ones")
    raise typer.Exit(code)


def _environment_failure(message: str, as_json: bool) -> None:
    """Exit 1 with one line (or one JSON object): the environment failed, not the input."""
    if as_json:
        print(json.dumps({"written": False, "error": message}, ensure_ascii=False))
        raise typer.Exit(1)
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)




@app.command("summary")
def summary_cmd() -> None:
    """Print districts, villages, population, households and facilities by type and status."""
    from gis_service.db.engine import make_engine

    print_summary(make_engine())
