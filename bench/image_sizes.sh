#!/usr/bin/env bash
# Image sizes against their budgets (docker/build-images.sh builds the images; names from .env).
#   bench/image_sizes.sh          # exit 1 when an image with a budget is over it
# Budgets: codegen < 250 MB, emulated science < 700 MB. The other images are listed for
# information, with the base image they start from (everything above it is ours).
set -euo pipefail
cd "$(dirname "$0")/.."
name() { local v="${!1:-}"; [ -n "$v" ] || v="$(sed -n "s/^$1=//p" .env | tail -1)"; echo "$v"; }
size_mb() { docker image inspect -f '{{.Size}}' "$1" 2>/dev/null | awk '{printf "%.1f", $1 / 1e6}'; }

base="${BASE_IMAGE:-localhost/base-python:bookworm}"
base_mb="$(size_mb "$base" || true)"
printf '%-36s %8s %7s %6s  %-9s %s\n' image "size MB" budget used verdict tag
status=0
row() {  # row <label> <image> <budget MB or ->
    local mb budget="$3" used verdict
    mb="$(size_mb "$2" || true)"
    if [ -z "$mb" ]; then
        printf '%-36s %8s %7s %6s  %-9s %s\n' "$1" - "$budget" - "not built" "$2"
        [ "$budget" = - ] || status=1
        return
    fi
    if [ "$budget" = - ]; then
        used=-; verdict=info
    else
        used="$(awk -v a="$mb" -v b="$budget" 'BEGIN {printf "%.0f%%", 100 * a / b}')"
        if awk -v a="$mb" -v b="$budget" 'BEGIN {exit !(a < b)}'; then verdict=OK; else verdict=OVER; status=1; fi
    fi
    printf '%-36s %8s %7s %6s  %-9s %s\n' "$1" "$mb" "$budget" "$used" "$verdict" "$2"
}
row codegen "$(name TOPCP_CODEGEN_IMAGE)" 250
row "science, emulated" "$(name TOPCP_SCIENCE_IMAGE)" 700
row "science, production (stand-in base)" "$(name TOPCP_SCIENCE_PROD_IMAGE)" -
row harness "$(name TOPCP_HARNESS_IMAGE)" -
row x509-proxy "$(name TOPCP_X509_IMAGE)" -
row "s3 (SeaweedFS)" "$(name TOPCP_S3_IMAGE)" -
[ -z "$base_mb" ] || printf '%-36s %8s %7s %6s  %-9s %s\n' "base image" "$base_mb" - - info "$base"
exit $status
