# The service image for hosts with a Docker engine (see docker-compose.yml). GDAL comes with pyogrio's
# wheels, so no system GIS libraries are needed; MapLibre GL JS for the web map comes from npm in a
# build stage (the image serves it itself, no CDN).
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gis_service ./gis_service
COPY config ./config
COPY layers ./layers
COPY scripts ./scripts
COPY web ./web
COPY --from=web /web/node_modules ./web/node_modules
RUN pip install --no-cache-dir -e .
ENV GIS_SERVICE_CONFIG_DIR=/app/config GIS_SERVICE_LAYERS_DIR=/app/layers GIS_SERVICE_WEB_DIR=/app/web
EXPOSE 8000
CMD ["sh", "-c", "gis-service db upgrade && gis-service demo load && gis-service coverage run --scenario 'Pilot only (demo)' && gis-service serve --host 0.0.0.0 --port 8000 --base-url http://127.0.0.1:8000"]
