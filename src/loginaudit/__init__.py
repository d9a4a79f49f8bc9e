"""loginaudit: spec-first, stateful emulators of vendor login-audit APIs over one shared store."""

__version__ = "0.1.0"
