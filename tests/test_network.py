"""Network travel times: hand-computed small networks, pgRouting as an oracle, load from PostGIS.

Hand-built geometries are straight axis-aligned lines in EPSG:32749 so every length is exact, and
speeds are picked so minutes are round (1000 m at 60 km/h = 1 min; walking 4 km/h = 15 min/km).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import text

from gis_service.analysis import network
from gis_service.analysis.network import (
    NetworkParams,
    build_graph,
    facility_to_points,
    nearest_facilities,
    load_edges,
    snap,
    travel_times,
)
from gis_service.settings import Settings

CRS = "EPSG:32749"
PARAMS = NetworkParams.from_config(Settings().network_config())


def _frame(*edges: tuple) -> gpd.GeoDataFrame:
    """Edges as (mode, class, speed_kmh, oneway, [(x, y), ...]); length_m left to the geometry."""
    rows = [{"id": i + 1, "mode": m, "class": c, "speed_kmh": s, "oneway": o, "length_m": np.nan}
            for i, (m, c, s, o, _) in enumerate(edges)]
    return gpd.GeoDataFrame(rows, geometry=[shapely.LineString(e[4]) for e in edges], crs=CRS)


def _node(graph, x: float, y: float, layer: str = "land") -> int:
    hit = np.flatnonzero((graph.node_xy == (x, y)).all(axis=1) & (graph.node_layer == layer))
    assert len(hit) == 1, (x, y, layer)
    return int(hit[0])


def _times(graph, source: int, limit: float) -> dict[int, float]:
    """Reached nodes of one source as {node: minutes}, read from the stored entries."""
    row = travel_times(graph, np.array([source]), limit_min=limit)
    return dict(zip(row.indices.tolist(), row.data.tolist()))


# ---- hand-computed networks ------------------------------------------------------------------

def test_params_from_network_yml():
    assert PARAMS.speeds["road"]["primary"] == 50 and PARAMS.speeds["river"]["default"] == 10
    slower = NetworkParams.from_config(Settings().network_config(), walk_speed_kmh=3)
    assert slower.walk_speed_kmh == 3 and slower.speeds == PARAMS.speeds
    with pytest.raises(ValueError, match="default"):
        NetworkParams(speeds={"road": {"primary": 50}})


def test_oneway_road():
    oneway = ("road", "primary", 60.0, True, [(0, 0), (1000, 0)])
    graph = build_graph(_frame(oneway), modes={"road"}, params=PARAMS)
    a, b = _node(graph, 0, 0), _node(graph, 1000, 0)
    assert _times(graph, a, 60) == {a: 0.0, b: 1.0}
    assert _times(graph, b, 60) == {b: 0.0}  # the source itself is stored as an explicit zero

    block = ([(1000, 0), (1000, 1000)], [(1000, 1000), (0, 1000)], [(0, 1000), (0, 0)])
    detour = [("road", "primary", 60.0, False, line) for line in block]
    graph = build_graph(_frame(oneway, *detour), modes={"road"}, params=PARAMS)
    a, b = _node(graph, 0, 0), _node(graph, 1000, 0)
    assert _times(graph, a, 60)[b] == 1.0
    assert _times(graph, b, 60)[a] == 3.0  # back only round the block


def _river_village() -> gpd.GeoDataFrame:
    """Depot D (0,0) -road 1 min- landing L (1000,0) -river 12 min- village landing (1000,2400)."""
    return _frame(("road", "primary", 60.0, False, [(0, 0), (1000, 0)]),
                  ("river", "river", None, False, [(1000, 0), (1000, 2400)]))


def test_river_only_village():
    edges, village = _river_village(), np.array([[1000.0, 2600.0]])  # 200 m inland: 3 min walk

    boat = build_graph(edges, modes={"river"}, params=PARAMS)
    reach = facility_to_points(boat, np.array([[1000.0, 0.0]]), village, params=PARAMS,
                               limit_min=60)
    assert reach.minutes.tolist() == [12 + 10 + 3]  # leaving the boat at the village: a landing

    truck = build_graph(edges, modes={"road"}, params=PARAMS)
    assert snap(truck, village, params=PARAMS)[0].tolist() == [-1]
    assert len(facility_to_points(truck, np.array([[0.0, 0.0]]), village, params=PARAMS,
                                  limit_min=600).point) == 0

    both = build_graph(edges, modes={"road", "river"}, params=PARAMS)
    d, v = _node(both, 0, 0), _node(both, 1000, 2400, "river")
    land_l, river_l = _node(both, 1000, 0), _node(both, 1000, 0, "river")
    assert _times(both, d, 60) == {d: 0.0, land_l: 1.0, river_l: 11.0, v: 23.0}  # one transfer
    assert _times(both, v, 60)[d] == 23.0  # and one on the way back
    reach = facility_to_points(both, np.array([[0.0, 0.0]]), np.vstack([village, [[1000, -100]]]),
                               params=PARAMS, limit_min=60)
    assert reach.point.tolist() == [0, 1]
    assert reach.minutes.tolist() == [1 + 10 + 12 + 10 + 3, 1 + 1.5]  # by the landing: on foot
    node, minutes = snap(both, np.array([[1000.0, -100.0]]), params=PARAMS)
    assert (node.tolist(), minutes.tolist()) == ([land_l], [1.5])  # land node wins at a landing


def test_band_edges_are_inclusive():
    chain = [("road", "primary", None, False, [(i * 1000, 0), ((i + 1) * 1000, 0)])
             for i in range(51)]  # 1.2 min per km, summed 50 times: float noise around 60
    graph = build_graph(_frame(*chain), modes={"road"}, params=PARAMS)
    times = _times(graph, _node(graph, 0, 0), 60)
    assert _node(graph, 50_000, 0) in times and times[_node(graph, 50_000, 0)] == pytest.approx(60)
    assert _node(graph, 51_000, 0) not in times

    road = _frame(("road", "primary", 60.0, False, [(0, 0), (57_000, 0)]))
    graph = build_graph(road, modes={"road"}, params=PARAMS)
    params = NetworkParams(speeds=PARAMS.speeds, walk_speed_kmh=6.0)  # 100 m per minute
    points = np.array([[57_000, 300.0], [57_000, 301.0], [57_300, 0.0], [-200.0, 0]])
    facility = np.array([[0.0, 200.0]])  # a depot 200 m off the road: no access time
    reach = facility_to_points(graph, facility, points, params=params, limit_min=60)
    assert reach.point.tolist() == [0, 2, 3]
    assert reach.minutes.tolist() == [60.0, 60.0, 2.0]
    assert reach.facility.tolist() == [0, 0, 0]


def test_snapping_walks_and_caps():
    graph = build_graph(_frame(("road", "primary", 60.0, False, [(0, 0), (1000, 0)])),
                        modes={"road"}, params=PARAMS)
    node, minutes = snap(graph, np.array([[0, 300.0], [1000, -500.0], [1000, -501.0]]),
                         params=PARAMS)
    assert node.tolist() == [_node(graph, 0, 0), _node(graph, 1000, 0), -1]
    assert minutes.tolist() == [4.5, 7.5, np.inf]  # 300 m and 500 m at 4 km/h; 501 m: too far
    reach = facility_to_points(graph, np.array([[0, 0.0], [0, 600.0]]),
                               np.array([[1000, 300.0]]), params=PARAMS, limit_min=60)
    assert (reach.facility.tolist(), reach.minutes.tolist()) == ([0], [1 + 4.5])


def test_speeds_from_class_table():
    edges = _frame(("road", "primary", None, True, [(0, 0), (1000, 0)]),          # 50 km/h
                   ("road", "Primary", 60.0, True, [(0, 10), (1000, 10)]),        # own speed wins
                   ("road", "no_such_class", None, True, [(0, 20), (1000, 20)]),  # default 20
                   ("road", None, None, True, [(0, 30), (1000, 30)]),             # default 20
                   ("path", "steps", None, True, [(0, 40), (1000, 40)]),          # 2 km/h
                   ("river", "canal", None, True, [(0, 50), (1000, 50)]))         # 8 km/h
    graph = build_graph(edges, modes={"road", "path", "river"}, params=PARAMS)
    u, v = graph.edge_nodes.T
    assert np.asarray(graph.csr[u, v]).ravel().tolist() == [1.2, 1.0, 3.0, 3.0, 30.0, 7.5]
    assert graph.edge_ids.tolist() == [1, 2, 3, 4, 5, 6]


def test_nodes_merge_within_tolerance_only():
    edges = _frame(("road", "primary", 60.0, False, [(0, 0), (1000, 0)]),
                   ("road", "primary", 60.0, False, [(1000.5, 0), (2000.5, 0)]),
                   ("road", "primary", 60.0, False, [(2002.5, 0), (3000, 0)]),
                   ("path", "path", 60.0, False, [(0, 0), (0, 1000)]),
                   ("road", "primary", 30.0, False, [(0, 1000), (0, 0)]))  # parallel, slower
    graph = build_graph(edges, modes={"road", "path"}, params=PARAMS)
    times = _times(graph, _node(graph, 0, 0), 60)
    assert times[_node(graph, 2000.5, 0)] == 2.0  # 0.5 m gap: one node
    assert _node(graph, 3000, 0) not in times  # 2 m gap: not joined
    assert times[_node(graph, 0, 1000)] == 1.0  # road and path share nodes; fastest parallel kept
    assert graph.n_nodes == 6


# ---- random networks: oracle and vectorised joins ---------------------------------------------

def _random_network(seed: int, k: int = 13, river_column: int | None = None):
    """A jittered k x k grid: some edges dropped, some one-way, road/path, own or class speeds.

    Returns the frame, node coordinates and each edge's (from, to, minutes, oneway), computed here
    independently of the module.
    """
    rng = np.random.default_rng(seed)
    ix, iy = np.divmod(np.arange(k * k), k)
    xy = np.column_stack([ix, iy]) * 400.0 + rng.uniform(-80, 80, (k * k, 2))
    grid = np.arange(k * k).reshape(k, k)
    a = np.concatenate([grid[:-1].ravel(), grid[:, :-1].ravel()])
    b = np.concatenate([grid[1:].ravel(), grid[:, 1:].ravel()])
    keep = rng.random(len(a)) > 0.12
    a, b = a[keep], b[keep]
    river = (ix[a] == river_column) & (ix[b] == river_column) if river_column is not None \
        else np.zeros(len(a), bool)
    mode = np.where(river, "river", np.where(rng.random(len(a)) < 0.3, "path", "road"))
    classes = {"road": ["primary", "tertiary", "track", "mystery"], "path": ["footway", "steps"],
               "river": ["river"]}
    cls = np.array([rng.choice(classes[m]) for m in mode], dtype=object)
    own = np.where(rng.random(len(a)) < 0.3, rng.uniform(5, 70, len(a)), np.nan)
    oneway = (rng.random(len(a)) < 0.2) & ~river
    speed = np.where(np.isnan(own), [PARAMS.speeds[m].get(c, PARAMS.speeds[m]["default"])
                                     for m, c in zip(mode, cls)], own)
    length = np.hypot(*(xy[b] - xy[a]).T)
    lines = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1))
    frame = gpd.GeoDataFrame({"id": np.arange(len(a)) + 1, "mode": mode, "class": cls,
                              "speed_kmh": own, "oneway": oneway, "length_m": np.nan},
                             geometry=lines, crs=CRS)
    return frame, xy, (a, b, length * 60 / (speed * 1000), oneway)


def test_travel_times_match_pgrouting(engine):
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'")).first():
            pytest.skip("pgRouting is not installed on this server")
    frame, xy, (a, b, minutes, oneway) = _random_network(seed=7)
    graph = build_graph(frame, modes={"road", "path"}, params=PARAMS)
    dist, ours = cKDTree(graph.node_xy).query(xy)  # the generator's node k is our node ours[k]
    assert dist.max() == 0
    rows = [{"id": i + 1, "s": int(s) + 1, "t": int(t) + 1, "c": float(c),
             "r": -1.0 if o else float(c)}
            for i, (s, t, c, o) in enumerate(zip(a, b, minutes, oneway))]
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE e (id bigint, source bigint, target bigint, cost float8, "
                          "reverse_cost float8)"))
        conn.execute(text("INSERT INTO e VALUES (:id, :s, :t, :c, :r)"), rows)
        starts = [1, 50, 85, 169]  # generator ids (1-based): corners and the middle
        pgr = conn.execute(text(
            "SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCost("
            "'SELECT id, source, target, cost, reverse_cost FROM e', CAST(:starts AS bigint[]), "
            "(SELECT array_agg(DISTINCT v) FROM (SELECT source FROM e UNION SELECT target FROM e) "
            "x(v)), directed := true)"), {"starts": starts}).all()
    limit = 12.0
    times = travel_times(graph, ours[np.array(starts) - 1], limit_min=limit)
    max_rel = 0.0
    for i, start in enumerate(starts):
        expected = {ours[end - 1]: cost for s, end, cost in pgr if s == start and cost <= limit}
        expected[ours[start - 1]] = 0.0
        got = dict(zip(times[i].indices.tolist(), times[i].data.tolist()))
        assert set(got) == set(expected)
        rel = [abs(got[n] - c) / max(c, 1e-12) for n, c in expected.items()]
        max_rel = max(max_rel, *rel)
    assert max_rel <= 1e-9  # the same sums, up to float rounding in the order of addition
    assert 100 < times.nnz < len(pgr) / 1.5  # the limit cuts about half of what is reachable


def test_chunked_sources_equal_one_at_a_time():
    frame, _, _ = _random_network(seed=3, k=15, river_column=7)
    graph = build_graph(frame, modes={"road", "path", "river"}, params=PARAMS)
    sources = np.random.default_rng(1).choice(graph.n_nodes, 40)  # with repeats
    many = travel_times(graph, sources, limit_min=30, chunk_rows=7)
    assert many.shape == (40, graph.n_nodes)
    for i, source in enumerate(sources):
        one = travel_times(graph, np.array([source]), limit_min=30)
        assert many[i].indices.tolist() == one.indices.tolist()
        assert many[i].data.tolist() == one.data.tolist()
        assert dict(zip(one.indices, one.data))[source] == 0.0
    assert (travel_times(graph, sources, limit_min=30) != many).nnz == 0  # default chunking


@pytest.mark.parametrize("limit", [8.0, 25.0, 400.0])
def test_pruned_travel_times_equal_the_dense_ones(monkeypatch, limit):
    """Large graphs compute each chunk of neighbouring sources on the nodes they reach: the rows
    must be those of the dense dijkstra, in the caller's order (repeats and one-way arcs too)."""
    frame, _, _ = _random_network(seed=7, k=25, river_column=12)
    graph = build_graph(frame, modes={"road", "path", "river"}, params=PARAMS)
    sources = np.random.default_rng(3).choice(graph.n_nodes, 70)
    dense = travel_times(graph, sources, limit_min=limit)  # a small graph: dense rows
    monkeypatch.setattr(network, "_PRUNE_MIN_NODES", 1)
    for rows in (None, 1, 7):
        pruned = travel_times(graph, sources, limit_min=limit, chunk_rows=rows)
        assert pruned.shape == dense.shape and pruned.nnz == dense.nnz
        assert np.array_equal(pruned.indptr, dense.indptr)
        assert np.array_equal(pruned.indices, dense.indices)
        assert np.array_equal(pruned.data, dense.data)  # the same sums: exact
    assert 0 < dense.nnz < len(sources) * graph.n_nodes or limit == 400.0


