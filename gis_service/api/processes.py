"""OGC API – Processes: a coverage analysis as a (synchronous or asynchronous) job. The job runs
the same ``run_coverage`` as ``gis-service coverage run`` and ``POST /api/jobs``, in the same
worker (``ogc_jobs.py``); its result names the stored run, whose layers
(``coverage_all_runs?run_id=``) and exports then hold the details."""

from __future__ import annotations

from pydantic import Field
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gis_service.analysis.coverage import METHODS
from gis_service.analysis.demand import MODES
from gis_service.job_queue import CoverageJobOptions


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
                           {"type": "string", "minLength": 1, "maxLength": 200}),
        "method": _input("Method", "network (travel time), buffer (distance) or polygon (drawn areas)",
                         {"type": "string", "enum": list(METHODS), "default": "network"}),
        "thresholds": _input("Travel-time bands (minutes)", "e.g. [30, 60]",
                             {"type": "array", "minItems": 1, "maxItems": 10,
                              "items": {"type": "number", "exclusiveMinimum": 0}}),
        "distance_m": _input("Buffer radius (metres)", "method buffer",
                             {"type": "number", "exclusiveMinimum": 0, "maximum": 100000, "default": 5000}),
        "capacity": _input("Capacity-limited", "false: pure accessibility",
                           {"type": "boolean", "default": True}),
        "demand": _input("Demand", " or ".join(m for m in MODES if m != "raster"),
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


class CoverageInputs(CoverageJobOptions):
    """The process's inputs: ``POST /api/jobs``'s coverage options and the scenario, checked by the
    same model (unknown inputs, wrong types and out-of-range values are refused, naming the input)."""

    scenario: str | None = Field(None, min_length=1, max_length=200)


class CoverageProcessor(BaseProcessor):
    """The coverage process's description and input model. Its executions are jobs: the manager
    (``ogc_jobs.JobTableManager``) queues them in the job table, where a worker runs
    ``run_coverage`` as for ``POST /api/jobs``; nothing runs inside the web server."""

    inputs_model = CoverageInputs  # what a request may send
    options_model = CoverageJobOptions  # what the job stores (the scenario aside)
    kind = "coverage"  # the job's kind

    def __init__(self, processor_def: dict):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict, outputs=None):
        raise ProcessorExecuteError("the coverage process runs as a job of the job table; serve it with "
                                    "gis_service.api.ogc_jobs.JobTableManager (gis-service serve does)")

    def __repr__(self) -> str:
        return "<CoverageProcessor>"
