#!/usr/bin/env bash
# scripts/install-deps asks for Debian's npm exactly when no npm is on the PATH: Debian 12's
# nodejs has none, and nodesource's nodejs has its own and conflicts with Debian's package.
# Runs the script's --dry-run twice: on a PATH of only the tools it uses (no npm), and with a
# PATH that also holds an npm.
set -euo pipefail
root=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
for tool in bash dirname grep dpkg-query id; do
  ln -s "$(command -v "$tool")" "$work/bin/$tool"
done

without=$(PATH="$work/bin" bash "$root/scripts/install-deps" --dry-run)
if ! grep -Eq "^install-deps: would install (.* )?npm( |$)" <<<"$without"; then
  echo "FAILED: with no npm on the PATH, install-deps should ask for Debian's npm; it said: \"$without\""
  exit 1
fi

printf '#!/bin/sh\necho 9.2.0\n' >"$work/bin/npm"
chmod +x "$work/bin/npm"
with=$(PATH="$work/bin" bash "$root/scripts/install-deps" --dry-run)
if grep -Eq "would install (.* )?npm( |$)" <<<"$with"; then
  echo "FAILED: with an npm on the PATH, install-deps must not ask for Debian's npm; it said: \"$with\""
  exit 1
fi

mkdir "$work/scripts"
cp "$root/scripts/install-deps" "$work/scripts/"
printf 'cmake\nnpm when-no-comand=npm\n' >"$work/scripts/packages.txt"
if bad=$(PATH="$work/bin" bash "$work/scripts/install-deps" --dry-run 2>&1); then
  echo "FAILED: a misspelt condition should be refused; install-deps said: \"$bad\""
  exit 1
fi
if ! grep -q 'unknown condition "when-no-comand=npm"' <<<"$bad"; then
  echo "FAILED: the refusal should name the condition; it said: \"$bad\""
  exit 1
fi
echo "ok: npm asked for only when missing; bad conditions refused"
