"""Settings read from the environment (prefix ``GIS_SERVICE_``) and the region files in ``config/``.

One place decides which database every command talks to: an external PostGIS when
``GIS_SERVICE_DATABASE_URL`` is set, otherwise the managed local cluster in ``data_dir``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


class Region(BaseModel):
    """The planning region: its admin code, the metric CRS used for distances and areas, and its
    bounding box (lon/lat, EPSG:4326) used to catch swapped axes and stray coordinates on import."""

    code: str
    name: str
    metric_crs: str = Field(description="Projected CRS for distances and areas, e.g. EPSG:32749")
    bbox: tuple[float, float, float, float] = Field(description="min lon, min lat, max lon, max lat")
    bbox_margin_deg: float = 0.25

    def contains(self, lon, lat):
        """Vectorised test: are (lon, lat) inside the bbox grown by the margin?"""
        m = self.bbox_margin_deg
        x0, y0, x1, y1 = self.bbox
        return (lon >= x0 - m) & (lon <= x1 + m) & (lat >= y0 - m) & (lat <= y1 + m)


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as ``GIS_SERVICE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="GIS_SERVICE_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, description="External PostGIS (postgresql+psycopg://…); unset = managed cluster"
    )
    data_dir: Path = Field(default=REPO_ROOT / ".gis-service", description="Managed cluster home")
    db_port: int = Field(default=54329, description="Port of the managed cluster (127.0.0.1 only)")
    db_name: str = "gis_service"
    pg_bin_dir: Path | None = Field(default=None, description="PostgreSQL binaries; found if unset")
    config_dir: Path = REPO_ROOT / "config"
    layers_dir: Path = Field(default=REPO_ROOT / "layers", description="Published layers (one YAML each)")
    region: str = Field(default="seruyan", description="Region file config/regions/<region>.yml")
    max_import_mb: int = Field(default=4096, description="Larger input files are refused")
    publish_household_points: bool = Field(default=False, description="Publish household points, which "
                                           "locate families (sensitive); off: only village aggregates")
    api_hot_paths: bool = Field(default=True, description="Answer plain GeoJSON item pages, features by "
                                "id and vector tiles in front of pygeoapi (gis_service/api/hot_paths.py)")
    api_count_limit: int = Field(default=100_000, description="Item pages leave numberMatched out "
                                 "when the planner expects more matches than this (0: never count)")
    public_read: bool = Field(default=True, description="Reads without a key (writes and jobs always need "
                              "one); off: every route that returns data (/api, /ogc, tiles, styles, the "
                              "QGIS project) needs a viewer key")
    cors_origins: list[str] = Field(default=[], description="Origins allowed to call the API from a "
                                    "browser (JSON list, e.g. [\"https://peta.example.go.id\"]); empty: none")
    max_body_kb: int = Field(default=1024, description="Larger request bodies are refused (413), counted by "
                             "the bytes received (chunked bodies too)")
    statement_timeout_s: float = Field(default=30, ge=0, description="The server's queries are cancelled "
                                       "after this long (PostgreSQL statement_timeout; 0: never); analyses "
                                       "run by jobs and the command line are not limited")
    max_offset: int = Field(default=1_000_000, ge=0, description="Item pages deeper than this offset are "
                            "refused (400): deep offsets cost the database a scan of every skipped row")
    web_database_url: str | None = Field(default=None, description="The planning API's connection (role "
                                         "gis_service_web); none: `serve` derives it from the database URL")
    read_database_url: str | None = Field(default=None, description="pygeoapi's connection (role "
                                          "gis_service_read); none: derived")
    worker_database_url: str | None = Field(default=None, description="The job workers' connection (role "
                                            "gis_service_owner); none: derived")
    callback_hosts: list[str] = Field(default=[], description="Hosts an OGC execute request's subscriber "
                                      "URLs may name (JSON list); empty: callbacks are refused (400)")
    web_dir: Path = Field(default=REPO_ROOT / "web", description="The web map's files; MapLibre GL JS "
                          "from its node_modules (npm, installed by scripts/bootstrap.sh)")
    basemap_tiles: str | None = Field(default=OSM_TILES, description="Raster basemap under the web map "
                                      "(XYZ URL template); empty: none (offline)")
    basemap_attribution: str = Field(default=OSM_ATTRIBUTION, description="Credit shown for the basemap")
    max_jobs: int = Field(default=1, ge=1, description="Coverage / scale-up jobs run at once; more wait (queued)")
    max_jobs_per_user: int = Field(default=3, ge=1, description="Jobs one user may have queued or running at "
                                   "once (/api/jobs and OGC executions alike); more are refused (429)")
    max_queued_jobs: int = Field(default=20, ge=1, description="Jobs waiting in all; more are refused (429)")
    job_lease_s: float = Field(default=60, ge=5, description="A running job whose worker gave no sign of life "
                               "for this long is marked failed (its worker died), on whatever host it ran")
    job_worker_idle_minutes: float = Field(default=10, ge=0, description="A job worker without work for this "
                                           "long ends; the next submitted job starts a new one")

    def region_config(self) -> Region:
        return load_region(self.config_dir / "regions" / f"{self.region}.yml")

    def network_config(self) -> dict:
        """Speeds by mode and class, and which OSM classes count (config/parameters/network.yml)."""
        with open(self.config_dir / "parameters" / "network.yml", encoding="utf-8") as fh:
            return yaml.safe_load(fh)


@lru_cache(maxsize=8)
def load_region(path: Path) -> Region:
    with open(path, encoding="utf-8") as fh:
        return Region.model_validate(yaml.safe_load(fh))


def get_settings() -> Settings:
    """Fresh settings each call, so tests and the CLI can change the environment."""
    return Settings()
