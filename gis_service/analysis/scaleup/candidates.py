"""Candidate sites for new facilities: stored candidates (``facility.status = 'candidate'``),
sites generated at settlements, on a grid over the region or at the nodes of the service's network
near settlements (river landings for boats), and user-given points, filtered by
the exclusion rules of docs/domain.md §4 (an IPLT at least 2 km from settlements, outside the
areas a planner excludes such as flood plains, within reach of the network the service uses).
Everything is measured in the region's metric CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_service.analysis.parameters import value
from gis_service.analysis.scaleup.spec import SitingStep

COLUMNS = ["name", "facility_id", "origin", "village_code", "x", "y", "capacity", "capacity_unit"]


def candidates(step: SitingStep, *, region: shapely.Geometry, stored: pd.DataFrame,
               settlements: gpd.GeoDataFrame, params: dict, metric_crs: str,
               on_network=None, nodes_xy: np.ndarray | None = None) -> tuple[pd.DataFrame, dict]:
    """Candidate sites of one siting step and a count of what each rule removed.

    ``stored``: facilities (id, name, type, x, y, capacity, capacity_unit) with status candidate;
    ``settlements``: polygons with name/village name, metric CRS; ``on_network(xy) -> bool array``
    tells whether a point can be reached on the step's network (None: no check, piped systems);
    ``nodes_xy``: the nodes of the step's network (for ``nodes`` candidates: landings, junctions)."""
    parts = []
    if "stored" in step.candidates:
        own = stored[stored["type"] == step.type]
        inside = shapely.contains_xy(region, own["x"].to_numpy(), own["y"].to_numpy()) \
            if len(own) else np.zeros(0, bool)
        own = own[inside]
        parts.append(pd.DataFrame({"name": own["name"], "facility_id": own["id"], "origin": "stored",
                                   "village_code": own["village_code"],
                                   "x": own["x"], "y": own["y"], "capacity": own["capacity"],
                                   "capacity_unit": own["capacity_unit"]}))
    if "settlements" in step.candidates and len(settlements):
        points = settlements.geometry.representative_point()
        inside = points.within(region).to_numpy()
        label = settlements["label"].to_numpy()[inside]
        parts.append(pd.DataFrame({"name": [f"Calon {_type_label(step.type)} {n}" for n in label],
                                   "facility_id": None, "origin": "settlement",
                                   "village_code": settlements["village_code"].to_numpy()[inside],
                                   "x": points.x.to_numpy()[inside], "y": points.y.to_numpy()[inside],
                                   "capacity": None, "capacity_unit": None}))
    if "grid" in step.candidates:
        xy = _grid(region, step.grid_m)
        parts.append(pd.DataFrame({"name": [f"Calon {_type_label(step.type)} grid {i + 1}"
                                            for i in range(len(xy))],
                                   "facility_id": None, "origin": "grid", "village_code": None, "x": xy[:, 0], "y": xy[:, 1],
                                   "capacity": None, "capacity_unit": None}))
    if "nodes" in step.candidates and nodes_xy is not None and len(nodes_xy):
        xy = nodes_xy[shapely.contains_xy(region, nodes_xy[:, 0], nodes_xy[:, 1])]
        xy = xy[~_far_from_settlements(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}), settlements,
                                       step.nodes_near_settlement_m)] if len(settlements) else xy[:0]
        parts.append(pd.DataFrame({"name": [f"Calon {_type_label(step.type)} simpul {i + 1}" for i in range(len(xy))],
                                   "facility_id": None, "origin": "node", "village_code": None,
                                   "x": xy[:, 0], "y": xy[:, 1], "capacity": None, "capacity_unit": None}))
    if step.candidate_file is not None:
        parts.append(_user_points(step.candidate_file, metric_crs, step.type))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=COLUMNS)
    removed: dict[str, int] = {}
    frame = _drop(frame, removed, "closer to a settlement than the minimum distance",
                  _far_from_settlements(frame, settlements, _min_distance(step, params)))
    if step.exclude_file is not None:
        frame = _drop(frame, removed, f"inside an excluded area ({Path(step.exclude_file).name})",
                      ~_inside(frame, step.exclude_file, metric_crs))
    if on_network is not None and len(frame):
        frame = _drop(frame, removed, "beyond the snap distance of the network",
                      on_network(frame[["x", "y"]].to_numpy()))
    return frame.reset_index(drop=True), removed


def _type_label(kind: str) -> str:
    return {"iplt": "IPLT", "desludging_depot": "depot sedot tinja", "transfer_station": "dermaga lumpur",
            "ipal_komunal": "IPAL komunal", "mck": "MCK"}[kind]


def _min_distance(step: SitingStep, params: dict) -> float:
    if step.min_distance_settlement_m is not None:
        return step.min_distance_settlement_m
    return value(params, "iplt_min_distance_settlement") if step.type == "iplt" else 0.0


def _drop(frame: pd.DataFrame, removed: dict, reason: str, keep: np.ndarray) -> pd.DataFrame:
    keep = np.asarray(keep, dtype=bool)
    if (~keep).any():
        removed[reason] = int((~keep).sum())
    return frame[keep]


def _far_from_settlements(frame: pd.DataFrame, settlements: gpd.GeoDataFrame, distance: float) -> np.ndarray:
    if distance <= 0 or not len(frame) or not len(settlements):
        return np.ones(len(frame), bool)
    points = shapely.points(frame[["x", "y"]].to_numpy())
    tree = shapely.STRtree(settlements.geometry.to_numpy())
    near, _ = tree.query(points, predicate="dwithin", distance=distance - 1e-6)
    keep = np.ones(len(frame), bool)
    keep[near] = False
    return keep


def _grid(region: shapely.Geometry, spacing: float) -> np.ndarray:
    x0, y0, x1, y1 = region.bounds
    xs = np.arange(x0 + spacing / 2, x1, spacing)
    ys = np.arange(y0 + spacing / 2, y1, spacing)
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    return xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]


def _read_points_or_areas(path: Path, metric_crs: str, what: str) -> gpd.GeoDataFrame:
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{what} file {path} does not exist")
    frame = gpd.read_file(path)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise ValueError(f"{what} file {path} has no geometry: give a GeoPackage or GeoJSON with a CRS")
    if frame.crs is None:
        raise ValueError(f"{what} file {path} has no CRS: save it with one (e.g. EPSG:4326)")
    return frame.to_crs(metric_crs)


def _user_points(path: Path, metric_crs: str, kind: str) -> pd.DataFrame:
    pts = _read_points_or_areas(path, metric_crs, "candidate")
    bad = ~pts.geometry.geom_type.eq("Point")
    if bad.any():
        raise ValueError(f"candidate file {path}: row {int(np.flatnonzero(bad)[0]) + 1} is not a point; "
                         "give candidate sites as points")
    names = pts["name"].astype(str) if "name" in pts else [f"Calon {_type_label(kind)} {i + 1}"
                                                           for i in range(len(pts))]
    return pd.DataFrame({"name": names, "facility_id": None, "origin": "user", "village_code": None,
                         "x": pts.geometry.x.to_numpy(), "y": pts.geometry.y.to_numpy(),
                         "capacity": pts.get("capacity"), "capacity_unit": pts.get("capacity_unit")})


def _inside(frame: pd.DataFrame, path: Path, metric_crs: str) -> np.ndarray:
    areas = _read_points_or_areas(path, metric_crs, "exclusion")
    if not len(frame):
        return np.zeros(0, bool)
    union = shapely.union_all(shapely.make_valid(areas.geometry.to_numpy()))
    return shapely.contains_xy(union, frame["x"].to_numpy(), frame["y"].to_numpy())
