#!/usr/bin/env bash
# Damaged GPTs: a zeroed primary header, a zeroed backup header, a corrupted
# entry array, both headers bad. Listed correctly from the sound copy (or
# refused when none is), nothing written by commands that only read, and
# repaired only when a command writes.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=3
M=$T/server
"$GM" machine create "$M" --disk 512M --disk 512M --profile 2003 >/dev/null
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=100" "create partition msr size=32" "create partition primary size=200"
[ "$RC" = 0 ] || fail setup "$(cat "$T/out")"
cp --sparse=always "$M/disk1.img" "$T/good.img"
LAST=$((512 * 2048 - 1))
# The partition listing out of a transcript.
plist() { sed -n '/Partition ###/,/^DISKPART>/p' "$T/out" | grep -v '^DISKPART>'; }
dp "select disk 1" "list partition" "exit"
plist >"$T/good.list"

# scenario NAME WARNING-TEXT DAMAGE-COMMAND...
scenario() {
	local name=$1 warn=$2
	shift 2
	cp --sparse=always "$T/good.img" "$M/disk1.img"
	"$@"
	if sgdisk_clean "$M/disk1.img"; then fail "$name-damage-is-real" "sgdisk finds nothing wrong"; return; fi
	local before
	before=$(image_hash)
	dp "select disk 1" "list partition" "detail disk" "list disk" "list volume" "rescan" "exit"
	plist >"$T/got.list"
	if [ "$RC" = 0 ] && diff -q "$T/good.list" "$T/got.list" >/dev/null; then
		pass "$name-listed-from-sound-copy"
	else
		fail "$name-listed-from-sound-copy" "$(diff "$T/good.list" "$T/got.list")" "$(head -20 "$T/out")"
	fi
	if grep -qF "$warn" "$T/out"; then pass "$name-warns"; else fail "$name-warns" "no '$warn'" "$(head -12 "$T/out")"; fi
	if [ "$before" = "$(image_hash)" ]; then pass "$name-reading-writes-nothing"; else fail "$name-reading-writes-nothing"; fi
	"$GM" -m "$M" machine status >"$T/status"
	if [ "$before" = "$(image_hash)" ] && grep -qF "$warn" "$T/status"; then
		pass "$name-status-shows-copies"
	else
		fail "$name-status-shows-copies" "$(cat "$T/status")"
	fi
	# A command that writes repairs the damaged copy.
	dp "select disk 1" "select partition 3" "delete partition" "create partition primary size=200"
	if [ "$RC" = 0 ] && sgdisk_clean "$M/disk1.img"; then
		pass "$name-repaired-by-a-write"
	else
		fail "$name-repaired-by-a-write" "$(tail -5 "$T/out")" "$(sgdisk -v "$M/disk1.img")"
	fi
}
zero_lba() { dd if=/dev/zero of="$M/disk1.img" bs=512 seek="$1" count="${2:-1}" conv=notrunc status=none; }
poke() { printf 'garbage!' | dd of="$M/disk1.img" bs=1 seek="$1" conv=notrunc status=none; }

scenario zeroed-primary "the primary GPT is missing" zero_lba 1
scenario zeroed-backup "the backup GPT is missing" zero_lba "$LAST"
scenario corrupt-primary-entries "the primary GPT is corrupt (entry array CRC mismatch)" poke $((2 * 512 + 128 + 40))
scenario corrupt-backup-entries "the backup GPT is corrupt (entry array CRC mismatch)" poke $(((LAST - 32) * 512 + 16))
scenario corrupt-primary-crc "the primary GPT is corrupt (header CRC mismatch)" poke $((512 + 16))
scenario zeroed-protective-mbr "the protective MBR is missing" zero_lba 0

# Both headers bad: unreadable, listed so, nothing written, only clean helps.
cp --sparse=always "$T/good.img" "$M/disk1.img"
poke $((512 + 24))
zero_lba "$LAST"
before=$(image_hash)
dp "list disk"
if grep -q "Disk 1    Unreadable" "$T/out" && grep -q "WARNING: Disk 1 is unreadable: both copies of its GPT are damaged" "$T/out"; then
	pass "both-bad-listed-unreadable"
else
	fail "both-bad-listed-unreadable" "$(cat "$T/out")"
fi
for cmd in "list partition" "create partition primary size=10" "convert gpt" "convert mbr"; do
	dp "select disk 1" "$cmd"
	if [ "$RC" != 0 ] && grep -q "Disk 1 is unreadable" "$T/out" && [ "$before" = "$(image_hash)" ]; then
		pass "both-bad-refuses-${cmd// /-}"
	else
		fail "both-bad-refuses-${cmd// /-}" "rc=$RC" "$(tail -6 "$T/out")"
	fi
done
dp "select disk 1" "clean" "convert gpt"
if [ "$RC" = 0 ] && sgdisk_clean "$M/disk1.img"; then pass "both-bad-clean-then-convert"; else fail "both-bad-clean-then-convert" "$(cat "$T/out")"; fi
