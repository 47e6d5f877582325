#!/usr/bin/env bash
# Metadata cannot aim a write at metadata: a partition record (VBLK) whose
# start is moved onto its disk's LDM database, onto the ESP, past the end
# of the disk or past the end of its volume. ldmtool takes each such
# database; gptmirror shows the volume Failed with the reason, and every
# command that would read or write it (xcopy onto C:, dir, format, volume
# resync, add a mirror) refuses with a clear error and a non-zero exit,
# and no byte of any image (or of a file outside the machine) changes.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need sgdisk
export GPTMIRROR_SEED=77
M=$T/server
dynamic_pair 64
"$GM" -m "$M" format c: /fs:fat32 /q /y >/dev/null
echo "payload" >"$T/f.txt"
cp -r --sparse=always "$M" "$T/good"
echo "outside" >"$T/outside.txt"
G=$(ldmtool -d /dev/null scan "$M/disk0.img" "$M/disk1.img" 2>/dev/null | tr -d '[]" \n')
info=$(ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show disk "$G" Disk2 2>/dev/null)
pub=$(sed -n 's/.*"data-start" : \([0-9]*\).*/\1/p' <<<"$info")
meta=$(sed -n 's/.*"metadata-start" : \([0-9]*\).*/\1/p' <<<"$info")
esp=$(sgdisk -i 1 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
lbas=$(( $(stat -c %s "$M/disk0.img") / 512 ))

# set_part FIELD VALUE: field start or vol_offset of partition record
# Disk2-01 (C:'s extent, on disk 0), in every disk's copy of the database.
set_part() {
	python3 - "$1" "$2" "$M/disk0.img" "$M/disk1.img" <<'PY'
import struct, sys
field, value, imgs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
name = b'\x08Disk2-01'
for img in imgs:
    data = bytearray(open(img, 'rb').read())
    n, at = 0, data.find(name)
    while at >= 0:
        # name, partition flags (4), commit transaction (8), start (8), volume offset (8)
        off = at + len(name) + 4 + 8 + (0 if field == 'start' else 8)
        data[off:off + 8] = struct.pack('>Q', value)
        n += 1
        at = data.find(name, at + 1)
    assert n, img
    open(img, 'r+b').write(data)
PY
}

crafted() { # NAME FIELD VALUE WANT
	rm -rf "$M"
	cp -r --sparse=always "$T/good" "$M"
	set_part "$2" "$3"
	local before outside lrc
	before=$(image_hash; sha256sum <"$M/machine.conf")
	outside=$(sha256sum <"$T/outside.txt")
	"$GM" -m "$M" volume list >"$T/l" 2>&1
	lrc=$?
	dp "list volume"
	cp "$T/out" "$T/lv"
	local rcs=""
	"$GM" -m "$M" xcopy "$T/f.txt" 'C:\' /y >"$T/x" 2>&1; rcs="$rcs $?"
	"$GM" -m "$M" dir 'C:\' >>"$T/x" 2>&1; rcs="$rcs $?"
	"$GM" -m "$M" format c: /fs:fat32 /q /y >>"$T/x" 2>&1; rcs="$rcs $?"
	"$GM" -m "$M" volume resync >>"$T/x" 2>&1
	dp "select volume c" "add disk=1"
	cat "$T/out" >>"$T/x"
	if [ "$lrc" = 0 ] && grep -q "Volume1 .*Failed" "$T/l" && grep -q "refused: its extent Disk2-01 .* $4" "$T/l" &&
		grep -q "Simple .*Failed" "$T/lv" && ! grep -qw 0 <<<"$rcs" && grep -q "is refused: its extent" "$T/x" &&
		! grep -q "succeeded in adding a mirror" "$T/x" &&
		[ "$before" = "$(image_hash; sha256sum <"$M/machine.conf")" ] && [ "$outside" = "$(sha256sum <"$T/outside.txt")" ]; then
		pass "$1"
	else
		fail "$1" "rcs:$rcs lrc=$lrc" "$(cat "$T/l" "$T/lv" "$T/x")"
	fi
}
crafted extent-on-the-ldm-database start $((meta - pub)) "overlaps its disk's LDM database"
crafted extent-on-the-esp start $((esp - pub)) "lies outside its disk's LDM data partition"
crafted extent-past-the-disk start $((lbas - pub - 100)) "reaches past the end of its disk"
crafted extent-past-its-volume vol_offset 1000 "reaches past the end of its volume"
