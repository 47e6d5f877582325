#!/usr/bin/env bash
# A FAT directory whose subdirectory entry points back at an ancestor, or
# at the root (a damaged or crafted volume): xcopy /s refuses with a clear
# error and a non-zero exit instead of recursing until it crashes, and it
# writes no more than the few directories above the loop on the host.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=4
M=$T/m
(cd "$T" && "$GM" machine create m --disk 128M) >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=64" "assign letter=E"
"$GM" -m "$M" format e: /fs:fat /q /y >/dev/null
mkdir -p "$T/src/LOOPA/LOOPB"
echo hello >"$T/src/LOOPA/LOOPB/f.txt"
"$GM" -m "$M" xcopy "$T/src" 'e:\' /s /e /y >/dev/null 2>&1
# point_at NAME TARGET: the 8.3 entry NAME (a directory) gets TARGET's first
# cluster (TARGET "ROOT": cluster 0, the root).
point_at() {
	python3 - "$M/disk0.img" "$1" "$2" <<'PY'
import sys
img, name, target = sys.argv[1], sys.argv[2], sys.argv[3]
data = bytearray(open(img, 'rb').read())
def find(n):
    key = n.ljust(11).encode()
    i = 0
    while True:
        i = data.find(key, i)
        assert i >= 0, n
        if i % 32 == 0 and data[i + 11] & 0x10:
            return i
        i += 1
e = find(name)
clus = 0 if target == 'ROOT' else data[find(target) + 26] | data[find(target) + 27] << 8
data[e + 26] = clus & 0xff
data[e + 27] = clus >> 8
data[e + 20] = data[e + 21] = 0
open(img, 'r+b').write(data)
PY
}
cp --sparse=always "$M/disk0.img" "$T/good.img"
for target in LOOPA ROOT; do
	cp --sparse=always "$T/good.img" "$M/disk0.img"
	point_at LOOPB "$target"
	before=$(image_hash)
	rm -rf "$T/out"
	mkdir "$T/out"
	"$GM" -m "$M" xcopy 'e:\' "$T/out" /s /e /y >"$T/x" 2>&1
	rc=$?
	ndirs=$(find "$T/out" -type d | wc -l)
	if [ "$rc" != 0 ] && [ "$rc" -lt 128 ] && grep -q "directory structure is corrupt" "$T/x" &&
		[ "$ndirs" -le 4 ] && [ "$(image_hash)" = "$before" ]; then
		pass "cycle-to-$target-refused"
	else
		fail "cycle-to-$target-refused" "rc $rc, $ndirs directories written" "$(tail -5 "$T/x")"
	fi
done
