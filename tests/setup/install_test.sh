#!/usr/bin/env bash
# `cmake --install` into a scratch DESTDIR gives a working station: the files are where the
# service expects them, and the installed binary, started from elsewhere, serves its API and
# the installed web UI (not the source tree's: a marker put into the installed page must
# come back) with the installed sample config as well as without one.
#
#   install_test.sh BUILD_DIR PREFIX SYSCONFDIR UDEV_RULES_DIR
set -euo pipefail
build=$1 prefix=$2 sysconfdir=$3 udev=$4
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; exit 1; }

DESTDIR="$work/root" cmake --install "$build" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "cmake --install"; }
root="$work/root"
share="$root$prefix/share/linestation"
for f in "$prefix/bin/station" "$prefix/share/linestation/web/ui/index.html" \
  "$prefix/share/linestation/web/ui/operator.html" "$prefix/share/linestation/web/ui/vendor/chart.umd.js" \
  "$prefix/share/linestation/web/openapi.json" "$prefix/share/linestation/recipes/tuya-ipc-camera.json" \
  "$prefix/share/linestation/fixtures/virtual-8.json" "$prefix/lib/systemd/system/linestation.service" \
  "$prefix/lib/sysusers.d/linestation.conf" "$udev/60-linestation.rules" \
  "$sysconfdir/linestation/station.json" "$sysconfdir/linestation/station.json.sample"; do
  [ -e "$root$f" ] || fail "$f not installed (DESTDIR $root)"
done
[ -x "$root$prefix/bin/station" ] || fail "$prefix/bin/station is not executable"
[ ! -e "$share/web/ui/package.json" ] || fail "the UI's npm manifest should not be installed"

unit="$root$prefix/lib/systemd/system/linestation.service"
for line in "User=linestation" "SupplementaryGroups=dialout video" "Restart=on-failure" \
  "StandardOutput=journal" "StandardError=journal" \
  "ExecStart=$prefix/bin/station serve --config $sysconfdir/linestation/station.json"; do
  grep -qxF "$line" "$unit" || fail "the unit lacks \"$line\""
done
rules="$root$udev/60-linestation.rules"
for id in 'ATTR{idVendor}=="16c0", ATTR{idProduct}=="05df"' 'ATTRS{idVendor}=="1a86", ATTRS{idProduct}=="7523"' \
  'ATTR{idVendor}=="2109", ATTR{idProduct}=="2817"' 'SUBSYSTEM=="video4linux"'; do
  grep -qF "$id" "$rules" || fail "the udev rules lack $id"
done
if grep -v '^#' "$rules" | grep -v '^$' | grep -vq '^SUBSYSTEM=='; then
  fail "a udev rule line does not start with SUBSYSTEM==: $(grep -v '^#' "$rules" | grep -v '^$' | grep -v '^SUBSYSTEM==' | head -1)"
fi

# Started from an unrelated folder, the installed binary must find its share/ files.
marker="installed-copy-$RANDOM$RANDOM"
echo "<!-- $marker -->" >>"$share/web/ui/operator.html"
mkdir "$work/elsewhere"

http_get() {  # PORT PATH -> the whole answer (status line, header, body)
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
  timeout 10 cat <&3
  exec 3<&-
}

serve() {  # ARGS... ; sets pid and port
  (cd "$work/elsewhere" && exec "$root$prefix/bin/station" serve "$@") >"$work/serve.out" 2>&1 &
  pid=$!
  port=
  for _ in $(seq 1 300); do
    port=$(sed -n 's|^listening on https\?://[^:]*:\([0-9]*\)/$|\1|p' "$work/serve.out" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.out"; fail "station serve $* exited"; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/serve.out"; fail "station serve $* did not say where it listens"; }
}

stop() {
  kill "$pid"
  wait "$pid" || fail "station serve did not stop cleanly (status $?)"
  pid=
}

check_serving() {
  health=$(http_get "$port" /api/health)
  grep -q '^HTTP/1.1 200' <<<"$health" || fail "/api/health: $(head -1 <<<"$health")"
  grep -q '"status"' <<<"$health" || fail "/api/health answered no status: $health"
  page=$(http_get "$port" /operator.html)
  grep -q '^HTTP/1.1 200' <<<"$page" || fail "/operator.html: $(head -1 <<<"$page")"
  grep -qF "$marker" <<<"$page" || fail "/operator.html is not the installed copy (no marker)"
  spec=$(http_get "$port" /api/openapi.json)
  grep -q '^HTTP/1.1 200' <<<"$spec" || fail "/api/openapi.json: $(head -1 <<<"$spec")"
}

serve --port 0 --db "$work/run/station.db"
check_serving
stop

# The installed sample config (comments and all) with its /var paths moved into the scratch
# folder: it must load as shipped.
config="$work/station.json"
sed -e "s|/var/lib/linestation|$work/state|; s|/var/log/linestation|$work/log|" \
  -e "s|\"$prefix/share/linestation/recipes\"|\"$share/recipes\"|" \
  "$root$sysconfdir/linestation/station.json" >"$config"
serve --config "$config" --port 0
check_serving
stop
[ -s "$work/log/station.log" ] || fail "the sample config's log file was not written"
[ -s "$work/state/station.db" ] || fail "the sample config's store was not made"

# A second install keeps an edited config.
echo "// edited" >>"$root$sysconfdir/linestation/station.json"
DESTDIR="$work/root" cmake --install "$build" >"$work/install.log" 2>&1 || fail "second cmake --install"
grep -q "^// edited" "$root$sysconfdir/linestation/station.json" || fail "reinstalling overwrote the edited config"
echo "ok: installed into $root$prefix; the installed station serves /api/health and its own UI"
