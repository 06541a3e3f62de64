"""OGC API – Processes: a coverage analysis as a (synchronous or asynchronous) job. The process
calls the same ``run_coverage`` as ``gis-service coverage run``; its result names the stored run,
whose layers (``coverage_all_runs?run_id=``) and exports then hold the details."""

from __future__ import annotations

from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gis_service.analysis.coverage import METHODS, CoverageOptions, run_coverage
from gis_service.analysis.demand import MODES
from gis_service.db.engine import make_engine


def _input(title: str, description: str, schema: dict) -> dict:
    return {"title": title, "description": description, "schema": schema, "minOccurs": 0, "maxOccurs": 1}


PROCESS_METADATA = {
    "version": "0.1.0",
    "id": "coverage",
    "title": {"id": "Analisis cakupan layanan", "en": "Service coverage analysis"},
    "description": {
        "id": "Siapa terlayani oleh fasilitas mana, tangga akses sekarang dan proyeksi, dan kesenjangan "
              "terhadap target, untuk satu skenario; hasil disimpan sebagai run",
        "en": "Who is served by which facility, the access ladder now and projected, and the gap to the "
              "targets, for one scenario; the results are stored as a run"},
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["cakupan", "coverage", "LLTT", "IPLT"],
    "inputs": {
        "scenario": _input("Scenario", "Scenario name; omitted: existing and pilot facilities",
                           {"type": "string"}),
        "method": _input("Method", "network (travel time), buffer (distance) or polygon (drawn areas)",
                         {"type": "string", "enum": list(METHODS), "default": "network"}),
        "thresholds": _input("Travel-time bands (minutes)", "e.g. [30, 60]",
                             {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}}),
        "distance_m": _input("Buffer radius (metres)", "method buffer",
                             {"type": "number", "exclusiveMinimum": 0, "default": 5000}),
        "capacity": _input("Capacity-limited", "false: pure accessibility",
                           {"type": "boolean", "default": True}),
        "demand": _input("Demand", "households, settlements, villages or raster",
                         {"type": "string", "enum": [m for m in MODES if m != "raster"], "default": "households"}),
        "nearest_k": _input("Nearest facilities stored per household", "0: none",
                            {"type": "integer", "minimum": 0, "maximum": 10, "default": 3}),
    },
    "outputs": {
        "run": {"title": "Coverage run", "description": "Run id, regency summary and timings",
                "schema": {"type": "object", "contentMediaType": "application/json"}},
    },
    "example": {"inputs": {"method": "buffer", "distance_m": 5000}},
}


class CoverageProcessor(BaseProcessor):
    """Runs ``run_coverage`` with the request's inputs and returns the stored run."""

    def __init__(self, processor_def: dict):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict, outputs=None):
        unknown = set(data) - set(PROCESS_METADATA["inputs"])
        if unknown:
            raise ProcessorExecuteError(f"unknown inputs {sorted(unknown)}; "
                                        f"use {sorted(PROCESS_METADATA['inputs'])}")
        options = CoverageOptions(scenario=data.get("scenario"), method=data.get("method", "network"),
                                  distance_m=float(data.get("distance_m", 5000)),
                                  capacity=bool(data.get("capacity", True)),
                                  demand=data.get("demand", "households"),
                                  nearest_k=int(data.get("nearest_k", 3)))
        if data.get("thresholds"):
            options.thresholds_min = [float(t) for t in data["thresholds"]]
        engine = make_engine()
        try:
            result = run_coverage(engine, options)
        except (ValueError, KeyError) as exc:
            raise ProcessorExecuteError(str(exc).strip("'\"")) from exc
        finally:
            engine.dispose()
        return "application/json", {"id": "run", "value": {
            "run_id": result.run_id, "summary": result.summary, "seconds": result.seconds}}

    def __repr__(self) -> str:
        return "<CoverageProcessor>"
