"""GeoParquet helpers of the cluster engine: footprint centroids straight from GeoArrow polygons
agree with shapely's, and the dictionary encoding is only asked for columns it can help."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.distributed import geoparquet


def _ring(cx: float, cy: float, radius: float, vertices: int, turn: float) -> list[tuple[float, float]]:
    """A closed star-free polygon ring around (cx, cy): vertices on a circle of varying radius."""
    angles = turn + np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    radii = radius * (0.6 + 0.4 * np.cos(3 * angles) ** 2)
    ring = [(cx + r * np.cos(a), cy + r * np.sin(a)) for r, a in zip(radii, angles)]
    return ring + ring[:1]


footprint = st.tuples(
    st.floats(95.0, 141.0), st.floats(-11.0, 6.0),  # Indonesia, in degrees
    st.floats(2e-5, 5e-3),  # 2 m to 500 m across
    st.integers(3, 12), st.floats(0, 6.3),
    st.booleans(),  # a courtyard
)


@settings(max_examples=60, deadline=None)
@given(st.lists(footprint, min_size=1, max_size=30), st.integers(0, 3))
def test_footprint_centroids_equal_shapely_exterior_centroids(shapes, skip):
    polygons = []
    for cx, cy, radius, vertices, turn, courtyard in shapes:
        shell = _ring(cx, cy, radius, vertices, turn)
        holes = [_ring(cx, cy, radius / 4, 4, turn)] if courtyard else []
        polygons.append(shapely.Polygon(shell, holes))
    polygons.append(shapely.Polygon([(100.0, 1.0), (100.0, 1.0), (100.0, 1.0), (100.0, 1.0)]))  # no area
    kind, coords, offsets = shapely.to_ragged_array(polygons)
    rings = pa.ListArray.from_arrays(pa.array(offsets[0].astype(np.int32)),
                                     geoparquet.points(coords[:, 0], coords[:, 1]))
    column = pa.ListArray.from_arrays(pa.array(offsets[1].astype(np.int32)), rings)
    column = column.slice(min(skip, len(polygons) - 1))  # arrays may start at an offset
    got = geoparquet.polygon_centroids(pa.chunked_array([column]))
    exteriors = [shapely.Polygon(p.exterior) for p in polygons[min(skip, len(polygons) - 1):]]
    want = shapely.get_coordinates(shapely.centroid(exteriors))
    want[-1] = (100.0, 1.0)  # a ring without area: the mean of its vertices
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-9  # degrees: about 0.1 mm


def test_each_column_is_written_in_the_encoding_that_suits_it(tmp_path):
    """Ids delta-coded, coordinates and costs split by byte, codes and facility ids in a
    dictionary; the file reads back the same, empty or not."""
    import pyarrow.parquet as pq

    n = 3_000
    table = pa.table({
        "id": pa.array(np.arange(n) * 7 + 10**9), "facility_id": pa.array(np.arange(n) % 5),
        "village_code": pa.array(["62.07.01.2001", None, "62.07.01.2002"] * (n // 3)),
        "cost": pa.array(np.linspace(0, 1, n)), "geometry": geoparquet.points(np.full(n, 112.0), np.linspace(-2, -1, n)),
        "bbox": geoparquet.bbox_column(*[np.linspace(1, 2, n)] * 4),
        "outline": pa.array([[[{"x": 1.0, "y": 2.0}]]] * n)})
    options = geoparquet.write_options(table)
    assert options["use_dictionary"] == ["facility_id", "village_code"]
    assert options["column_encoding"] == {
        "id": "DELTA_BINARY_PACKED", "cost": "BYTE_STREAM_SPLIT", "geometry.x": "BYTE_STREAM_SPLIT",
        "geometry.y": "BYTE_STREAM_SPLIT", **{f"bbox.{k}": "BYTE_STREAM_SPLIT" for k in ("xmin", "ymin", "xmax", "ymax")},
        "outline.list.element.list.element.x": "BYTE_STREAM_SPLIT",
        "outline.list.element.list.element.y": "BYTE_STREAM_SPLIT"}
    for rows in (table, table.slice(0, 0)):
        path = tmp_path / f"t{len(rows)}.parquet"
        geoparquet.write(rows, path, encoding="point", geometry_type="Point")
        assert pq.read_table(path).select(table.column_names).equals(rows)
    meta = pq.read_metadata(tmp_path / f"t{n}.parquet").row_group(0)
    used = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "DELTA_BINARY_PACKED" in used["id"] and "BYTE_STREAM_SPLIT" in used["geometry.x"]
    assert "RLE_DICTIONARY" in used["facility_id"] and "RLE_DICTIONARY" not in used["id"]


def test_polygons_are_read_as_geopandas_reads_them(tmp_path):
    """Villages with a hole and a multipolygon, in GeoArrow and WKB, with a row filter: the same
    rows and geometries as geopandas gives."""
    import geopandas as gpd
    import pyarrow.compute as pc

    shells = [shapely.box(112 + k * 0.01, -2, 112.008 + k * 0.01, -1.99) for k in range(6)]
    shells[1] = shells[1].difference(shapely.box(112.011, -1.998, 112.013, -1.996))  # a hole
    frame = gpd.GeoDataFrame({"code": [f"62.0{k % 2 + 1}.01.200{k}" for k in range(6)]}, geometry=shells,
                             crs="EPSG:4326")
    multi = frame.copy()
    multi.loc[3, "geometry"] = shapely.MultiPolygon([shells[3], shapely.box(113, -2, 113.001, -1.999)])
    for name, data, encoding in (("polygon", frame, "geoarrow"), ("multi", multi, "geoarrow"),
                                 ("wkb", multi, "WKB")):
        path = tmp_path / f"{name}.parquet"
        data.to_parquet(path, geometry_encoding=encoding)
        wanted = pc.starts_with(pc.field("code"), "62.02.")
        rest, polygons = geoparquet.read_polygons(path, ["code"], filters=wanted)
        expected = gpd.read_parquet(path, filters=wanted)
        assert rest.column("code").to_pylist() == expected["code"].tolist() == ["62.02.01.2001", "62.02.01.2003",
                                                                                 "62.02.01.2005"]
        assert len(polygons) == 3 and all(shapely.equals_exact(polygons, expected.geometry.to_numpy(), 0))
