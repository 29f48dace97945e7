#!/usr/bin/env bash
# Build Pier's stack images:
#   pier/stack-base   a Debian minbase root made with debootstrap, imported into Docker
#   pier/stack-build  base + compilers, python3, nodejs/npm, git: where buildpacks run
#   pier/stack-run    base + python3, nodejs and a non-root user `app`: what apps run on
#
# Each image is tagged with a hash of the recipe (this folder's files) and `latest`.
# An image whose hash tag already exists is not rebuilt, so running this again is cheap.
#
# Settings (environment):
#   PIER_DEBIAN_MIRROR   Debian mirror for debootstrap and apt (default: from the host's
#                        apt sources, else http://deb.debian.org/debian)
#   PIER_DEBIAN_SECURITY security mirror (default: from the host's apt sources, if any)
#   PIER_STACK_FORCE=1   rebuild even when the images exist
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite=bookworm
repo=pier

step() { echo "-----> $*"; }
info() { echo "       $*"; }
die() { echo " !     $*" >&2; exit 1; }

recipe_hash() {
  (cd "$here" && sha256sum build.sh Dockerfile.build Dockerfile.run pier-entrypoint) \
    | sha256sum | cut -c1-12
}

# Print "URI SUITE" for every source of the host's apt configuration (one-line and
# deb822 formats).
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                       print $i, $(i + 1) }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'function flush() { n = split(uris, u, " "); m = split(suites, s, " ");
                            for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print u[a], s[b];
                            uris = ""; suites = "" }
         /^[ \t]*$/ { flush(); next }
         /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
         /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
         END { flush() }' "$f"
  done
}

find_mirror() {  # SUITE -> first http(s) URI serving it
  apt_sources | awk -v want="$1" '$2 == want && $1 ~ /^https?:\/\// { print $1; exit }'
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

build_base() {
  local tag="$1" mirror security root
  mirror="${PIER_DEBIAN_MIRROR:-$(find_mirror "$suite")}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  security="${PIER_DEBIAN_SECURITY-$(find_mirror "$suite-security")}"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  root="$(mktemp -d /var/tmp/pier-stack-rootfs.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  info "debootstrap $suite (minbase) from $mirror"
  # Show the phases, not a line per package.
  if ! debootstrap --variant=minbase --components=main "$suite" "$root" "$mirror" 2>&1 \
    | awk '/^(Retrieving|Validating|Extracting|Unpacking|Configuring)/ { next }
           $1 == "I:" && $2 ~ /^(Retrieving|Validating|Extracting|Unpacking|Configuring)$/ &&
             $3 !~ /^(InRelease|Release|Packages|required|base)$/ { next }
           { print "       " $0; fflush() }'; then
    die "debootstrap failed (see the lines above)"
  fi
  [ -x "$root/bin/bash" ] || die "debootstrap made no usable root filesystem"
  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    [ -n "$security" ] && echo "deb $security $suite-security main"
  } >"$root/etc/apt/sources.list"
  # Keep images small: no docs, man pages or translations; no apt lists or .debs.
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-pier-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
  echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/01-pier-norecommends"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  info "importing the root filesystem into Docker"
  tar -C "$root" --numeric-owner -c . \
    | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$tag" >/dev/null
  rm -rf "$root"
  trap - EXIT
}

build_from_dockerfile() {  # TAG DOCKERFILE BASE
  docker build --pull=false --build-arg "BASE=$3" -f "$here/$2" -t "$1" "$here" 2>&1 \
    | sed -u 's/^/       /'
  image_exists "$1" || die "docker build of $1 failed (see the lines above)"
}

# Untag the images of older recipes (their layers go once nothing else uses them).
remove_old() {
  local hash="$1" ref
  docker image ls --format '{{.Repository}}:{{.Tag}}' "$repo/stack-*" \
    | grep -v -e ":$hash\$" -e ':latest$' -e ':<none>$' \
    | while read -r ref; do
        if docker image rm "$ref" >/dev/null 2>&1; then info "removed the old image $ref"; fi
      done || true
}

main() {
  docker info >/dev/null 2>&1 || die "cannot reach Docker Engine (is dockerd running?)"
  local hash base name
  hash="$(recipe_hash)"
  exec 9>"/tmp/pier-stack-build.lock"
  flock 9  # one builder at a time; the second one finds the images made by the first
  base="$repo/stack-base:$hash"
  step "Pier stack $suite (recipe $hash)"
  if [ "${PIER_STACK_FORCE:-}" != 1 ] && image_exists "$base"; then
    info "$base is up to date"
  else
    step "Building $base"
    build_base "$base"
  fi
  docker tag "$base" "$repo/stack-base:latest"
  for name in build run; do
    local tag="$repo/stack-$name:$hash"
    if [ "${PIER_STACK_FORCE:-}" != 1 ] && image_exists "$tag"; then
      info "$tag is up to date"
    else
      step "Building $tag"
      build_from_dockerfile "$tag" "Dockerfile.$name" "$base"
    fi
    docker tag "$tag" "$repo/stack-$name:latest"
  done
  remove_old "$hash"
  step "Stack images ready: $repo/stack-base, $repo/stack-build, $repo/stack-run (:$hash, :latest)"
}

main "$@"
