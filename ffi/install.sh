#!/bin/sh
# Builds the release libudpcast and installs it under PREFIX:
#   PREFIX/lib/libudpcast.a, PREFIX/lib/libudpcast.so, PREFIX/include/udpcast.h,
#   PREFIX/lib/pkgconfig/udpcast.pc
#
# Usage: ffi/install.sh PREFIX        (e.g. ffi/install.sh /usr/local)
# Then:  PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs udpcast
#        (add --static to get the -lpthread -ldl -lm a static link needs)
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
cd "$root"

cargo build -q -p udpcast-ffi --release

# The version the header announces (UDPC_VERSION_*), so .pc and header always agree.
ver() { sed -n "s/^#define UDPC_VERSION_$1 \([0-9]*\)$/\1/p" include/udpcast.h; }
version="$(ver MAJOR).$(ver MINOR).$(ver PATCH)"

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0644 target/release/libudpcast.a "$prefix/lib/libudpcast.a"
install -m 0755 target/release/libudpcast.so "$prefix/lib/libudpcast.so"
install -m 0644 include/udpcast.h "$prefix/include/udpcast.h"
cat > "$prefix/lib/pkgconfig/udpcast.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: udpcast
Description: libudpcast, a sans-IO implementation of the udpcast multicast protocol
Version: $version
Libs: -L\${libdir} -ludpcast
Libs.private: -lpthread -ldl -lm
Cflags: -I\${includedir}
PC
echo "installed libudpcast $version under $prefix"
