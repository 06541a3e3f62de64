"""The demo households: where they live, how many, their toilets and their rung of the access ladder."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_service.demo.facts import HOUSEHOLDS_PER_SCALE, METRIC_CRS, OUTPUT_CRS, SURVEY_SOURCE, YEAR
from gis_service.demo.geometry import transformer
from gis_service.demo.network import Network

MARGIN_M = 5.0  # households stay this far inside their village polygon


RUNGS = ("aman", "layak_sendiri", "layak_bersama", "belum_layak", "babs")


# Illustrative mean shares of the rungs by village class (urban capital best, remote north worst).
LADDER = {
    "urban": (0.12, 0.62, 0.12, 0.11, 0.03),
    "road": (0.05, 0.60, 0.14, 0.15, 0.06),
    "river": (0.01, 0.53, 0.16, 0.20, 0.10),
    "remote": (0.002, 0.46, 0.14, 0.248, 0.15),
}


def village_of(points: np.ndarray, villages: pd.DataFrame) -> list[str]:
    tree = shapely.STRtree(villages.geometry.to_numpy())
    found, village = tree.query(points, predicate="within")
    codes = dict(zip(found, villages.code.to_numpy()[village], strict=True))
    if len(codes) < len(points):
        raise RuntimeError("a facility lies outside every village")
    return [codes[i] for i in range(len(points))]


def make_households(villages: pd.DataFrame, settlements: pd.DataFrame, network: Network,
                scale: float, rng: np.random.Generator
                ) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Household points scattered around their settlement, strictly inside their village, with a
    ladder mix by village class and attributes consistent with the rung (docs/domain.md §2).
    Vectorised: no Python loop per household. Also returns each one's village and settlement."""
    counts = allocate(round(HOUSEHOLDS_PER_SCALE * scale), villages.weight.to_numpy())
    n = int(counts.sum())
    village = np.repeat(np.arange(len(villages)), counts)
    settlement = pick_settlement(settlements, len(villages), village, rng)
    x, y = scatter(villages, settlements, village, settlement, rng)

    road_village = np.zeros(len(villages), dtype=bool)
    road_village[settlements.village[network.on_road]] = True
    klass = np.select([villages.urban, road_village,
                       (villages.band <= 2) & (villages.river_idx >= 0)],
                      ["urban", "road", "river"], "remote")
    shares = np.array([rng.dirichlet(200.0 * np.array(LADDER[c])) for c in klass])
    rung = (rng.random(n)[:, None] > np.cumsum(shares, axis=1)[village, :4]).sum(axis=1)
    urban = villages.urban.to_numpy()[village]
    layak = (rung == 1) | (rung == 2)
    septic = (rung == 0) | (layak & (rng.random(n) < np.where(urban, 0.95, 0.8))) | (
        (rung == 3) & (rng.random(n) < 0.1))
    start = np.datetime64(f"{YEAR}-03-01") + rng.integers(0, 200, len(villages))
    surveyed = start[village] + rng.integers(0, 10, n)
    emptied = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    emptied[rung == 0] = surveyed[rung == 0] - rng.integers(60, 1_765, int((rung == 0).sum()))
    old = layak & septic & (rng.random(n) < 0.3)  # emptied, but more than 5 years ago
    emptied[old] = surveyed[old] - rng.integers(1_900, 4_000, int(old.sum()))
    toilet, disposal = toilets(rung, septic, urban, rng)
    lon, lat = transformer(METRIC_CRS, OUTPUT_CRS).transform(x, y)
    width = max(7, len(str(n)))
    frame = gpd.GeoDataFrame({
        "source_id": np.strings.add("H", np.strings.zfill(np.arange(1, n + 1).astype(str), width)),
        "village_code": villages.code.to_numpy()[village],
        "ladder_rung": np.array(RUNGS, dtype=object)[rung],
        "has_septic_tank": septic,
        "shared_toilet": (rung == 2) | ((rung == 3) & (rng.random(n) < 0.2)),
        "toilet_type": toilet,
        "disposal": disposal,
        "last_desludged": emptied.astype(object),
        "members": 1 + np.minimum(rng.poisson(2.75, n), 8),
        "survey_source": SURVEY_SOURCE,
        "survey_date": surveyed.astype(object),
    }, geometry=gpd.points_from_xy(lon, lat), crs=OUTPUT_CRS)
    return frame, village, settlement


