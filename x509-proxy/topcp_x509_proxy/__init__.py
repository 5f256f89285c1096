"""Sidecar keeping a valid grid proxy at a shared path (default /tmp/grid-security/x509up)."""

__version__ = "0.1.0"
