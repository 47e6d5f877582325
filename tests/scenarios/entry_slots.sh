#!/usr/bin/env bash
# GPT entries keep their slots, as Windows keeps them: delete partition
# leaves an empty entry and the partitions after it keep their numbers, so
# a boot entry's HD(N,GPT,...) still names its ESP (efibootmgr and sgdisk
# agree); create partition fills the first empty entry again.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need efibootmgr
export GPTMIRROR_SEED=31
M=$T/server
"$GM" machine create "$M" --disk 1G --profile modern >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=50" "create partition primary size=50" \
	"create partition efi size=100"
entry_of() { # GUID: the entry number sgdisk gives the partition with that unique GUID
	local i
	for i in $(seq 1 8); do
		sgdisk -i "$i" "$M/disk0.img" 2>/dev/null | grep -qi "unique GUID: $1" && { echo "$i"; return; }
	done
}
esp_guid=$(sgdisk -i 4 "$M/disk0.img" | sed -n 's/^Partition unique GUID: //p')
esp_first=$(sgdisk -i 4 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
"$GM" -m "$M" nvram create -L "Slot test" -d 0 -p 4 -l '\EFI\BOOT\BOOTX64.EFI' >"$T/c" 2>&1

dp "select disk 0" "select partition 2" "delete partition"
rm -rf "$T/ev"
"$GM" -m "$M" nvram export "$T/ev" >/dev/null
after=$(EFIVARFS_PATH="$T/ev/" efibootmgr -v 2>&1)
if grep -q "successfully deleted" "$T/out" && [ "$(entry_of "$esp_guid")" = 4 ] &&
	[ -z "$(sgdisk -i 2 "$M/disk0.img" 2>/dev/null | sed -n 's/^Partition unique GUID: //p')" ] &&
	grep -qi "HD(4,GPT,$esp_guid,0x$(printf '%x' "$esp_first")" <<<"$after" && sgdisk -v "$M/disk0.img" | grep -q "No problems found"; then
	pass "delete-keeps-the-later-entries-and-the-boot-entry-true"
else
	fail "delete-keeps-the-later-entries-and-the-boot-entry-true" "esp now entry $(entry_of "$esp_guid")" "$(sgdisk -p "$M/disk0.img")" "$after" "$(cat "$T/out")"
fi
dp "select disk 0" "create partition primary size=20" "list partition"
new_guid=$(sgdisk -i 2 "$M/disk0.img" 2>/dev/null | sed -n 's/^Partition unique GUID: //p')
if [ -n "$new_guid" ] && [ "$(entry_of "$esp_guid")" = 4 ] && sgdisk -v "$M/disk0.img" | grep -q "No problems found"; then
	pass "create-fills-the-first-empty-entry"
else
	fail "create-fills-the-first-empty-entry" "$(sgdisk -p "$M/disk0.img")" "$(cat "$T/out")"
fi
