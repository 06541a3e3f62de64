# The two commands a newcomer needs: `make demo` (the main job) and `make test`.
VENV ?= .venv
GIS := $(VENV)/bin/gis-service
SCALE ?= 1

.PHONY: demo test bootstrap benchmark benchmark-api benchmark-siting benchmark-map benchmark-national db-down

bootstrap:
	@bash scripts/bootstrap.sh

## Bring up the local PostGIS, apply the migrations, load the demo region, run coverage for the
## demo's pilot scenario, print the regency summary, draw the two Buku Putih maps into out/maps,
## plan the demo's scale-up (headline and IPLT load printed; report and GeoPackage in out/), publish both,
## print the plan's desludging calendar and budget per year (every emptying in out/jadwal_sedot.csv
## and .gpkg; the report with the roll-out in out/rencana.html), the actions by agency (out/aksi_opd.csv),
## the SFDs per kecamatan (out/sfd/, out/sfd.csv),
## print the trial's scorecard from the demo pilot's generated operation log,
## then serve the OGC APIs on http://127.0.0.1:8000 (Ctrl-C stops the server; the database keeps running).
demo: bootstrap
	$(GIS) db up
	$(GIS) db upgrade
	$(GIS) demo load --scale $(SCALE)
	$(GIS) coverage run --scenario "Pilot only (demo)" --threshold 15,30,60 --maps out/maps --publish
	$(GIS) scaleup run --scenario "Scale-up plan (demo)" --gpkg out/rencana.gpkg --publish
	$(GIS) scaleup schedule --csv out/jadwal_sedot.csv --gpkg out/jadwal_sedot.gpkg --report out/rencana.html
	$(GIS) scaleup actions --csv out/aksi_opd.csv
	$(GIS) coverage sfd --png out/sfd --csv out/sfd.csv
	$(GIS) pilot evaluate
	$(GIS) serve --host 127.0.0.1 --port 8000

## Run the whole test suite against a throwaway PostGIS the suite starts itself, with the real
## clients (GDAL, QGIS, OWSLib, MapLibre's style validator) installed first.
test:
	@bash scripts/bootstrap.sh --with-clients
	GIS_SERVICE_NO_SKIPS=1 $(VENV)/bin/python -m pytest

## Import speed on the province-size generated region (~1M households); see scripts/benchmark_import.py.
benchmark: bootstrap
	$(VENV)/bin/python scripts/benchmark_import.py

## OGC API serving speed on the province-size region: ours vs tipg (own venv .venv-tipg) and
## hand-written SQL floors, plus 50 concurrent clients for 60 s; see scripts/benchmark_api.py.
benchmark-api: bootstrap
	$(VENV)/bin/python scripts/benchmark_api.py --reuse

## Siting speed and quality: exact (HiGHS) vs greedy vs spopt on the district and province cases;
## see scripts/benchmark_siting.py.
benchmark-siting: bootstrap
	$(VENV)/bin/python scripts/benchmark_siting.py

## National scale: one process against a Dask cluster of 1 and 2 local workers on generated provinces
## of 1 M and 10 M building footprints, with the cKDTree floor; see scripts/benchmark_national.py.
benchmark-national: bootstrap
	$(VENV)/bin/python scripts/benchmark_national.py

## The web map under load: 50 map users (tiles, features, summary) for 60 s with and without a
## scenario job running, on the demo district; see scripts/benchmark_map.py.
benchmark-map: bootstrap
	$(VENV)/bin/python scripts/benchmark_map.py

## Stop the managed cluster.
db-down:
	$(GIS) db down
