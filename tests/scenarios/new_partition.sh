#!/usr/bin/env bash
# create partition clears the start of the new partition, as Windows does:
# a partition made where a FAT volume was is RAW, not that FAT, for
# diskpart, for our probe and for fsck.fat.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need fsck.fat
export GPTMIRROR_SEED=9
M=$T/m
(cd "$T" && "$GM" machine create m --disk 512M) >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=100" "assign letter=E"
"$GM" -m "$M" format e: /fs:fat /q /y >/dev/null
dp "list volume"
grep -qE 'Volume [0-9]+ +E +FAT ' "$T/out" || fail setup "$(cat "$T/out")"
dp "select disk 0" "select partition 2" "delete partition" "create partition primary size=100" \
	"list volume"
part_extract "$M/disk0.img" 2 "$T/p.img"
if [ "$RC" = 0 ] && ! grep -qE 'FAT' "$T/out" && ! fsck.fat -n "$T/p.img" >/dev/null 2>&1 &&
	all_clean >/dev/null; then
	pass "new-partition-over-old-fat-is-raw"
else
	fail "new-partition-over-old-fat-is-raw" "$(cat "$T/out")"
fi
