#!/usr/bin/env bash
# Install what the project needs on a Debian/Ubuntu machine, idempotently and fast on re-runs:
# PostgreSQL + PostGIS 3 + pgRouting and GDAL's tools from the OS packages, and a virtualenv with
# this package; MapLibre GL JS for the web map from npm.
# Used by `make demo`, `make test` and CI. Set PG_MAJOR to choose another PostgreSQL version.
# --with-clients (make test) also installs the real clients the tests drive: QGIS (python3-qgis,
# for the system Python), MapLibre's style validator (npm) and Chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_CLIENTS=0
[ "${1:-}" = "--with-clients" ] && WITH_CLIENTS=1

PG_MAJOR="${PG_MAJOR:-15}"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "bootstrap: need root or sudo to run: $*" >&2; exit 1; fi
}

have_postgis() {
  [ -x "/usr/lib/postgresql/${PG_MAJOR}/bin/initdb" ] &&
  [ -f "/usr/share/postgresql/${PG_MAJOR}/extension/postgis.control" ] &&
  [ -f "/usr/share/postgresql/${PG_MAJOR}/extension/pgrouting.control" ]
}

if ! have_postgis; then
  if ! command -v apt-get >/dev/null; then
    echo "bootstrap: PostgreSQL ${PG_MAJOR} with PostGIS 3 and pgRouting is missing and this is not a" \
         "Debian/Ubuntu machine. Install them, or set GIS_SERVICE_DATABASE_URL to an existing PostGIS." >&2
    exit 1
  fi
  echo "bootstrap: installing PostgreSQL ${PG_MAJOR} + PostGIS 3 + pgRouting (apt)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    "postgresql-${PG_MAJOR}" "postgresql-${PG_MAJOR}-postgis-3" "postgresql-${PG_MAJOR}-pgrouting" >/dev/null
  # Debian starts a default cluster on 5432; we use our own private cluster instead.
  have_postgis
fi

# GDAL's command-line tools: the test suite reads our OGC API with them, as QGIS would.
if ! command -v ogrinfo >/dev/null && command -v apt-get >/dev/null; then
  echo "bootstrap: installing gdal-bin (apt)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    gdal-bin >/dev/null
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    sudo_if_needed apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv "$VENV"
  fi
fi
stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing the Python package into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  # ogctests (OGC API conformance checks) pins pytest<9, httpx<0.28 and pyarrow<18, which would
  # break the rest of the suite; it runs on the newer ones, so it is installed without them
  "$VENV/bin/python" -m pip install -q --no-deps "ogctests==0.1.15"
  touch "$stamp"
fi

# The web map's MapLibre GL JS, from npm into web/node_modules (served by the app, never a CDN);
# again whenever web/package-lock.json is newer than what npm installed.
if [ ! -f web/node_modules/maplibre-gl/dist/maplibre-gl.js ] ||
   [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Node.js and npm (apt) for the web map"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
      nodejs npm >/dev/null
  fi
  echo "bootstrap: installing MapLibre GL JS (npm ci) into web/node_modules"
  npm ci --prefix web --omit=dev --no-audit --no-fund --silent >/dev/null
fi

[ "$WITH_CLIENTS" = 1 ] || exit 0

# Chromium (Debian) for the web map's end-to-end test, driven by Playwright for Python (a test
# dependency) through executable_path: Playwright's own browser download is never used.
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then
  echo "bootstrap: installing Chromium (apt) for the browser test"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends chromium >/dev/null
fi

# QGIS 3 for the system Python: tests/test_qgis.py opens our layers and project with it, headless.
if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import qgis.core' 2>/dev/null && command -v apt-get >/dev/null; then
  echo "bootstrap: installing QGIS (python3-qgis, apt; about 100 MB)"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends python3-qgis qgis-providers >/dev/null
fi

# MapLibre's style validator (npm): the test suite checks our generated MapLibre style with it.
STYLE_SPEC=".tools/node_modules/@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.mjs"
if [ ! -f "$STYLE_SPEC" ] && command -v npm >/dev/null; then
  echo "bootstrap: installing the MapLibre style validator (npm) into .tools/"
  npm install --prefix .tools --no-audit --no-fund --silent @maplibre/maplibre-gl-style-spec@26 >/dev/null
fi
