"""``gis-service``: the command line face over the same service functions the API uses."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from gis_service.db.cluster import ClusterError
from gis_service.settings import get_settings

app = typer.Typer(help="Sanitation coverage and scale-up planning (PostGIS, OGC API).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: managed local PostGIS or GIS_SERVICE_DATABASE_URL.",
                     no_args_is_help=True)
demo_app = typer.Typer(help="The illustrative demo region (generated, not real data).",
                       no_args_is_help=True)
coverage_app = typer.Typer(help="Coverage analysis: who is served, the access ladder and the gaps.",
                           no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
export_app = typer.Typer(help="Files for QGIS: the published layers as a styled GeoPackage or a project "
                                "(.qgs) that opens them from the server.", no_args_is_help=True)
styles_app = typer.Typer(help="Layer styles (layers/styles/*.qml, *.sld), made from layers/*.yml.",
                         no_args_is_help=True)
scaleup_app = typer.Typer(help="Scale-up planning: from the pilot to a costed, phased plan for a region.",
                          no_args_is_help=True)
users_app = typer.Typer(help="Users of the planning API: roles viewer, editor, admin; keys stored hashed.",
                        no_args_is_help=True)
app.add_typer(coverage_app, name="coverage")
app.add_typer(scaleup_app, name="scaleup")
app.add_typer(users_app, name="users")
app.add_typer(export_app, name="export")
app.add_typer(styles_app, name="styles")
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _external() -> bool:
    return bool(get_settings().database_url)


# ---- db ---------------------------------------------------------------------------------------

@db_app.command("up")
def db_up() -> None:
    """Start the managed cluster (initialising it on first use) and create the database."""
    from gis_service.db.engine import managed_cluster

    if _external():
        console.print("GIS_SERVICE_DATABASE_URL is set: using the external database, nothing to start")
        return
    cluster = managed_cluster()
    try:
        started = cluster.start()
        created = cluster.ensure_database()
    except ClusterError as exc:
        _fail(str(exc))
    state = "started" if started else "already running (reused)"
    console.print(f"PostGIS cluster {state}: 127.0.0.1:{cluster.port}, data in {cluster.pgdata}"
                  + ("; database created" if created else ""))


@db_app.command("down")
def db_down() -> None:
    """Stop the managed cluster (data stays)."""
    from gis_service.db.engine import managed_cluster

    stopped = managed_cluster().stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say which database is used and whether it answers; exit 1 when it does not."""
    from sqlalchemy import text

    from gis_service.db.engine import database_url, make_engine, managed_cluster
    from gis_service.db.migrate import current_revision, head_revision

    s = get_settings()
    if not s.database_url:
        cluster = managed_cluster(s)
        running = cluster.is_running()
        console.print(f"managed cluster in {cluster.pgdata}: {'running' if running else 'stopped'} "
                      f"(port {cluster.port})", soft_wrap=True)
        if not running:
            raise typer.Exit(1)
    try:
        url = database_url(s)
        engine = make_engine(url)
        with engine.connect() as conn:
            version = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        console.print(f"database {engine.url.render_as_string(hide_password=True)}: PostGIS {version}, "
                      f"schema revision {current_revision(url) or 'none'} (head {head_revision()})",
                      soft_wrap=True)
    except Exception as exc:  # noqa: BLE001 - status reports any failure
        _fail(f"database not reachable: {exc}")


