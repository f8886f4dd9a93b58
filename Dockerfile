# syntax=docker/dockerfile:1
# delegator's container image: `docker build -t delegator .`, then see docs/operations.md.
#
# Two stages: the builder installs the locked dependencies (requirements.lock: the runtime ones
# and PostgreSQL's driver, each file checked against its hash), then the package itself without
# resolving anything more, into a virtual environment; the final stage copies only that
# environment onto the same slim base, so no compiler, pip cache, test or dev tool ships.
# tests/ops/test_dockerfile.py checks this file's promises and tests/ops/test_image_venv.py
# repeats its install and start-up steps without a Docker engine.

FROM python:3.12.8-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM python:3.12.8-slim-bookworm
# Set at build time: --build-arg VERSION=... --build-arg SOURCE=<repository URL>
ARG VERSION=0.1.0
ARG SOURCE=
ARG REVISION=
LABEL org.opencontainers.image.title="delegator" \
      org.opencontainers.image.description="Delegates the urgent-but-not-important Asana tasks of small businesses to their virtual assistants." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"

# A fixed uid/gid, so mounted secrets and volumes can be given to it (chown 10001).
RUN groupadd --system --gid 10001 delegator \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin delegator \
 && mkdir -p /app/config /app/rules /var/lib/delegator \
 && chown 10001:10001 /var/lib/delegator

COPY --from=builder /opt/venv /opt/venv

# Where things are: settings file and client rule files are mounted (read-only is enough),
# the SQLite state lives on the volume. DELEGATOR_HTTP_PORT is left unset so the settings file
# can choose the port; the health check reads the variable and falls back to 8080.
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DELEGATOR_CONFIG=/app/config/delegator.yaml \
    DELEGATOR_RULES_DIR=/app/rules \
    DELEGATOR_DATABASE_URL=sqlite:////var/lib/delegator/state.db \
    DELEGATOR_LOG_FORMAT=json

WORKDIR /app
USER 10001:10001
VOLUME ["/var/lib/delegator"]
EXPOSE 8080

# Ready, not merely alive: settings loaded, store reachable, every client cycling on time.
# The slim base has no curl: the image's own Python asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('DELEGATOR_HTTP_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["delegator"]
CMD ["run"]
