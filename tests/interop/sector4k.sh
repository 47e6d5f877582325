#!/usr/bin/env bash
# 4096-byte-sector disks: the same procedure, checked by fdisk -b 4096 (which
# reads 4Kn images as files) and, when this machine lets the test attach a
# loop device with 4096-byte sectors, by sgdisk -v on that device.
. "$(dirname "$0")/../lib.sh"
need fdisk
need sgdisk
export GPTMIRROR_SEED=4
M=$T/server
"$GM" machine create "$M" --disk 1G --disk 1G --sector-size 4096 --profile 2003 >/dev/null
dp "select disk 1" "convert gpt" "list partition" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32" "create partition primary size=500" "list partition"
if [ "$RC" = 0 ] && grep -q "Partition 1    Reserved            32 MB    24 KB" "$T/out" &&
	grep -q "Partition 1    System             204 MB    24 KB" "$T/out" &&
	grep -q "Partition 2    Reserved            32 MB   204 MB" "$T/out"; then
	pass "4k-layout"
else
	fail "4k-layout" "$(cat "$T/out")"
fi
v=$(printf 'v\nq\n' | fdisk -b 4096 "$M/disk1.img" 2>&1)
if grep -q "No errors detected" <<<"$v" && ! grep -qiE "corrupt|invalid|mismatch" <<<"$v"; then pass "4k-fdisk-verify"; else fail "4k-fdisk-verify" "$v"; fi
l=$(fdisk -b 4096 -l "$M/disk1.img" 2>&1)
if grep -q "Sector size (logical/physical): 4096 bytes" <<<"$l" &&
	grep -qE "disk1.img1 +6 +52229 +52224 +204M EFI System" <<<"$l" &&
	grep -qE "disk1.img2 +52230 +60421 +8192 +32M Microsoft reserved" <<<"$l" &&
	grep -qE "disk1.img3 +60422 +188421 +128000 +500M Microsoft basic data" <<<"$l" &&
	! grep -qi "corrupt" <<<"$l"; then
	pass "4k-fdisk-lists-our-table"
else
	fail "4k-fdisk-lists-our-table" "$l"
fi
# Damage the primary: fdisk sees it, we repair it on the next write.
dd if=/dev/zero of="$M/disk1.img" bs=4096 seek=1 count=1 conv=notrunc status=none
v=$(printf 'v\nq\n' | fdisk -b 4096 "$M/disk1.img" 2>&1)
if grep -q "primary GPT table is corrupt" <<<"$v"; then pass "4k-damage-seen-by-fdisk"; else fail "4k-damage-seen-by-fdisk" "$v"; fi
dp "select disk 1" "list partition"
if grep -q "the primary GPT is missing" "$T/out" && grep -q "Partition 3    Primary            500 MB" "$T/out"; then pass "4k-read-from-backup"; else fail "4k-read-from-backup" "$(cat "$T/out")"; fi
dp "select disk 1" "select partition 3" "delete partition"
v=$(printf 'v\nq\n' | fdisk -b 4096 "$M/disk1.img" 2>&1)
if [ "$RC" = 0 ] && grep -q "No errors detected" <<<"$v" && ! grep -qi "corrupt" <<<"$v"; then pass "4k-repaired"; else fail "4k-repaired" "$v"; fi
# A 512-byte reading of a 4K disk sees no GPT at LBA 1: our 4K disk is not
# mistaken for a 512-byte one.
if ! sgdisk -v "$M/disk1.img" 2>&1 | grep -q "^No problems found" || sgdisk -p "$M/disk1.img" 2>&1 | grep -q "EFI system"; then
	fail "4k-not-512" "$(sgdisk -p "$M/disk1.img" 2>&1)"
else
	pass "4k-not-512"
fi
# sgdisk through a loop device with 4096-byte sectors, when one can be had.
if [ "$(id -u)" = 0 ] && loop=$(losetup --find --show --sector-size 4096 --read-only "$M/disk1.img" 2>/dev/null); then
	out=$(sgdisk -v "$loop" 2>&1)
	losetup -d "$loop"
	if grep -q "^No problems found" <<<"$out" && ! grep -qiE "caution|warning|corrupt" <<<"$out"; then pass "4k-sgdisk-on-loop"; else fail "4k-sgdisk-on-loop" "$out"; fi
else
	echo "NOTE: $GROUP: no loop device could be attached here; the 4K images were checked by fdisk only"
fi
