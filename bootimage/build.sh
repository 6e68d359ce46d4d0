#!/bin/sh
# Builds udpcast-rs's PXE boot image: a kernel and a gzip cpio initrd whose /init (the
# launcher, bootimage/init) reads udpcast's boot parameters from the kernel command line
# and receives or sends a disk. The counterpart of udpcast's makeImage.
#
# Usage: bootimage/build.sh [--kernel VMLINUZ] [--modules "NAME ..."] [--modules-dir DIR]
#                           [--receiver PROGRAM] [--sender PROGRAM] [--key-file FILE] OUTDIR
#   --kernel       the kernel to boot (default: the newest /boot/vmlinuz-*, from Debian's
#                  linux-image-amd64)
#   --modules      only these kernel modules (and what they depend on) instead of the list
#                  in bootimage/default-modules
#   --modules-dir  where the kernel's modules are (default: /lib/modules/<its version>)
#   --receiver, --sender  static programs to put in instead of building them here
#                  (default: ffi/build-tiny-receiver.sh, and udp-sender for musl)
#   --key-file     authenticated transfers: the image carries FILE as /etc/udpcast/key and
#                  gives it to the receiver and the sender as --key-file (README,
#                  "Authenticated transfers": anyone who can fetch the image by TFTP can
#                  read it)
# Output: OUTDIR/udpcast-linux, OUTDIR/udpcast-initrd.
#
# Everything comes from this tree and Debian's packages (busybox-static, the kernel, cpio);
# scripts/setup.sh installs them. Needs no root: device nodes are written into the archive
# directly instead of being created with mknod.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

usage() {
    sed -n 's/^# \{0,1\}//; 5,20p' "$0" >&2
    exit 1
}
die() {
    echo "bootimage/build.sh: $*" >&2
    exit 1
}

kernel=
modules=
modules_dir=
receiver=
sender=
key_file=
while [ $# -gt 0 ]; do
    case $1 in
    --kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
    --kernel=*) kernel=${1#*=}; shift ;;
    --modules) [ $# -ge 2 ] || usage; modules=$2; shift 2 ;;
    --modules=*) modules=${1#*=}; shift ;;
    --modules-dir) [ $# -ge 2 ] || usage; modules_dir=$2; shift 2 ;;
    --modules-dir=*) modules_dir=${1#*=}; shift ;;
    --receiver) [ $# -ge 2 ] || usage; receiver=$2; shift 2 ;;
    --receiver=*) receiver=${1#*=}; shift ;;
    --sender) [ $# -ge 2 ] || usage; sender=$2; shift 2 ;;
    --sender=*) sender=${1#*=}; shift ;;
    --key-file) [ $# -ge 2 ] || usage; key_file=$2; shift 2 ;;
    --key-file=*) key_file=${1#*=}; shift ;;
    -h | --help) usage ;;
    -*) echo "bootimage/build.sh: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || usage
outdir=$1

if [ -z "$kernel" ]; then
    kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
    [ -n "$kernel" ] || die "no /boot/vmlinuz-* found: install linux-image-amd64 (scripts/setup.sh) or pass --kernel"
fi
[ -r "$kernel" ] || die "cannot read the kernel $kernel"

# The version string of a bzImage: a pointer at offset 0x20e (setup header), relative to
# 0x200, to a NUL-terminated string that starts with the release ("6.1.0-48-amd64 (...").
kernel_release() {
    magic=$(dd if="$1" bs=1 skip=514 count=4 2>/dev/null)
    [ "$magic" = HdrS ] || return 1
    ptr=$(od -An -tu2 -j 526 -N 2 "$1" | tr -d ' ')
    dd if="$1" bs=1 skip=$((ptr + 512)) count=200 2>/dev/null | tr '\0' '\n' | head -n 1 |
        cut -d' ' -f1
}
kver=$(kernel_release "$kernel") || die "$kernel is not a bzImage kernel"
[ -n "$modules_dir" ] || modules_dir=/lib/modules/$kver
[ -r "$modules_dir/modules.dep" ] ||
    die "no modules.dep in $modules_dir (kernel $kver): pass --modules-dir"

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox is not installed (busybox-static; scripts/setup.sh)"
# A program that names shared libraries (ldd prints "lib => path") cannot run in the initrd.
is_dynamic() { ldd "$1" 2>&1 | grep -q '=>'; }
is_dynamic "$busybox" && die "$busybox is dynamically linked: install busybox-static"

# The two programs, static (musl) so that the initrd needs no C library.
if [ -z "$receiver" ]; then
    echo "building the static tiny receiver" >&2
    "$root/ffi/build-tiny-receiver.sh" >&2
    receiver=$root/target/tiny/tiny-receiver
fi
if [ -z "$sender" ]; then
    echo "building the static sender" >&2
    (
        cd "$root"
        CARGO_PROFILE_RELEASE_PANIC=abort CARGO_PROFILE_RELEASE_STRIP=true \
            cargo build -q --release --target x86_64-unknown-linux-musl -p udpcast-cli \
            --bin udp-sender --target-dir target/bootimage
    )
    sender=$root/target/bootimage/x86_64-unknown-linux-musl/release/udp-sender
