"""Benchmarks leave their results in benchmarks/results/: one JSON per run, one summary line each."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "bench_results.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_writes_its_json_and_appends_one_summary_line(tmp_path):
    bench = _module()
    first = bench.record("coverage", {"median_s": 1.5, "sizes": ["district"]}, "district: 1.50 s\nmedian",
                         directory=tmp_path)
    second = bench.record("api", [{"case": "page", "p50_ms": 9.6}], "1 case", directory=tmp_path)
    saved = json.loads(first.read_text())
    assert saved["benchmark"] == "coverage" and saved["results"]["median_s"] == 1.5
    assert saved["summary"] == "district: 1.50 s\nmedian"
    assert saved["machine"]["cores"] >= 1
    assert saved["commit"] == bench.commit() != ""
    assert first.name.startswith("coverage-") and second.name.startswith("api-")
    lines = (tmp_path / "summary.tsv").read_text().splitlines()
    assert [line.split("\t")[2:] for line in lines] == [["coverage", "district: 1.50 s median"],
                                                         ["api", "1 case"]]
    assert str(tmp_path) not in (tmp_path / "summary.tsv").read_text()  # no machine paths
