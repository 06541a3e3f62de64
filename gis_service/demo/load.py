"""Load the generated demo region through the same importers users run, so the demo also proves
the loaders. Every row is tied to a data source marked illustrative."""

from __future__ import annotations

from sqlalchemy import Engine, text

from gis_service.planning.scenarios import load_scenarios
from gis_service.demo.generator import generate_region
from gis_service.ingest.config_tables import load_parameter_set, load_targets
from gis_service.ingest.context import ImportOptions
from gis_service.ingest.importer import import_frame
from gis_service.ingest.report import ImportReport
from gis_service.settings import Settings, get_settings

DEMO_SOURCE = "demo-seruyan"
DEMO_TITLE = "Illustrative demo region modelled on Kabupaten Seruyan (generated; NOT real data)"
DEMO_SCENARIO = "Pilot only (demo)"


def load_demo(engine: Engine, *, scale: float = 1.0, seed: int = 6207, progress: bool = False,
              settings: Settings | None = None) -> list[ImportReport]:
    settings = settings or get_settings()
    _refuse_over_real_data(engine, settings.region_config().code)
    region = generate_region(seed=seed, scale=scale)
    options = ImportOptions(source=DEMO_SOURCE, title=DEMO_TITLE, illustrative=True)
    reports = []
    steps = list(region.items())
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("loading demo region", total=len(steps))
            for kind, frame in steps:
                bar.update(task, description=f"loading {kind}")
                reports.append(import_frame(engine, kind, frame, options, settings=settings))
                bar.advance(task)
    else:
        reports = [import_frame(engine, kind, frame, options, settings=settings) for kind, frame in steps]
    for r in reports:
        r.file = "generated"
    with engine.begin() as conn:
        params = load_parameter_set(conn, settings.config_dir / "parameters" / "default.yml")
        load_targets(conn, settings.config_dir / "targets.yml")
        load_scenarios(conn, settings.config_dir / "scenarios" / "demo.yml",
                       region_code=settings.region_config().code, parameter_set_id=params)
    return reports


class RealDataPresent(RuntimeError):
    """The demo would overwrite real areas that share its Kemendagri codes."""


def _refuse_over_real_data(engine: Engine, region_code: str) -> None:
    with engine.connect() as conn:
        sources = conn.execute(text(
            "SELECT DISTINCT a.source FROM admin_area a JOIN data_source d ON d.name = a.source "
            "WHERE NOT d.illustrative AND starts_with(a.code, :code)"), {"code": region_code}).scalars().all()
    if sources:
        raise RealDataPresent(
            f"this database holds real administrative areas of {region_code} (sources: {', '.join(sources)}); "
            "the illustrative demo uses the same codes and would overwrite them. Load the demo into another "
            "database, e.g. GIS_SERVICE_DB_NAME=gis_demo gis-service db up && ... demo load")
