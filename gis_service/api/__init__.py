"""The HTTP face: a FastAPI application with pygeoapi mounted for the OGC APIs."""
