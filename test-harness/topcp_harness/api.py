"""The REST API: exactly the part of ServiceX's that servicex 3.3.1 calls.

Field names are ServiceX's (hyphenated). Errors are JSON ``{"message": ...}`` (the key the
client's ``_extract_message`` reads) with the status codes the client turns into readable
exceptions: a mistake in the request is 400 (``ValueError("Invalid transform request: ...")``),
an unknown id 404 (``ValueError``). A user mistake never produces a 500.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

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
        return jsonify({"requests": [harness.status(r["id"]) for r in harness.db.requests()]})

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