@db_app.command("url")
def db_url(hide_password: Annotated[bool, typer.Option(help="Mask the password")] = False) -> None:
    """Print the database URL (for psql, QGIS or scripts)."""
    from sqlalchemy.engine import make_url

    from gis_service.db.engine import database_url

    try:
        url = make_url(database_url())
    except ClusterError as exc:
        _fail(str(exc))
    print(url.render_as_string(hide_password=hide_password))


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the database (extra arguments go to psql)."""
    from sqlalchemy.engine import make_url

    from gis_service.db.engine import database_url

    url = make_url(database_url())
    env = dict(os.environ, PGPASSWORD=url.password or "")
    args = ["psql", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "",
            url.database or "", *ctx.args]
    raise typer.Exit(subprocess.call(args, env=env))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (to the latest by default)."""
    from gis_service.db.engine import database_url
    from gis_service.db.migrate import current_revision, upgrade

    url = database_url()
    upgrade(url, revision)
    console.print(f"schema at revision {current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: str,
    yes: Annotated[bool, typer.Option("--yes", help="Go ahead although the database holds data")] = False,
    backup_file: Annotated[Optional[Path], typer.Option("--backup", help="Where the backup taken first goes "
                                                        "(default: <data dir>/backups/)")] = None,
) -> None:
    """Roll the schema back to REVISION ('base' removes every table). A backup is taken first; a
    database that holds data needs --yes, since a step back may drop tables and columns."""
    from gis_service.db.backup import BackupError, backup, table_counts
    from gis_service.db.engine import database_url
    from gis_service.db.migrate import current_revision, downgrade

    url = database_url()
    rows = sum(n for table, n in table_counts(url).items() if table != "alembic_version")
    if rows and not yes:
        _fail(f"the database holds {rows:,} rows and a step back may drop tables or columns with them: pass "
              "--yes to go ahead (a backup is taken first)", 2)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = backup_file or get_settings().data_dir / "backups" / f"before-downgrade-{stamp}.dump"
    try:
        backup(url, target, pg_bin=get_settings().pg_bin_dir)
    except BackupError as exc:
        _fail(f"no downgrade: the backup taken first failed ({exc})")
    console.print(f"backup of revision {current_revision(url) or 'base'} in {target} "
                  f"(gis-service db restore {target} --yes brings it back)")
    downgrade(url, revision)
    console.print(f"schema at revision {current_revision(url) or 'base'}")


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="The dump to write (pg_dump custom format)")]) -> None:
    """Back up the whole database: FILE (pg_dump custom format) and FILE.manifest.json (schema
    revision and row counts)."""
    from gis_service.db.backup import BackupError, backup, manifest_path
    from gis_service.db.engine import database_url

    try:
        manifest = backup(database_url(), file, pg_bin=get_settings().pg_bin_dir)
    except BackupError as exc:
        _fail(str(exc))
    rows = sum(manifest["row_counts"].values())
    console.print(f"backup of revision {manifest['schema_revision']}: {rows:,} rows in "
                  f"{len(manifest['row_counts'])} tables, {manifest['bytes'] / 2**20:.1f} MB in {file}; "
                  f"manifest {manifest_path(file)}")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A dump made by gis-service db backup")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the database's contents")] = False,
) -> None:
    """Replace the database's contents by a backup's, in one transaction; an older schema is then
    migrated to this version's. Refuses a backup from a newer schema revision."""
    from gis_service.db.backup import BackupError, manifest_path, restore
    from gis_service.db.engine import database_url

    if not yes:
        _fail(f"restoring {file} replaces every table of the database: pass --yes to go ahead", 2)
    try:
        done = restore(database_url(), file, pg_bin=get_settings().pg_bin_dir)
    except BackupError as exc:
        _fail(str(exc), 2)
    expected = manifest_path(file)
    note = ""
    if expected.is_file():
        wanted = json.loads(expected.read_text(encoding="utf-8"))["row_counts"]
        differ = [t for t, n in wanted.items() if done.counts.get(t) != n] if done.upgraded_to is None else []
        note = "; row counts equal the manifest's" if not differ else f"; row counts differ in {', '.join(differ)}"
    console.print(f"restored revision {done.revision} from {file}"
                  + (f", migrated to {done.upgraded_to}" if done.upgraded_to else "")
                  + f": {sum(done.counts.values()):,} rows{note}")


# ---- import -------------------------------------------------------------------------------------

def _parse_fields(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            _fail(f"--field takes name=column, got '{pair}'", 2)
        name, col = pair.split("=", 1)
        out[name.strip()] = col.strip()
    return out


@app.command("import")
def import_cmd(
    kind: Annotated[str, typer.Argument(help="admin, population, settlements, households, facilities, "
                                            "service_areas, network, pilots or risk (EHRA classes)")],
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
        _fail(f"unknown import kind '{kind}'; choose one of {', '.join(KINDS)}", 2)
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


# ---- demo and summary --------------------------------------------------------------------------

@demo_app.command("load")
def demo_load(
    scale: Annotated[float, typer.Option(help="Multiply households (25 = ~1M, province size)")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same region)")] = 6207,
) -> None:
    """Generate the illustrative Seruyan-like region and load it through the importers."""
    from gis_service.db.engine import make_engine
    from gis_service.demo.load import RealDataPresent, load_demo
    from gis_service.ingest.report import ImportRejected

    engine = make_engine()
    try:
        reports = load_demo(engine, scale=scale, seed=seed, progress=True)
    except RealDataPresent as exc:
        _fail(str(exc))
    except ImportRejected as exc:
        for line in exc.report.lines():
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        _fail("the demo region could not be loaded; nothing of that layer was written")
    for r in reports:
        console.print(f"  {r.kind:<12} read {r.read:>8}  inserted {r.inserted:>8}  updated {r.updated:>6}  "
                      f"unchanged {r.unchanged:>8}  ({r.seconds:.1f} s)", soft_wrap=True)
    summary(engine)


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="Folder for the files")] = Path("out/demo"),
    scale: float = 1.0,
    seed: int = 6207,
) -> None:
    """Write the demo region as files (GeoPackage/CSV), e.g. to try the importers or benchmark."""
    from gis_service.demo.generator import generate_region, write_files

    paths = write_files(generate_region(seed=seed, scale=scale), out)
    for kind, path in paths.items():
        console.print(f"{kind:<12} {path}")


