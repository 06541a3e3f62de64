"""Deterministic generator of an ILLUSTRATIVE demo regency modelled on Kabupaten Seruyan.

These are NOT real Seruyan data. Boundaries, villages, households, facilities, network and pilot
records are drawn from numpy random streams spawned from one seed, so that the service can be
shown and tested end to end without downloading anything; nothing is read from disk (the real
boundaries must not end up in the repository).

Facts it follows (docs/domain.md):
- section 7: Kabupaten Seruyan (Kemendagri 62.07, BPS 6208) in Kalimantan Tengah (62); capital
  Kuala Pembuang in Kecamatan Seruyan Hilir; the 10 kecamatan with their real names, Kemendagri
  and BPS codes; 97 desa + 3 kelurahan; about 158,000 people (158,282 in June 2024); about
  15,200 km2; the Seruyan river running north-south to the Java Sea with settlements strung along
  it; coastal swamp in the south, hilly forest in the north; many villages reached only by river.
- section 2: the sanitation ladder and its rules (aman = septic tank emptied in the last 5 years,
  layak_bersama = shared toilet, babs = no toilet).
- section 4: an IPLT at least 2 km from settlements with road access; IPAL komunal for 50-100
  households. No public source names an IPLT or IPAL komunal in Seruyan, so every facility is
  marked "(ilustrasi)".
- section 5: about 4 persons per household; unit costs are user-entered, so no facility costs.

Geometry is built in the region's metric CRS (EPSG:32749, UTM 49S: metres for every distance,
area and buffer) and returned in EPSG:4326 (lon/lat).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from gis_service.demo.facilities import make_facilities, service_area_frame
from gis_service.demo.facts import DISTRICTS, METRIC_CRS, SEED, Frames  # noqa: F401 - part of its interface
from gis_service.demo.frames import (
    EMPTY_NUMBERS,
    LISTS,
    admin_frame,
    network_frame,
    pilot_frame,
    population_frame,
    settlement_frame,
)
from gis_service.demo.pilot_log import pilot_event_frame
from gis_service.demo.households import make_households
from gis_service.demo.land import make_land
from gis_service.demo.network import make_network
from gis_service.demo.villages import make_settlements, make_villages


def generate_region(*, seed: int = SEED, scale: float = 1.0) -> Frames:
    """Generate the demo regency: frames keyed by import kind, in load order.

    The same seed gives identical frames. ``scale`` multiplies only the households (and so the
    population), leaving the geography alone, so that large loads can be tested on the same map.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    # one stream per part; the log's stream is a fourth child, so the other parts stay as they were
    geo_rng, household_rng, pilot_rng, log_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
    land = make_land(geo_rng)
    villages = make_villages(land, geo_rng)
    settlements = make_settlements(villages, land, geo_rng)
    network = make_network(land, villages, settlements, geo_rng)
    facilities = make_facilities(villages, settlements, network, geo_rng)
    households, hh_village, hh_settlement = make_households(
        villages, settlements, network, scale, household_rng)
    members = households["members"].to_numpy()
    pilots = pilot_frame(villages, pilot_rng)
    return {
        "admin": admin_frame(land, villages),
        "population": population_frame(villages, hh_village, members),
        "settlements": settlement_frame(villages, settlements, hh_settlement, members),
        "households": households,
        "facilities": facilities,
        "service_areas": service_area_frame(facilities, settlements),
        "network": network_frame(network),
        "pilots": pilots,
        "pilot_events": pilot_event_frame(pilots, households, log_rng),
    }


def write_files(region: Frames, out_dir: Path) -> dict[str, Path]:
    """Write spatial frames as GeoPackages and tables as UTF-8 CSV (ISO dates), the formats the
    importer reads; list columns are joined with ';'. Returns kind -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, frame in region.items():
        flat = frame.copy()
        for column in flat.columns.intersection(LISTS):
            flat[column] = flat[column].map(lambda v: ";".join(v) if v else None)
        for column in flat.columns.intersection(EMPTY_NUMBERS):  # a number field, not text
            flat[column] = flat[column].astype(float)
        if isinstance(frame, gpd.GeoDataFrame):
            path = out_dir / f"{kind}.gpkg"
            path.unlink(missing_ok=True)
            flat.to_file(path, layer=kind, driver="GPKG", engine="pyogrio")
        else:
            path = out_dir / f"{kind}.csv"
            flat.to_csv(path, index=False, encoding="utf-8")
        paths[kind] = path
    return paths
