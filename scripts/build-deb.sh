#!/bin/sh
# Builds the Debian package of udpcast-rs with dpkg-deb (no debhelper, no cargo-deb):
#
#   OUTDIR/udpcast-rs_<version>-<revision>_<arch>.deb     (OUTDIR: target/debian)
#
# <version> is [workspace.package] version of Cargo.toml, <revision> $DEB_REVISION (1).
# The revision makes it a non-native package, for which Debian names the packaging
# changelog changelog.Debian.gz (a native one would ship it as changelog.gz).
#
# The package stages scripts/install.sh into /usr (DESTDIR), strips the binaries, adds
# /usr/share/doc/udpcast-rs/{copyright,changelog.Debian.gz} and DEBIAN/{control,md5sums,
# shlibs,triggers}. It Provides, Replaces and Conflicts with Debian's udpcast: installing it
# removes udpcast and takes over /usr/bin/udp-sender and /usr/bin/udp-receiver. Depends
# comes from dpkg-shlibdeps (dpkg-dev) or, without it, from the ELF files' symbol versions.
# Files are root-owned (dpkg-deb --root-owner-group: no fakeroot), 0755 for programs and
# directories, 0644 otherwise; timestamps are clamped to SOURCE_DATE_EPOCH (by default
# the last commit's date), so two builds of one commit give the same package.
# lintian, when installed, checks the result (LINTIAN=no skips it); its findings are
# printed, they do not fail the build.
#
# Usage: scripts/build-deb.sh [OUTDIR]
# Prints the package's path on stdout; everything else goes to stderr.
set -eu
exec 3>&1 1>&2

root=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:-$root/target/debian}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
cd "$root"