@demo_app.command("national")
def demo_national(
    out: Annotated[Path, typer.Argument(help="Dataset folder to write")],
    buildings: Annotated[int, typer.Option(help="Building footprints (one household each)")] = 1_000_000,
    regencies: Annotated[int, typer.Option(help="Regencies (60 km squares, 100 villages each)")] = 20,
    facilities: Annotated[int, typer.Option(help="Desludging depots (1-3 trucks each)")] = 500,
    road_spacing: Annotated[float, typer.Option(help="A grid of roads this many metres apart, for "
                                                     "--method network (0: no network)")] = 0.0,
    seed: int = 62,
) -> None:
    """Write a generated province of building footprints as GeoParquet, partitioned by regency,
    for `coverage run --engine dask --dataset OUT --method buffer --output RESULTS` (illustrative)."""
    from rich.progress import Progress

    from gis_service.distributed.generate import generate_national

    try:
        with Progress(transient=True, console=err) as bar:
            task = bar.add_task("generating regencies", total=regencies)
            dataset = generate_national(out, buildings=buildings, regencies=regencies, facilities=facilities,
                                        seed=seed, road_spacing_m=road_spacing,
                                        progress=lambda done, total: bar.update(task, completed=done))
    except ValueError as exc:
        _fail(str(exc))
    size = sum(f.stat().st_size for f in Path(out).rglob("*.parquet"))
    console.print(f"{sum(p.households for p in dataset.partitions):,} buildings in {len(dataset.partitions)} "
                  f"regencies, {facilities} depots: {out} ({size / 1e6:,.0f} MB)", soft_wrap=True)


@app.command("summary")
def summary_cmd() -> None:
    """Print districts, villages, population, households and facilities by type and status."""
    from gis_service.db.engine import make_engine

    summary(make_engine())


def summary(engine) -> None:
    from gis_service.db.summary import database_summary

    s = database_summary(engine)
    table = Table(title="Planning database" + (" (contains ILLUSTRATIVE demo data)" if s["illustrative"]
                                               else ""))
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in s["counts"].items():
        table.add_row(label, f"{value:,}")
    console.print(table)
    fac = Table(title="Facilities by type and status")
    for col in ("type", "status", "count"):
        fac.add_column(col)
    for t, st, n in s["facilities"]:
        fac.add_row(t, st, str(n))
    console.print(fac)


# ---- coverage ---------------------------------------------------------------------------------

def _thresholds(value: str) -> list[float]:
    try:
        out = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        _fail(f"--threshold takes minutes separated by commas, e.g. 15,30,60 (got '{value}')")
    if not out or min(out) <= 0:
        _fail("--threshold needs positive minutes")
    return out


@coverage_app.command("run")
def coverage_run(
    scenario: Annotated[Optional[str], typer.Option(help="Scenario name (default: existing + pilot)")] = None,
    method: Annotated[str, typer.Option(help="network (travel time), buffer (distance) or polygon "
                                             "(service areas drawn by planners)")] = "network",
    threshold: Annotated[str, typer.Option(help="Travel-time bands in minutes, e.g. 30,60")] = "30,60",
    distance: Annotated[float, typer.Option(help="Buffer radius in metres (method buffer)")] = 5000.0,
    capacity: Annotated[bool, typer.Option(help="Limit each facility to its capacity")] = True,
    order: Annotated[str, typer.Option(help="Facility order: priority, given or demand")] = "priority",
    service_areas: Annotated[bool, typer.Option(help="Store service-area polygons for the maps")] = True,
    demand: Annotated[str, typer.Option(help="households, settlements, villages (population spread onto "
                                             "settlements) or raster")] = "households",
    raster: Annotated[Optional[Path], typer.Option(help="Population GeoTIFF for --demand raster")] = None,
    population_year: Annotated[Optional[int], typer.Option(help="Year of village population "
                                                               "(--demand villages; default latest)")] = None,
    nearest_k: Annotated[int, typer.Option(help="Store the k nearest reachable facilities per household "
                                                "and service (0: none)")] = 3,
    export: Annotated[Optional[Path], typer.Option(help="Also write the results: FILE.csv or FILE.gpkg")] = None,
    maps: Annotated[Optional[Path], typer.Option(help="Also draw the two Buku Putih maps (PNG) into DIR")] = None,
    engine_name: Annotated[str, typer.Option("--engine", help="single (one process) or dask (partitioned by "
                                             "admin unit over a Dask cluster; same results)")] = "single",
    scheduler: Annotated[Optional[str], typer.Option(help="--engine dask: tcp://HOST:PORT of a running "
                                                          "dask scheduler (default: a local cluster)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="--engine dask, local cluster: worker processes "
                                                        "(default: the machine's cores)")] = None,
    level: Annotated[Optional[str], typer.Option(help="--engine dask: partition by province, regency or "
                                                      "district (default: one level below the region)")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="--engine dask: finish the interrupted run whose "
                                                        "work folder this is")] = None,
    keep_work: Annotated[bool, typer.Option(help="--engine dask: keep the work folder (GeoParquet "
                                                 "inputs and intermediates) after success")] = False,
    dataset: Annotated[Optional[Path], typer.Option(help="--engine dask: run on a dataset folder of "
                                                         "GeoParquet (e.g. `demo national`) instead of the "
                                                         "database")] = None,
    output: Annotated[Optional[Path], typer.Option(help="--engine dask: write the results as GeoParquet "
                                                        "files into DIR instead of the database")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish the run once stored: the default layers, "
                                          "the web map's first view and the QGIS project then show it")] = False,
) -> None:
    """Run a coverage analysis, store it, print the regency summary (``--publish``: and publish it)."""
    from gis_service.analysis.coverage import CoverageOptions
    from gis_service.db.engine import make_engine

    options = CoverageOptions(scenario=scenario, method=method, thresholds_min=_thresholds(threshold),
                              distance_m=distance, capacity=capacity, order=order,
                              service_areas=service_areas, demand=demand, raster=raster,
                              population_year=population_year, nearest_k=nearest_k)
    if engine_name not in ("single", "dask"):
        _fail(f"unknown engine '{engine_name}' (single, dask)")
    if engine_name == "single" and (scheduler or workers or level or resume or keep_work or dataset or output):
        _fail("--scheduler, --workers, --level, --resume, --keep-work, --dataset and --output need --engine dask")
    if (dataset is not None or output is not None) and (export or maps or publish):
        _fail("--export, --maps and --publish need a stored run; a run on a dataset folder or with --output "
              "is in its --output folder")
    engine = make_engine() if dataset is None else None
    try:
        if engine_name == "dask":
            from gis_service.distributed.engine import ClusterOptions

            cluster = ClusterOptions(scheduler=scheduler, workers=workers, level=level, resume=resume, keep=keep_work)
            result = _coverage_on_cluster(engine, options, cluster, dataset, output)
        else:
            result = _coverage_in_process(engine, options)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        _fail(str(exc).strip("'\""))
    _print_coverage(result)
    if output is not None:
        console.print(f"results written to {output} (GeoParquet; run.json has the summary)", soft_wrap=True)
        return
    if export:
        _export(engine, result.run_id, export)
    if maps:
        _maps(engine, result.run_id, maps, dpi=150)
    if publish:
        _publish(engine, "coverage", result.run_id)


