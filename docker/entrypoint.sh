#!/bin/sh
# The image's entrypoint: `docker run IMAGE [COMMAND [ARGS…]]`, COMMAND an oparl-server command
# (default `serve`; a leading `oparl-server` is optional). Commands that use the database migrate
# it first, under the migration lock of `oparl-server migrate` (replicas starting together take
# turns; the first migrates, the others find it done), unless OPARL_MIGRATE=false. Then the
# command replaces this shell (exec): it is PID 1 and gets `docker stop`'s SIGTERM itself.
set -eu

if [ "$#" -gt 0 ] && [ "$1" = "oparl-server" ]; then shift; fi
if [ "$#" -eq 0 ]; then set -- serve; fi

case "$1" in
    serve | load-fixtures | harvest | token | generate | render)
        if [ "${OPARL_MIGRATE:-true}" != "false" ]; then
            oparl-server migrate >&2  # stdout stays the command's own (`token create | tail -1`)
        fi
        exec oparl-server "$@"
        ;;
    demo | migrate | -*)
        exec oparl-server "$@"
        ;;
    *)
        exec "$@"  # anything else as given, e.g. `sh`
        ;;
esac
