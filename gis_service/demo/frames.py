"""The demo region as the importers' input frames (admin areas, population, settlements, network, pilot)."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiPolygon

from gis_service.demo.facts import DISTRICTS, METRIC_CRS, OPERATOR, OUTPUT_CRS, PILOT_NAME, YEAR
from gis_service.demo.geometry import as_multipolygon
from gis_service.demo.land import SEGMENT_M, Land
from gis_service.demo.network import Network

LISTS = ("service_modes", "village_codes")  # joined with ';' in files


EMPTY_NUMBERS = ("capex_idr", "opex_idr_per_year", "speed_kmh")  # None on purpose: user-entered


def to_output(frame: pd.DataFrame, geometry: Sequence) -> gpd.GeoDataFrame:
    """Attach metric geometry and reproject to EPSG:4326; anything reprojection made invalid is
    repaired (polygons keep their MultiPolygon type)."""
    series = gpd.GeoSeries(list(geometry), index=frame.index, crs=METRIC_CRS).to_crs(OUTPUT_CRS)
    bad = series.notna() & ~series.is_valid
    series[bad] = [as_multipolygon(g) if isinstance(g, MultiPolygon) else shapely.make_valid(g)
                   for g in series[bad]]
    return gpd.GeoDataFrame(frame, geometry=series, crs=OUTPUT_CRS)


def admin_frame(land: Land, villages: pd.DataFrame) -> gpd.GeoDataFrame:
    regency = as_multipolygon(shapely.union_all(land.districts))
    # the province (62, Kalimantan Tengah) has no outline here: the importer adds it from its built-in
    # list of Kemendagri province codes, as for a real regency file
    rows = [("62.07", "Kabupaten Seruyan", "regency", None, None, "6208", regency)]
    rows += [(d.code, d.name, "district", None, None, d.bps_code, g)
             for d, g in zip(DISTRICTS, land.districts, strict=True)]
    rows += [(v.code, v.name, "village", "kelurahan" if v.kelurahan else "desa",
              "urban" if v.urban else "rural", v.bps_code, v.geometry)
             for v in villages.itertuples()]
    frame = pd.DataFrame(rows, columns=["code", "name", "level", "village_kind", "urban_rural",
                                        "bps_code", "geometry"])
    return to_output(frame.drop(columns="geometry"), frame.geometry)


def population_frame(villages: pd.DataFrame, village: np.ndarray,
                      members: np.ndarray) -> pd.DataFrame:
    n = len(villages)
    return pd.DataFrame({
        "code": villages.code, "year": YEAR,
        "population": np.bincount(village, weights=members, minlength=n).astype(np.int64),
        "households": np.bincount(village, minlength=n),
    })


def settlement_frame(villages: pd.DataFrame, settlements: pd.DataFrame, settlement: np.ndarray,
                      members: np.ndarray) -> gpd.GeoDataFrame:
    n = len(settlements)
    frame = pd.DataFrame({
        "source_id": [f"S{i + 1:04d}" for i in range(n)],
        "name": settlements["name"],
        "village_code": villages.code.to_numpy()[settlements.village],
        "population": np.bincount(settlement, weights=members, minlength=n).astype(np.int64),
        "households": np.bincount(settlement, minlength=n),
        "year": YEAR,
    })
    return to_output(frame, settlements.geometry)


def network_frame(network: Network) -> gpd.GeoDataFrame:
    edges = network.edges
    frame = pd.DataFrame({
        "source_id": [f"E{i + 1:05d}" for i in range(len(edges))],
        "mode": edges["mode"], "class": edges["class"], "name": edges["name"],
        "speed_kmh": np.full(len(edges), None, dtype=object), "oneway": False,
    })
    lines = shapely.segmentize([LineString(xy) for xy in edges.xy], SEGMENT_M)
    return to_output(frame, lines)


def pilot_frame(villages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Twelve monthly records of an illustrative scheduled-desludging pilot in the capital:
    emptyings growing over the year, ~2.5-3 m3 each, a Rp150,000 fee, costs a little above it."""
    months = np.arange(f"{YEAR}-01", f"{YEAR + 1}-01", dtype="datetime64[M]")
    emptyings = np.clip(np.round(np.linspace(27, 41, 12) + rng.normal(0, 2.5, 12)), 25, 45)
    emptyings = emptyings.astype(int)
    paying = emptyings - rng.integers(0, 4, 12)
    trips = emptyings + rng.integers(0, 3, 12)
    return pd.DataFrame({
        "pilot": PILOT_NAME,
        "programme": "SERUYAN BARASIH / PPSP",
        "operator": OPERATOR,
        "institution_type": "uptd",
        "village_codes": [list(villages.code[villages.kelurahan]) for _ in months],
        "period_start": months.astype("datetime64[D]").astype(object),
        "period_end": ((months + 1).astype("datetime64[D]") - 1).astype(object),
        "households_served": emptyings,
        "emptyings": emptyings,
        "sludge_m3": np.round(emptyings * rng.uniform(2.55, 2.95, 12), 1),
        "truck_trips": trips,
        "mean_trip_minutes": np.round(rng.uniform(40.0, 90.0, 12), 1),
        "working_days": rng.integers(20, 25, 12),
        "trucks": 2,  # the pilot depot's fleet
        "opex_idr": np.round(trips * 165_000 * rng.uniform(0.95, 1.15, 12), -3),
        "revenue_idr": paying * 150_000.0,
        "households_paying": paying,
        "wtp_idr": np.round(rng.uniform(110_000, 180_000, 12), -4),
    })