def test_facility_to_points_matches_brute_force():
    frame, _, _ = _random_network(seed=5, k=15, river_column=7)
    graph = build_graph(frame, modes={"road", "river"}, params=PARAMS)
    assert (graph.node_layer == "river").sum() > 0
    rng = np.random.default_rng(2)
    facilities = rng.uniform(-300, 6000, (12, 2))
    points = rng.uniform(-300, 6000, (400, 2))
    limit = 40.0
    reach = facility_to_points(graph, facilities, points, params=PARAMS, limit_min=limit)

    full = dijkstra(graph.csr, directed=True)
    expected = {}
    for f, fxy in enumerate(facilities):  # plain loops: the slow, obvious reading of the rules
        dist = np.hypot(*(graph.node_xy - fxy).T)
        if dist.min() > PARAMS.max_snap_m:
            continue
        key = np.where(dist <= PARAMS.max_snap_m, dist, np.inf) + (graph.node_layer == "river")
        fnode = int(np.argmin(key))  # land wins within the 1 m node tolerance
        for p, pxy in enumerate(points):
            best = np.inf
            for layer in ("land", "river"):
                on = np.flatnonzero(graph.node_layer == layer)
                d = np.hypot(*(graph.node_xy[on] - pxy).T)
                if len(on) and d.min() <= PARAMS.max_snap_m:
                    walk = d.min() / (4000 / 60) + (10.0 if layer == "river" else 0.0)
                    best = min(best, full[fnode, on[np.argmin(d)]] + walk)
            if best <= limit:
                expected[(f, p)] = best
    got = dict(zip(zip(reach.facility.tolist(), reach.point.tolist()), reach.minutes.tolist()))
    assert set(got) == set(expected) and len(got) > 50
    assert max(abs(got[k] - expected[k]) for k in got) < 1e-9
    assert np.all(np.diff(reach.point * 100 + reach.facility) > 0)  # sorted by point, facility


