#!/usr/bin/env bash
# Damaged FAT volumes through the commands: a cluster loop, a directory
# entry pointing past the end, a truncated volume, a boot sector with
# impossible values. Each gives a clear error and a non-zero exit, nothing
# crashes, and no byte of the image changes.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=21
M=$T/server
"$GM" machine create "$M" --disk 200M --profile modern >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=20" "assign letter=F"
"$GM" -m "$M" format f: /fs:fat /q /y >/dev/null
mkdir -p "$T/src"
head -c 50000 /dev/urandom >"$T/src/data.bin"
"$GM" -m "$M" xcopy "$T/src" 'F:\' /y >/dev/null
cp --sparse=always "$M/disk0.img" "$T/good.img"
first=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
base=$((first * 512))
# Geometry of what we formatted (FAT16, 2 KiB clusters): read it back.
rsvd=$(od -An -tu2 -j $((base + 14)) -N2 "$M/disk0.img" | tr -d ' ')
fatsz=$(od -An -tu2 -j $((base + 22)) -N2 "$M/disk0.img" | tr -d ' ')
fat=$((base + rsvd * 512))
root=$((fat + 2 * fatsz * 512))
poke() { printf "$2" | dd of="$M/disk0.img" bs=1 seek="$1" conv=notrunc status=none; }

damaged() { # NAME WANT-TEXT
	local before out rc
	before=$(image_hash)
	out=$("$GM" -m "$M" xcopy 'F:\*.*' "$T/out-$1" /y 2>&1)
	rc=$?
	out2=$("$GM" -m "$M" dir 'F:\' 2>&1)
	if [ "$rc" != 0 ] && grep -qF "$2" <<<"$out$out2" && [ "$before" = "$(image_hash)" ] &&
		! grep -qiE 'AddressSanitizer|runtime error|Segmentation' <<<"$out$out2"; then
		pass "$1"
	else
		fail "$1" "rc=$rc" "$out" "$out2"
	fi
	cp --sparse=always "$T/good.img" "$M/disk0.img"
}

# The file's first cluster (from its directory entry) points to itself.
clus=$(od -An -tu2 -j $((root + 32 + 26)) -N2 "$M/disk0.img" | tr -d ' ')
[ "$clus" -ge 2 ] || clus=$(od -An -tu2 -j $((root + 26)) -N2 "$M/disk0.img" | tr -d ' ')
poke $((fat + 2 * clus)) "$(printf '\\x%02x\\x%02x' $((clus & 255)) $((clus >> 8)))"
damaged cluster-loop "loops"
# The directory entry points past the end of the volume.
for s in 0 1 2 3; do
	a=$(od -An -c -j $((root + 32 * s)) -N11 "$M/disk0.img" | tr -d ' ')
	if [ "$a" = "DATABIN" ]; then poke $((root + 32 * s + 26)) '\xf0\xff'; fi
done
damaged entry-past-end "outside the volume"
# Truncated: the boot sector claims more sectors than the partition has.
poke $((base + 32)) '\xff\xff\xff\x00'
poke $((base + 19)) '\x00\x00'
damaged truncated-volume "larger than the volume"
# Impossible values: 3 sectors per cluster, no FATs.
poke $((base + 13)) '\x03'
damaged sectors-per-cluster "sectors per cluster"
poke $((base + 16)) '\x00'
damaged no-fats "number of FATs"
ok "image-intact-after-all" sgdisk_clean "$M/disk0.img"
