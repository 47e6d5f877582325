#!/usr/bin/env bash
# make demo-host: the KB on a real kernel and real firmware. A QEMU guest
# booted by OVMF (TCG) runs Debian's kernel with an initramfs of busybox and
# gptmirror, on two virtio disks: disk 0 as Setup leaves it, disk 1 blank.
#   1. The guest makes its machine of its two virtio disks with the
#      firmware's NVRAM (efivarfs) and runs the KB's first half with the KB's
#      commands: the shadow prepared, format, xcopy, both disks dynamic, the
#      mirror, bootcfg /clone. It powers off.
#   2. OVMF boots the same NVRAM with disk 0 removed: the loader on the
#      shadow's ESP must report the cloned entry.
#   3. The guest again, with a blank disk 0, does the recovery half on the
#      real devices: Setup, bootcfg /mirror /add, break and delete the
#      missing disk, disk 0 dynamic, the mirror back.
#   4. Each disk alone boots under OVMF by the entries the guest wrote.
# Ends with a pass/fail summary, as make demo does.
#
# Safety: the guest's script runs only inside the guest (its init is PID 1
# of an initramfs holding the marker /gptmirror-guest), and it finds its
# disks by the serials this script gives them (gptmirror-guest-0 and -1),
# never by device name, so it cannot reach a disk it was not given; nothing
# on the host opens any device: the host works on image files only.
# usage: scripts/demo-host.sh path/to/gptmirror
set -u
GM=${1:?usage: scripts/demo-host.sh path/to/gptmirror}
GM=$(cd "$(dirname "$GM")" && pwd)/$(basename "$GM")
BIN=$(dirname "$GM")
LOADER=${GPTMIRROR_LOADER:-${LOADER_EFI:-$BIN/gptmirror-loader.efi}}
[ -e "$LOADER" ] || LOADER=$(cd "$(dirname "$0")/.." && pwd)/bin/gptmirror-loader.efi
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin LC_ALL=C.UTF-8
W=$(mktemp -d /tmp/gptmirror-host.XXXXXX)
trap 'rm -rf "$W"' EXIT
START=$(date +%s)
passed=0 failed=0 results=()
verdict() { # WHAT RC
	if [ "$2" = 0 ]; then
		passed=$((passed + 1)); results+=("PASS  $1"); echo "PASS: demo-host/$1"
	else
		failed=$((failed + 1)); results+=("FAIL  $1"); echo "FAIL: demo-host/$1"
	fi
}
KVER=$(ls /lib/modules | sort -V | tail -1)
KERNEL=/boot/vmlinuz-$KVER
for f in "$KERNEL" /usr/share/OVMF/OVMF_CODE_4M.fd "$LOADER"; do
	[ -r "$f" ] || { echo "FAIL: demo-host/setup ($f is missing: run scripts/install-deps)"; exit 1; }
done
command -v busybox >/dev/null || { echo "FAIL: demo-host/setup (busybox is missing: run scripts/install-deps)"; exit 1; }

# --- the guest's initramfs ----------------------------------------------------
S=$W/staging
mkdir -p "$S"/{bin,dev,proc,sys,tmp,lib/modules,lib64,lib/x86_64-linux-gnu}
cp "$(command -v busybox)" "$S/bin/busybox"
for a in sh ash mount umount insmod sed awk grep cat echo sleep poweroff ls mkdir tr head tail cut sync dd find; do
	ln -s busybox "$S/bin/$a"
done
# The guest runs GPTMIRROR_GUEST_BIN (make check: the plain build; the
# host's checks use the one named on the command line).
GUEST_GM=${GPTMIRROR_GUEST_BIN:-$GM}
cp "$GUEST_GM" "$S/bin/gptmirror"
cp "$LOADER" "$S/bin/gptmirror-loader.efi"
# Setup formats C: NTFS with mkntfs, as format /fs:ntfs does.
MKNTFS=$(command -v mkntfs || echo /usr/sbin/mkntfs)
[ -x "$MKNTFS" ] || { echo "FAIL: demo-host/setup (mkntfs is missing: run scripts/install-deps)"; exit 1; }
cp "$MKNTFS" "$S/bin/mkntfs"
for lib in $(ldd "$GUEST_GM" "$MKNTFS" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u); do
	[ -e "$lib" ] && cp -L "$lib" "$S$lib" 2>/dev/null || cp -L "$lib" "$S/lib/x86_64-linux-gnu/"
done
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk efivarfs fat vfat nls_cp437 nls_iso8859-1"
for m in $MODS; do
	ko=$(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null | awk '{ print $2 }' | tail -1)
	[ -n "$ko" ] && cp "$ko" "$S/lib/modules/$m.ko"
