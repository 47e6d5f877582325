#!/usr/bin/env bash
# Damaged dynamic disk databases: a bad VMDB, a broken VBLK record, both
# TOCBLOCKs with bad checksums, a damaged first PRIVHEAD, and copies whose
# transaction numbers disagree. With one sound copy the group is read from
# it (listing changes nothing on disk) and volume resync rewrites the bad
# copy, after which ldmtool reads both disks again; with no sound copy the
# error is clear and nothing is written.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need sgdisk
export GPTMIRROR_SEED=5150
M=$T/server
dynamic_pair 200
save() { rm -rf "$T/$1"; cp -r --sparse=always "$M" "$T/$1"; }
restore() { rm -rf "$M"; cp -r --sparse=always "$T/$1" "$M"; }
save simple
dp "select volume c" "add disk=1"
grep -q "succeeded in adding a mirror" "$T/out" || fail setup "$(cat "$T/out")"
save mirrored
priv() { sgdisk -p "$M/disk$1.img" | grep 'LDM metadata' | awk '{ print $2 }'; }
poke() { # DISK SECTOR-IN-PRIVATE BYTE-OFFSET HEX-BYTES
	local at=$((($(priv "$1") + $2) * 512 + $3))
	printf "$4" | dd of="$M/disk$1.img" bs=1 seek="$at" conv=notrunc status=none
}
ldm_ok() {
	local a b
	a=$(ldmtool -d /dev/null scan "$M/disk0.img" "$M/disk1.img" 2>"$T/e1" | tr -d '[]" \n')
	b=$(ldmtool -d /dev/null scan "$M/disk1.img" "$M/disk0.img" 2>"$T/e2" | tr -d '[]" \n')
	[ -n "$a" ] && [ "$a" = "$b" ] &&
		! grep -v -E 'Unable to determine sector size|Unable to get device' "$T/e1" "$T/e2" | grep -q . &&
		ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show volume "$a" Volume1 2>/dev/null | grep -q '"mirrored"'
}
# case NAME DAMAGE-FUNCTION
case_one() {
	local name=$1
	restore mirrored
	"$2"
	local before
	before=$(image_hash)
	"$GM" -m "$M" volume list >"$T/l" 2>&1
	local lrc=$?
	dp "list volume"
	"$GM" -m "$M" machine status >>"$T/l" 2>&1
	if [ "$lrc" = 0 ] && grep -q "Warning: disk" "$T/l" && grep -q "Mirror .*Healthy" "$T/out" &&
		grep -qE "database copy (damaged|out of date)" "$T/l" &&
		[ "$(image_hash)" = "$before" ]; then
		pass "$name-read-from-the-sound-copy"
	else
		fail "$name-read-from-the-sound-copy" "$(cat "$T/l" "$T/out")"
	fi
	"$GM" -m "$M" volume resync >"$T/r" 2>&1
	"$GM" -m "$M" volume list >"$T/l" 2>&1
	if grep -q "database was damaged or out of date; it was rewritten" "$T/r" &&
		! grep -q "Warning" "$T/l" && ldm_ok; then
		pass "$name-rewritten-by-resync"
	else
		fail "$name-rewritten-by-resync" "$(cat "$T/r" "$T/l" "$T/e1")"
	fi
}
bad_vmdb() { poke 1 17 0 'XXXX'; }
bad_vblk() { poke 0 17 $((6 * 128 + 20)) '\377\377\377\377\377\377\377\377'; }
bad_tocs() { poke 1 2 48 '\377\377'; poke 1 2045 48 '\377\377'; }
bad_privhead() { poke 1 2047 0 'XXXX'; }
old_copy() {
	# Disk 1 gets back its copy from before add disk (an older transaction).
	local p
	p=$(priv 1)
	dd if="$T/simple/disk1.img" of="$M/disk1.img" bs=512 skip="$p" seek="$p" count=2048 conv=notrunc status=none
}
case_one "bad-vmdb" bad_vmdb
case_one "broken-vblk-record" bad_vblk
case_one "both-tocblocks-bad" bad_tocs
case_one "first-privhead-bad" bad_privhead
case_one "older-transaction" old_copy

# No sound copy: a clear error, non-zero, nothing written.
restore mirrored
poke 0 17 0 'XXXX'
poke 1 17 0 'XXXX'
before=$(image_hash)
"$GM" -m "$M" volume list >"$T/l" 2>&1
lrc=$?
"$GM" -m "$M" volume resync >"$T/r" 2>&1
rrc=$?
if [ "$lrc" != 0 ] && [ "$rrc" != 0 ] && grep -q "every copy of its database is damaged" "$T/l" &&
	[ "$(image_hash)" = "$before" ]; then
	pass "no-sound-copy-refused-untouched"
else
	fail "no-sound-copy-refused-untouched" "$(cat "$T/l" "$T/r")"
fi