die() { echo "$0: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg strip gzip md5sum readelf cargo; do
    command -v "$tool" >/dev/null 2>&1 || die "needs $tool"
done

# [workspace.package] key = "value"
workspace_key() {
    sed -n '/^\[workspace\.package\]/,/^\[/s/^'"$1"' *= *"\([^"]*\)".*/\1/p' Cargo.toml
}
upstream=$(workspace_key version)
homepage=$(workspace_key repository)
[ -n "$upstream" ] || die "no [workspace.package] version in Cargo.toml"
[ "$(workspace_key license)" = "GPL-2.0-or-later" ] ||
    die "the workspace licence is no longer GPL-2.0-or-later: update the copyright file"
name=udpcast-rs
version="$upstream-${DEB_REVISION:-1}"
arch=$(dpkg --print-architecture)
maintainer="udpcast-rs developers <udpcast-rs@example.org>"
deb="$outdir/${name}_${version}_${arch}.deb"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

work=$(mktemp -d "${TMPDIR:-/tmp}/udpcast-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
# Staged where dpkg-shlibdeps looks for a package's files: debian/<package>/.
stage="$work/src/debian/$name"

# --- the files: scripts/install.sh, stripped ---------------------------------------------
DESTDIR="$stage" scripts/install.sh /usr
# As dh_strip does: everything but the dynamic symbols; debug info only from the archive.
for f in "$stage"/usr/bin/* "$stage"/usr/lib/libudpcast.so.*.*.*; do
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$f"
done
strip --strip-debug --remove-section=.comment --remove-section=.note \
    --enable-deterministic-archives "$stage/usr/lib/libudpcast.a"

# --- /usr/share/doc/udpcast-rs ------------------------------------------------------------
docdir="$stage/usr/share/doc/$name"
install -d "$docdir"
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)
changelog_date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
gzip -9n > "$docdir/changelog.Debian.gz" <<EOF
$name ($version) unstable; urgency=medium

  * Built from the udpcast-rs source tree by scripts/build-deb.sh
    (git $commit).
  * Replaces Debian's udpcast 20120424: /usr/bin/udp-sender and
    /usr/bin/udp-receiver with udpcast's command lines and wire protocol.
  * Adds udpcast-tiny-receiver and libudpcast (C library, header, pkg-config).

 -- $maintainer  $changelog_date
EOF

# The programs link Rust crates from crates.io and the Rust standard library statically,
# and udpcast-tiny-receiver also musl: each gets a paragraph of its own, from cargo's view
# of what the two packages link (build-time-only crates: proc macros, are left out).
# A crate that also offers "Apache-2.0 WITH LLVM-exception" beside plain Apache-2.0 is
# taken under the plain one, so that alternative is left out.
debian_license() { # SPDX expression -> Debian copyright short names
    echo "$1" | sed -e 's/ OR Apache-2\.0 WITH LLVM-exception//' \
        -e 's/ OR / or /g; s/ AND / and /g; s/(//g; s/)//g' \
        -e 's/\bMIT\([^-]\|$\)/Expat\1/g; s/BSD-2-Clause/BSD-2-clause/g; s/BSD-3-Clause/BSD-3-clause/g; s/GPL-2\.0-or-later/GPL-2+/g'
}
crates=$(cargo tree -q -p udpcast-cli -p udpcast-ffi -e normal,no-proc-macro --prefix none \
    -f '{p}|{l}|{r}' --target x86_64-unknown-linux-gnu | sed 's/ (\*)$//' | sort -u |
    grep -v '^udpcast-')
years=$(git log --format=%cd --date=format:%Y 2>/dev/null | sort -u | sed -n '1p;$p' |
    paste -sd- | sed 's/^\([0-9]*\)-\1$/\1/')
[ -n "$years" ] || years=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
{
    cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: udpcast-rs
Upstream-Contact: $maintainer
Source: $homepage
Comment: udpcast-rs is an independent reimplementation of udpcast's programs and
 protocol; it contains no code of udpcast. The programs and libudpcast link
 the Rust standard library and the crates listed below statically (their
 source from crates.io), udpcast-tiny-receiver also musl's C library.

Files: *
Copyright: $years udpcast-rs developers
License: GPL-2+

Files: rust-std/*
Copyright: The Rust Project Developers
License: Expat or Apache-2.0

Files: musl/*
Copyright: 2005-2020 Rich Felker, et al.
License: Expat
EOF
    echo "$crates" | while IFS='|' read -r crate license repository; do
        [ -n "$crate" ] || continue
        crate_name=${crate%% *}
        crate_version=${crate#* v}
        printf '\nFiles: crates.io/%s-%s/*\nCopyright: the %s authors (%s)\nLicense: %s\n' \
            "$crate_name" "$crate_version" "$crate_name" "$repository" \
            "$(debian_license "$license")"
    done
} > "$work/copyright.head"
# A stand-alone paragraph for every licence named above.
used=$(sed -n 's/^License: //p' "$work/copyright.head" | tr ' ' '\n' |
    grep -v -x -e or -e and | sort -u)
{
    cat "$work/copyright.head"
    for license in $used; do
        echo
        echo "License: $license"
        case "$license" in
        GPL-2+) cat <<'EOF'
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License as published by the Free
 Software Foundation; either version 2 of the License, or (at your option)
 any later version.
 .
 This program is distributed in the hope that it will be useful, but WITHOUT
 ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or
 FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public License for
 more details.
 .
 You should have received a copy of the GNU General Public License along
 with this program; if not, see <https://www.gnu.org/licenses/>.
 .
 On Debian systems, the full text of the GNU General Public License version 2
 can be found in the file '/usr/share/common-licenses/GPL-2'.
EOF
        ;;
        Apache-2.0) cat <<'EOF'
 Licensed under the Apache License, Version 2.0 (the "License"); you may not
 use this file except in compliance with the License. You may obtain a copy
 of the License at
 .
 https://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 License for the specific language governing permissions and limitations
 under the License.
 .
 On Debian systems, the full text of the Apache License, Version 2.0 can be
 found in the file '/usr/share/common-licenses/Apache-2.0'.
EOF
        ;;
        Expat) cat <<'EOF'
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to
 deal in the Software without restriction, including without limitation the
 rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
 sell copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
 IN THE SOFTWARE.
EOF
        ;;
        BSD-2-clause) cat <<'EOF'
 Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the following conditions are met:
 .
 1. Redistributions of source code must retain the above copyright notice,
    this list of conditions and the following disclaimer.
 .
 2. Redistributions in binary form must reproduce the above copyright
    notice, this list of conditions and the following disclaimer in the
    documentation and/or other materials provided with the distribution.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE
 LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
 CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 POSSIBILITY OF SUCH DAMAGE.
EOF
        ;;
        BSD-3-clause) cat <<'EOF'
 Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the following conditions are met:
 .
 1. Redistributions of source code must retain the above copyright notice,
    this list of conditions and the following disclaimer.
 .
 2. Redistributions in binary form must reproduce the above copyright
    notice, this list of conditions and the following disclaimer in the
    documentation and/or other materials provided with the distribution.
 .
 3. Neither the name of the copyright holder nor the names of its
    contributors may be used to endorse or promote products derived from
    this software without specific prior written permission.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE
 LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
 CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 POSSIBILITY OF SUCH DAMAGE.
EOF
        ;;
        CC0-1.0) cat <<'EOF'
 To the extent possible under law, the authors have dedicated all copyright
 and related and neighbouring rights to this software to the public domain
 worldwide. This software is distributed without any warranty.
 .
 On Debian systems, the full text of the CC0 1.0 Universal Public Domain
 Dedication can be found in the file '/usr/share/common-licenses/CC0-1.0'.
EOF
        ;;
        MIT-0) cat <<'EOF'
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to
 deal in the Software without restriction, including without limitation the
 rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
 sell copies of the Software, and to permit persons to whom the Software is
 furnished to do so.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
 IN THE SOFTWARE.
EOF
        ;;
        Unlicense) cat <<'EOF'
 This is free and unencumbered software released into the public domain.
 .
 Anyone is free to copy, modify, publish, use, compile, sell, or distribute
 this software, either in source code form or as a compiled binary, for any
 purpose, commercial or non-commercial, and by any means.
 .
 In jurisdictions that recognize copyright laws, the author or authors of
 this software dedicate any and all copyright interest in the software to the
 public domain. We make this dedication for the benefit of the public at
 large and to the detriment of our heirs and successors. We intend this
 dedication to be an overt act of relinquishment in perpetuity of all present
 and future rights to this software under copyright law.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
 ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
 WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 .
 For more information, please refer to <https://unlicense.org/>
EOF
        ;;
        *) die "a linked crate has the licence '$license': add its text to $0" ;;
        esac
    done
} > "$docdir/copyright"

# udpcast-tiny-receiver is static on purpose: it runs in boot images that have no libc.
install -d "$stage/usr/share/lintian/overrides"
cat > "$stage/usr/share/lintian/overrides/$name" <<EOF
# Static on purpose: the receiver of PXE boot images (bootimage/), which carry no libc.
$name: statically-linked-binary [usr/bin/udpcast-tiny-receiver]
EOF

# --- modes and timestamps -----------------------------------------------------------------
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage"/usr/bin/*

# --- DEBIAN/ --------------------------------------------------------------------------------
control="$stage/DEBIAN"
install -d -m 0755 "$control"

# Dynamically linked ELF files (the static tiny receiver needs nothing).
elfs=""
for f in "$stage"/usr/bin/* "$stage"/usr/lib/libudpcast.so.*.*.*; do
    if readelf -d "$f" 2>/dev/null | grep '(NEEDED)' >/dev/null; then elfs="$elfs $f"; fi
done
depends=""
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
    # dpkg-shlibdeps wants to run in a source tree (give it the least of one) and finds
    # the package's root by its DEBIAN/control (written for real below).
    : > "$control/control"
    printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" \
        > "$work/src/debian/control"
    rel=""
    for f in $elfs; do rel="$rel ${f#"$work/src/"}"; done
    # dpkg 1.21 always says "binaries to analyze should already be installed in their
    # package's directory": its analysis loop loses the file's name before that check
    # (the name it tests is empty). Only that line is dropped.
    # shellcheck disable=SC2086
    depends=$(cd "$work/src" && dpkg-shlibdeps -O -e $rel 2>"$work/shlibdeps.err" |
        sed -n 's/^shlibs:Depends=//p')
    grep -v "binaries to analyze should already be installed" "$work/shlibdeps.err" >&2 || true
else
    # Computed: glibc by the newest GLIBC_x.y symbol version the files need; libgcc_s by
    # its presence (its symbols have been stable since GCC 3.0). Anything else is an error.
    glibc=$(for f in $elfs; do readelf -V "$f"; done |
        sed -n 's/.*Name: GLIBC_\([0-9][0-9.]*\) .*/\1/p' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1)
    depends="libc6 (>= ${glibc:-2.17})"
    for lib in $(for f in $elfs; do readelf -d "$f"; done | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
        case "$lib" in
            libc.so.6 | libm.so.6 | libdl.so.2 | libpthread.so.0 | librt.so.1 | ld-linux-x86-64.so.2) ;;
            libgcc_s.so.1) depends="$depends, libgcc-s1 (>= 3.0)" ;;
            *) die "no dpkg-shlibdeps, and no rule for the library $lib" ;;
        esac
    done