def toilets(rung: np.ndarray, septic: np.ndarray, urban: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Toilet type and disposal to go with each surveyed rung: layak without a tank is a gooseneck
    over a pit (rural by the pit rule; the few urban ones keep their surveyed rung, which wins);
    belum layak is a non-gooseneck toilet, public toilets only, or a gooseneck draining to the
    open; BABS has no toilet."""
    n = len(rung)
    toilet = np.full(n, "gooseneck", dtype=object)
    disposal = np.where(septic, "septic_tank", "pit").astype(object)
    poor = np.flatnonzero(rung == 3)
    kind = rng.integers(0, 3, len(poor))
    toilet[poor[kind == 0]] = "non_gooseneck"
    toilet[poor[kind == 1]] = "public"
    disposal[poor[kind == 1]] = None
    disposal[poor[(kind == 2) & ~urban[poor] & ~septic[poor]]] = "open"
    toilet[rung == 4], disposal[rung == 4] = "none", None
    return toilet, disposal


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainders)."""
    raw = total * weights / weights.sum()
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(counts - raw, kind="stable")[:total - counts.sum()]] += 1
    return counts


def pick_settlement(settlements: pd.DataFrame, n_villages: int, village: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Each household's settlement, drawn by the settlements' shares of their village."""
    local = settlements.groupby("village").cumcount().to_numpy()
    first = np.searchsorted(settlements.village.to_numpy(), np.arange(n_villages))
    shares = np.zeros((n_villages, 3))
    shares[settlements.village, local] = settlements.share
    cum = np.cumsum(shares, axis=1)
    cum[cum >= 1.0 - 1e-9] = np.inf  # never step past a village's last settlement
    return first[village] + (rng.random(len(village))[:, None] >= cum[village]).sum(axis=1)


def scatter(villages: pd.DataFrame, settlements: pd.DataFrame, village: np.ndarray,
             settlement: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scatter around the settlement centre (one in ten further out, along the fields),
    kept strictly inside the village shrunk by a margin. Points within the centre's clear radius
    need no polygon test; the rest are tested, redrawn twice, then placed inside that radius."""
    shrunk = shapely.buffer(villages.geometry.to_numpy(), -MARGIN_M)
    shapely.prepare(shrunk)
    centre = settlements[["x", "y"]].to_numpy()
    centre_pts = shapely.points(centre)
    own = shrunk[settlements.village.to_numpy()]
    if not shapely.contains(own, centre_pts).all():
        raise RuntimeError("a settlement centre lies outside its village")
    clear = shapely.distance(centre_pts, shapely.boundary(own))
    sigma = 0.5 * settlements.axis.to_numpy()
    n = len(settlement)
    spread = np.where(rng.random(n) < 0.1, 1_500.0, sigma[settlement])
    xy = centre[settlement] + rng.normal(size=(n, 2)) * spread[:, None]
    todo = np.arange(n)
    for attempt in range(3):
        off = xy[todo] - centre[settlement[todo]]
        near = np.hypot(*off.T) < clear[settlement[todo]]
        far = todo[~near]
        inside = shapely.contains_xy(shrunk[village[far]], xy[far, 0], xy[far, 1])
        todo = far[~inside]
        if attempt < 2:
            spread = 0.5 * sigma[settlement[todo]]
            xy[todo] = centre[settlement[todo]] + rng.normal(size=(len(todo), 2)) * spread[:, None]
    radius = 0.9 * clear[settlement[todo]] * np.sqrt(rng.random(len(todo)))
    angle = rng.uniform(0, 2 * np.pi, len(todo))
    xy[todo] = centre[settlement[todo]] + radius[:, None] * np.column_stack(
        [np.cos(angle), np.sin(angle)])
    return xy[:, 0], xy[:, 1]
