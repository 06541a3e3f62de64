"""``gis-service demo``: the illustrative demo region (generated, not real data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gis_service.cli.common import console, err, fail, group
from gis_service.cli.tables import print_summary

demo_app = group("demo", "The illustrative demo region (generated, not real data).")


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
        fail(str(exc))
    except ImportRejected as exc:
        for line in exc.report.lines():
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        fail("the demo region could not be loaded; nothing of that layer was written")
    for r in reports:
        console.print(f"  {r.kind:<12} read {r.read:>8}  inserted {r.inserted:>8}  updated {r.updated:>6}  "
                      f"unchanged {r.unchanged:>8}  ({r.seconds:.1f} s)", soft_wrap=True)
    print_summary(engine)


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
        fail(str(exc))
    size = sum(f.stat().st_size for f in Path(out).rglob("*.parquet"))
    console.print(f"{sum(p.households for p in dataset.partitions):,} buildings in {len(dataset.partitions)} "
                  f"regencies, {facilities} depots: {out} ({size / 1e6:,.0f} MB)", soft_wrap=True)
