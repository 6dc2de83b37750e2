# syntax=docker/dockerfile:1
# The production image: one image for web (gunicorn), worker, beat and migrate.
# Front-end assets come from npm packages at build time (no CDN); collectstatic bakes them in.

# --- Front-end packages ---------------------------------------------------------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# --- Application ----------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    CLIENTELE_VAR_DIR=/app/var

WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --from=assets /app/node_modules ./node_modules
COPY . .

# Production settings refuse to load without secrets and hosts; give collectstatic
# throwaway ones that exist only for this command, never in the image's environment.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    IDP_OIDC_PRIVATE_KEY="$(python -c 'from iam.oidc.keys import generate_private_key_pem; print(generate_private_key_pem())')" \
    ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home clientele \
 && chown clientele:clientele /app/var

USER clientele
EXPOSE 8000

# Liveness of the web process; compose's web service probes /readyz instead, and the
# worker and beat services replace this with checks of their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; host = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.*') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"]

CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--graceful-timeout", "30"]
