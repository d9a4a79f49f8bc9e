"""The shared store: one canonical model of tenants, people, credentials and login events."""

from .db import Store, bind, current, database_url

__all__ = ["Store", "bind", "current", "database_url"]
