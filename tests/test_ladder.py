"""The ladder counts of households whose village codes and rungs are categoricals (footprint
households on a cluster) equal those of the same households as strings (read from PostGIS)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis.ladder import RUNGS, project_rungs, village_counts

VILLAGES = ["62.07.02.2001", "62.07.01.2003", "62.07.01.2001", "62.07.10.1001"]


household = st.tuples(st.sampled_from([*VILLAGES, None]), st.sampled_from(RUNGS),
                      st.sampled_from([True, False, None]), st.integers(1, 9),
                      st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=80, deadline=None)
@given(st.lists(household, min_size=1, max_size=60), st.permutations(VILLAGES))
def test_categorical_households_count_as_strings(rows, categories):
    village, rung, tank, people, lltt, mck, offsite = (list(c) for c in zip(*rows))
    served = {"lltt": np.array(lltt), "mck": np.array(mck), "offsite": np.array(offsite)}
    tank = np.array(tank, dtype=object)
    as_strings = pd.DataFrame({"village_code": np.array(village, dtype=object), "rung": np.array(rung, dtype=object),
                               "people": people})
    as_categories = pd.DataFrame({"village_code": pd.Categorical(village, categories=categories),
                                  "rung": pd.Categorical(rung, categories=["unknown", "babs", "layak_sendiri"]
                                                         + [r for r in RUNGS if r not in ("unknown", "babs",
                                                                                          "layak_sendiri")]),
                                  "people": people})
    projected = project_rungs(as_strings["rung"].to_numpy(), tank, served)
    projected_codes = project_rungs(as_categories["rung"].array, tank, served)
    assert isinstance(projected_codes, pd.Categorical)
    assert list(np.asarray(projected_codes, dtype=object)) == list(projected)
    expected = village_counts(as_strings, served, projected)
    got = village_counts(as_categories, served, projected_codes)
    assert list(got.index) == list(expected.index)  # sorted codes, 'unassigned' where none
    assert got.reset_index(drop=True).equals(expected.reset_index(drop=True))


def test_no_households_count_nothing():
    """A unit whose households all wait for a shared group counts an empty frame first."""
    empty = pd.DataFrame({"village_code": np.array([], dtype=object), "rung": np.array([], dtype=object),
                          "people": np.array([], dtype=np.int64)})
    counted = village_counts(empty, {"lltt": np.zeros(0, bool)}, np.array([], dtype=object))
    assert counted.empty and "now|aman" in counted.columns
