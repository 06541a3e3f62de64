"""The facts the demo region follows (Kabupaten Seruyan's districts, capital, size; see the generator's
docstring), shared by the generator's parts."""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import pandas as pd

SEED = 62_07


METRIC_CRS = "EPSG:32749"


OUTPUT_CRS = "EPSG:4326"


YEAR = 2024


HOUSEHOLDS_PER_SCALE = 42_200  # x ~3.75 persons = ~158,000 people (docs/domain.md §7: 158,282)


SURVEY_SOURCE = "demo (illustrative)"


OPERATOR = "UPTD PAL Seruyan (ilustrasi)"


PILOT_NAME = "SERUYAN BARASIH LLTT (ilustrasi)"


CAPITAL_LONLAT = (112.55, -3.38)  # Kuala Pembuang, at the mouth of the river


class District(NamedTuple):
    """A real kecamatan (docs/domain.md §7) and where the demo puts it."""

    code: str  # Kemendagri
    name: str
    bps_code: str  # from the crosswalk in docs/domain.md §7, never derived from the Kemendagri code
    band: int  # 0 = coastal south ... 4 = hilly north
    side: int  # -1 west bank of the river, +1 east bank
    villages: int  # illustrative; the ten add up to the real 97 desa + 3 kelurahan


DISTRICTS: tuple[District, ...] = (
    District("62.07.01", "Seruyan Hilir", "6208010", 0, -1, 13),
    District("62.07.02", "Seruyan Tengah", "6208040", 3, -1, 13),
    District("62.07.03", "Danau Sembuluh", "6208020", 1, -1, 9),
    District("62.07.04", "Hanau", "6208030", 2, -1, 12),
    District("62.07.05", "Seruyan Hulu", "6208050", 4, -1, 11),
    District("62.07.06", "Seruyan Hilir Timur", "6208011", 0, 1, 8),
    District("62.07.07", "Seruyan Raya", "6208021", 1, 1, 8),
    District("62.07.08", "Danau Seluluk", "6208031", 2, 1, 9),
    District("62.07.09", "Batu Ampar", "6208041", 3, 1, 9),
    District("62.07.10", "Suling Tambun", "6208051", 4, 1, 8),
)


CAPITAL_DISTRICT = "62.07.01"


KELURAHAN_NAMES = ("Kuala Pembuang I", "Kuala Pembuang II")  # the third one is generated


DISTRICT_SEATS = {"62.07.03": "Telaga Pulang", "62.07.06": "Pematang Panjang"}


BBOX = (111.45, -3.54, 112.85, -0.70)


Frames = dict[str, pd.DataFrame | gpd.GeoDataFrame]
