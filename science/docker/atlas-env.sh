# shellcheck shell=bash
# ATLAS environment for every way a science container is entered.
#
# Installed as /etc/topcp/atlas-env.sh and read through
#   * BASH_ENV            -> `bash -c CMD` and `bash script.sh` (servicex-local's file_runner.sh)
#   * /etc/profile.d/     -> `bash --login -c CMD` (newer ServiceX)
#   * /etc/bash.bashrc or /etc/bashrc -> interactive shells (`docker run -it ... bash`)
# `python3 /generated/transform_single_file.py` needs none of them: the script sources the same
# two setup files itself when runTop_el.py is not on PATH. This file only makes the shells
# agree with it, so users who run runTop_el.py by hand get the same environment.
#
# Idempotent: it does nothing when runTop_el.py is already on PATH (a login shell started from
# a shell that already set up keeps the release; a second source is skipped). It never exits
# the calling shell, and a missing setup is silent (the emulated image has none).
_topcp_atlas_env() {
    command -v runTop_el.py >/dev/null 2>&1 && return 0
    local release="${ATLAS_RELEASE_SETUP:-/release_setup.sh}"
    local pattern="${TOPCP_SETUP:-/TopCPToolkit/build/x86_64-*/setup.sh}"
    local topcp="" candidate
    [ -f "$release" ] || return 0
    # shellcheck disable=SC2086  # the pattern is meant to glob
    for candidate in $pattern; do
        [ -f "$candidate" ] && topcp="$candidate"
    done
    [ -n "$topcp" ] || return 0
    # Called with no arguments, so the setup scripts never see the caller's "$@" (a script's
    # positional parameters would otherwise leak into them). Their banners go to stderr so a
    # command's stdout stays clean.
    _topcp_source_quietly "$release" || {
        echo "atlas-env: sourcing $release failed" >&2
        return 0
    }
    _topcp_source_quietly "$topcp" || echo "atlas-env: sourcing $topcp failed" >&2
    return 0
}
_topcp_source_quietly() {
    local file="$1"
    set --
    # shellcheck disable=SC1090
    source "$file" >&2
}
_topcp_atlas_env
unset -f _topcp_atlas_env _topcp_source_quietly
