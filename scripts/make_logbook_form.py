"""Write forms/logbook_lltt.xlsx: the XLSForm of the operator's logbook, one submission per emptying
attempt, for KoboToolbox or ODK Collect. Its question names are column names that
``gis-service import pilot_events`` knows, so an export of its submissions (CSV or XLSX) imports
with no --field mapping (tests/test_pilot_evaluation.py checks it against this file).

    python scripts/make_logbook_form.py [--out forms/logbook_lltt.xlsx]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from openpyxl import Workbook

ID, EN = "label::Bahasa Indonesia (id)", "label::English (en)"
SURVEY = [  # type, name, id label, en label, required, relevant, constraint, calculation
    ("calculate", "event_id", "", "", "", "", "", "concat('LOG-', once(uuid()))"),
    ("text", "nama_pilot", "Nama uji coba layanan", "Name of the trial service", "yes", "", "", ""),
    ("date", "tanggal", "Tanggal", "Date", "yes", "", ". <= today()", ""),
    ("select_one status", "status", "Hasil", "Outcome", "yes", "", "", ""),
    ("text", "alasan", "Alasan batal atau gagal", "Why it was cancelled or failed", "yes", "${status} != 'selesai'", "", ""),
    ("text", "id_pelanggan", "Nomor pelanggan", "Customer number", "", "", "", ""),
    ("geopoint", "lokasi", "Lokasi rumah", "Location of the house", "", "", "", ""),
    ("text", "kode_desa", "Kode desa (Kemendagri, mis. 62.07.01.2005)", "Village code (Kemendagri, e.g. 62.07.01.2005)",
     "${lokasi} = ''", "", "regex(., '^[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{4}$')", ""),
    ("text", "no_polisi", "Nomor polisi truk", "Truck plate", "yes", "", "", ""),
    ("decimal", "volume_sedot_m3", "Volume disedot (m³)", "Volume pumped (m³)", "yes", "${status} = 'selesai'",
     ". >= 0 and . <= 20", ""),
    ("decimal", "volume_diterima_iplt_m3", "Volume diterima di IPLT (m³)", "Volume received at the IPLT (m³)", "",
     "${status} = 'selesai'", ". >= 0 and . <= ${volume_sedot_m3}", ""),
    ("integer", "waktu_tempuh_menit", "Waktu pulang-pergi (menit)", "Round trip (minutes)", "", "${status} = 'selesai'",
     ". >= 0", ""),
    ("integer", "tarif", "Tarif ditagih (Rp)", "Fee billed (IDR)", "", "${status} = 'selesai'", ". >= 0", ""),
    ("integer", "dibayar", "Dibayar (Rp)", "Fee paid (IDR)", "", "${status} = 'selesai'", ". >= 0", ""),
    ("select_one ya_tidak", "keluhan", "Ada keluhan?", "A complaint?", "", "${status} = 'selesai'", "", ""),
    ("integer", "hari_penyelesaian", "Hari sampai keluhan selesai", "Days until the complaint was resolved", "",
     "${keluhan} = 'ya'", ". >= 0", ""),
]
CHOICES = [("status", "selesai", "Selesai disedot", "Emptied"), ("status", "batal", "Batal", "Cancelled"),
           ("status", "gagal", "Gagal", "Failed"), ("ya_tidak", "ya", "Ya", "Yes"), ("ya_tidak", "tidak", "Tidak", "No")]


def write(path: Path) -> Path:
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", ID, EN, "required", "relevant", "constraint", "calculation"])
    for row in SURVEY:
        survey.append(list(row))
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", ID, EN])
    for row in CHOICES:
        choices.append(list(row))
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["Buku log operator LLTT", "logbook_lltt", "2026120701", "Bahasa Indonesia (id)"])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "forms" / "logbook_lltt.xlsx")
    print(write(parser.parse_args().out))
