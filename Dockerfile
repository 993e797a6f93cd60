# carelay's gateway, stream workers and analytics sink: one image, the compose command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CARELAY_DATA_DIR=/var/lib/carelay

WORKDIR /app

# Dependencies first, from the runtime lock alone (every version pinned, every file's hash checked),
# so a source change does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY schemas ./schemas
COPY access ./access
COPY process ./process
COPY streams ./streams
COPY connectors ./connectors
COPY gateway ./gateway
COPY analytics ./analytics
COPY stack ./stack
COPY carelay ./carelay
COPY pyproject.toml README.md ./
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /var/lib/carelay carelay \
    && mkdir -p /var/lib/carelay \
    && chown carelay /var/lib/carelay

USER carelay
WORKDIR /var/lib/carelay
EXPOSE 8000
CMD ["uvicorn", "gateway.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "5"]
