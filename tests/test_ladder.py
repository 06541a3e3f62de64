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


@settings(max_examples=60, deadline=None)
@given(st.lists(household, min_size=1, max_size=60), st.sampled_from([("lltt",), ("lltt", "mck", "offsite")]))
def test_village_counts_equal_a_plain_groupby(rows, services):
    """Every count against pandas' groupby of the same households: one service alone (its counts
    are also 'all') and three together."""
    village, rung, _, people, *flags = (list(c) for c in zip(*rows))
    served = {s: np.array(f) for s, f in zip(("lltt", "mck", "offsite"), flags) if s in services}
    frame = pd.DataFrame({"village_code": np.array(village, dtype=object), "rung": np.array(rung, dtype=object),
                          "people": people})
    projected = np.array(rung[::-1], dtype=object)  # any other rungs will do
    got = village_counts(frame, served, projected)
    code = frame["village_code"].fillna("unassigned")
    anyone = np.logical_or.reduce(list(served.values()))
    by = frame.assign(code=code, **{f"s_{k}": v for k, v in {"all": anyone, **served}.items()}, projected=projected)
    groups = by.groupby("code")
    assert list(got.index) == sorted(code.unique())
    assert got["households"].tolist() == groups.size().tolist()
    assert got["people"].tolist() == groups["people"].sum().tolist()
    for service in ("all", *served):
        flag = by[f"s_{service}"]
        assert got[f"{service}|served_households"].tolist() == groups[f"s_{service}"].sum().tolist()
        assert got[f"{service}|served_people"].tolist() == by["people"].where(flag, 0).groupby(code).sum().tolist()
    for label, column in (("now", "rung"), ("projected", "projected")):
        table = pd.crosstab(by["code"], by[column]).reindex(columns=list(RUNGS), fill_value=0)
        assert got[[f"{label}|{r}" for r in RUNGS]].to_numpy().tolist() == table.to_numpy().tolist()
