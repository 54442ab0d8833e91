#!/usr/bin/env bash
# Installs nginx 1.30 from Debian unstable (sid), with its stream module, into
# one directory on a Debian 12 machine, for the system tests that run the same
# case on the system's nginx 1.22 and on 1.30.
#
# sid's nginx needs a newer C library and OpenSSL than Debian 12 has, so the
# packages are not installed: their files are unpacked into $NGINX130_DIR
# (default /opt/nginx-1.30) and nginx runs through sid's own dynamic loader with
# sid's libraries (ld.so(8): running the loader as a program with
# --library-path). $NGINX130_DIR/nginx is a wrapper that does that, so it takes
# the same arguments as any nginx binary (-V, -t, -c, -p, -e, -g, -s reload).
# $NGINX130_DIR/stream-module-path holds the absolute path for `load_module`.
#
# The system's apt state is never touched: the package index of sid is fetched
# into a private directory with a private sources list, from the mirror that
# the system's own sources use for Debian main (NGINX130_MIRROR overrides it).
# Running it again when the install works does nothing (and needs no network).
set -euo pipefail

DIR="${NGINX130_DIR:-/opt/nginx-1.30}"
WANT_VERSION='1.30'
ARCH_LIBDIR='usr/lib/x86_64-linux-gnu'
# nginx and its stream module, the loader (libc6) and every library nginx links
# against in sid (nginx's Depends, plus libzstd1 that sid's libssl3t64 needs).
PACKAGES=(nginx libnginx-mod-stream libc6 libpcre2-8-0 libssl3t64 libzstd1 libcrypt1 zlib1g)

die() {
  echo "install-nginx-1.30: error: $*" >&2
  exit 1
}
say() { echo "install-nginx-1.30: $*"; }

