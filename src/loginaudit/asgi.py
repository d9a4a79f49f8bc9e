"""ASGI entry points for uvicorn/gunicorn/granian: `loginaudit.asgi:create` (factory) or `:app`."""

from __future__ import annotations

from typing import Any

from .app import create_app


def create() -> Any:
    """A fresh app on $LOGINAUDIT_DATABASE_URL; one per worker process."""
    return create_app()


def __getattr__(name: str) -> Any:  # `loginaudit.asgi:app` builds the app on first access only
    if name == "app":
        return create_app()
    raise AttributeError(name)
