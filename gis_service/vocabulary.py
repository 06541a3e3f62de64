"""Controlled vocabularies of the planning model and the spellings found in Indonesian sources.

The database stores the canonical codes (CHECK constraints list them); importers map whatever a
source wrote onto them with :func:`match_term`, ignoring case, spaces, dots, dashes and underscores.
"""

from __future__ import annotations

import re
from enum import StrEnum


class AdminLevel(StrEnum):
    province = "province"
    regency = "regency"
    district = "district"
    village = "village"


class VillageKind(StrEnum):
    desa = "desa"
    kelurahan = "kelurahan"


class UrbanRural(StrEnum):
    urban = "urban"
    rural = "rural"


class LadderRung(StrEnum):
    """Household sanitation access ladder (NAWASIS/BPS, JMP rung in the comment) - docs/domain.md §2."""

    aman = "aman"  # safely managed
    layak_sendiri = "layak_sendiri"  # basic
    layak_bersama = "layak_bersama"  # limited
    belum_layak = "belum_layak"  # unimproved
    babs = "babs"  # open defecation


class ToiletType(StrEnum):
    """The household's toilet as SUSENAS/EHRA surveys ask it (docs/domain.md §2)."""

    gooseneck = "gooseneck"  # kloset leher angsa (pour-flush)
    non_gooseneck = "non_gooseneck"  # plengsengan, cemplung
    public = "public"  # uses public facilities only (MCK)
    none = "none"  # no toilet: open defecation


class Disposal(StrEnum):
    """Where the toilet discharges."""

    septic_tank = "septic_tank"  # tangki septik
    pit = "pit"  # cubluk / lubang tanah
    offsite = "offsite"  # connected to an IPAL (SPALD-T)
    open = "open"  # river, pond, field, beach, drain


class FacilityType(StrEnum):
    """Sanitation facilities after Permen PUPR 04/PRT/M/2017 (SPALD-S / SPALD-T)."""

    iplt = "iplt"  # faecal sludge treatment plant
    ipal_kota = "ipal_kota"  # city-scale wastewater treatment (SPALD-T)
    ipal_kawasan = "ipal_kawasan"  # special-area scale
    ipal_komunal = "ipal_komunal"  # settlement scale, community run
    mck = "mck"  # public toilet block
    desludging_depot = "desludging_depot"  # vacuum-truck fleet base
    transfer_station = "transfer_station"  # sludge transfer point (e.g. a river landing)


class FacilityStatus(StrEnum):
    existing = "existing"
    pilot = "pilot"
    planned = "planned"
    candidate = "candidate"


class CapacityUnit(StrEnum):
    m3_per_day = "m3_per_day"
    households = "households"
    persons = "persons"
    trucks = "trucks"


class InstitutionType(StrEnum):
    uptd = "uptd"  # Unit Pelaksana Teknis Daerah (incl. UPTD PAL)
    dinas = "dinas"  # a district office directly
    bumd = "bumd"  # BUMD / Perumda
    kpp = "kpp"  # Kelompok Pemanfaat dan Pemelihara (community group)
    private = "private"
    other = "other"


class EventStatus(StrEnum):
    """How an emptying attempt in a pilot's operation log ended."""
    done = "done"  # selesai: the tank was emptied
    cancelled = "cancelled"  # batal: called off (by the household or the operator)
    failed = "failed"  # gagal: tried and not done (no access, truck broke down, ...)


class NetworkMode(StrEnum):
    road = "road"
    river = "river"
    path = "path"