done
cat >"$S/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk efivarfs fat vfat nls_cp437 nls_iso8859-1; do
	insmod /lib/modules/$m.ko 2>/dev/null
done
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
n=0
while ! grep -qx gptmirror-guest-1 /sys/block/*/serial 2>/dev/null && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
phase=$(sed -n 's/.*gm\.phase=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "GUEST: phase $phase"
sh /guest.sh "$phase"
echo "GUEST-EXIT $?"
sync
poweroff -f
EOF
cat >"$S/guest.sh" <<'EOF'
# The guest's half of the KB, on its two virtio disks and efivarfs.
set -u
# Only inside the guest: PID 1 is its init, and the initramfs has the marker.
[ -e /gptmirror-guest ] && [ "$(cat /proc/1/comm 2>/dev/null)" = init ] ||
	{ echo "GUEST-FAIL: not inside the gptmirror test guest; nothing done"; exit 1; }
# The disks by the serials the host gave them, never by name.
disk_of() {
	for b in /sys/block/*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && { echo "/dev/${b##*/}"; return 0; }
	done
	return 1
}
D0=$(disk_of gptmirror-guest-0) && D1=$(disk_of gptmirror-guest-1) ||
	{ echo "GUEST-FAIL: the disks with serials gptmirror-guest-0 and -1 are not here"; exit 1; }
M=/tmp/m
gm() { echo "GUEST\$ gptmirror $*"; gptmirror -m $M "$@"; }
dp() { echo "GUEST\$ diskpart: $*"; printf '%s\n' "$@" | gptmirror -m $M diskpart; }
ok() { if [ "$1" = 0 ]; then echo "GUEST-OK: $2"; else echo "GUEST-FAIL: $2"; fi; }
gptmirror machine create $M --device $D0 --device $D1 --nvram efivarfs --profile 2003
ok $? "machine of $D0 and $D1 with the firmware's NVRAM"
case "$1" in
a)
	dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" \
		"create partition efi size=102" "create partition msr size=32" "select partition 1" \
		"assign letter=S" "select disk 0" "select partition 1" "assign letter=P" \
		"select partition 3" "assign letter=C"
	ok $? "prepare the shadow disk"
	gm format s: /fs:fat /q /y && gm xcopy 'p:\*.*' s: /s /h
	ok $? "format and xcopy the shadow ESP"
	dp "select volume p" "remove" "select volume s" "remove" "select disk 1" "convert dynamic" \
		"select disk 0" "convert dynamic"
	gm machine reboot
	dp "select volume c" "add disk=1" "list volume" | tee /tmp/lv
	grep -q "Mirror .*Healthy" /tmp/lv
	ok $? "C: mirrored onto disk 1"
	S=$(gptmirror -m $M bootcfg /list 0 | awk '/^Partition GUID:/ { print $3; exit }')
	T=$(gptmirror -m $M bootcfg /list 1 | awk '/^Partition GUID:/ { print $3; exit }')
	gm bootcfg /clone /sg "$S" /tg "$T" /d+ Cloned_Entry
	ok $? "bootcfg /clone onto the shadow ESP"
	gm bootcfg
	;;
b)
	gm setup --disk 0 --size 300
	ok $? "Setup on the replacement disk"
	OG=$(gptmirror -m $M bootcfg /list 1 | awk '/^Partition GUID:/ { g = $3 } /^Partition name: *LDM data partition/ { print g }' | tail -1)
	gm bootcfg /mirror /add "$OG" /D "Original Shadow drive"
	ok $? "bootcfg /mirror /add"
	dp "select volume 0" "break disk=m0 nokeep" "select disk m0" "delete disk"
	ok $? "break the missing plex, delete the missing disk"
	dp "select disk 0" "select partition 3" "delete partition" "convert dynamic"
	gm machine reboot
	dp "select volume 0" "add disk=0" "list volume" | tee /tmp/lv
	grep -q "Mirror .*Healthy" /tmp/lv
	ok $? "C: mirrored back onto disk 0"
	while :; do
		id=$(gptmirror -m $M bootcfg | awk '/^Boot entry ID:/ { id = $4 } /^(BootFilePath|OsFilePath): *\(null\)/ { print id; exit }')
		[ -n "$id" ] || break
		gm bootcfg /delete /id "$id" || break
	done
	gm bootcfg
	;;