@pytest.mark.parametrize("modes", [{"road"}, {"road", "river"}])
def test_nearest_facilities_rank_like_the_pairs(modes):
    """Ranked per node and handed to the points (merging land and river joins), the k nearest
    equal the k cheapest (facility, point) pairs of facility_to_points."""
    frame, _, _ = _random_network(seed=5, k=15, river_column=7)
    graph = build_graph(frame, modes=modes, params=PARAMS)
    rng = np.random.default_rng(4)
    facilities, points = rng.uniform(-300, 6000, (12, 2)), rng.uniform(-300, 6000, (400, 2))
    reach = facility_to_points(graph, facilities, points, params=PARAMS, limit_min=40.0)
    f, m = nearest_facilities(graph, facilities, points, params=PARAMS, limit_min=40.0, k=3)
    for p in range(len(points)):
        mine = sorted(zip(reach.minutes[reach.point == p], reach.facility[reach.point == p]))[:3]
        got = [(m[p, j], f[p, j]) for j in range(3) if f[p, j] >= 0]
        assert [c for c, _ in got] == pytest.approx([c for c, _ in mine], abs=1e-9)
        assert {x for _, x in got} == {x for _, x in mine} or len({c for c, _ in mine}) < len(mine)
    assert (f[:, 0] >= 0).sum() > 100


