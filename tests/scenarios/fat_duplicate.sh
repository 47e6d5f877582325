#!/usr/bin/env bash
# A crafted directory holding two entries of one name: a copy out would
# write both onto one host file and count two. xcopy refuses the
# directory with a clear error and copies nothing; chkdsk reports it as an
# error it leaves alone; neither changes a byte.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=61
M=$T/server
"$GM" machine create "$M" --disk 200M --profile modern >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=20" "assign letter=F"
"$GM" -m "$M" format f: /fs:fat /q /y >/dev/null
mkdir -p "$T/src"
echo one >"$T/src/A.TXT"
echo two >"$T/src/B.TXT"
"$GM" -m "$M" xcopy "$T/src" 'F:\' /y >/dev/null
first=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
python3 - "$M/disk0.img" $((first * 512)) <<'PY'
import struct, sys
img, base = sys.argv[1], int(sys.argv[2])
f = open(img, 'r+b')
f.seek(base)
bs = f.read(512)
bps, spc, rsvd, nf, roots = struct.unpack_from('<HBHBH', bs, 11)
fsz = struct.unpack_from('<H', bs, 22)[0]
root = base + (rsvd + nf * fsz) * bps
f.seek(root)
d = f.read(roots * 32)
at = d.find(b'B       TXT')
assert at >= 0 and at % 32 == 0
f.seek(root + at)
f.write(b'A       TXT')
PY
before=$(image_hash)
mkdir -p "$T/dest"
"$GM" -m "$M" xcopy 'F:\*' "$T/dest" /y >"$T/x" 2>&1
xrc=$?
"$GM" -m "$M" chkdsk f: /f >"$T/c" 2>&1
crc=$?
if [ "$xrc" != 0 ] && grep -q "two entries of the directory have the name A.TXT" "$T/x" &&
	[ -z "$(ls -A "$T/dest")" ] && grep -q "^0 File(s) copied" "$T/x" &&
	[ "$crc" = 3 ] && grep -q "A.TXT: two entries of its directory have this name" "$T/c" &&
	[ "$before" = "$(image_hash)" ]; then
	pass "duplicate-name-refused-not-miscounted"
else
	fail "duplicate-name-refused-not-miscounted" "xrc=$xrc crc=$crc" "$(cat "$T/x" "$T/c")" "$(ls -l "$T/dest")"
fi
