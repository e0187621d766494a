# GSTP production image: one image for the web server (gunicorn), the Celery
# worker and Celery beat. See docker-compose.yml.

# --- Source, without local clutter (works with or without a .dockerignore) ---
FROM python:3.11-slim AS source
COPY . /src
RUN rm -rf /src/.git /src/.venv /src/var /src/.ci /src/.pytest_cache /src/.ruff_cache /src/.hypothesis \
    && find /src -name '__pycache__' -type d -prune -exec rm -rf {} +

# --- Runtime ---
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GSTP_VAR_DIR=/var/lib/gstp \
    STATIC_ROOT=/app/staticfiles

RUN groupadd --system --gid 10001 gstp \
    && useradd --system --uid 10001 --gid gstp --home-dir /app --no-create-home --shell /usr/sbin/nologin gstp

WORKDIR /app

# libmagic: what python-magic asks an uploaded file's kind of (reviews/file_kinds.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt /app/requirements.txt
RUN pip install -r /app/requirements.txt

COPY --from=source /src /app

# Static files are collected at build time. DEBUG is off as in production, so
# settings need a SECRET_KEY and ALLOWED_HOSTS: dummy ones, used for this command
# only. The in-memory broker keeps settings from creating broker folders in the image.
RUN DEBUG=0 \
    SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-0123456789 \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --no-input --verbosity 1 \
    && rm -f /tmp/collectstatic.sqlite3 \
    && mkdir -p "$GSTP_VAR_DIR" \
    && chown -R gstp:gstp "$GSTP_VAR_DIR"

USER gstp

EXPOSE 8000

# gstp/gunicorn_conf.py: gunicorn's own log lines as JSON like GSTP's; GSTP logs each request itself.
CMD ["gunicorn", "gstp.wsgi:application", "--config", "python:gstp.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
