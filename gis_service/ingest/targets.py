"""``import targets``: a district's own targets (its SSK, RPJMD or Renstra), one row per
indicator and year, scoped to the district (a Kemendagri code) or national when no code is given.
Per indicator and year the most specific target wins wherever the region is planned (coverage
gaps, the scale-up plan, the roll-out years), so a district's SSK replaces the national row for
that district only.

Refused, naming the row: an indicator other than aman_pct, layak_pct or babs_pct, a value outside
0-100 %, no year, an unknown area code, the same indicator, year and area twice."""

from __future__ import annotations

import pandas as pd

from gis_service.ingest.checks import codes_in_db, normalise_codes, reject_duplicates
from gis_service.ingest.context import Context
from gis_service.ingest.fields import Field
from gis_service.ingest.writer import upsert

INDICATORS = ("aman_pct", "layak_pct", "babs_pct")

TARGET_FIELDS = [
    Field("indicator", aliases=("indikator", "jenis_target"), required=True),
    Field("year", "int", ("tahun", "thn", "tahun_target"), required=True, minimum=1900, maximum=2100),
    Field("value", "float", ("nilai", "target", "persen", "target_persen", "nilai_target"), required=True,
          minimum=0, maximum=100),
    Field("scope_code", aliases=("kode_wilayah", "kode", "code", "kode_kemendagri", "wilayah")),
    Field("source", aliases=("sumber", "dokumen", "dasar")),
]


def check_targets(ctx: Context) -> None:
    f = ctx.frame
    normalise_codes(ctx, "scope_code", required=False)
    areas = codes_in_db(ctx)
    f["indicator"] = f["indicator"].map(lambda v: str(v).strip().lower() if isinstance(v, str) else v)
    f["_id"] = [f"{i} {y} {c or 'nasional'}" for i, y, c in zip(f["indicator"], f["year"], f["scope_code"])]
    for i, (rid, indicator, code) in enumerate(zip(f["_id"], f["indicator"], f["scope_code"])):
        if ctx.bad[i]:
            continue
        if indicator not in INDICATORS:
            ctx.reject(i, rid, f"unknown indicator {indicator!r}",
                       f"use one of {', '.join(INDICATORS)} (shares of households, in %)")
        elif code is not None and not pd.isna(code) and code not in areas:
            ctx.reject(i, rid, f"unknown area code {code}", "import the admin areas first or fix the code "
                       "(leave it empty for a national target)")
    reject_duplicates(ctx, "_id")


def write_targets(ctx: Context) -> tuple[int, int]:
    good = ctx.good()
    out = pd.DataFrame({"indicator": good["indicator"].to_numpy(object), "year": good["year"].map(int).to_numpy(),
                        "value": good["value"].astype(float).to_numpy(),
                        "scope_code": [None if pd.isna(c) else c for c in good["scope_code"]],
                        "source": [s if isinstance(s, str) and s.strip() else f"imported from {ctx.source}"
                                   for s in good["source"]]})
    return upsert(ctx.conn, "target", out, key=["indicator", "year", "scope_code"], null_keys=("scope_code",))