# The wrapper embeds the directory unquoted: refuse anything that would need quoting.
[[ "$DIR" == /* ]] || die "NGINX130_DIR must be an absolute path (got '$DIR')"
[[ "$DIR" =~ ^[A-Za-z0-9/._+-]+$ ]] || die "NGINX130_DIR may hold only letters, digits and / . _ + - (got '$DIR')"
DIR="${DIR%/}"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 is supported (this is $(uname -m))"

# `nginx -t` on a config with an http proxy and a stream server that loads the
# stream module: proves the binary, its libraries and the module agree (nginx
# refuses a module of another version, `module "…" version 1022001 instead of
# 1030006`, or of another build, `module "…" is not binary compatible`).
# Prints nginx's output on failure.
self_test() {
  local nginx="$1" module="$2" t out
  t="$(mktemp -d)"
  cat >"$t/nginx.conf" <<EOF
load_module $module;
events { worker_connections 16; }
http {
  access_log off;
  client_body_temp_path $t/body;
  proxy_temp_path $t/proxy;
  fastcgi_temp_path $t/fastcgi;
  uwsgi_temp_path $t/uwsgi;
  scgi_temp_path $t/scgi;
  upstream app { server 127.0.0.1:9; keepalive 2; }
  server {
    listen 127.0.0.1:8080;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
stream {
  server { listen 127.0.0.1:8081; proxy_pass 127.0.0.1:8080; }
}
EOF
  if ! out="$("$nginx" -t -p "$t/" -e "$t/error.log" -c "$t/nginx.conf" -g "pid $t/nginx.pid;" 2>&1)"; then
    rm -rf "$t"
    echo "$out" >&2
    return 1
  fi
  rm -rf "$t"
}

# True when $DIR holds a working nginx $WANT_VERSION.x with its stream module.
installed_ok() {
  local v
  [ -x "$DIR/nginx" ] && [ -f "$DIR/stream-module-path" ] || return 1
  v="$("$DIR/nginx" -v 2>&1)" && [[ "$v" == *"nginx/$WANT_VERSION."* ]] || return 1
  self_test "$DIR/nginx" "$(cat "$DIR/stream-module-path")" >/dev/null 2>&1
}

if installed_ok; then
  say "already installed in $DIR"
  "$DIR/nginx" -v 2>&1
  exit 0
fi

# An existing directory is replaced only if it is an earlier (so broken) install.
if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/packages.txt" ]; then
  die "$DIR exists and is not an install of this script (no packages.txt): choose another NGINX130_DIR or remove it"
fi

command -v apt-get >/dev/null || die "apt-get not found: this needs a Debian system"
command -v dpkg >/dev/null || die "dpkg not found: this needs a Debian system"

WORK="$(mktemp -d)"
STAGE=''
cleanup() {
  rm -rf "$WORK"
  if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi
}
trap cleanup EXIT
# apt fetches as the unprivileged _apt user: it must reach the private lists and the download folder.
chmod 755 "$WORK"
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/debs"
: >"$WORK/status"
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$WORK/debs"; fi

if [ -n "${NGINX130_MIRROR:-}" ]; then
  MIRROR="$NGINX130_MIRROR"
else
  # The mirror the system's own sources use for its release's main component.
  # shellcheck disable=SC1091
  CODENAME="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  # shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
  MIRROR="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
    awk -v rel="$CODENAME" '$2 == rel && $3 == "main" { print $1; exit }')"
  [ -n "$MIRROR" ] || die "found no Debian mirror for '$CODENAME main' in the system's apt sources; set NGINX130_MIRROR to one (a URL ending in /debian)"
fi
echo "deb ${MIRROR%/} sid main" >"$WORK/sources.list"

# Every apt state path private: the system's sources, lists, caches, preferences
# and the dpkg status (so an installed package never stands in for sid's) are not used.
APT_OPTS=(
  -o "Dir::Etc::SourceList=$WORK/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null
  -o Dir::Etc::PreferencesParts=/dev/null
  -o "Dir::State::Lists=$WORK/lists"
  -o "Dir::State::status=$WORK/status"
  -o "Dir::Cache=$WORK/cache"
  -o Dir::Cache::pkgcache=
  -o Dir::Cache::srcpkgcache=
  -o APT::Update::Error-Mode=any
  -o Acquire::Languages=none
)

say "fetching the package index of Debian sid from ${MIRROR%/}"
if ! apt-get "${APT_OPTS[@]}" update -qq >"$WORK/update.log" 2>&1; then
  cat "$WORK/update.log" >&2
  die "could not fetch the package index of Debian sid from ${MIRROR%/} (no network to the mirror?)"
fi

for p in "${PACKAGES[@]}"; do
  apt-cache "${APT_OPTS[@]}" show --no-all-versions "$p" >/dev/null 2>&1 ||
    die "Debian sid has no package '$p' (renamed? sid's nginx package names its dependencies in Depends)"
done
NGINX_DEB_VERSION="$(apt-cache "${APT_OPTS[@]}" show --no-all-versions nginx | awk '/^Version:/ { print $2; exit }')"
case "$NGINX_DEB_VERSION" in
  "$WANT_VERSION".*) ;;
  *) die "Debian sid now has nginx $NGINX_DEB_VERSION, not $WANT_VERSION.x" ;;
esac

say "downloading ${PACKAGES[*]}"
if ! (cd "$WORK/debs" && apt-get "${APT_OPTS[@]}" download -qq "${PACKAGES[@]}") >"$WORK/download.log" 2>&1; then
  cat "$WORK/download.log" >&2
  die "could not download the packages from Debian sid"
fi

# Unpack next to the final directory, then swap it in.
mkdir -p "$(dirname "$DIR")"
STAGE="$(mktemp -d "$DIR.new.XXXXXX")"
chmod 755 "$STAGE"
for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$STAGE"; done
for deb in "$WORK"/debs/*.deb; do
  # shellcheck disable=SC2016
  dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"
done >"$STAGE/packages.txt"

LOADER="$STAGE/$ARCH_LIBDIR/ld-linux-x86-64.so.2"
[ -x "$LOADER" ] || die "libc6 from sid has no $ARCH_LIBDIR/ld-linux-x86-64.so.2"
[ -x "$STAGE/usr/sbin/nginx" ] || die "nginx from sid has no usr/sbin/nginx"
MODULE_REL='usr/lib/nginx/modules/ngx_stream_module.so'
[ -f "$STAGE/$MODULE_REL" ] || die "libnginx-mod-stream from sid has no $MODULE_REL"

# Every library nginx and the module need must come from the unpacked packages:
# one found on the system instead (or not at all) is a package missing from PACKAGES.
for elf in "$STAGE/usr/sbin/nginx" "$STAGE/$MODULE_REL"; do
  missing="$("$LOADER" --list --library-path "$STAGE/$ARCH_LIBDIR" "$elf" |
    awk -v dir="$STAGE/" '$2 == "=>" && $1 != "linux-vdso.so.1" && index($3, dir) != 1 { print $1 " => " $3 }')" ||
    die "the loader could not list the libraries of $elf"
  [ -z "$missing" ] || die "$(basename "$elf") needs libraries that none of the downloaded packages provide (add their packages to PACKAGES): $missing"
done

# The loader under the name "nginx" (the kernel names a process after the file
# it executes, so ps and pgrep see nginx, not ld-linux-x86-64). --argv0 gives
# nginx the wrapper's path as argv[0], which is what it executes for a binary
# upgrade (SIGUSR2), so that goes through the wrapper too.
mkdir "$STAGE/loader"
ln -s "../$ARCH_LIBDIR/ld-linux-x86-64.so.2" "$STAGE/loader/nginx"
cat >"$STAGE/nginx" <<EOF
#!/bin/sh
# nginx $NGINX_DEB_VERSION from Debian sid, run by sid's own loader and libraries
# (written by scripts/install-nginx-1.30.sh; takes nginx's own arguments).
exec $DIR/loader/nginx --library-path $DIR/$ARCH_LIBDIR --argv0 $DIR/nginx $DIR/usr/sbin/nginx "\$@"
EOF
chmod 755 "$STAGE/nginx"
echo "$DIR/$MODULE_REL" >"$STAGE/stream-module-path"

rm -rf "$DIR"
mv "$STAGE" "$DIR"
STAGE=''

if ! self_test "$DIR/nginx" "$(cat "$DIR/stream-module-path")"; then
  rm -rf "$DIR"
  die "nginx $NGINX_DEB_VERSION did not pass nginx -t with its stream module (output above); removed $DIR"
fi
v="$("$DIR/nginx" -v 2>&1)"
[[ "$v" == *"nginx/$WANT_VERSION."* ]] || die "$DIR/nginx -v does not report $WANT_VERSION.x: $v"
say "installed nginx $NGINX_DEB_VERSION in $DIR (stream module: $(cat "$DIR/stream-module-path"))"
"$DIR/nginx" -v 2>&1
