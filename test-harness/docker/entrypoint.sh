#!/bin/sh
# Start the harness from TOPCP_HARNESS_* variables (set by docker-compose.yml); extra
# arguments go to `python -m topcp_harness`. On SIGTERM the harness stops its workers, which
# remove their science containers.
set -eu
: "${TOPCP_HARNESS_STATE_DIR:?TOPCP_HARNESS_STATE_DIR must be set}"
if ! mkdir -p "$TOPCP_HARNESS_STATE_DIR" 2>/dev/null || [ ! -w "$TOPCP_HARNESS_STATE_DIR" ]; then
    echo "harness: cannot write $TOPCP_HARNESS_STATE_DIR as uid $(id -u);" \
         "on the host: mkdir -p DIR && chown $(id -u) DIR (TOPCP_STATE_DIR in .env)" >&2
    exit 1
fi
# The docker runner drives the engine with the Docker SDK for Python (no CLI in this image).
if [ "${TOPCP_HARNESS_RUNNER:-docker}" = docker ] \
        && ! python3 -c 'import docker; docker.from_env(timeout=10).ping()' >/dev/null 2>&1; then
    gid="$(stat -c %g /var/run/docker.sock 2>/dev/null || echo '?')"
    echo "harness: the docker runner cannot reach the engine through /var/run/docker.sock" \
         "(uid $(id -u), groups $(id -G)); mount the socket and set TOPCP_DOCKER_GID=$gid" >&2
    exit 1
fi
set -- --host "${TOPCP_HARNESS_BIND_HOST:-0.0.0.0}" --port "${TOPCP_HARNESS_PORT:-5001}" \
    --runner "${TOPCP_HARNESS_RUNNER:-docker}" --state-dir "$TOPCP_HARNESS_STATE_DIR" "$@"
[ -n "${TOPCP_HARNESS_WORKERS:-}" ] && set -- "$@" --workers "$TOPCP_HARNESS_WORKERS"
[ -n "${TOPCP_HARNESS_SCIENCE_IMAGE:-}" ] && set -- "$@" --image "$TOPCP_HARNESS_SCIENCE_IMAGE"
[ -n "${TOPCP_HARNESS_CODEGEN_URL:-}" ] && set -- "$@" --codegen-url "$TOPCP_HARNESS_CODEGEN_URL"
[ -n "${TOPCP_HARNESS_RETRIES:-}" ] && set -- "$@" --retries "$TOPCP_HARNESS_RETRIES"
[ -n "${TOPCP_HARNESS_FILE_TIMEOUT:-}" ] && set -- "$@" --file-timeout "$TOPCP_HARNESS_FILE_TIMEOUT"
if [ -n "${TOPCP_HARNESS_S3_ENDPOINT:-}" ]; then
    set -- "$@" --s3-endpoint "$TOPCP_HARNESS_S3_ENDPOINT" \
        --s3-access-key "${TOPCP_HARNESS_S3_ACCESS_KEY:?TOPCP_HARNESS_S3_ACCESS_KEY must be set}" \
        --s3-secret-key "${TOPCP_HARNESS_S3_SECRET_KEY:?TOPCP_HARNESS_S3_SECRET_KEY must be set}"
fi
if [ -n "${TOPCP_HARNESS_X509_PROXY:-}" ]; then
    # The x509-proxy service publishes it; wait (bounded) for the first one.
    i=0
    while [ ! -s "$TOPCP_HARNESS_X509_PROXY" ] && [ "$i" -lt 60 ]; do sleep 1; i=$((i + 1)); done
    [ -s "$TOPCP_HARNESS_X509_PROXY" ] || echo "harness: warning: no proxy at $TOPCP_HARNESS_X509_PROXY yet" >&2
    set -- "$@" --x509-proxy "$TOPCP_HARNESS_X509_PROXY"
fi
exec python3 -m topcp_harness "$@"
