"""The web map speaks both languages completely: every string it asks for (t("key") in its
scripts, data-i18n in its page, the keys it builds from the API's codes) exists in Bahasa
Indonesia and in English, both files have the same keys, and English has no Indonesian leftovers
(only words the two languages share). Read with Node, the same ES modules the browser loads."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from gis_service.analysis.ladder import RUNGS
from gis_service.analysis.pilot_evaluation import ALL
from gis_service.analysis.run_changes import REASONS
from gis_service.vocabulary import CapacityUnit, FacilityType

WEB = Path(__file__).resolve().parents[1] / "web"
SAME_IN_BOTH = {"run", "target", "noUnit", "distance", "jobLine", "jobWaiting", "editLine", "errorField",
                "role.editor", "role.admin", "popupRun", "trialStatus"}  # words and patterns the two languages share
SCRIPT = """Promise.all([import('./app/strings_id.js'), import('./app/strings_en.js'), import('./app/state.js')])
  .then(([id, en, state]) => console.log(JSON.stringify({id: id.default, en: en.default,
    regencyRows: state.REGENCY_ROWS, rungs: state.RUNGS})))"""


def _strings() -> dict:
    out = subprocess.run(["node", "--experimental-default-type=module", "-e", SCRIPT], cwd=WEB,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_every_string_the_map_asks_for_exists_in_both_languages():
    found = _strings()
    ids, ens = found["id"], found["en"]
    assert set(ids) == set(ens)
    scripts = "\n".join(path.read_text(encoding="utf-8") for path in (WEB / "app").glob("*.js"))
    page = (WEB / "index.html").read_text(encoding="utf-8")
    asked = set(re.findall(r"\bt\(\"([\w.]+)\"", scripts))
    asked |= set(re.findall(r'data-i18n(?:-label)?="([\w.]+)"', page))
    asked |= {key for row in found["regencyRows"] for key in (row, f"{row}Tip")}  # t(key), t(`${key}Tip`)
    asked |= {f"idle.{reason}" for reason in REASONS}  # t(`idle.${f.reason}`)
    asked |= {f"ind.{i}" for i in ALL}  # t(`ind.${row.id}`): the trial's indicators
    asked |= {f"score.{s}" for s in ("good", "watch", "poor", "info", "no_data")}
    # term(kind, code): every code the API can send has its words
    asked |= {f"type.{code}" for code in FacilityType} | {f"unit.{code}" for code in CapacityUnit}
    asked |= {f"rung.{code}" for code in RUNGS} | {f"rung.{code}" for code in found["rungs"]}
    asked |= {f"rung.{code}" for code in ("layak", "layak_only")} | {f"method.{m}" for m in ("network", "buffer", "polygon")}
    asked |= {f"step.{s}" for s in ("loading", "service areas and allocation", "ladder and gaps", "writing results")}
    assert len(asked) > 150
    missing = sorted(key for key in asked if key not in ids)
    assert missing == []
    unused = sorted(key for key in ids if key not in asked and "." not in key and key not in scripts)
    assert unused == []  # a string nobody asks for is a leftover


def test_english_has_no_indonesian_leftovers():
    found = _strings()
    same = {key for key in found["id"] if found["id"][key] == found["en"][key]}
    assert same == SAME_IN_BOTH
    indonesian = re.compile(r"\b(RT|desa|rumah tangga|terlayani|sekarang|proyeksi|kecamatan|kabupaten)\b", re.I)
    assert [key for key, text in found["en"].items() if indonesian.search(text)] == []
