# syntax=docker/dockerfile:1
#
# ContainerStacks Slack bot. Two stages: pip builds a virtualenv from pyproject.toml (runtime
# dependencies only, no dev extras) in a throw-away stage, and the final slim image receives just that
# virtualenv and runs it as an unprivileged user.
#
#   docker build -t containerstacks-bot .
#   docker run --rm --env-file .env containerstacks-bot migrate     # one-off schema migration
#   docker run -d --env-file .env -p 3000:3000 containerstacks-bot  # csbot serve
#
# Set DATABASE_URL in production. Without it the bot starts its embedded PostgreSQL under
# CSBOT_DATA_DIR (/var/lib/csbot), which is lost with the container unless a volume is mounted there.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY webhooks ./webhooks
COPY migrations ./migrations
# Not editable: the image needs the installed package, not this source tree.
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install .

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    CSBOT_DATA_DIR=/var/lib/csbot
# A fixed numeric uid/gid so orchestrators can verify runAsNonRoot and volumes get stable ownership.
RUN groupadd --system --gid 10001 csbot \
    && useradd --system --uid 10001 --gid csbot --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin csbot \
    && install -d -o csbot -g csbot /app /var/lib/csbot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 3000
# Liveness only (/healthz); /readyz also checks the database and migrations. No curl in slim images.
# Shell form, so the probe follows PORT when it is changed at `docker run -e PORT=…`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${PORT:-3000}/healthz', timeout=4)"
ENTRYPOINT ["csbot"]
CMD ["serve"]
