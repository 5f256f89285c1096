"""The Flask app: ServiceX's code-generator HTTP API for TopCP queries.

Wire format (what ServiceX's ``code_gen_adapter.py`` and servicex-local expect, checked against
servicex-code-gen-lib 1.3): ``POST /servicex/generated-code`` with JSON ``{"code": "<query>"}``
answers 200 ``multipart/form-data`` with the parts ``transformer_image``, ``language``,
``command``, ``zip_data`` in that order (consumers read them by position); ``zip_data`` has no
filename and no Content-Type, exactly as requests_toolbelt's ``MultipartEncoder`` writes a
bytes field.

Unlike upstream (every error a 500), user mistakes are 400 with ``{"Message": ...}``: ServiceX
shows ``Message`` to the user verbatim, and a 500 stays reserved for bugs in this package, so
operators can alert on it. Nothing a client sends should produce a 500.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from requests_toolbelt import MultipartEncoder
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from . import CODEGEN_NAME, __version__
from .bundle import capabilities, generate, transform_script_bytes
from .config import ENV_CONFIG_FILE, Settings, config_from_env, settings_from_config
from .images import describe_allowed
from .query import QUERY_KEYS, QueryError, json_type_name

GENERATE_ROUTE = "/servicex/generated-code"
INFO_ROUTE = "/servicex/info"
_SETTINGS_KEY = "topcp_codegen.settings"

log = logging.getLogger(__name__)


def _settings() -> Settings:
    return current_app.extensions[_SETTINGS_KEY]


def _message(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    body: dict[str, Any] = {"Message": message}
    body.update(extra)
    return jsonify(body), status


def _read_code() -> str:
    """The ``code`` string of the request body, or QueryError saying what was wrong."""
    raw = request.get_data(cache=False)  # raises 413 beyond MAX_CONTENT_LENGTH
    expected = 'the request body must be JSON {"code": "<TopCP query as a JSON string>"}'
    if not raw.strip():
        raise QueryError(f"{expected}; the body is empty")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise QueryError(
            f"{expected}; it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise QueryError(f"{expected}; it is not valid JSON (the body is not UTF-8 text)") from None
    except RecursionError:
        raise QueryError(f"{expected}; it is not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. integers with thousands of digits
        raise QueryError(f"{expected}; it is not valid JSON ({str(exc)[:200]})") from None
    if not isinstance(body, dict):
        raise QueryError(f"{expected}; got a JSON {json_type_name(body)}")
    if "code" not in body:
        raise QueryError(f"{expected}; the 'code' key is missing")
    code = body["code"]
    if not isinstance(code, str):
        raise QueryError(
            f"{expected}; 'code' must be a string holding the query JSON with keys "
            + ", ".join(QUERY_KEYS)
        )
    return code


def generated_code() -> Response | tuple[Response, int]:
    """POST /servicex/generated-code: validate the query, reply with the four-part bundle."""
    settings = _settings()
    try:
        code = _read_code()
        result = generate(
            code,
            default_image=settings.default_image,
            allowed_registries=settings.allowed_registries,
        )
    except QueryError as exc:
        log.info("rejected TopCP query: %s", exc.message.splitlines()[0])
        extra = {"errors": [e.to_dict() for e in exc.errors]} if exc.errors else {}
        return _message(400, exc.message, **extra)
    encoder = MultipartEncoder(
        fields=[
            ("transformer_image", result.image),
            ("language", result.language),
            ("command", result.command),
            ("zip_data", result.zip_bytes),
        ]
    )
    log.info("generated bundle %s (%d bytes)", result.manifest["query_hash"][:12],
             len(result.zip_bytes))
    return Response(encoder.to_string(), status=200, content_type=encoder.content_type)


def healthz() -> Response:
    return jsonify({"status": "ok"})


def info() -> Response:
    """Version, schema release and image policy, so operators and clients can check a server."""
    from .validation import SCHEMA_RELEASE

    settings = _settings()
    return jsonify(
        {
            "name": CODEGEN_NAME,
            "version": __version__,
            "schema_release": dict(SCHEMA_RELEASE),
            "default_image": settings.default_image,
            "custom_images": describe_allowed(settings.allowed_registries) or None,
            "max_body_bytes": settings.max_body_bytes,
            "query_keys": list(QUERY_KEYS),
            "capabilities": capabilities(),
        }
    )


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    code = exc.code or 500
    if isinstance(exc, RequestEntityTooLarge):
        limit = _settings().max_body_bytes
        return _message(
            413,
            f"the request body is larger than this code generator accepts ({limit} bytes, the "
            "size of a ServiceX ConfigMap); shorten the configs",
        )
    if isinstance(exc, MethodNotAllowed):
        methods = sorted(set(exc.valid_methods or []) - {"HEAD", "OPTIONS"})
        allowed = ", ".join(methods) or "another method"
        return _message(405, f"{request.method} is not allowed on {request.path}; use {allowed}")
    if isinstance(exc, NotFound):
        return _message(
            404,
            f"no such endpoint {request.path}; this code generator serves POST "
            f"{GENERATE_ROUTE}, GET {INFO_ROUTE} and GET /healthz",
        )
    return _message(code, f"{exc.name}: {exc.description}")


def _internal_error(exc: Exception) -> tuple[Response, int]:
    log.exception("internal error while handling %s %s", request.method, request.path)
    return _message(
        500,
        f"internal error in the topcp code generator ({type(exc).__name__}); "
        "this is a bug, please report it with the query",
    )


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Without ``test_config`` settings come from the environment.

    ``CODEGEN_CONFIG_FILE`` (a Flask pyfile, as upstream codegens use) is read first; the
    environment variables of :mod:`topcp_codegen.config` override it.
    """
    app = Flask("topcp_codegen")
    if test_config is None:
        if os.environ.get(ENV_CONFIG_FILE):
            app.config.from_envvar(ENV_CONFIG_FILE)
        app.config.update(config_from_env())
    else:
        app.config.update(test_config)
    settings = settings_from_config(app.config)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions[_SETTINGS_KEY] = settings
    # Fail at start-up, not on the first request, if the installation is incomplete.
    capabilities()
    transform_script_bytes()

    app.add_url_rule(GENERATE_ROUTE, "generated_code", generated_code, methods=["POST"])
    app.add_url_rule(INFO_ROUTE, "info", info, methods=["GET"])
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    return app
