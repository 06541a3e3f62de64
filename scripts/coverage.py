#!/usr/bin/env python3
"""Planner script: run a coverage analysis with the same options as `gis-service coverage run`.

    python scripts/coverage.py --scenario "Pilot only (demo)" --threshold 15,30,60 --export hasil.csv
    python scripts/coverage.py --method buffer --distance 5000 --no-capacity
    python scripts/coverage.py --engine dask --workers 2          # cut by admin unit on a Dask cluster
    python scripts/coverage.py --engine dask --scheduler tcp://10.0.0.5:8786 --level regency

Every run is stored in the database (see `gis-service coverage diff RUN_A RUN_B`).
"""

import sys

from gis_service.cli import app

if __name__ == "__main__":
    app(["coverage", "run", *sys.argv[1:]])
