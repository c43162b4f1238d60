# Supportdesk image: one image for web (daphne; in the `scale` profile gunicorn for HTTP and daphne for
# /ws/), worker and beat (celery). See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=supportdesk.settings

WORKDIR /app

# Dependencies first, in their own layer, from the runtime lock (exact versions, hash-checked;
# `make lock` writes it from pyproject.toml): code changes do not reinstall them. The project
# itself needs no install: it runs from /app.
COPY requirements/prod.lock requirements/
RUN pip install --require-hashes --no-deps -r requirements/prod.lock

COPY . .

# Static files are collected at build time (no database or secret needed for that) and served
# by ServeStatic from STATIC_ROOT.
# /app/media exists in the image owned by desk, so the named volume mounted there starts writable.
RUN python manage.py collectstatic --noinput \
    && mkdir -p /app/media \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin desk \
    && chown -R desk:desk /app

USER desk
EXPOSE 8000

CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers", "supportdesk.asgi:application"]