c)
	# Bad input on a real machine; each refused, nothing changed.
	EV=/sys/firmware/efi/efivars
	G=8be4df61-93ca-11d2-aa0d-00e098032b8c
	snap() { for f in $EV/Boot*-$G $EV/Timeout-$G; do [ -e "$f" ] && echo "$f $(cat "$f" | cksum)"; done; }
	before=$(snap)
	# A Boot#### the kernel would reject (over its size limit) is refused
	# before anything is written.
	long=$(head -c 20000 /dev/zero | tr '\0' 'x')
	gptmirror -m $M nvram create -L "$long" -d 0 -p 1 -l '\EFI\BOOT\BOOTX64.EFI' >/tmp/o 2>&1
	rc=$?
	head -c 300 /tmp/o | sed 's/^/GUEST: /'; echo
	[ $rc != 0 ] && grep -qiE "refused|too long|does not fit" /tmp/o && [ "$before" = "$(snap)" ]
	ok $? "a Boot#### the kernel would reject: refused, nothing changed"
	# A disk in use: its ESP mounted.
	mkdir -p /mnt
	mount -t vfat -o iocharset=iso8859-1 ${D0}1 /mnt
	dp "select disk 0" "clean" >/tmp/o 2>&1
	sed 's/^/GUEST: /' /tmp/o | tail -4
	grep -q "${D0#/dev/}1 is mounted on /mnt" /tmp/o
	ok $? "a disk with a mounted partition: refused, naming it"
	# Its mounted ESP is neither read nor written behind the kernel's back.
	gptmirror -m $M esp status >/tmp/o 2>&1
	rc=$?
	gptmirror -m $M esp sync --from 1 --to 0 >>/tmp/o 2>&1
	rc2=$?
	sed 's/^/GUEST: /' /tmp/o | grep -i mounted | head -3
	[ $rc = 3 ] && [ $rc2 != 0 ] && grep -q "does not read or write a mounted ESP" /tmp/o
	ok $? "a mounted ESP: esp status and esp sync refuse it clearly"
	umount /mnt
	# The firmware's store full.
	# (One write per variable, as the kernel wants: attributes, then data;
	# big ones first, then smaller ones until not even a small one fits.)
	i=0 j=0
	for size in 8192 1024 128 16; do
		{ printf '\007\000\000\000'; head -c $size /dev/zero; } >/tmp/fill
		while [ $j -lt 600 ]; do
			j=$((j + 1)) # a failed create leaves a 0-byte file: a new name each time
			dd if=/tmp/fill of=$EV/GmFill$j-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee bs=$((size + 4)) count=1 \
				2>/dev/null || break
			i=$((i + 1))
		done
	done
	echo "GUEST: $i filler variables written"
	before=$(snap)
	gm nvram create -L "No room for this one, with a description long enough to need the space" \
		-d 0 -p 1 -l '\EFI\BOOT\BOOTX64.EFI' >/tmp/o 2>&1
	rc=$?
	sed 's/^/GUEST: /' /tmp/o | tail -4
	[ $rc != 0 ] && grep -q "no room" /tmp/o && [ "$before" = "$(snap)" ]
	ok $? "the firmware's store full: refused, nothing changed"
	;;
