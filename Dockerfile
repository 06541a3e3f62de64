# The service image for hosts with a Docker engine (see docker-compose.yml). GDAL comes with pyogrio's
# wheels, so no system GIS libraries are needed.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gis_service ./gis_service
COPY config ./config
COPY scripts ./scripts
RUN pip install --no-cache-dir -e .
ENV GIS_SERVICE_CONFIG_DIR=/app/config
CMD ["sh", "-c", "gis-service db upgrade && gis-service demo load && gis-service summary"]
