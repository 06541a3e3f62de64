"""The pilot's two imports.

``import pilots``: the trial's monthly (or other period) totals per pilot, which calibrate a
scale-up plan (``scaleup calibrate``).

``import pilot_events``: the operator's log of a pilot, one row per emptying attempt (CSV, XLSX,
GeoJSON or a Kobo/ODK export of forms/logbook_lltt.xlsx). Each row names its pilot (as imported
with ``import pilots``), its day (inside the pilot's period), how it ended (done, cancelled,
failed; selesai, batal, gagal), where (a village code, or a location inside a village) and, for a
done emptying, the volume pumped; optionally the volume the IPLT received, the round trip, the fee
billed and paid and a complaint with the days it took to resolve.

Refused, naming the row: an unknown pilot, a day outside the pilot's period, a done row without
its volume, a volume on a row not done, more delivered than pumped, a negative volume, fee or
time, a complaint's days without a complaint, no village. The rules are the table's own
constraints (``pilot_event``), checked first so that nothing is half-written."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from gis_service.ingest.checks import base_columns, check_village_codes, codes_in_db, record_ids, reject_duplicates
from gis_service.ingest.codes import CodeError, normalise_code
from gis_service.ingest.context import Context
from gis_service.ingest.fields import Field
from gis_service.ingest.geometry import GeomRule
from gis_service.ingest.writer import upsert
from gis_service.vocabulary import EventStatus, InstitutionType

COUNT = {"minimum": 0}  # counts and amounts: zero or more

# ---- pilots: totals per period ---------------------------------------------------------------

PILOT_FIELDS = [
    Field("pilot", aliases=("nama_pilot", "pilot_name", "layanan", "nama_layanan"), required=True),
    Field("programme", aliases=("program", "programme_name")),
    Field("operator", aliases=("pengelola",)),
    Field("institution_type", "vocab", ("jenis_pengelola", "kelembagaan"), InstitutionType),
    Field("village_codes", "list", ("kode_desa", "desa", "villages")),
    Field("period_start", "date", ("periode_mulai", "mulai", "start", "tanggal_mulai"), required=True),
    Field("period_end", "date", ("periode_selesai", "selesai", "end", "tanggal_selesai"), required=True),
    Field("households_served", "int", ("kk_terlayani", "rumah_tangga_terlayani", "pelanggan"), **COUNT),
    Field("emptyings", "int", ("jumlah_penyedotan", "penyedotan", "sedot"), **COUNT),
    Field("sludge_m3", "float", ("volume_m3", "lumpur_m3", "volume_lumpur"), **COUNT),
    Field("truck_trips", "int", ("ritase", "trips", "jumlah_rit"), **COUNT),
    Field("mean_trip_minutes", "float", ("waktu_tempuh_menit", "durasi_rit_menit"), **COUNT),
    Field("trucks", "int", ("jumlah_truk", "truk", "armada", "trucks_in_service"), **COUNT),
    Field("working_days", "int", ("hari_kerja",), **COUNT),
    Field("capex_idr", "float", ("biaya_investasi", "capex"), **COUNT),
    Field("opex_idr", "float", ("biaya_operasional", "opex"), **COUNT),
    Field("revenue_idr", "float", ("pendapatan", "retribusi", "revenue"), **COUNT),
    Field("households_paying", "int", ("kk_membayar", "pelanggan_membayar"), **COUNT),
    Field("wtp_idr", "float", ("kesediaan_membayar", "wtp", "willingness_to_pay"), **COUNT),
]
PILOT_RECORD_COLUMNS = ["households_served", "emptyings", "sludge_m3", "truck_trips", "mean_trip_minutes",
                        "working_days", "trucks", "capex_idr", "opex_idr", "revenue_idr", "households_paying",
                        "wtp_idr"]


def check_pilots(ctx: Context) -> None:
    f = ctx.frame
    f["_id"] = [f"{p} {s}" for p, s in zip(f["pilot"], f["period_start"])]
    villages = codes_in_db(ctx, "village")
    codes_out = []
    for i, row in enumerate(f.drop(columns="geometry").to_dict("records")):
        rid = row["_id"]
        if ctx.bad[i]:
            codes_out.append(None)
            continue
        if row["period_end"] is None:
            ctx.reject(i, rid, "no period_end", "give each record its period (start and end dates)")
        elif row["period_end"] < row["period_start"]:
            ctx.reject(i, rid, f"period ends ({row['period_end']}) before it starts", "swap the dates")
        codes = []
        for c in row["village_codes"] or []:
            try:
                code = normalise_code(c, plain_codes=ctx.options.plain_codes)
            except CodeError as exc:
                ctx.reject(i, rid, exc.args[0], exc.args[1])
                continue
            if code not in villages:
                ctx.reject(i, rid, f"unknown village code {code}", "import the villages first")
            codes.append(code)
        codes_out.append(codes or None)
    f["village_codes"] = codes_out
    f["_key"] = list(zip(f["pilot"], f["period_start"], f["period_end"]))
    reject_duplicates(ctx, "_key")


def write_pilots(ctx: Context) -> tuple[int, int]:
    good = ctx.good()
    pilots = good.groupby("pilot", sort=False).agg(
        programme=("programme", "first"), operator=("operator", "first"),
        institution_type=("institution_type", "first"),
        village_codes=("village_codes", lambda s: sorted({c for v in s if v for c in v}) or None),
        start_date=("period_start", "min"), end_date=("period_end", "max")).reset_index()
    pilots = pilots.rename(columns={"pilot": "name"})
    pilots["source"] = ctx.source
    upsert(ctx.conn, "pilot", pilots, key=["name"])
    ids = dict(ctx.conn.execute(text("SELECT name, id FROM pilot WHERE name = ANY(:n)"),
                                {"n": list(pilots["name"])}).all())
    out = base_columns(ctx, ["period_start", "period_end", *PILOT_RECORD_COLUMNS])
    out.insert(0, "pilot_id", [ids[p] for p in good["pilot"]])
    return upsert(ctx.conn, "pilot_record", out, key=["pilot_id", "period_start", "period_end"])


# ---- pilot_events: the operation log ---------------------------------------------------------

EVENT_FIELDS = [
    Field("source_id", aliases=("event_id", "id_kejadian", "id_penyedotan", "id_order", "no_order", "nomor_order",
                                "id_kegiatan", "id", "_id", "_uuid", "uuid", "instanceid", "meta_instanceid"),
          required=True, max_length=200),
    Field("pilot", aliases=("nama_pilot", "pilot_name", "uji_coba", "nama_uji_coba", "layanan", "nama_layanan"),
          required=True),
    Field("event_date", "date", ("date", "tanggal", "tgl", "tanggal_sedot", "tanggal_penyedotan", "tgl_sedot"),
          required=True),
    Field("status", "vocab", ("status_penyedotan", "hasil", "status_sedot"), EventStatus, required=True),
    Field("reason", aliases=("alasan", "alasan_batal", "keterangan", "catatan")),
    Field("household_id", aliases=("id_rumah_tangga", "id_rt", "id_ruta", "id_pelanggan", "no_pelanggan",
                                   "nomor_pelanggan")),
    Field("village_code", aliases=("kode_desa", "kd_desa", "kode_kelurahan", "desa_kode", "village")),
    Field("truck", aliases=("no_polisi", "nopol", "plat", "plat_nomor", "nomor_polisi", "armada", "truk", "no_truk")),
    Field("pumped_m3", "float", ("volume_sedot_m3", "volume_sedot", "volume_m3", "volume"), **COUNT),
    Field("delivered_m3", "float", ("volume_diterima_iplt_m3", "volume_diterima_m3", "diterima_iplt_m3",
                                    "volume_iplt_m3", "volume_diterima"), **COUNT),
    Field("trip_minutes", "float", ("waktu_tempuh_menit", "durasi_menit", "durasi_rit_menit",
                                    "lama_perjalanan_menit"), **COUNT),
    Field("fee_billed_idr", "float", ("tarif", "tagihan", "tarif_idr", "retribusi"), **COUNT),
    Field("fee_paid_idr", "float", ("dibayar", "bayar", "jumlah_dibayar", "pembayaran"), **COUNT),
    Field("complaint", "bool", ("keluhan", "ada_keluhan", "pengaduan")),
    Field("resolved_days", "float", ("hari_penyelesaian", "lama_penyelesaian_hari", "selesai_hari"), **COUNT),
]
EVENT_GEOMETRY = GeomRule("point", required=False)
EVENT_COLUMNS = ["source_id", "event_date", "status", "reason", "household_id", "village_code", "truck", "pumped_m3",
           "delivered_m3", "trip_minutes", "fee_billed_idr", "fee_paid_idr", "complaint", "resolved_days"]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def check_pilot_events(ctx: Context) -> None:
    f = ctx.frame
    f["_id"] = f["source_id"]
    pilots = {name: (pid, start, end) for name, pid, start, end in ctx.conn.execute(text(
        "SELECT name, id, start_date, end_date FROM pilot"))}
    check_village_codes(ctx)
    ids = record_ids(ctx)
    pilot_ids = []
    for i, row in enumerate(f.drop(columns="geometry").to_dict("records")):
        rid = ids[i]
        known = pilots.get(row["pilot"])
        pilot_ids.append(known[0] if known else None)
        if ctx.bad[i]:
            continue
        if known is None:
            ctx.reject(i, rid, f"unknown pilot '{row['pilot']}'",
                       f"import the pilot first (gis-service import pilots FILE); known: {', '.join(sorted(pilots)) or 'none'}")
            continue
        _, start, end = known
        day = row["event_date"]
        if (start and day < start) or (end and day > end):
            ctx.reject(i, rid, f"date {day} is outside the pilot's period {start} to {end}",
                       "correct the date, or the pilot's period in the pilots import")
        pumped, delivered = row["pumped_m3"], row["delivered_m3"]
        if row["status"] == EventStatus.done and _missing(pumped):
            ctx.reject(i, rid, "a done emptying without pumped_m3 (volume_sedot_m3)",
                       "give the volume pumped, or the status it really had (batal, gagal)")
        if row["status"] != EventStatus.done and not _missing(pumped):
            ctx.reject(i, rid, f"pumped_m3 {pumped} on an attempt that is {row['status']}, not done",
                       "set the status to done (selesai), or clear the volume")
        if not _missing(delivered) and _missing(pumped):
            ctx.reject(i, rid, f"delivered_m3 {delivered} without pumped_m3",
                       "give the volume pumped (volume_sedot_m3) of the load the IPLT received")
        elif not _missing(delivered) and delivered > pumped:
            ctx.reject(i, rid, f"delivered_m3 {delivered} is more than pumped_m3 {pumped}",
                       "the IPLT cannot receive more than was pumped: correct either volume")
        if not _missing(row["resolved_days"]) and row["complaint"] is not True:
            ctx.reject(i, rid, "resolved_days without a complaint", "set complaint (keluhan) to yes, or clear the days")
        if _missing(row["village_code"]):
            ctx.reject(i, rid, "no village", "give a village_code (kode_desa) or a location inside a village")
    f["pilot_id"] = pilot_ids
    f["_key"] = [(p, s) for p, s in zip(pilot_ids, f["source_id"])]
    reject_duplicates(ctx, "_key")


def write_pilot_events(ctx: Context) -> tuple[int, int]:
    out = base_columns(ctx, ["pilot_id", *EVENT_COLUMNS])
    out["pilot_id"] = out["pilot_id"].map(int)
    out["geom"] = ctx.good().geometry.to_numpy(dtype=object)
    return upsert(ctx.conn, "pilot_event", out, key=["pilot_id", "source_id"])
