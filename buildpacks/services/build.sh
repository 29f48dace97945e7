#!/usr/bin/env bash
# Build the image of an add-on service: pier/service-<name>, FROM pier/stack-base (Debian's
# own packages, no registry). Tagged with a hash of the recipe and the base image, and
# `latest`; an image whose hash tag exists is not rebuilt, so running this again is cheap.
#
#   build.sh postgresql|redis
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
service="${1:?usage: build.sh SERVICE}"
dockerfile="$here/Dockerfile.$service"
base=pier/stack-base:latest

die() { echo " !     $*" >&2; exit 1; }
[ -r "$dockerfile" ] || die "no recipe for the service $service ($dockerfile)"
docker image inspect "$base" >/dev/null 2>&1 \
  || die "$base is missing: build the stack images first (buildpacks/stack/build.sh)"

hash="$( (cd "$here" && sha256sum "Dockerfile.$service" pier-postgres pier-redis
          docker image inspect --format '{{.Id}}' "$base") | sha256sum | cut -c1-12)"
tag="pier/service-$service:$hash"
exec 9>"/tmp/pier-service-$service.lock"
flock 9
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "       $tag is up to date"
else
  echo "-----> Building $tag"
  docker build --pull=false --build-arg "BASE=$base" -f "$dockerfile" -t "$tag" "$here" 2>&1 \
    | sed -u 's/^/       /'
  docker image inspect "$tag" >/dev/null 2>&1 || die "docker build of $tag failed (see above)"
fi
docker tag "$tag" "pier/service-$service:latest"
echo "-----> Service image ready: pier/service-$service:latest ($hash)"