fi
[ -n "$depends" ] || die "could not work out Depends"

# The static tiny receiver carries musl (Debian's musl-dev): Debian records that.
built_using=$(dpkg-query -W -f '${source:Package} (= ${source:Version})' musl-dev 2>/dev/null || true)

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
{
    cat <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Provides: udpcast
Conflicts: udpcast
Replaces: udpcast
EOF
    [ -z "$built_using" ] || echo "Built-Using: $built_using"
    cat <<EOF
Section: net
Priority: optional
Homepage: $homepage
Description: multicast disk cloning, drop-in reimplementation of udpcast
 udpcast-rs sends a file or a disk image to many machines of a LAN at once
 over UDP multicast or broadcast, so that cloning a room of thirty machines
 takes no longer than cloning two. Its udp-sender and udp-receiver take
 udpcast's command lines unchanged and speak udpcast's wire protocol byte for
 byte: they work with udpcast 20120424 (the version Clonezilla, FOG and
 Flamethrower use) in both directions, with forward error correction,
 asynchronous (one-way) mode and rate limiting.
 .
 This package replaces Debian's udpcast package. It also contains
 udpcast-tiny-receiver, a small static receiver for boot images, and
 libudpcast, a C library implementing the protocol without doing I/O
 (shared and static library, header and pkg-config file).
EOF
} > "$control/control"
# Programs linked with -ludpcast get a dependency on this package.
echo "libudpcast ${upstream%%.*} $name (>= $upstream)" > "$control/shlibs"
echo "activate-noawait ldconfig" > "$control/triggers"
(cd "$stage" && find usr -type f | LC_ALL=C sort | xargs md5sum) > "$control/md5sums"
chmod 0644 "$control"/*

find "$stage" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb"

if [ "${LINTIAN:-yes}" != no ] && command -v lintian >/dev/null 2>&1; then
    echo "--- lintian $deb"
    lintian --tag-display-limit 0 "$deb" || true
    echo "--- end of lintian"
fi
echo "$deb" >&3
