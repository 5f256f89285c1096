"""The REST API: exactly the part of ServiceX's that servicex 3.3.1 calls, plus its pages.

Field names are ServiceX's (hyphenated). Errors are JSON ``{"message": ...}`` (the key the
client's ``_extract_message`` reads) with the status codes the client turns into readable
exceptions: a mistake in the request is 400 (``ValueError("Invalid transform request: ...")``),
an unknown id 404 (``ValueError``), a code generator rejection 500 as on ServiceX
(``RuntimeError``, see ``Harness.submit``), a missing or wrong token 401.

Every request first passes the Host check (DNS rebinding) and, when the harness has a token,
the bearer-token check; ``GET /servicex`` (as upstream's ``Info`` resource, which has no
``@auth_required``) and ``POST /token/refresh`` (it checks the refresh token itself) are
open to token-less callers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import pages
from .security import bearer, host_allowed

if TYPE_CHECKING:  # pragma: no cover
    from .server import Harness

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with the HTTP status the client should see."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_api(harness: Harness) -> Flask:
    app = Flask("topcp_harness")

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify({"message": exc.message}), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return jsonify({"message": f"{exc.name}: {exc.description}"}), exc.code or 500

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        log.exception("internal error on %s %s", request.method, request.path)
        return jsonify({"message": f"internal harness error ({type(exc).__name__}: {exc}); "
                                   "see the harness log"}), 500

    open_paths = {"/servicex", "/token/refresh"}

    @app.before_request
    def _guard():
        harness.requests_in_flight.enter()
        if not host_allowed(request.host, harness.config.host, harness.auth.required):
            raise ApiError(403, f"Host {request.host!r} is not this harness (DNS rebinding "
                                f"protection); use {harness.url}")
        if request.path not in open_paths and \
                not harness.auth.allows(bearer(request.headers.get("Authorization"))):
            raise ApiError(401, "Not Authorized: this harness needs its token (token: in "
                                "servicex.yaml, as printed when it started)")

    @app.teardown_request
    def _done(_exc):
        harness.requests_in_flight.leave()

    @app.post("/token/refresh")
    def token_refresh():
        # As ServiceX's TokenRefresh: the refresh token in, a short-lived access JWT out.
        if not harness.auth.is_refresh_token(bearer(request.headers.get("Authorization"))):
            raise ApiError(401, "Invalid or outdated refresh token")
        return jsonify({"access_token": harness.auth.mint()})

    @app.get("/transformation-request/<request_id>")
    @app.get("/transformation-request/<request_id>/results")
    def results_page(request_id: str):
        status = request.args.get("status")
        req, files = harness.files_for_page(request_id, status)
        html = pages.results_html(req, files, status, harness.log_url(request_id))
        return Response(html, mimetype="text/html")

    @app.get("/transformation-request/<request_id>/logs")
    def logs_page(request_id: str):
        # the client's filter for `servicex transforms logs --log-level error` and its links
        only_failed = "level:'error'" in request.args.get("_a", "")
        return Response(harness.logs_text(request_id, only_failed), mimetype="text/plain")

    @app.get("/servicex")
    def info():
        return jsonify(harness.info())

    @app.post("/servicex/transformation")
    def submit():
        body: Any = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object (a ServiceX TransformRequest)")
        return jsonify({"request_id": harness.submit(body)})

    @app.get("/servicex/transformation")
    def listing():
        # without S3 keys, as ServiceX's listing (get_all.py): one call must not hand out
        # the read-only key of every request
        return jsonify({"requests": [harness.status(r["id"], with_keys=False)
                                     for r in harness.db.requests()]})

    @app.get("/servicex/transformation/<request_id>")
    def status(request_id: str):
        return jsonify(harness.status_for_client(request_id))

    @app.delete("/servicex/transformation/<request_id>")
    def delete(request_id: str):
        harness.delete(request_id)
        return jsonify({"message": f"transformation {request_id} deleted"})

    @app.get("/servicex/transformation/<request_id>/cancel")
    def cancel(request_id: str):
        harness.cancel(request_id)
        return jsonify({"message": f"transformation {request_id} canceled"})

    @app.get("/servicex/transformation/<request_id>/results")
    def results(request_id: str):
        return jsonify({"results": harness.results(
            request_id, request.args.get("later_than"), request.args.get("status"))})

    @app.get("/servicex/datasets")
    def datasets():
        show_deleted = request.args.get("show-deleted", "").lower() in ("1", "true", "yes")
        return jsonify({"datasets": harness.datasets(show_deleted)})

    @app.get("/servicex/datasets/<int:dataset_id>")
    def dataset(dataset_id: int):
        return jsonify(harness.dataset(dataset_id))

    @app.delete("/servicex/datasets/<int:dataset_id>")
    def delete_dataset(dataset_id: int):
        return jsonify({"dataset-id": dataset_id, "stale": harness.delete_dataset(dataset_id)})

    return app
