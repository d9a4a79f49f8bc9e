"""Mock-server behaviours around the vendor APIs: faults, rate limits, `Prefer`, the request journal."""
