"""Conformance: Schemathesis plus vendor-semantics checks against any server speaking a vendor's API."""
