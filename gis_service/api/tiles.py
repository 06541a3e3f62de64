"""Mapbox vector tiles for every layer (OGC API – Tiles, WebMercatorQuad), plugged into pygeoapi
by class path. pygeoapi's own MVT-postgresql provider transforms with text CRS names (≈16 ms a
row on this PostGIS/PROJ, docs/benchmarks.md) and has no feature cap; this one is one
hand-written statement with integer SRIDs, the index-friendly ``&&`` on the stored EPSG:4326
geometry, a per-layer zoom range and a cap on features per tile."""

from __future__ import annotations

from pygeoapi.models.provider.base import TileMatrixSetEnum
from pygeoapi.provider.tile import ProviderTileNotFoundError
from pygeoapi.provider.mvt_postgresql import MVTPostgreSQLProvider
from sqlalchemy import text

EXTENT, BUFFER = 4096, 64  # MVT tile extent and its buffer (pixels of 1/4096 of a tile)
WORLD_M = 40075016.68557849  # width of the WebMercatorQuad world, metres
COARSE_PARALLEL_WORKERS = 2
"""The serving engine runs without parallel query workers (``db.engine.make_serving_engine``); a
tile coarser than ``simplify.below_zoom`` gets this many back (PostgreSQL's default): the province
network at z9 is 600 KB and takes 120 ms with a worker, 220 ms without."""


class FastMVTProvider(MVTPostgreSQLProvider):
    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        self._engine = provider_def.get("engine", self._engine)  # the hot paths lend the API's pool
        zoom = self.options.get("zoom", {})
        self.minzoom, self.maxzoom = int(zoom.get("min", 0)), int(zoom.get("max", 22))
        self.max_features = int(provider_def.get("max_features", 20000))
        self.layer_name = provider_def.get("layer", self.table)
        # at coarse zooms lines and polygons are simplified to a fraction of a tile pixel before
        # ST_AsMVTGeom snaps them to the tile grid: fewer vertices to clip and repair, the same
        # drawing (province network, z9: 220 ms instead of 275); at finer zooms there is little to
        # remove and simplifying costs more than it saves (z11: 51 ms against 44)
        simplify = self.options.get("simplify", {})
        self.simplify_px = float(simplify.get("pixels", 0))
        self.simplify_below = int(simplify.get("below_zoom", 11))
        quote = self._engine.dialect.identifier_preparer.quote
        columns_by_name = self.table_model.__table__.columns
        public = provider_def.get("properties")  # the layer's public properties, as for features
        props = [c for c in self.get_fields() if c != self.id_field and (public is None or c in public)]
        columns = "".join(f", t.{quote(c)}" for c in props)
        # an integer id is the MVT feature id (what map clients key feature state on); any other
        # id travels as the attribute "id"
        integer_id = columns_by_name[self.id_field].type.python_type is int
        key = f"t.{quote(self.id_field)} AS fid" if integer_id else f"t.{quote(self.id_field)}::text AS id"
        geometry = f"ST_Transform(t.{quote(self.geom)}, 3857)"
        self._sql, self._sql_simplified = (text(
            "WITH tile AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m) "
            f"SELECT ST_AsMVT(f, :layer, {EXTENT}, 'mvtgeom'{', ' + repr('fid') if integer_id else ''}) FROM ("
            f"SELECT {key}{columns}, "
            f"ST_AsMVTGeom({shape}, tile.m, {EXTENT}, {BUFFER}, true) AS mvtgeom "
            f"FROM {quote(self.table)} t, tile "
            f"WHERE t.{quote(self.geom)} && ST_Transform(ST_Expand(tile.m, (ST_XMax(tile.m) - ST_XMin(tile.m)) "
            f"* {BUFFER} / {EXTENT}), 4326) LIMIT :cap) f WHERE f.mvtgeom IS NOT NULL")
            for shape in (geometry, f"ST_Simplify({geometry}, :tolerance, true)"))

    def get_layer(self) -> str:
        """The MVT layer is named after the collection, not the view behind it."""
        return self.layer_name

    def get_tiling_schemes(self):
        return [TileMatrixSetEnum.WEBMERCATORQUAD.value]

    def get_tiles(self, layer="default", tileset=None, z=None, y=None, x=None, format_=None):
        try:
            z, y, x = map(int, (z, y, x))
        except (TypeError, ValueError):
            raise ProviderTileNotFoundError(f"no tile {tileset}/{z}/{y}/{x}: indices are whole numbers")
        scheme = TileMatrixSetEnum.WEBMERCATORQUAD.value
        if tileset != scheme.tileMatrixSet or not self.minzoom <= z <= self.maxzoom or min(x, y) < 0 \
                or not self.is_in_limits(scheme, z, x, y):
            raise ProviderTileNotFoundError(f"no tile {tileset}/{z}/{y}/{x} for {layer} "
                                            f"(zoom {self.minzoom}-{self.maxzoom})")
        simplify = self.simplify_px > 0 and z < self.simplify_below
        with self._engine.connect() as conn:
            if z < self.simplify_below:  # a coarse tile holds the whole layer: worth a parallel worker
                conn.execute(text(f"SET LOCAL max_parallel_workers_per_gather = {COARSE_PARALLEL_WORKERS}"))
            tile = conn.execute(self._sql_simplified if simplify else self._sql,
                                {"z": z, "x": x, "y": y, "layer": layer, "cap": self.max_features,
                                 "tolerance": self.simplify_px * WORLD_M / (EXTENT * 2 ** z)}).scalar()
        # an empty tile is an empty body with 200: pygeoapi answers None with a 204 that carries
        # an error document, which HTTP forbids (the server then drops the connection)
        return bytes(tile) if tile else b""

    def __repr__(self) -> str:
        return f"<FastMVTProvider> {self.table}"