fi
for program in "$receiver" "$sender"; do
    [ -x "$program" ] || die "$program is not an executable program"
    is_dynamic "$program" && die "$program is dynamically linked: the initrd has no C library"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/etc/udpcast" "$stage/proc" "$stage/sys" "$stage/tmp" \
    "$stage/run" "$stage/mnt" "$stage/lib/modules/$kver"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$receiver" "$stage/bin/udpcast-tiny-receiver"
cp "$sender" "$stage/bin/udp-sender"
cp "$here/init" "$stage/init"
if [ -n "$key_file" ]; then
    # Its length is the programs' to judge; only its presence is checked here.
    [ -r "$key_file" ] || die "cannot read key file $key_file"
    cp "$key_file" "$stage/etc/udpcast/key"
    chmod 600 "$stage/etc/udpcast/key"
fi
cp "$here/udhcpc.script" "$stage/etc/udpcast/udhcpc.script"
chmod 755 "$stage/init" "$stage/etc/udpcast/udhcpc.script"
git -C "$root" describe --always --dirty 2>/dev/null >"$stage/etc/udpcast/version" ||
    echo unknown >"$stage/etc/udpcast/version"

# Modules: the wanted names, resolved against modules.dep (names compare with '-' = '_').
# Writes the trimmed modules.dep for busybox's modprobe and, per class, the names the
# launcher loads: bus (first), disk, net (in the order given, for netmodule=AUTO).
if [ -z "$modules" ]; then
    modules=$(sed 's/#.*//' "$here/default-modules")
fi
printf '%s\n' $modules | awk -v dep="$modules_dir/modules.dep" -v out="$stage/lib/modules/$kver" '
    function norm(s) { gsub(/-/, "_", s); return s }
    function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.(xz|gz|zst))?$/, "", p); return norm(p) }
    function class(p) {
        if (p ~ /^kernel\/drivers\/net\//) return "net"
        if (p ~ /^kernel\/drivers\/(block|ata|scsi|nvme|usb\/storage|mmc|md|message)\//) return "disk"
        return "bus"
    }
    { if ($1 != "") want[++n] = norm($1) }
    END {
        while ((getline line < dep) > 0) {
            split(line, part, ":")
            line_of[base(part[1])] = line
        }
        missing = ""
        for (i = 1; i <= n; i++) {
            name = want[i]
            if (!(name in line_of)) { missing = missing " " name; continue }
            split(line_of[name], part, ":")
            print name > (out "/" class(part[1]) ".list")
            k = split(part[1] part[2], paths, " ")
            for (j = 1; j <= k; j++) {
                m = base(paths[j])
                if (!(m in seen)) { seen[m] = 1; print line_of[m] > (out "/modules.dep") }
            }
        }
        if (missing != "") print "modules not in this kernel (left out):" missing > "/dev/stderr"
    }'
[ -s "$stage/lib/modules/$kver/modules.dep" ] || die "none of the modules exist in $modules_dir"
for class in bus disk net; do
    touch "$stage/lib/modules/$kver/$class.list"
    mv "$stage/lib/modules/$kver/$class.list" "$stage/etc/udpcast/$class.modules"
done
# Copy each module, uncompressed (busybox's modprobe hands the file to the kernel as is).
cut -d: -f1 "$stage/lib/modules/$kver/modules.dep" | while read -r path; do
    dest=$stage/lib/modules/$kver/${path%.ko*}.ko
    mkdir -p "$(dirname "$dest")"
    case $path in
    *.ko.xz) xz -dc "$modules_dir/$path" >"$dest" ;;
    *.ko.gz) gzip -dc "$modules_dir/$path" >"$dest" ;;
    *.ko.zst) zstd -qdc "$modules_dir/$path" >"$dest" ;;
    *) cp "$modules_dir/$path" "$dest" ;;
    esac
done
sed -i 's/\.ko\.\(xz\|gz\|zst\)/.ko/g' "$stage/lib/modules/$kver/modules.dep"

# One newc cpio entry (header, name, data, each padded to 4 bytes), for the entries that
# cannot be staged without root: /dev and /dev/console, which the kernel opens for /init.
newc_entry() { # name mode(octal) rdevmajor rdevminor
    namesize=$((${#1} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
        0 $((0$2)) 0 0 1 0 0 0 0 "$3" "$4" $namesize 0 "$1"
    pad=$(((4 - (110 + namesize) % 4) % 4))
    [ $pad -eq 0 ] || head -c $pad /dev/zero
}
mkdir -p "$outdir"
{
    newc_entry dev 40755 0 0
    newc_entry dev/console 20600 5 1
    newc_entry TRAILER!!! 0 0 0
    (cd "$stage" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0)
} | gzip -9n >"$outdir/udpcast-initrd.tmp"
mv "$outdir/udpcast-initrd.tmp" "$outdir/udpcast-initrd"
cp "$kernel" "$outdir/udpcast-linux"

nmod=$(wc -l <"$stage/lib/modules/$kver/modules.dep")
echo "$outdir/udpcast-linux: kernel $kver, $(wc -c <"$outdir/udpcast-linux") bytes"
echo "$outdir/udpcast-initrd: $(wc -c <"$outdir/udpcast-initrd") bytes (gzip cpio: busybox," \
    "tiny receiver $(wc -c <"$receiver") B, sender $(wc -c <"$sender") B, $nmod modules)"
