"""Property tests for the code and vocabulary rules every importer relies on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis_service.ingest.codes import CodeError, level_of, normalise_code, parent_of
from gis_service.vocabulary import FacilityType, LadderRung, match_term

two = st.integers(1, 99).map(lambda n: f"{n:02d}")
village = st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d:04d}", two, two, two, st.integers(1, 9999))


@given(village)
def test_dotted_codes_are_kept_and_their_parents_chain_to_a_province(code):
    assert normalise_code(code) == code
    levels = []
    while code:
        levels.append(level_of(code).value)
        code = parent_of(code)
    assert levels == ["village", "district", "regency", "province"]


@given(village)
def test_undotted_codes_need_the_plain_codes_option(code):
    plain = code.replace(".", "")
    with pytest.raises(CodeError) as info:
        normalise_code(plain)
    assert "--plain-codes" in info.value.args[1]
    assert normalise_code(plain, plain_codes=True) == code


@given(st.sampled_from(list(LadderRung)), st.sampled_from(["", " ", "-", "_", "."]), st.booleans())
def test_ladder_terms_match_whatever_the_case_and_separators(rung, sep, upper):
    spelled = rung.value.replace("_", sep)
    assert match_term(LadderRung, spelled.upper() if upper else spelled) == rung.value


@pytest.mark.parametrize("text,expected", [("IPAL-Komunal", "ipal_komunal"), ("MCK++", "mck"),
                                           ("Instalasi Pengolahan Lumpur Tinja", "iplt"),
                                           ("kolam", None)])
def test_facility_aliases(text, expected):
    assert match_term(FacilityType, text) == expected


def test_spreadsheet_numeric_codes_lose_their_dot_zero():
    assert normalise_code("62.0", plain_codes=True) == "62"
