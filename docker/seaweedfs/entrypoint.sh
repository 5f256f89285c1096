#!/bin/sh
# Start a single-node SeaweedFS (master + volume + filer + S3 gateway) with data in /data and
# one S3 identity from $S3_ACCESS_KEY / $S3_SECRET_KEY. Every bucket (one per request) is a
# SeaweedFS collection with volumes of its own, hence a high -volume.max (volumes are not
# preallocated, so an unused one costs nothing).
#
# S3_BIND is the address every listener binds: 0.0.0.0 on a compose network (the published
# port, bound to 127.0.0.1 on the host, decides who reaches it), 127.0.0.1 with host
# networking. All internal ports are configurable so that several stacks (or a test's own
# SeaweedFS) can share one host network; gRPC ports are the HTTP ports + 10000.
set -eu
: "${S3_ACCESS_KEY:?S3_ACCESS_KEY must be set}"
: "${S3_SECRET_KEY:?S3_SECRET_KEY must be set}"
case "$S3_ACCESS_KEY$S3_SECRET_KEY" in
    *'"'*|*'\'*) echo "topcp-s3: S3_ACCESS_KEY/S3_SECRET_KEY must not contain quotes or backslashes" >&2; exit 2 ;;
esac
conf_dir="${S3_CONFIG_DIR:-/tmp/topcp-s3}"
mkdir -p "$conf_dir"
umask 077
cat >"$conf_dir/s3.json" <<JSON
{"identities": [{"name": "topcp",
                 "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
                 "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
bind="${S3_BIND:-0.0.0.0}"
# weed stops its servers on SIGTERM but then does not always exit; give it a short grace
# period after the volume server has flushed, then make sure it is gone, so that
# `docker stop` / `docker-compose down` take seconds, not the engine's 10 s kill timeout.
weed server \
    -dir="${S3_DATA_DIR:-/data}" \
    -ip=127.0.0.1 -ip.bind="$bind" \
    -master.port="${WEED_MASTER_PORT:-9333}" \
    -master.volumeSizeLimitMB="${WEED_VOLUME_SIZE_LIMIT_MB:-256}" \
    -volume.port="${WEED_VOLUME_PORT:-8080}" \
    -volume.max="${WEED_VOLUME_MAX:-1000}" \
    -filer -filer.port="${WEED_FILER_PORT:-8888}" \
    -filer.localSocket="$conf_dir/filer.sock" \
    -s3 -s3.port="${S3_PORT:-8333}" -s3.config="$conf_dir/s3.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 \
    -volume.preStopSeconds="${WEED_PRESTOP_SECONDS:-1}" \
    "$@" &
pid=$!
stop() {
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt "${WEED_STOP_GRACE_TENTHS:-40}" ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    exit 0
}
trap stop TERM INT
wait "$pid"
