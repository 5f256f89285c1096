#!/usr/bin/env bash
# Build the project's images from the repository root.
#
#   docker/build-images.sh                  # every image
#   docker/build-images.sh codegen science-emulated
#   BASE_IMAGE=localhost/base-python:bookworm docker/build-images.sh   # no registry (CI)
#
# Targets: codegen, science-emulated, x509-proxy, s3, harness, standin, science.
# "science" is the production AnalysisBase image; with STANDIN=1 (the default when BASE_IMAGE
# is a localhost/ image) it is built FROM the stand-in base ("standin") instead of the CERN
# registry. Image names come from .env. Builds the wheelhouse first unless WHEELHOUSE_READY=1.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

# Image names: environment first, then .env.
env_default() {
    local name="$1" value
    if [ -z "${!name:-}" ]; then
        value="$(sed -n "s/^${name}=//p" .env | tail -1)"
        printf -v "$name" '%s' "$value"
    fi
    export "${name?}"
}
for var in TOPCP_CODEGEN_IMAGE TOPCP_HARNESS_IMAGE TOPCP_SCIENCE_IMAGE TOPCP_SCIENCE_PROD_IMAGE \
           TOPCP_X509_IMAGE TOPCP_S3_IMAGE; do
    env_default "$var"
done
BASE_IMAGE="${BASE_IMAGE:-python:3.11-slim-bookworm}"
STANDIN_IMAGE="${STANDIN_IMAGE:-localhost/servicex-topcp-standin-analysisbase:25.2.74}"
case "$BASE_IMAGE" in localhost/*) STANDIN="${STANDIN:-1}" ;; *) STANDIN="${STANDIN:-0}" ;; esac

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(codegen science-emulated x509-proxy s3)
    [ -f test-harness/Dockerfile ] && targets+=(harness)
    [ "$STANDIN" = 1 ] && targets+=(standin)
    targets+=(science)
fi

log() { echo "build-images: $*" >&2; }

# BuildKit is needed for the production science image (its GitLab token is a build secret).
# Use buildx when installed; otherwise a docker CLI whose built-in BuildKit works (Debian's
# docker.io 20.10); otherwise the classic builder for the images that do not need it.
builder=()
if docker buildx version >/dev/null 2>&1; then
    builder=(docker buildx build --load)
else
    for cli in docker /usr/bin/docker; do
        if command -v "$cli" >/dev/null 2>&1 && \
           DOCKER_BUILDKIT=1 "$cli" build --help 2>/dev/null | grep -q -- '--secret'; then
            if DOCKER_BUILDKIT=1 "$cli" build -q --network host -f - . <<<'FROM scratch
LABEL probe=1' >/dev/null 2>&1; then
                builder=(env DOCKER_BUILDKIT=1 "$cli" build)
                break
            fi
        fi
    done
fi
classic=(env DOCKER_BUILDKIT=0 docker build)
[ ${#builder[@]} -gt 0 ] || log "no BuildKit available: the production science image cannot be built"

# Host networking for RUN steps: the engine here has no bridge, and it is harmless elsewhere.
build() {  # build <buildkit|classic> <tag> <dockerfile> [args...]
    local kind="$1" tag="$2" file="$3"
    shift 3
    local cmd=("${classic[@]}")
    if [ "$kind" = buildkit ] || [ ${#builder[@]} -gt 0 ]; then cmd=("${builder[@]}"); fi
    [ ${#cmd[@]} -gt 0 ] || { log "cannot build $tag without BuildKit"; return 1; }
    local start=$SECONDS
    log "building $tag from $file"
    "${cmd[@]}" -q --network host -f "$file" -t "$tag" "$@" . >/dev/null
    log "built $tag in $((SECONDS - start))s"
}

if [ "${WHEELHOUSE_READY:-0}" != 1 ]; then
    bash docker/wheelhouse.sh >/dev/null
fi

for target in "${targets[@]}"; do
    case "$target" in
        codegen) build any "$TOPCP_CODEGEN_IMAGE" codegen/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" ;;
        science-emulated) build any "$TOPCP_SCIENCE_IMAGE" science/Dockerfile.emulated --build-arg BASE_IMAGE="$BASE_IMAGE" ;;
        x509-proxy) build any "$TOPCP_X509_IMAGE" x509-proxy/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" ;;
        s3) build any "$TOPCP_S3_IMAGE" docker/seaweedfs/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" ;;
        harness) build any "$TOPCP_HARNESS_IMAGE" test-harness/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" ;;
        standin) build any "$STANDIN_IMAGE" docker/standin-analysisbase/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" ;;
        science)
            args=()
            if [ "$STANDIN" = 1 ]; then
                args+=(--build-arg BASE_IMAGE="$STANDIN_IMAGE")
            fi
            if [ -n "${GIT_KEY:-}" ]; then args+=(--secret id=GIT_KEY,env=GIT_KEY); fi
            build buildkit "$TOPCP_SCIENCE_PROD_IMAGE" science/Dockerfile ${args[@]+"${args[@]}"} ;;
        *) log "unknown target '$target' (codegen science-emulated x509-proxy s3 harness standin science)"; exit 2 ;;
    esac
done
