#!/bin/bash
# Build TopCPToolkit at $TOPCPTOOLKIT_TAG in /TopCPToolkit against the AnalysisBase release,
# like ssl-hep/science-images' TopCP image: clone, cmake, make.
#
#   TOPCPTOOLKIT_BUILD=auto  build unless the base image already has a TopCPToolkit build
#                            (/TopCPToolkit/build/x86_64-*/setup.sh), e.g. a pre-built base or
#                            the stand-in base used in CI
#   TOPCPTOOLKIT_BUILD=yes   always build (fails without the release or the sources)
#   TOPCPTOOLKIT_BUILD=no    never build
# The GitLab project needs credentials: a token given as the build secret GIT_KEY
# (`docker build --secret id=GIT_KEY,env=GIT_KEY ...`), read from /run/secrets/GIT_KEY and
# never stored in a layer.
set -euo pipefail
mode="${TOPCPTOOLKIT_BUILD:-auto}"
tag="${TOPCPTOOLKIT_TAG:?TOPCPTOOLKIT_TAG must be set}"
repo="${TOPCPTOOLKIT_REPO:?TOPCPTOOLKIT_REPO must be set}"
release="${ATLAS_RELEASE_SETUP:-/release_setup.sh}"

existing=""
for candidate in /TopCPToolkit/build/x86_64-*/setup.sh; do
    [ -f "$candidate" ] && existing="$candidate"
done
case "$mode" in
    no) echo "build-topcptoolkit: TOPCPTOOLKIT_BUILD=no, skipping"; exit 0 ;;
    auto)
        if [ -n "$existing" ]; then
            echo "build-topcptoolkit: base image already provides $existing; not rebuilding"
            exit 0
        fi ;;
    yes) ;;
    *) echo "build-topcptoolkit: TOPCPTOOLKIT_BUILD must be auto, yes or no, got '$mode'" >&2; exit 2 ;;
esac

[ -f "$release" ] || {
    echo "build-topcptoolkit: no AnalysisBase release setup at $release; build FROM an" \
         "AnalysisBase image (BASE_IMAGE) or set TOPCPTOOLKIT_BUILD=no" >&2
    exit 1
}
url="$repo"
if [ -s /run/secrets/GIT_KEY ]; then
    url="${repo/https:\/\//https://$(cat /run/secrets/GIT_KEY)@}"
fi
rm -rf /TopCPToolkit.src
git clone --quiet --branch "$tag" --depth 1 "$url" /TopCPToolkit.src \
    || { echo "build-topcptoolkit: cannot clone $repo at $tag (is the GIT_KEY secret set?)" >&2; exit 1; }
# Keep no credentials in .git/config.
git -C /TopCPToolkit.src remote set-url origin "$repo"
mkdir -p /TopCPToolkit
cp -a /TopCPToolkit.src/. /TopCPToolkit/
rm -rf /TopCPToolkit.src
mkdir -p /TopCPToolkit/build /TopCPToolkit/run
cd /TopCPToolkit/build
set +u  # the ATLAS setup scripts use unset variables
# shellcheck disable=SC1090
source "$release"
cmake ../source
# shellcheck disable=SC1090
source ./x86_64-*/setup.sh
make -j"${MAKE_JOBS:-4}"
set -u
ls -d /TopCPToolkit/build/x86_64-*/setup.sh
