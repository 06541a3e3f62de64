#!/usr/bin/env python3
"""Planner script: plan the scale-up of a scenario for a region, then write its report and its
GeoPackage in one go (the same service functions as `gis-service scaleup ...`).

    python scripts/scale_up.py --scenario "Pilot + 2 depots (demo)" --region 62.07 --out hasil
    python scripts/scale_up.py --scenario "Pilot only (demo)" --region 62.07.01 --english
    python scripts/scale_up.py --scenario "Pilot + IPLT upstream (demo)" --compare-with 1 --compare-with 2

Writes hasil/rencana_<run>.html (Bahasa Indonesia unless --english) and hasil/rencana_<run>.gpkg.
Every run is stored in the database; compare runs with `gis-service scaleup compare RUN RUN ...`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gis_service.analysis.scaleup.plan import ScaleupOptions, run_scaleup
from gis_service.cli import app, print_scaleup
from gis_service.db.engine import make_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", required=True, help="scenario name")
    parser.add_argument("--region", help="Kemendagri code (default: the scenario's region)")
    parser.add_argument("--model", choices=["exact", "greedy", "both"], help="siting model for every step")
    parser.add_argument("--calibration", choices=["pilot", "defaults"], help="use the pilot's values or not")
    parser.add_argument("--out", type=Path, default=Path("hasil"), help="folder for the report and GeoPackage")
    parser.add_argument("--english", action="store_true", help="write the report in English")
    parser.add_argument("--compare-with", type=int, action="append", default=[], help="runs to compare with")
    args = parser.parse_args()
    result = run_scaleup(make_engine(), ScaleupOptions(scenario=args.scenario, region=args.region,
                                                       model=args.model, calibration=args.calibration))
    print_scaleup(result)
    run_id = result.run_id
    args.out.mkdir(parents=True, exist_ok=True)
    report = ["scaleup", "report", str(run_id), str(args.out / f"rencana_{run_id}.html")]
    report += [x for r in args.compare_with for x in ("--compare", str(r))]
    app([*report, *(["--english"] if args.english else [])], standalone_mode=False)
    app(["scaleup", "export", str(run_id), str(args.out / f"rencana_{run_id}.gpkg")], standalone_mode=False)


if __name__ == "__main__":
    main()