# ---- PostGIS --------------------------------------------------------------------------------

def test_load_edges_reads_network_edge_in_metric_crs(engine):
    wkt = ["LINESTRING(112.30 -2.80, 112.31 -2.80)", "LINESTRING(112.31 -2.80, 112.31 -2.79)",
           "LINESTRING(112.31 -2.79, 112.32 -2.785, 112.33 -2.79)", "LINESTRING(112 -3, 112.1 -3)"]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO data_source (name, title) VALUES ('t', 'test'), ('x', 'x')"))
        conn.execute(text(
            "INSERT INTO network_edge (source, source_id, mode, class, speed_kmh, oneway, geom) "
            "VALUES (:src, :sid, :mode, :cls, :speed, :oneway, ST_GeomFromText(:wkt, 4326))"),
            [{"src": "t", "sid": "a", "mode": "road", "cls": "primary", "speed": None,
              "oneway": False, "wkt": wkt[0]},
             {"src": "t", "sid": "b", "mode": "river", "cls": "river", "speed": None,
              "oneway": False, "wkt": wkt[1]},
             {"src": "t", "sid": "c", "mode": "path", "cls": "footway", "speed": 5.0,
              "oneway": True, "wkt": wkt[2]},
             {"src": "x", "sid": "z", "mode": "road", "cls": None, "speed": None,
              "oneway": False, "wkt": wkt[3]}])
        expected = dict(conn.execute(text(
            "SELECT id, ST_Length(ST_Transform(geom, 32749)) FROM network_edge WHERE source = 't'"
        )).all())
        start_x = conn.execute(text(
            "SELECT ST_X(ST_StartPoint(ST_Transform(geom, 32749))) FROM network_edge "
            "WHERE source_id = 'a'")).scalar()
        edges = load_edges(conn, metric_crs=CRS, source="t")
    assert edges.crs == CRS
    assert list(edges.columns) == ["id", "mode", "class", "speed_kmh", "oneway", "length_m",
                                   "geometry"]
    assert edges["mode"].tolist() == ["road", "river", "path"]
    assert edges["speed_kmh"].isna().tolist() == [True, True, False]
    assert edges["length_m"].to_numpy() == pytest.approx(
        [expected[i] for i in edges["id"]], rel=1e-9)
    assert edges.geometry.iloc[0].coords[0][0] == pytest.approx(start_x, abs=1e-6)
    assert len(load_edges(engine, metric_crs=CRS)) == 4

    graph = build_graph(edges, modes={"road", "river", "path"}, params=PARAMS)
    assert (graph.node_layer == "river").sum() == 2
    assert graph.csr.nnz == 2 + 2 + 1 + 4  # both river ends are landings: transfer arcs both ways


