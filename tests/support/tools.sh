#!/usr/bin/env bash
# Unpack a Debian package's programs into a private folder for the tests (`make tools`).
#
# usage: tools.sh DIR NAME WHY PACKAGE...
#
# Nothing is installed on the host: `apt-get download` fetches the .deb files (no root needed)
# and `dpkg-deb -x` unpacks them under DIR/root. No maintainer script runs, so no service is
# enabled or started (Debian's prometheus and postgresql packages start one when installed).
# The shared libraries the programs need and the host lacks (see missing_libraries) are
# unpacked beside them; the tests put
# DIR/root/usr/lib/<arch> on LD_LIBRARY_PATH. A PACKAGE ending in `@` is the versioned
# package its metapackage depends on (postgresql@ is postgresql-15 on Debian 12).
# Prints one line per tool; never fails: a tool that cannot be unpacked is said so, and its
# tests skip with the reason.
set -uo pipefail

dir=$1 name=$2 why=$3
shift 3
stamp=$dir/.unpacked-$name

say() { echo "tools: $name: $*"; }

if [ -f "$stamp" ]; then
  say "ready in $dir/root ($(cat "$stamp")): $why"
  exit 0
fi
for program in apt-get apt-cache dpkg-deb dpkg-query; do
  if ! command -v "$program" >/dev/null; then
    say "not unpacked, $program is missing (not a Debian-like system); its tests will be skipped"
    exit 0
  fi
done

# The versioned package a metapackage depends on: postgresql -> postgresql-15.
versioned() {
  apt-cache depends "$1" 2>/dev/null |
    sed -n "s/^  Depends: \($1-[0-9][0-9.]*\)\$/\1/p" | head -n 1
}

# The library packages (lib*, zlib*) the given packages need, directly or through other
# libraries, that this host lacks; an installed library brings its own. libllvm* is left out:
# PostgreSQL's optional JIT loads it, and without it PostgreSQL runs without JIT.
missing_libraries() {
  local queue=("$@") seen=" " package dependency
  while ((${#queue[@]})); do
    package=${queue[0]}
    queue=("${queue[@]:1}")
    for dependency in $(apt-cache depends --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "$package" 2>/dev/null |
        sed -n 's/^ [ |]\(Pre\)\{0,1\}Depends: \(z\{0,1\}lib[^ <>]*\)$/\2/p'); do
      [[ $seen == *" $dependency "* || $dependency == libllvm* ]] && continue
      seen+="$dependency "
      dpkg-query -W -f='${Status}\n' "$dependency" 2>/dev/null | grep -q ' installed$' && continue
      echo "$dependency"
      queue+=("$dependency")
    done
  done
}

packages=()
for package in "$@"; do
  if [[ $package == *@ ]]; then
    package=$(versioned "${package%@}")
    if [ -z "$package" ]; then
      say "not unpacked, apt knows no version of $package; its tests will be skipped"
      exit 0
    fi
  fi
  packages+=("$package")
done
mapfile -t libraries < <(missing_libraries "${packages[@]}")

say "unpacking Debian's ${packages[*]}${libraries[*]:+ (and ${libraries[*]})} into $dir/root, binaries only, no service: $why"
debs=$dir/debs
mkdir -p "$debs" "$dir/root"
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)  # _apt may not reach $debs
download() { (cd "$debs" && apt-get download -q "${sandbox[@]}" "$@") >"$debs/apt.log" 2>&1; }
if ! download "${packages[@]}" "${libraries[@]}"; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null 2>&1
  fi
  if ! download "${packages[@]}" "${libraries[@]}"; then
    say "not unpacked, apt-get download failed ($(tail -n 1 "$debs/apt.log")); its tests will be skipped"
    exit 0
  fi
fi
for package in "${packages[@]}" "${libraries[@]}"; do
  dpkg-deb -x "$debs/${package}"_*.deb "$dir/root" || { say "not unpacked: dpkg-deb failed"; exit 0; }
done
rm -rf "$debs"
echo "${packages[*]}" >"$stamp"
say "ready in $dir/root"