ALIASES: dict[type[StrEnum], dict[str, str]] = {
    AdminLevel: {
        "provinsi": "province", "prov": "province", "kabupaten": "regency", "kota": "regency",
        "kabupatenkota": "regency", "kab": "regency", "kecamatan": "district", "kec": "district",
        "desa": "village", "kelurahan": "village", "desakelurahan": "village", "kel": "village",
    },
    VillageKind: {"kel": "kelurahan", "village": "desa", "urbanvillage": "kelurahan"},
    UrbanRural: {"perkotaan": "urban", "kota": "urban", "perdesaan": "rural", "pedesaan": "rural",
                 "desa": "rural", "1": "urban", "2": "rural"},
    LadderRung: {
        "aksessanitasiaman": "aman", "aksesaman": "aman", "safelymanaged": "aman",
        "layak": "layak_sendiri", "layaksendiri": "layak_sendiri", "basic": "layak_sendiri",
        "layakbersama": "layak_bersama", "limited": "layak_bersama", "bersama": "layak_bersama",
        "belumlayak": "belum_layak", "tidaklayak": "belum_layak", "aksesdasar": "belum_layak",
        "dasar": "belum_layak", "unimproved": "belum_layak",
        "babs": "babs", "babsterbuka": "babs", "babsditempatterbuka": "babs",
        "opendefecation": "babs", "od": "babs",
    },
    ToiletType: {
        "leherangsa": "gooseneck", "klosetleherangsa": "gooseneck", "pourflush": "gooseneck",
        "plengsengan": "non_gooseneck", "cemplung": "non_gooseneck", "bukanleherangsa": "non_gooseneck",
        "umum": "public", "mck": "public", "jambanumum": "public", "wcumum": "public",
        "tidakada": "none", "tidakpunya": "none", "babs": "none",
    },
    Disposal: {
        "tangkiseptik": "septic_tank", "septictank": "septic_tank", "septik": "septic_tank",
        "cubluk": "pit", "lubangtanah": "pit", "lubang": "pit", "pitlatrine": "pit",
        "ipal": "offsite", "spaldt": "offsite", "sewer": "offsite", "perpipaan": "offsite",
        "sungai": "open", "kolam": "open", "sawah": "open", "kebun": "open", "pantai": "open",
        "tanahlapang": "open", "selokan": "open", "danau": "open",
    },
    EventStatus: {"selesai": "done", "sudah": "done", "berhasil": "done", "ok": "done", "completed": "done",
                  "batal": "cancelled", "dibatalkan": "cancelled", "canceled": "cancelled",
                  "gagal": "failed", "tidakberhasil": "failed"},
    FacilityType: {
        "instalasipengolahanlumpurtinja": "iplt", "sludgetreatmentplant": "iplt", "fstp": "iplt",
        "ipalkota": "ipal_kota", "ipald": "ipal_kota", "ipalkawasan": "ipal_kawasan",
        "ipalkomunal": "ipal_komunal", "ipalk": "ipal_komunal", "sanimas": "ipal_komunal",
        "mck": "mck", "mckplus": "mck", "mckplusplus": "mck", "publictoilet": "mck",
        "depot": "desludging_depot", "depotsedottinja": "desludging_depot",
        "truckdepot": "desludging_depot", "poolarmada": "desludging_depot",
        "desludgingdepot": "desludging_depot", "transferstation": "transfer_station",
        "stasiunantara": "transfer_station",
    },
    FacilityStatus: {
        "ada": "existing", "eksisting": "existing", "operational": "existing", "beroperasi": "existing",
        "percontohan": "pilot", "uji coba": "pilot", "ujicoba": "pilot",
        "rencana": "planned", "direncanakan": "planned", "kandidat": "candidate",
        "calon": "candidate", "usulan": "candidate", "proposed": "candidate",
    },
    CapacityUnit: {
        "m3day": "m3_per_day", "m3hari": "m3_per_day", "m3perday": "m3_per_day", "m3perhari": "m3_per_day",
        "m3d": "m3_per_day", "kk": "households", "sr": "households", "rumahtangga": "households",
        "hh": "households", "jiwa": "persons", "orang": "persons", "people": "persons",
        "truk": "trucks", "unit": "trucks",
    },
    InstitutionType: {
        "uptdpal": "uptd", "perumda": "bumd", "perumdam": "bumd", "pdam": "bumd",
        "kelompokmasyarakat": "kpp", "kpp": "kpp", "kps": "kpp", "kso": "kpp", "swasta": "private",
        "dinaspu": "dinas", "dinaspupr": "dinas", "dinaskesehatan": "dinas", "lainnya": "other",
    },
    NetworkMode: {
        "jalan": "road", "sungai": "river", "waterway": "river", "boat": "river", "jalansetapak": "path",
        "setapak": "path", "footway": "path", "walk": "path", "highway": "road",
    },
}

_SEPARATORS = re.compile(r"[\s._\-/+()]+")


def fold(text: str) -> str:
    """Lower-case and drop separators: ``'IPAL-Komunal'`` and ``'ipal komunal'`` both become
    ``'ipalkomunal'``. ``'MCK++'`` keeps its meaning through the alias table."""
    return _SEPARATORS.sub("", str(text).strip().lower().replace("+", "plus"))


def match_term(vocab: type[StrEnum], value: object) -> str | None:
    """Return the canonical code of ``value`` in ``vocab``, or None when it is not recognised."""
    if value is None:
        return None
    key = fold(str(value))
    if not key:
        return None
    for member in vocab:
        if fold(member.value) == key:
            return member.value
    aliases = ALIASES.get(vocab, {})
    return aliases.get(key) or {fold(k): v for k, v in aliases.items()}.get(key)


def values(vocab: type[StrEnum]) -> list[str]:
    return [m.value for m in vocab]
