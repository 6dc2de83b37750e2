"""The operations contract: /healthz, /readyz, and production settings that refuse to start half-configured."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[2]
GOOD_SECRET_KEY = "x" * 10 + "-a-random-looking-secret-key-for-the-settings-import-test"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_touching_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_the_database_answers(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_unreachable(client, settings, monkeypatch):
    # Celery reads Django's CELERY_* settings live, unless a value was set on app.conf
    # itself (other tests do) or in the process environment: set those aside for this test.
    for key in ("broker_url", "broker_write_url", "task_always_eager"):
        monkeypatch.delitem(celery_app.conf.changes, key, raising=False)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"
    assert "Error" in body["checks"]["broker"]


def _import_production_settings(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", **overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _import_production_settings(ALLOWED_HOSTS="example.com")

    assert result.returncode != 0
    assert "The environment variable SECRET_KEY is required." in result.stderr


def test_production_settings_refuse_a_short_secret_key():
    result = _import_production_settings(SECRET_KEY="too-short", ALLOWED_HOSTS="example.com")

    assert result.returncode != 0
    assert "SECRET_KEY must be a random value of at least 50 characters." in result.stderr


def test_production_settings_refuse_to_start_with_empty_allowed_hosts():
    result = _import_production_settings(SECRET_KEY=GOOD_SECRET_KEY, ALLOWED_HOSTS="")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required in production" in result.stderr


def test_production_settings_start_when_configured():
    from iam.oidc.keys import generate_private_key_pem

    result = _import_production_settings(
        SECRET_KEY=GOOD_SECRET_KEY, ALLOWED_HOSTS="example.com", IDP_OIDC_PRIVATE_KEY=generate_private_key_pem()
    )

    assert result.returncode == 0, result.stderr
