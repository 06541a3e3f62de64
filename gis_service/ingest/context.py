"""State shared by the steps of one import: the canonical frame, its row numbers, the report."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from sqlalchemy import Connection

from gis_service.ingest.report import ImportReport
from gis_service.settings import Region


@dataclass
class ImportOptions:
    """What the user said on the command line (or a caller in code)."""

    source: str | None = None  # data source name; default: the file name
    title: str | None = None
    licence: str | None = None
    illustrative: bool = False  # generated data (the demo): never presented as real
    crs: str | None = None  # overrides or supplies the file's CRS
    layer: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # canonical field -> column
    skip_bad: bool = False
    swap_xy: bool = False
    region_check: bool = True
    plain_codes: bool = False
    year: int | None = None
    dry_run: bool = False


@dataclass
class Context:
    conn: Connection
    frame: gpd.GeoDataFrame  # canonical columns + "geometry"
    rows: np.ndarray  # 1-based record numbers in the file
    bad: np.ndarray  # rejected so far
    report: ImportReport
    options: ImportOptions
    region: Region
    source: str
    decimal: str = "."  # the file's decimal mark: "," in an id-ID Excel export (1.234,5)

    def reject(self, i: int, record: object, reason: str, fix: str = "") -> None:
        if not self.bad[i]:
            self.report.reject(int(self.rows[i]), record, reason, fix)
        self.bad[i] = True

    def good(self) -> gpd.GeoDataFrame:
        return self.frame[~self.bad]