@coverage_app.command("publish")
def coverage_publish(run: Annotated[int, typer.Argument(help="Coverage run id (gis-service summary lists runs)")]) -> None:
    """Publish a coverage run: the default layers (coverage_villages, coverage_districts, coverage_gaps,
    service_areas), the web map's first view and the QGIS project show it from now on."""
    from gis_service.db.engine import make_engine

    _publish(make_engine(), "coverage", run)


def _publish(engine, kind: str, run_id: int) -> None:
    import getpass

    from gis_service.analysis.publishing import WHAT, publish

    try:
        with engine.begin() as conn:
            done = publish(conn, kind, run_id, by=f"{getpass.getuser()} (command line)")
    except ValueError as exc:
        _fail(str(exc))
    replaced = f"; it replaces {WHAT[kind]} {done['replaces']}" if done["replaces"] else ""
    console.print(f"published {WHAT[kind]} {run_id}: the default layers, the web map and the QGIS project "
                  f"show it{replaced}", soft_wrap=True)


def _coverage_in_process(engine, options):
    from rich.progress import Progress

    from gis_service.analysis.coverage import run_coverage

    with Progress(transient=True, console=err) as bar:
        task = bar.add_task("coverage", total=4)
        return run_coverage(engine, options, progress=lambda name: (
            bar.update(task, description=name), bar.advance(task)))