esac
EOF
touch "$S/gptmirror-guest"
chmod +x "$S/init"
(cd "$S" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$W/initrd.gz"

guest() { # PHASE DISK0 DISK1: boots the guest on those images with $W/vars.fd
	timeout 600 qemu-system-x86_64 -machine q35,accel=tcg -m 512 -smp 1 -nodefaults -vga none \
		-display none -no-reboot -serial stdio -monitor none -nic none \
		-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,unit=1,file="$W/vars.fd" \
		-drive if=none,id=d0,format=raw,file="$2" -device virtio-blk-pci,drive=d0,serial=gptmirror-guest-0 \
		-drive if=none,id=d1,format=raw,file="$3" -device virtio-blk-pci,drive=d1,serial=gptmirror-guest-1 \
		-kernel "$KERNEL" -initrd "$W/initrd.gz" -append "console=ttyS0 quiet gm.phase=$1" \
		</dev/null >"$W/guest-$1.log" 2>&1
	grep -E "^GUEST" "$W/guest-$1.log" | tr -d '\r'
}
# An image machine over the guest's disks and NVRAM, for the host's checks
# and OVMF's boots: SLOT-IMAGES...
image_machine() {
	local dir=$W/look i=0
	rm -rf "$dir"
	mkdir -p "$dir"
	{ printf 'version = 1\nprofile = 2003\nslots = %d\n' "$#"
	  for img; do cp --sparse=always "$img" "$dir/disk$i.img"; printf 'disk%d = disk%d.img\ndisk%d.sector_size = 512\n' "$i" "$i" "$i"; i=$((i + 1)); done
	} >"$dir/machine.conf"
	cp "$W/vars.fd" "$dir/nvram.fd"
	echo "$dir"
}
esp_guid() { sgdisk -i 1 "$1" | sed -n 's/^Partition unique GUID: //p' | tr 'A-F' 'a-f'; }
ovmf_boots() { # IMAGE WANT-TEXT: OVMF boots IMAGE alone, from its own ESP
	local dir
	dir=$(image_machine "$1")
	"$GM" -m "$dir" machine boot --qemu >"$W/q" 2>&1
	grep -E "QEMU:|BdsDxe: (loading|starting)" "$W/q" | sed 's/^/  /' | head -6
	grep -q "QEMU: the loader booted: Boot[0-9A-F]* from partition {$(esp_guid "$1")}" "$W/q" && grep -q "$2" "$W/q"
}

# --- disk 0 as Setup leaves it, disk 1 blank ------------------------------------
(cd "$W" && "$GM" machine create inst --disk 1G --profile 2003 >/dev/null &&
	GPTMIRROR_LOADER=$LOADER "$GM" -m inst setup --disk 0 --size 300 >/dev/null) || { echo "FAIL: demo-host/setup"; exit 1; }
mv "$W/inst/disk0.img" "$W/d0.img"
cp "$W/inst/nvram.fd" "$W/vars.fd"
truncate -s 1G "$W/d1.img" "$W/n0.img"

# The guest's script refuses to run anywhere else (here, on the host).
(cd "$W" && env PATH=/usr/bin:/bin /bin/sh "$S/guest.sh" a) >"$W/outside" 2>&1
grep -q "not inside the gptmirror test guest; nothing done" "$W/outside"
verdict "the guest's script refuses to run outside the guest" $?

echo "== 1. The KB's first half in the guest, on its two virtio disks =="
guest a "$W/d0.img" "$W/d1.img" | tee "$W/a"
! grep -q "GUEST-FAIL" "$W/a" && grep -q "GUEST-EXIT 0" "$W/a" && [ "$(grep -c GUEST-OK "$W/a")" = 5 ]
verdict "guest: the KB's first half on the real devices" $?
sgdisk -v "$W/d0.img" | grep -q "No problems found" && sgdisk -v "$W/d1.img" | grep -q "No problems found" &&
	ldmtool -d "$W/d0.img" -d "$W/d1.img" show volume "$(ldmtool -d /dev/null scan "$W/d0.img" "$W/d1.img" 2>/dev/null | tr -d '[]" \n')" Volume1 2>/dev/null | grep -q mirrored
verdict "host: sgdisk and ldmtool accept what the guest wrote" $?
dir=$(image_machine "$W/d0.img" "$W/d1.img")
rm -rf "$W/ev" && "$GM" -m "$dir" nvram export "$W/ev" >/dev/null
EFIVARFS_PATH="$W/ev/" efibootmgr -v 2>/dev/null | grep -q "Cloned_Entry	HD(1,GPT,$(esp_guid "$W/d1.img"),"
verdict "host: efibootmgr reads the cloned entry the guest wrote into the NVRAM" $?

echo "== 2. OVMF boots the same NVRAM with disk 0 removed =="
ovmf_boots "$W/d1.img" "Cloned_Entry"
verdict "disk 0 removed: the loader on the shadow ESP reports the cloned entry" $?

echo "== 3. The recovery half in the guest, with a blank disk 0 =="
guest b "$W/n0.img" "$W/d1.img" | tee "$W/b"
! grep -q "GUEST-FAIL" "$W/b" && grep -q "GUEST-EXIT 0" "$W/b" && [ "$(grep -c GUEST-OK "$W/b")" = 5 ]
verdict "guest: the recovery half on the real devices" $?

echo "== 4. Each disk alone boots under OVMF by the entries the guest wrote =="
ovmf_boots "$W/n0.img" "QEMU: the loader booted"
verdict "disk 0 alone boots" $?
ovmf_boots "$W/d1.img" "QEMU: the loader booted"
verdict "disk 1 alone boots" $?

echo "== 5. Bad input on the real machine =="
guest c "$W/n0.img" "$W/d1.img" | tee "$W/c"
! grep -q "GUEST-FAIL" "$W/c" && grep -q "GUEST-EXIT 0" "$W/c" && [ "$(grep -c GUEST-OK "$W/c")" = 5 ]
verdict "guest: a boot entry too big, a disk in use, a mounted ESP, a full store: each refused" $?

echo "== Summary ($(($(date +%s) - START)) s) =="
printf '  %s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