def test_a_road_ending_near_the_river_is_a_landing():
    """Road data rarely ends exactly on the river line: within landing_snap_m it still connects,
    paying the landing penalty plus the walk across the gap."""
    x0, y0 = 700_000.0, 9_650_000.0
    lines = [shapely.LineString([(x0, y0), (x0 + 1000, y0)]),  # road, 1 min at 60 km/h
             shapely.LineString([(x0 + 1000, y0 + 30), (x0 + 2000, y0 + 30)])]  # river, 30 m away
    edges = gpd.GeoDataFrame({"id": [1, 2], "mode": ["road", "river"], "class": ["x", "river"],
                              "speed_kmh": [60.0, 60.0], "oneway": [False, False],
                              "length_m": [1000.0, 1000.0]}, geometry=lines, crs=32749)
    config = {"road": {"default": 60}, "river": {"default": 60}, "path": {"default": 4}}
    depot, house = np.array([[x0, y0]]), np.array([[x0 + 2000, y0 + 30]])
    near = NetworkParams.from_config(config, landing_snap_m=50.0, landing_penalty_min=10.0)
    reach = facility_to_points(build_graph(edges, modes={"road", "river"}, params=near), depot,
                                   house, params=near, limit_min=60)
    # road 1 + landing 10 + walk 30 m (0.45) + river 1 + the house's own boat landing 10
    assert reach.minutes.tolist() == pytest.approx([22.45])
    far = NetworkParams.from_config(config, landing_snap_m=10.0, landing_penalty_min=10.0)
    cut = facility_to_points(build_graph(edges, modes={"road", "river"}, params=far), depot,
                                 house, params=far, limit_min=60)
    assert len(cut.minutes) == 0
