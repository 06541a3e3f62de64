"""Coverage at provincial and national scale on a Dask cluster (``--engine dask``): the run
(``engine``), its worker tasks (``tasks``), its inputs and outputs (``storage``), the dataset folder
of GeoParquet (``dataset``, ``geoparquet``) and generated national datasets (``generate``)."""