def _coverage_on_cluster(engine, options, cluster, dataset, output):
    """One progress bar per step (staging, reach, allocation, counting, writing), across workers."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gis_service.distributed.engine import ClusterRunError, run_coverage_dask

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err) as bar:
        steps: dict[str, int] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in steps:
                steps[step] = bar.add_task(step, total=total)
            bar.update(steps[step], completed=done, total=total)

        try:
            return run_coverage_dask(engine, options, cluster=cluster, progress=report, dataset=dataset,
                                     output=output)
        except ClusterRunError as exc:
            _fail(str(exc))


def _print_coverage(result) -> None:
    s = result.summary
    title = f"Coverage run {result.run_id}" if result.run_id is not None else "Coverage run (files)"
    table = Table(title=f"{title}: regency summary")
    for col in ("", "households", "people"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("total", f"{s['households']:,}", f"{s['people']:,}")
    for key in sorted(k for k in s if k.startswith("served_") and k.endswith("_households")):
        service = key[len("served_"):-len("_households")]
        label = "served by any service" if service == "all" else f"served: {service}"
        table.add_row(label, f"{s[key]:,}", f"{s[f'served_{service}_people']:,}")
    if "lltt_bands" in s:
        unit = s.get("band_unit", "")
        bands = ", ".join(f"{k.split('_', 1)[1]} {unit}: {v:,}" for k, v in s["lltt_bands"].items())
        table.caption = f"households within reach of scheduled desludging - {bands}"
    console.print(table)
    for note in s.get("demand", {}).get("notes", []):
        console.print(f"demand: {note}")
    if "engine" in s:
        e = s["engine"]
        console.print(f"engine: dask, {e['workers']} workers, {e['partitions']} units ({e['level']}), "
                      f"{e['allocation_groups']} allocation tasks")
        if e.get("work_dir"):
            console.print(f"work folder kept: {e['work_dir']}", soft_wrap=True)
    if s.get("facilities_without_drawn_area"):
        ids = s["facilities_without_drawn_area"]
        console.print(f"[yellow]{len(ids)} facilities have no drawn service area and reach nobody in this "
                      f"run[/] (ids {', '.join(map(str, ids[:10]))}{' ...' if len(ids) > 10 else ''}); "
                      "import them with: gis-service import service_areas FILE")
    ladder = Table(title="Access ladder (households): now -> if the scenario runs")
    for col in ("rung", "now", "projected"):
        ladder.add_column(col, justify="left" if col == "rung" else "right")
    for rung, now in s["ladder"].items():
        ladder.add_row(rung, f"{now:,}", f"{s['ladder_projected'][rung]:,}")
    console.print(ladder)
    gaps = result.gaps
    if not gaps.empty:
        reg = gaps[gaps.area_code == result.areas[result.areas.level == "regency"].area_code.iloc[0]]
        gt = Table(title="Gap to targets (regency)")
        for col in ("indicator", "year", "target %", "now %", "projected %", "gap households", "gap people"):
            gt.add_column(col, justify="left" if col == "indicator" else "right")
        for _, g in reg.iterrows():
            gt.add_row(g.indicator, str(g.year), f"{g.target_pct:g}", f"{g.current_pct:.1f}", f"{g.projected_pct:.1f}",
                       f"{g.gap_households:,}", f"{g.gap_people:,}")
        console.print(gt)
    console.print(f"timings (s): {result.seconds}", soft_wrap=True)


def _export(engine, run_id: int, path: Path) -> None:
    from gis_service.analysis.export import export_run

    with engine.connect() as conn:
        try:
            written = export_run(conn, run_id, path)
        except ValueError as exc:
            _fail(str(exc))
    console.print(f"written {written}")


def _maps(engine, run_id: int, out_dir: Path, *, dpi: int) -> None:
    from gis_service.analysis.maps import render_maps

    out_dir.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        try:
            paths = render_maps(conn, run_id, out_dir, metric_crs=get_settings().region_config().metric_crs,
                                dpi=dpi)
        except ValueError as exc:
            _fail(str(exc))
    for path in paths:
        console.print(f"written {path}")


@coverage_app.command("maps")
def coverage_maps(run_id: int,
                  out: Annotated[Path, typer.Option(help="Folder for the PNG files")] = Path("out/maps"),
                  dpi: Annotated[int, typer.Option(help="Resolution (150 for screens, 300 for print)")] = 150,
                  ) -> None:
    """Draw a run's two Buku Putih maps: service coverage and main infrastructure (PNG)."""
    from gis_service.db.engine import make_engine

    _maps(make_engine(), run_id, out, dpi=dpi)


@coverage_app.command("export")
def coverage_export(run_id: int, file: Path) -> None:
    """Write a run's results: one row per village (.csv) or villages and facilities (.gpkg)."""
    from gis_service.db.engine import make_engine

    _export(make_engine(), run_id, file)


@coverage_app.command("diff")
def coverage_diff(run_a: int, run_b: int,
                  csv: Annotated[Optional[Path], typer.Option(help="Write the table to a CSV")] = None) -> None:
    """Compare two runs village by village (households served, projected aman and BABS)."""
    from gis_service.analysis.export import diff_runs
    from gis_service.db.engine import make_engine

    with make_engine().connect() as conn:
        try:
            table = diff_runs(conn, run_a, run_b)
        except ValueError as exc:
            _fail(str(exc))
    if csv:
        table.to_csv(csv, index=False)
    changed = table[(table.filter(like="_change") != 0).any(axis=1)]
    out = Table(title=f"Runs {run_a} -> {run_b}: {len(changed)} of {len(table)} villages change")
    for col in ("village", "served A", "served B", "aman A", "aman B"):
        out.add_column(col)
    for _, r in changed.iterrows():
        out.add_row(f"{r.code} {r['name'] or ''}", f"{int(r.any_served_households_a)}",
                    f"{int(r.any_served_households_b)}", f"{int(r.aman_projected_a)}",
                    f"{int(r.aman_projected_b)}")
    console.print(out)


def _layers_and_targets():
    from gis_service.api.layers import load_layers
    from gis_service.api.styles import read_targets

    settings = get_settings()
    try:
        return (load_layers(settings.layers_dir, include_sensitive=settings.publish_household_points),
                read_targets(settings.config_dir / "targets.yml"))
    except ValueError as exc:
        _fail(str(exc))


