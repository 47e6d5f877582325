#!/usr/bin/env bash
# FAT volumes are kept consistent. xcopy onto a FAT16 and a FAT32 volume
# killed at every write: what is left is either accepted by fsck.fat, or
# carries the dirty flag, and then chkdsk reports it (no byte changed),
# chkdsk /f repairs it and the rerun of the xcopy (which checks a dirty
# volume first, as autochk does) leaves one fsck.fat accepts with the new
# files. chkdsk's counts are fsck.fat's; crafted damage is reported, and
# what cannot be repaired is left as it is.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need fsck.fat
need mtype
export GPTMIRROR_SEED=23 MTOOLS_SKIP_CHECK=1
M=$T/server
"$GM" machine create "$M" --disk 600M --profile modern >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=40" "assign letter=F" \
	"create partition primary size=300" "assign letter=G"
"$GM" -m "$M" format f: /fs:fat /q /y >/dev/null
"$GM" -m "$M" format g: /fs:fat32 /q /y >/dev/null
mkdir -p "$T/h/sub" "$T/h2"
det_bytes 120000 5 >"$T/h/sub/a.bin"
echo "small" >"$T/h/b.txt"
det_bytes 70000 6 >"$T/h2/c.bin"
fixed_times "$T/h" "$T/h2"
# Something already there, which a rerun replaces.
"$GM" -m "$M" xcopy "$T/h2" 'F:\' /y >/dev/null
"$GM" -m "$M" xcopy "$T/h2" 'G:\' /y >/dev/null
cp -r --sparse=always "$M" "$T/base"
restore() { rm -rf "$M"; cp -r --sparse=always "$T/base" "$M"; }
vol_of() { part_extract "$M/disk0.img" "$1" "$2"; }
holds_new() { # IMAGE
	fsck_clean "$1" >/dev/null && cmp -s <(mtype -i "$1" ::/sub/a.bin) "$T/h/sub/a.bin" &&
		cmp -s <(mtype -i "$1" ::/b.txt) "$T/h/b.txt" && cmp -s <(mtype -i "$1" ::/c.bin) "$T/h2/c.bin"
}

