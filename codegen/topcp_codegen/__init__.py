"""The ``topcp`` ServiceX code generator: validates TopCPToolkit configs and bundles them.

Importing this package must stay cheap and must not import Flask: the client imports
``topcp_codegen.validation`` (and ``topcp_codegen.bundle`` for ``topcp-sx run``) on machines
where only the offline parts matter. The WSGI factory therefore imports the Flask app lazily.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from flask import Flask


def _version() -> str:
    try:
        return metadata.version("servicex-topcp")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.1.0"


__version__ = _version()

#: Name under which ServiceX deployments register this code generator.
CODEGEN_NAME = "topcp"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """WSGI factory (gunicorn ``'topcp_codegen:create_app()'``); see :mod:`topcp_codegen.app`."""
    from .app import create_app as _create_app

    return _create_app(test_config)


__all__ = ["CODEGEN_NAME", "__version__", "create_app"]