@export_app.command("gpkg")
def export_gpkg(
    file: Annotated[Path, typer.Argument(help="GeoPackage to write (replaced if it exists)")],
    layer: Annotated[Optional[list[str]], typer.Option(help="Only these layer ids (repeat the option)")] = None,
) -> None:
    """Write every published layer, with its QML and SLD style as the default (layer_styles)."""
    from gis_service.api.geopackage import export_geopackage
    from gis_service.db.engine import make_engine

    layers, targets = _layers_and_targets()
    unknown = sorted(set(layer or []) - {item.id for item in layers})
    if unknown:
        _fail(f"unknown layer {', '.join(unknown)}; published layers: {', '.join(i.id for i in layers)}")
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

    layers, targets = _layers_and_targets()
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


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    base_url: Annotated[Optional[str], typer.Option(help="Public URL of the service, if behind a proxy "
                                                         "(default http://HOST:PORT)")] = None,
) -> None:
    """Serve the web map (/map), the planning API (/api, /docs) and the OGC APIs (pygeoapi at /ogc)
    with uvicorn."""
    import logging

    import uvicorn

    from gis_service.api.app import create_app

    from gis_service import jobs
    from gis_service.db.roles import RoleError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        app = create_app(base_url=base_url or f"http://{host}:{port}")
    except RoleError as exc:
        _fail(str(exc))
    settings = get_settings()
    urls = app.state.database_urls
    jobs.ensure_workers(settings.max_jobs, urls.worker)  # warm, so the first job starts at once
    url = (base_url or f"http://{host}:{port}").rstrip("/")
    console.print(f"serving on {url}: web map {url}/map, planning API {url}/docs, OGC API {url}/ogc")
    # keep idle connections 30 s (uvicorn's 5 s races clients that reuse them, e.g. map viewers)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_keep_alive=30)


# ---- scale-up -----------------------------------------------------------------------------------

@scaleup_app.command("scenarios")
def scaleup_scenarios(file: Annotated[Path, typer.Argument(help="Scenario YAML (see config/scenarios/)")],
                      region: Annotated[Optional[str], typer.Option(
                          help="Region of scenarios that name none (default: the configured region)")] = None
                      ) -> None:
    """Load (or update) scenarios and their scale-up plans from a YAML file."""
    from gis_service.analysis.scaleup.scenarios import load_scenarios
    from gis_service.db.engine import make_engine

    try:
        with make_engine().begin() as conn:
            ids = load_scenarios(conn, file, region_code=region or get_settings().region_config().code)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    console.print(f"loaded {len(ids)} scenarios from {file}")


@scaleup_app.command("calibrate")
def scaleup_calibrate(
    pilot: Annotated[Optional[str], typer.Option(help="Pilot name (default: every pilot of the region)")] = None,
    region: Annotated[Optional[str], typer.Option(help="Kemendagri code (default: configured region)")] = None,
) -> None:
    """What the pilot measured, beside the configured parameters and their sources."""
    from gis_service.analysis.parameters import load_parameter_values
    from gis_service.analysis.scaleup.calibration import calibrate, pilot_records, pilot_trucks
    from gis_service.db.engine import make_engine

    settings = get_settings()
    with make_engine().connect() as conn:
        params = load_parameter_values(conn, parameter_set_id=None, config_dir=settings.config_dir)
        try:
            codes = (region or settings.region_config().code).split(",")
            records = pilot_records(conn, region_codes=codes, pilot=pilot)
        except ValueError as exc:
            _fail(str(exc))
        result = calibrate(records, params, trucks=pilot_trucks(conn))
    _print_calibration(result, params)


def _print_calibration(result, params: dict) -> None:
    table = Table(title=f"Calibration from {result.source}")
    for col in ("parameter", "observed", "configured", "unit", "used by a plan", "note / configured source"):
        table.add_column(col, justify="right" if col in ("observed", "configured") else "left")
    for row in result.rows:
        note = row.note or params.get(row.key, {}).get("source", "")
        table.add_row(row.key, _num(row.observed), _num(row.configured), row.unit,
                      "yes" if row.calibrates else "reported", note)
    console.print(table)


def _num(v) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.3g}"


