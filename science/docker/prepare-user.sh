#!/bin/sh
# The account science containers run as (uid 0, root, by default: see science/Dockerfile), and
# the directories a ServiceX pod (or our harness, or servicex-local) mounts or writes, owned by
# it: /servicex/output (shared with the sidecar), /generated (bundle, read-only mount),
# /tmp/grid-security (proxy-exporter.sh copies the proxy there), the home/work dir.
# AnalysisBase images already have a user with uid 1000 ("atlas"); reuse whatever account owns
# the uid rather than fail.
set -eu
uid="${1:-0}"
name="${2:-topcp}"
if ! getent passwd "$uid" >/dev/null 2>&1; then
    if command -v useradd >/dev/null 2>&1; then
        useradd --uid "$uid" --user-group --create-home --shell /bin/bash "$name"
    else
        adduser -D -u "$uid" -s /bin/bash "$name"
    fi
fi
user="$(getent passwd "$uid" | cut -d: -f1)"
group="$(id -gn "$user")"
home="$(getent passwd "$uid" | cut -d: -f6)"
mkdir -p /servicex/output /generated /tmp/grid-security "$home"
chown "$user:$group" /servicex/output /tmp/grid-security "$home"
chmod 0755 /servicex/output /generated "$home"
if [ "$uid" = 0 ]; then
    # root's image may still be run as any uid (OpenShift-style): let that uid place its proxy
    chmod 1777 /tmp/grid-security
else
    chmod 0700 /tmp/grid-security
fi
# The science runtime writes scratch space under $TMPDIR (default /tmp); keep /tmp sticky.
chmod 1777 /tmp
# A stable path for Dockerfiles: /home/science -> the account's home.
[ "$home" = /home/science ] || ln -sfn "$home" /home/science
echo "prepare-user: running as $user (uid $uid), home $home"
