#!/usr/bin/env bash
# The modern profile (1 MiB alignment, MSR ending at 16 MiB, ESP listed as a
# volume), file systems recognised in list volume, and MBR disks.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need mkfs.fat
need sfdisk
export GPTMIRROR_SEED=5
M=$T/server
"$GM" machine create "$M" --disk 4G --disk 1G >/dev/null
dp "select disk 0" "convert gpt" "list partition" "create partition efi size=100" "create partition primary" "list partition"
if [ "$RC" = 0 ] && grep -q "Partition 1    Reserved            15 MB    17 KB" "$T/out" &&
	grep -q "Partition 2    System             100 MB    16 MB" "$T/out" &&
	grep -q "Partition 3    Primary           3979 MB   116 MB" "$T/out"; then
	pass "modern-layout"
else
	fail "modern-layout" "$(cat "$T/out")"
fi
ok "modern-sgdisk-clean" sgdisk_clean "$M/disk0.img"
start=$(sgdisk -i 3 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
ok "modern-aligned-1MiB" test $((start % 2048)) = 0

# Formatted by mkfs.fat at the partition's offset: list volume shows Fs and Label.
esp=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
mkfs.fat -F 32 -n SYSTEM --offset "$esp" "$M/disk0.img" $((100 * 1024)) >/dev/null 2>&1
data=$(sgdisk -i 3 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
mkfs.fat -F 16 -n "WIN2003" --offset "$data" "$M/disk0.img" $((1000 * 1024)) >/dev/null 2>&1
dp "select disk 0" "select partition 3" "assign letter=C" "list volume"
if grep -q "  Volume 1         SYSTEM       FAT32  Partition    100 MB  Healthy    System" "$T/out" &&
	grep -q "\* Volume 0     C   WIN2003      FAT    Partition   3979 MB  Healthy" "$T/out"; then
	pass "list-volume-fs-and-label"
else
	fail "list-volume-fs-and-label" "$(cat "$T/out")"
fi
ok "fs-writes-do-not-upset-gpt" sgdisk_clean "$M/disk0.img"

# MBR disks.
dp "select disk 1" "convert mbr" "create partition primary size=300" "create partition primary" "list partition" "detail partition"
if [ "$RC" = 0 ] && grep -q "Partition 1    Primary            300 MB  1024 KB" "$T/out" &&
	grep -q "Type  : 07" "$T/out"; then
	pass "mbr-layout"
else
	fail "mbr-layout" "$(cat "$T/out")"
fi
sfdisk -d "$M/disk1.img" >"$T/sf" 2>&1
if grep -q "label: dos" "$T/sf" && grep -q "start=        2048, size=      614400, type=7" "$T/sf" &&
	grep -q "start=      616448, size=     1480704, type=7" "$T/sf"; then
	pass "mbr-read-by-sfdisk"
else
	fail "mbr-read-by-sfdisk" "$(cat "$T/sf")"
fi
if sfdisk --verify "$M/disk1.img" >"$T/v" 2>&1; then pass "mbr-sfdisk-verify"; else fail "mbr-sfdisk-verify" "$(cat "$T/v")"; fi
dp "select disk 1" "select partition 1" "delete partition" "select partition 1" "delete partition" "convert gpt"
if [ "$RC" = 0 ] && sgdisk_clean "$M/disk1.img"; then pass "mbr-back-to-gpt"; else fail "mbr-back-to-gpt" "$(cat "$T/out")"; fi
dp "select disk 1" "convert mbr" "list disk"
if [ "$RC" = 0 ] && sfdisk -d "$M/disk1.img" 2>/dev/null | grep -q "label: dos" &&
	! sgdisk -p "$M/disk1.img" 2>&1 | grep -q "EFI PART"; then
	pass "gpt-with-only-msr-to-mbr"
else
	fail "gpt-with-only-msr-to-mbr" "$(cat "$T/out")"
fi
# A raw disk cannot take a partition until it has a table.
"$GM" -m "$M" machine insert-disk 2 --size 200M >/dev/null
before=$(image_hash)
dp "select disk 2" "create partition primary"
if [ "$RC" = 4 ] && grep -q "The disk is not initialized." "$T/out" && [ "$before" = "$(image_hash)" ]; then pass "raw-disk-needs-convert"; else fail "raw-disk-needs-convert" "$(cat "$T/out")"; fi
dp "select disk 2" "convert gpt"
if [ "$RC" = 0 ]; then pass "convert-gpt-200M"; else fail "convert-gpt-200M" "$(cat "$T/out")"; fi
"$GM" -m "$M" machine insert-disk 3 --size 100M >/dev/null
dp "select disk 3" "convert gpt"
if [ "$RC" = 4 ] && grep -q "less than the minimum size" "$T/out"; then pass "convert-gpt-too-small"; else fail "convert-gpt-too-small" "$(cat "$T/out")"; fi