for v in F:2 G:3; do
	l=${v%%:*} part=${v##*:}
	W=$(writes_of xcopy "$T/h" "$l:\\" /s /y)
	tried=0 fired=0 left=0 reported=0 rejected=0 notheal=0 changed=0 bad=""
	for n in $(seq 1 "${W:-0}"); do
		restore
		tried=$((tried + 1))
		crashed "$n" "$GM" -m "$M" xcopy "$T/h" "$l:\\" /s /y >/dev/null 2>&1 ||
			{ bad="$bad nofire@$n"; continue; }
		fired=$((fired + 1))
		vol_of "$part" "$T/v.img"
		if ! fsck_clean "$T/v.img" >/dev/null; then
			left=$((left + 1))
			# chkdsk without /f says so and changes nothing.
			before=$(image_hash)
			"$GM" -m "$M" chkdsk "$l:" >"$T/c" 2>&1
			crc=$?
			[ "$before" = "$(image_hash)" ] || { changed=$((changed + 1)); bad="$bad changed@$n"; }
			if [ "$crc" = 3 ] && grep -q "will not fix them" "$T/c"; then
				reported=$((reported + 1))
			else
				bad="$bad unreported@$n:rc=$crc"
			fi
			# chkdsk /f leaves a volume fsck.fat accepts.
			cp -r --sparse=always "$M" "$T/fix"
			"$GM" -m "$T/fix" chkdsk "$l:" /f >"$T/c" 2>&1
			part_extract "$T/fix/disk0.img" "$part" "$T/f.img"
			fsck_clean "$T/f.img" >"$T/why" || { rejected=$((rejected + 1)); bad="$bad fix@$n:$(head -c 200 "$T/why" | tr '\n' ' ')"; }
			rm -rf "$T/fix"
		fi
		# The natural next step, the rerun, ends with the new files.
		"$GM" -m "$M" xcopy "$T/h" "$l:\\" /s /y >"$T/x" 2>&1 || { notheal=$((notheal + 1)); bad="$bad rerun@$n"; continue; }
		vol_of "$part" "$T/v.img"
		holds_new "$T/v.img" || { notheal=$((notheal + 1)); bad="$bad notheal@$n:$(fsck_clean "$T/v.img" | head -3 | tr '\n' ' ')"; }
	done
	echo "crash points in an xcopy onto $l: ($part): $tried tried, $fired fired, $left left a state fsck.fat rejects ($reported reported by chkdsk, $changed changed by it), $rejected rejected after chkdsk /f, $notheal not healed by the rerun"
	if [ "${W:-0}" -ge 5 ] && [ "$fired" = "$tried" ] && [ "$reported" = "$left" ] && [ "$changed" = 0 ] &&
		[ "$rejected" = 0 ] && [ "$notheal" = 0 ]; then
		pass "xcopy-onto-$l-crashed-at-every-write ($tried points, $left repaired)"
	else
		fail "xcopy-onto-$l-crashed-at-every-write" "writes: $W" "$bad"
	fi
done

# The counts are fsck.fat's.
restore
"$GM" -m "$M" xcopy "$T/h" 'G:\' /s /y >/dev/null 2>&1
"$GM" -m "$M" chkdsk g: >"$T/c" 2>&1
crc=$?
vol_of 3 "$T/v.img"
read -r used total < <(fsck.fat -n -v "$T/v.img" 2>/dev/null | sed -n 's/.* files, \([0-9]*\)\/\([0-9]*\) clusters$/\1 \2/p')
ours_total=$(sed -n 's/^ *\([0-9,]*\) total allocation units on disk\.$/\1/p' "$T/c" | tr -d ,)
ours_free=$(sed -n 's/^ *\([0-9,]*\) allocation units available on disk\.$/\1/p' "$T/c" | tr -d ,)
if [ "$crc" = 0 ] && grep -q "found no problems" "$T/c" && grep -q "The type of the file system is FAT32." "$T/c" &&
	[ -n "${total:-}" ] && [ "$ours_total" = "$total" ] && [ "$((ours_total - ours_free))" = "$used" ] &&
	grep -q " bytes in 3 files\.$" "$T/c" && grep -q " bytes in 1 folders\.$" "$T/c"; then
	pass "chkdsk-counts-are-fsck-fat-counts"
else
	fail "chkdsk-counts-are-fsck-fat-counts" "rc=$crc fsck: $used/$total ours: $ours_free/$ours_total" "$(cat "$T/c")"
fi

# Crafted damage on F: (FAT16): a cluster in use that no entry reaches,
# then two files sharing a cluster.
"$GM" -m "$M" xcopy "$T/h" 'F:\' /s /y >/dev/null 2>&1
first=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
base=$((first * 512))
rsvd=$(od -An -tu2 -j $((base + 14)) -N2 "$M/disk0.img" | tr -d ' ')
fatsz=$(od -An -tu2 -j $((base + 22)) -N2 "$M/disk0.img" | tr -d ' ')
poke_fat() { # CLUSTER VALUE: both FATs
	local i
	for i in 0 1; do
		python3 -c 'import struct,sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); f.write(struct.pack("<H", int(sys.argv[3])))' \
			"$M/disk0.img" $((base + (rsvd + i * fatsz) * 512 + 2 * $1)) "$2"
	done
}
poke_fat 3000 65535
before=$(image_hash)
"$GM" -m "$M" chkdsk f: >"$T/c" 2>&1
crc=$?
if [ "$crc" = 3 ] && grep -q "^1 lost allocation units found in 1 chains\.$" "$T/c" &&
	grep -q "would be freed" "$T/c" && [ "$before" = "$(image_hash)" ]; then
	pass "chkdsk-reports-a-lost-cluster-and-changes-nothing"
else
	fail "chkdsk-reports-a-lost-cluster-and-changes-nothing" "rc=$crc" "$(cat "$T/c")"
fi
"$GM" -m "$M" chkdsk f: /f >"$T/c" 2>&1
crc=$?
vol_of 2 "$T/v.img"
if [ "$crc" = 1 ] && grep -q "bytes of disk space freed\." "$T/c" && grep -q "made corrections" "$T/c" &&
	fsck_clean "$T/v.img" >/dev/null && "$GM" -m "$M" chkdsk f: >/dev/null 2>&1; then
	pass "chkdsk-f-frees-it"
else
	fail "chkdsk-f-frees-it" "rc=$crc" "$(cat "$T/c")" "$(fsck_clean "$T/v.img")"
fi
# b.txt's entry aimed at a.bin's first cluster: a cross-link, left alone.
mdir_out=$(python3 - "$T/v.img" <<'PY'
import struct, sys
img = open(sys.argv[1], 'rb').read()
bps, spc, rsvd, nf, roots = struct.unpack_from('<HBHBH', img, 11)
fsz = struct.unpack_from('<H', img, 22)[0]
root = (rsvd + nf * fsz) * bps
ents = {img[root + 32 * i:root + 32 * i + 11]: root + 32 * i for i in range(roots)}
a = next(o for n, o in ents.items() if n.startswith(b'C       BIN'))
b = next(o for n, o in ents.items() if n.startswith(b'B       TXT'))
print(b + 26, struct.unpack_from('<H', img, a + 26)[0])
PY
)
read -r off clus <<<"$mdir_out"
python3 -c 'import struct,sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); f.write(struct.pack("<H", int(sys.argv[3])))' \
	"$M/disk0.img" $((base + off)) "$clus"
before=$(image_hash)
"$GM" -m "$M" chkdsk f: /f >"$T/c" 2>&1
crc=$?
if [ "$crc" = 3 ] && grep -q "errors chkdsk does not fix" "$T/c" && grep -qE "some errors remain|errors on the disk that it does not fix" "$T/c"; then
	pass "chkdsk-reports-a-cross-link-it-does-not-fix"
else
	fail "chkdsk-reports-a-cross-link-it-does-not-fix" "rc=$crc" "$(cat "$T/c")"
fi
"$GM" -m "$M" chkdsk 'f:\x' >"$T/c" 2>&1
crc=$?
"$GM" -m "$M" chkdsk q: >"$T/c2" 2>&1
crc2=$?
if [ "$crc" = 2 ] && grep -q usage "$T/c" && [ "$crc2" = 3 ] && grep -q "cannot find the drive" "$T/c2"; then
	pass "chkdsk-bad-arguments"
else
	fail "chkdsk-bad-arguments" "rc=$crc rc2=$crc2" "$(cat "$T/c" "$T/c2")"
fi
