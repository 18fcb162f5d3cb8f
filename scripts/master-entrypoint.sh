#!/bin/sh
# The master image's entrypoint. Started as root only to make the mounted output folder the
# master's (a `./output` created by root on the host would otherwise stop every request with
# EACCES), then runs tessera as TESSERA_USER (uid:gid, default 1000:1000, the image's `node` user),
# as the official postgres image does with its data folder. Only the folder itself is chowned,
# not what is already in it. Started as another user (docker run --user), it runs tessera as is.
set -e
user="${TESSERA_USER:-1000:1000}"
if [ "$(id -u)" = 0 ]; then
  output="${OUTPUT_DIR:-/data/output}"
  mkdir -p "$output"
  if [ "$(stat -c %u:%g "$output")" != "$user" ]; then chown "$user" "$output"; fi
  exec setpriv --reuid="${user%%:*}" --regid="${user##*:}" --clear-groups tessera "$@"
fi
exec tessera "$@"
