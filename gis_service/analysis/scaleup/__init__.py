"""Scale-up planning: from what a pilot measured to a costed, phased plan for a region
(calibration, requirements, siting, finance, institutions, phasing), stored per run."""
