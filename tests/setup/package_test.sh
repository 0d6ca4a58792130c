#!/usr/bin/env bash
# The Debian package CPack builds (`make package` does the same with PREFIX /usr) is one an
# installer can use: its control data (name, dependencies found by dpkg-shlibdeps, the
# config as a conffile, maintainer scripts that are executable and parse), its files where
# the service expects them, a systemd unit that systemd itself loads, a sysusers file that
# systemd-sysusers turns into the service's user in dialout and video, and a binary that
# runs from the unpacked tree.
#
#   package_test.sh BUILD_DIR PREFIX SYSCONFDIR UDEV_RULES_DIR
set -euo pipefail
build=$1 prefix=$2 sysconfdir=$3 udev=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

# The package goes to BUILD_DIR/packages (CPACK_OUTPUT_FILE_PREFIX); CPack's scratch to $work.
rm -f "$build"/packages/linestation_*.deb
(cd "$build" && cpack -G DEB -B "$work/cpack") >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$build"/packages/linestation_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { cat "$work/cpack.log"; fail "cpack wrote no linestation_*.deb in $build/packages"; }

info=$(dpkg-deb -I "$deb")
field() { sed -n "s/^ $1: //p" <<<"$info"; }
[ "$(field Package)" = linestation ] || fail "Package: is \"$(field Package)\", expected linestation"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
depends=$(field Depends)
for dep in systemd udev libpoco libsqlite3 libserialport libusb-1.0 libopencv; do
  grep -q "$dep" <<<"$depends" || fail "Depends: lacks $dep (dpkg-shlibdeps?): $depends"
done

mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
grep -qxF "$sysconfdir/linestation/station.json" "$work/control/conffiles" ||
  fail "conffiles does not list $sysconfdir/linestation/station.json: $(cat "$work/control/conffiles")"
for script in postinst prerm; do
  [ -x "$work/control/$script" ] || fail "$script is not executable"
  sh -n "$work/control/$script" || fail "$script does not parse"
done
grep -qF "$prefix/lib/sysusers.d/linestation.conf" "$work/control/postinst" ||
  fail "postinst does not make the service user from the installed sysusers file"

root="$work/root"
dpkg-deb -x "$deb" "$root"
for f in "$prefix/bin/station" "$prefix/share/linestation/web/ui/operator.html" \
  "$prefix/share/linestation/web/ui/vendor/chart.umd.js" "$prefix/share/linestation/web/openapi.json" \
  "$prefix/share/linestation/recipes/tuya-ipc-camera.json" "$prefix/share/linestation/fixtures/virtual-8.json" \
  "$prefix/lib/systemd/system/linestation.service" "$prefix/lib/sysusers.d/linestation.conf" \
  "$udev/60-linestation.rules" "$sysconfdir/linestation/station.json" \
  "$sysconfdir/linestation/station.json.sample"; do
  [ -e "$root$f" ] || fail "$f is not in the package"
done
if dpkg-deb -c "$deb" | grep -q 'web/ui/package.json'; then fail "the UI's npm manifest is packaged"; fi

# systemd loads the unit as written: unknown keys, bad values and a missing ExecStart binary
# are errors here (--root: the unpacked package, not this machine's /usr).
# The targets a unit's default dependencies name come from this machine's systemd.
unit="$prefix/lib/systemd/system/linestation.service"
mkdir -p "$root/usr/lib/systemd/system"
cp -a /usr/lib/systemd/system/*.target "$root/usr/lib/systemd/system/"
if ! verify=$(systemd-analyze verify --root="$root" "$unit" 2>&1); then
  fail "systemd-analyze verify $unit: $verify"
fi
if grep -qiE "unknown|invalid|failed|not found|ignoring" <<<"$verify"; then
  fail "systemd-analyze verify $unit warned: $verify"
fi

# The service's user, as postinst makes it, in a root of its own.
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$root$prefix/lib/sysusers.d/linestation.conf" >"$work/sysusers.log" 2>&1 ||
  { cat "$work/sysusers.log"; fail "systemd-sysusers"; }
grep -q '^linestation:' "$root/etc/passwd" || fail "no linestation user in $root/etc/passwd"
for group in dialout video; do
  grep -qE "^$group:[^:]*:[0-9]+:(.*,)?linestation(,|$)" "$root/etc/group" ||
    fail "linestation is not in group $group: $(grep "^$group:" "$root/etc/group" || echo none)"
done

# The packaged binary runs (its libraries are the ones Depends: names).
"$root$prefix/bin/station" --version >"$work/version.txt" 2>&1 ||
  { cat "$work/version.txt"; fail "$prefix/bin/station --version"; }
echo "ok: $(basename "$deb"): $(wc -l < <(dpkg-deb -c "$deb")) entries; the unit verifies; sysusers makes linestation in dialout and video"
