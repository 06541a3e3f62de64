"""The planning data model (GeoAlchemy2). Alembic migrations create it; nothing calls create_all.

Geometries are stored in EPSG:4326 with the SRID and type enforced by the column type, and a CHECK
keeps invalid geometries out. Vocabularies are CHECK constraints over text (see ``vocabulary``), so a
migration can extend them without the pain of PostgreSQL enum types.

One module per domain: ``base`` (base class, helpers, provenance), ``places``, ``facilities``,
``planning``, ``coverage``, ``scaleup``, ``api``; every class is importable from here.
"""

from gis_service.db.models.api import ApiUser, FacilityEdit, Job, ScenarioEdit  # noqa: F401
from gis_service.db.models.base import (  # noqa: F401
    NAMING,
    PUBLISHED_AT,
    SRID,
    Base,
    DataSource,
    ImportLog,
    _Sourced,
    geom,
    one_of,
    source_fk,
    valid_geom,
)
from gis_service.db.models.coverage import (  # noqa: F401
    CoverageArea,
    CoverageDemandPoint,
    CoverageFacility,
    CoverageGap,
    CoverageHousehold,
    CoverageRun,
    CoverageServiceArea,
)
from gis_service.db.models.facilities import Facility, NetworkEdge, ServiceArea  # noqa: F401
from gis_service.db.models.places import AdminArea, AdminPopulation, Household, HouseholdVillageCount, Settlement  # noqa: F401
from gis_service.db.models.planning import (  # noqa: F401
    ParameterSet,
    Pilot,
    PilotEvent,
    PilotRecord,
    Scenario,
    ScenarioFacility,
    Target,
    VillageRisk,
)
from gis_service.db.models.scaleup import (  # noqa: F401
    ScaleupFacility,
    ScaleupPhase,
    ScaleupRequirement,
    ScaleupRun,
    ScaleupVillage,
)
