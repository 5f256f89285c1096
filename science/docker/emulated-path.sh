# shellcheck shell=sh
# Login shells start from /etc/profile's PATH; keep the image's Python environment first.
case ":$PATH:" in
    *:/opt/topcp/bin:*) ;;
    *) PATH="/opt/topcp/bin:$PATH"; export PATH ;;
esac