@scaleup_app.command("run")
def scaleup_run(
    scenario: Annotated[str, typer.Option(help="Scenario name (gis-service scaleup scenarios FILE loads them)")],
    region: Annotated[Optional[str], typer.Option(help="Kemendagri code of the area to plan, or several "
                                                       "separated by commas (default: the scenario's region)")] = None,
    model: Annotated[Optional[str], typer.Option(help="Siting model for every step: exact, greedy or both "
                                                      "(default: each step's own)")] = None,
    calibration: Annotated[Optional[str], typer.Option(help="pilot (observed values) or defaults "
                                                            "(default: the scenario's plan)")] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds per exact siting solve")] = 60.0,
    report: Annotated[Optional[Path], typer.Option(help="Also write the meeting report (HTML) here")] = None,
    english: Annotated[bool, typer.Option("--english", help="Report in English (default: Bahasa Indonesia)")] = False,
    gpkg: Annotated[Optional[Path], typer.Option(help="Also write the plan's styled GeoPackage here")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Publish the plan once stored: the default layers, "
                                          "the web map's first view and the QGIS project then show it")] = False,
) -> None:
    """Plan the scale-up of a scenario for a region, store it, print its headline (``--publish``: and
    publish it)."""
    from rich.progress import Progress

    from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
    from gis_service.db.engine import make_engine

    if model not in (None, "exact", "greedy", "both"):
        _fail(f"--model takes exact, greedy or both (got '{model}')")
    if calibration not in (None, "pilot", "defaults"):
        _fail(f"--calibration takes pilot or defaults (got '{calibration}')")
    options = ScaleupOptions(scenario=scenario, region=region, model=model, calibration=calibration,
                             time_limit=time_limit)
    try:
        with Progress(transient=True, console=err) as bar:
            task = bar.add_task("scale-up", total=4)
            result = run_scaleup(make_engine(), options, progress=lambda name: (
                bar.update(task, description=name), bar.advance(task)))
    except (ValueError, KeyError) as exc:
        _fail(str(exc).strip("'\""))
    print_scaleup(result)
    if report:
        scaleup_report(result.run_id, report, compare=None, english=english)
    if gpkg:
        scaleup_export(result.run_id, gpkg)
    if publish:
        _publish(make_engine(), "scaleup", result.run_id)


@scaleup_app.command("publish")
def scaleup_publish(run: Annotated[int, typer.Argument(help="Scale-up run id")]) -> None:
    """Publish a scale-up plan: the default layers (scaleup_villages, scaleup_facilities), the web
    map and the QGIS project show it from now on."""
    from gis_service.db.engine import make_engine

    _publish(make_engine(), "scaleup", run)


def print_scaleup(result) -> None:
    s = result.summary
    h = s["headline"]
    table = Table(title=f"Scale-up run {result.run_id}: {s['region']['name']} ({s['region']['code']}), "
                        f"target {s['target']['indicator']} {s['target']['year']}")
    table.add_column("")
    table.add_column("value", justify="right")
    rows = [("households in reach of a service, now -> plan",
             f"{h['coverage_now_pct']:.1f}% -> {h['coverage_plan_pct']:.1f}%"),
            ("households aman, now -> plan", f"{h['aman_now_pct']:.1f}% -> {h['aman_plan_pct']:.1f}%"),
            ("new facilities / extra trucks", f"{h['new_facilities']} / {h['extra_trucks']}"),
            ("investment (Rp)", f"{h['capex_total_idr']:,.0f}"),
            ("running cost (Rp/year)", f"{h['opex_total_idr_per_year']:,.0f}"),
            ("cost-recovery tariff, flat (Rp/emptying)", _num(h["flat_tariff_idr"])),
            ("subsidy gap at the configured tariffs (Rp/year)", _num(h["subsidy_gap_idr_per_year"])),
            ("villages: short term / medium term / later",
             f"{h['villages_short_term']} / {h['villages_medium_term']} / {h['villages_later']}")]
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    sit = Table(title="Siting")
    for col in ("step", "type", "candidates", "chosen", "newly covered (exact / greedy)", "gap", "seconds"):
        sit.add_column(col)
    for r in s["siting"]:
        ex, gr = r.get("exact"), r.get("greedy")
        cov = " / ".join(f"{x['newly_covered']:,.0f}" if x else "-" for x in (ex, gr))
        secs = " / ".join(f"{x['seconds']:.2f}" if x else "-" for x in (ex, gr))
        gap = f"{100 * r['optimality_gap']:.2f}%" if "optimality_gap" in r else "-"
        sit.add_row(str(r["step"] + 1), r["type"], str(r["candidates"]), str(r["chosen"]), cov, gap, secs)
    if s["siting"]:
        console.print(sit)
    ph = Table(title="Phases")
    for col in ("phase", "until", "new facilities", "coverage %", "aman %", "layak %", "investment (Rp)",
                "running (Rp/yr)"):
        ph.add_column(col, justify="right")
    for p in result.phases.itertuples():
        ph.add_row(("now", "short term", "medium term")[p.phase], str(p.until_year), str(p.new_facilities),
                   f"{p.coverage_pct:.1f}", f"{p.aman_pct:.1f}", f"{p.layak_pct:.1f}", f"{p.capex_idr:,.0f}",
                   f"{p.opex_idr_per_year:,.0f}")
    console.print(ph)
    from gis_service.analysis.scaleup.phasing import NOTES

    for note in s.get("notes", []) + [NOTES["en"].get(n, n) for n in s["priority"]["notes"]]:
        console.print(f"note: {note}")
    console.print(f"timings (s): {result.seconds}", soft_wrap=True)


