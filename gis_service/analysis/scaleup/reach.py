"""Which demand cells each facility (fixed or candidate) reaches, and in how many minutes: the
coverage engine's network travel times (road, river by boat, paths), never straight lines, except
for piped systems whose reach is their pipe radius (metres)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from gis_service.analysis import network as net
from gis_service.analysis.coverage import buffer_pairs
from gis_service.analysis.parameters import SERVICE_OF_TYPE, value


@dataclass
class Pairs:
    facility: np.ndarray  # index into the facility array given
    cell: np.ndarray
    cost: np.ndarray  # minutes (network) or metres (radius)
    unit: str


@dataclass
class Reacher:
    """Builds each mode set's graph once and answers reach queries for a plan."""

    edges: gpd.GeoDataFrame
    net_params: net.NetworkParams
    params: dict
    graphs: dict[frozenset, net.Graph] = field(default_factory=dict)

    def graph(self, modes: frozenset) -> net.Graph:
        if modes not in self.graphs:
            self.graphs[modes] = net.build_graph(self.edges, modes=set(modes), params=self.net_params)
        return self.graphs[modes]

    def limit(self, facility_type: str) -> float:
        service = SERVICE_OF_TYPE[facility_type]
        if service == "offsite":
            return value(self.params, "ipal_komunal_radius_m")
        if service == "mck":
            return value(self.params, "mck_walk_minutes")
        return value(self.params, "lltt_max_travel_min")

    def pairs(self, facility_type: str, fac_xy: np.ndarray, modes: list[frozenset],
              cell_xy: np.ndarray) -> Pairs:
        """Every (facility, cell) pair within the type's limit (inclusive)."""
        limit = self.limit(facility_type)
        if SERVICE_OF_TYPE[facility_type] == "offsite":
            f, c, d = buffer_pairs(fac_xy, cell_xy, limit)
            return Pairs(f, c, d, "m")
        out_f, out_c, out_m = [], [], []
        for group in sorted(set(modes), key=sorted):
            idx = np.flatnonzero([m == group for m in modes])
            reach = net.facility_to_points(self.graph(group), fac_xy[idx], cell_xy,
                                           params=self.net_params, limit_min=limit)
            out_f.append(idx[reach.facility])
            out_c.append(reach.point)
            out_m.append(reach.minutes)
        if not out_f:
            return Pairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), "min")
        return Pairs(np.concatenate(out_f), np.concatenate(out_c), np.concatenate(out_m), "min")

    def nodes(self, modes: frozenset) -> np.ndarray:
        """Node coordinates of a mode set's network (junctions, landings)."""
        return self.graph(modes).node_xy

    def on_network(self, xy: np.ndarray, modes: frozenset) -> np.ndarray:
        """Whether each point is within the snap distance of the mode set's network (a candidate
        must be reachable by road or from a landing)."""
        node = net.snap_facilities(self.graph(modes), xy, params=self.net_params, layers=None)
        return node >= 0