def _stored_runs(engine, run_ids: list[int]):
    from gis_service.analysis.scaleup.report import read_run

    metric = get_settings().region_config().metric_crs
    with engine.connect() as conn:
        try:
            return [read_run(conn, r, metric_crs=metric) for r in run_ids]
        except ValueError as exc:
            _fail(str(exc))


@scaleup_app.command("compare")
def scaleup_compare(run_ids: Annotated[list[int], typer.Argument(help="Scale-up run ids")],
                    map_file: Annotated[Optional[Path], typer.Option(
                        "--map", help="Also draw the runs side by side into this PNG")] = None,
                    lang: Annotated[str, typer.Option(help="id (Bahasa Indonesia) or en")] = "id") -> None:
    """Compare scale-up runs side by side: one table (and one map)."""
    from gis_service.analysis.scaleup import figures
    from gis_service.analysis.scaleup.report import compare_table
    from gis_service.db.engine import make_engine

    runs = _stored_runs(make_engine(), run_ids)
    frame = compare_table(runs)
    table = Table(title="Scale-up runs compared")
    for col in ("run", "scenario", "new", "coverage %", "aman %", "investment (Rp)", "running (Rp/yr)",
                "tariff (Rp)", "villages S/M/L"):
        table.add_column(col)
    for r in frame.itertuples():
        table.add_row(str(r.run), r.scenario, str(r.new_facilities),
                      f"{r.coverage_now_pct:.1f} -> {r.coverage_plan_pct:.1f}", f"{r.aman_now_pct:.1f} -> {r.aman_plan_pct:.1f}",
                      f"{r.capex_idr:,.0f}", f"{r.opex_idr_per_year:,.0f}", _num(r.flat_tariff_idr),
                      f"{r.villages_short_term}/{r.villages_medium_term}/{r.villages_later}")
    console.print(table)
    if map_file:
        fig = figures.compare_map([(r.scenario, r.villages, r.facilities) for r in runs], lang=lang)
        map_file.write_bytes(figures.png(fig))
        console.print(f"wrote {map_file}")


@scaleup_app.command("report")
def scaleup_report(run_id: Annotated[int, typer.Argument(help="Scale-up run id")],
                   file: Annotated[Path, typer.Argument(help="HTML file to write")],
                   compare: Annotated[Optional[list[int]], typer.Option(
                       help="Other runs to compare with (repeat the option)")] = None,
                   english: Annotated[bool, typer.Option("--english", help="Write the report in English "
                                                         "(default: Bahasa Indonesia)")] = False) -> None:
    """The working-group report of a run (HTML, maps and charts embedded)."""
    from gis_service.analysis.scaleup.report import write_report
    from gis_service.db.engine import make_engine

    runs = _stored_runs(make_engine(), [run_id, *(compare or [])])
    console.print(f"wrote {write_report(runs, file, lang='en' if english else 'id')}")


@scaleup_app.command("export")
def scaleup_export(run_id: Annotated[int, typer.Argument(help="Scale-up run id")],
                   file: Annotated[Path, typer.Argument(help="GeoPackage to write (.gpkg)")]) -> None:
    """A run's facilities and villages as styled GeoPackage layers, with its requirements and phases
    as tables, for QGIS."""
    from gis_service.api.geopackage import export_plan_geopackage
    from gis_service.db.engine import make_engine

    if file.suffix.lower() != ".gpkg":
        _fail(f"{file}: give a .gpkg file name")
    engine = make_engine()
    layers, targets = _layers_and_targets()
    counts = export_plan_geopackage(engine, _stored_runs(engine, [run_id])[0], layers, targets, file)
    console.print(f"wrote {file}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


# ---- users ----------------------------------------------------------------------------------------

@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="User name, e.g. bappeda-editor")],
              role: Annotated[str, typer.Option(help="viewer, editor or admin")] = "viewer") -> None:
    """Create a user (or give an existing one a new key and role) and print the key, once."""
    from gis_service.db.engine import make_engine
    from gis_service.db.users import add_user

    try:
        with make_engine().begin() as conn:
            key = add_user(conn, name, role)
    except ValueError as exc:
        _fail(str(exc))
    err.print(f"user {name} ({role}); the key is shown once, store it now (send it as 'Authorization: Bearer KEY'):")
    print(key)


@users_app.command("list")
def users_list() -> None:
    """Users, roles, key prefixes and whether they are revoked."""
    from gis_service.db.engine import make_engine
    from gis_service.db.users import list_users

    with make_engine().connect() as conn:
        rows = list_users(conn)
    table = Table(title="Planning API users")
    for col in ("name", "role", "key", "created", "revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["role"], r["key_prefix"] + "…", f"{r['created_at']:%Y-%m-%d %H:%M}",
                      f"{r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "")
    console.print(table)


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Argument(help="User name")]) -> None:
    """Revoke a user's key (add the user again for a new one)."""
    from gis_service.db.engine import make_engine
    from gis_service.db.users import revoke_user

    try:
        with make_engine().begin() as conn:
            revoke_user(conn, name)
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"revoked {name}")


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except ClusterError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
