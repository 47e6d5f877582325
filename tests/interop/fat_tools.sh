#!/usr/bin/env bash
# FAT volumes we make and fill, checked by fsck.fat -n and mtools; volumes
# made by mkfs.fat and filled by mcopy, read by us.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need fsck.fat
need mcopy
need mkfs.fat
export GPTMIRROR_SEED=12
export MTOOLS_SKIP_CHECK=1 MTOOLS_LOWER_CASE=0
M=$T/server

# --- format across sizes: type and cluster size as Windows picks them -----
# size  fs  want-type  want-cluster
MATRIX="1M fat 12 512
4M fat 12 1024
10M fat 16 2048
100M fat 16 2048
204M fat 16 4096
1G fat 16 16384
4095M fat 16 65536
40M fat32 32 512
300M fat32 32 4096
8G fat32 32 4096
12G fat32 32 8192
32G fat32 32 16384"
"$GM" machine create "$M" --disk 64M --profile modern >/dev/null
slot=1
while read -r size fs want_type want_clus; do
	bytes=$(numfmt --from=iec "$size")
	disk=$((bytes + 2 * 1048576))
	[ "$disk" -lt $((130 * 1048576)) ] && disk=$((130 * 1048576))
	"$GM" -m "$M" machine insert-disk "$slot" --size "$disk" >/dev/null
	letter=$(printf "\\x$(printf %x $((69 + slot)))")
	dp "select disk $slot" "convert gpt" "select partition 1" "delete partition override" \
		"create partition primary size=$((bytes / 1048576))" "assign letter=$letter"
	name="format-$size-$fs"
	out=$("$GM" -m "$M" format "$letter:" /fs:$fs /q /y /v:V$slot 2>&1)
	if [ $? != 0 ]; then fail "$name" "$out"; slot=$((slot + 1)); continue; fi
	part_extract "$M/disk$slot.img" 1 "$T/vol.img"
	info=$(minfo -i "$T/vol.img" :: 2>&1)
	clus=$(( $(sed -n 's/^cluster size: \([0-9]*\) sectors/\1/p' <<<"$info") * 512 ))
	bits=$(sed -n 's/^\([0-9]*\) bits in each FAT entry./\1/p' <<<"$out")
	if ! fsck_clean "$T/vol.img" >"$T/fsck"; then
		fail "$name-fsck" "$(cat "$T/fsck")"
	elif [ "$bits" != "$want_type" ] || [ "$clus" != "$want_clus" ]; then
		fail "$name-geometry" "FAT$bits, $clus-byte clusters; wanted FAT$want_type, $want_clus" "$out"
	elif ! mlabel -i "$T/vol.img" -s :: 2>/dev/null | grep -q "V$slot"; then
		fail "$name-label" "$(mlabel -i "$T/vol.img" -s :: 2>&1)"
	else
		pass "$name"
	fi
	rm -f "$T/vol.img"
	slot=$((slot + 1))
done <<<"$MATRIX"

# Sizes FAT cannot hold are refused, with the reason, and nothing changes.
"$GM" -m "$M" machine insert-disk 15 --size 5G >/dev/null
dp "select disk 15" "convert gpt" "create partition primary" "assign letter=Y"
before=$(image_hash)
out=$("$GM" -m "$M" format y: /fs:fat /q /y 2>&1)
if [ $? != 0 ] && grep -q "too big for FAT" <<<"$out" && [ "$before" = "$(image_hash)" ]; then pass "fat16-over-4G-refused"; else fail "fat16-over-4G-refused" "$out"; fi
"$GM" -m "$M" machine insert-disk 14 --size 200M >/dev/null
dp "select disk 14" "convert gpt" "create partition primary size=30" "assign letter=X"
before=$(image_hash)
out=$("$GM" -m "$M" format x: /fs:fat32 /q /y 2>&1)
if [ $? != 0 ] && grep -q "too small for FAT32" <<<"$out" && [ "$before" = "$(image_hash)" ]; then pass "fat32-tiny-refused"; else fail "fat32-tiny-refused" "$out"; fi

# --- a hard tree, host -> our volume -> mtools ----------------------------
rm -rf "$M"
"$GM" machine create "$M" --disk 600M --profile modern >/dev/null
dp "select disk 0" "convert gpt" "create partition efi size=100" "create partition primary size=400" \
	"select partition 2" "assign letter=S" "select partition 3" "assign letter=D"
"$GM" -m "$M" format s: /fs:fat32 /q /y >/dev/null
"$GM" -m "$M" format d: /fs:fat /q /y >/dev/null
src=$T/tree
mkdir -p "$src"
d=$src
for i in $(seq 1 18); do d=$d/level$i; mkdir -p "$d"; done
echo deep >"$d/bottom.txt"
mkdir -p "$src/Long Names" "$src/many"
echo a >"$src/Long Names/A file with a rather long name, more than thirteen characters.txt"
echo b >"$src/Long Names/Données été €.txt"
echo c >"$src/Long Names/日本語のファイル名.txt"
echo d >"$src/Long Names/snowman ☃ and ünïcödé.bin"
echo e >"$src/Long Names/Readme.txt"
echo f >"$src/Long Names/readme.TXT.bak"
: >"$src/empty.dat"
head -c 4096 /dev/urandom >"$src/one-cluster.bin"
head -c 4097 /dev/urandom >"$src/one-cluster-and-a-byte.bin"
head -c 3000000 /dev/urandom >"$src/big.bin"
for i in $(seq 1 600); do echo "$i" >"$src/many/file number $i with a long name.txt"; done
mkdir -p "$src/empty dir"
out=$("$GM" -m "$M" xcopy "$src" 'S:\' /s /e /y 2>&1)
if [ $? = 0 ] && grep -q "^611 File(s) copied" <<<"$out"; then pass "xcopy-tree-in"; else fail "xcopy-tree-in" "$(tail -5 <<<"$out")"; fi
part_extract "$M/disk0.img" 2 "$T/s.img"
if fsck_clean "$T/s.img" >"$T/fsck"; then pass "xcopy-tree-fsck"; else fail "xcopy-tree-fsck" "$(head -20 "$T/fsck")"; fi
rm -rf "$T/back"
mkdir -p "$T/back"
if mcopy -s -n -i "$T/s.img" '::/*' "$T/back/" 2>"$T/mc"; then
	if diff -r "$src" "$T/back" >"$T/diff" 2>&1; then pass "mtools-reads-same-names-and-bytes"; else fail "mtools-reads-same-names-and-bytes" "$(head -20 "$T/diff")"; fi
else
	fail "mtools-reads-same-names-and-bytes" "$(cat "$T/mc")"
fi
# Outside the Basic Multilingual Plane (a surrogate pair on disk, which
# mtools shows as "__"): checked by our own round trip.
mkdir -p "$T/astral"
echo e >"$T/astral/emoji 😀 name.bin"
"$GM" -m "$M" xcopy "$T/astral" 'S:\astral' /y >/dev/null
rm -rf "$T/astral-back"
out=$("$GM" -m "$M" xcopy 'S:\astral\*.*' "$T/astral-back" /y 2>&1)
part_extract "$M/disk0.img" 2 "$T/s.img"
if diff -r "$T/astral" "$T/astral-back" >/dev/null 2>&1 && fsck_clean "$T/s.img" >/dev/null; then pass "surrogate-pair-names"; else fail "surrogate-pair-names" "$out"; fi
n=$(mdir -i "$T/s.img" -b ::/many | wc -l)
if [ "$n" = 600 ]; then pass "600-entries-in-one-directory"; else fail "600-entries-in-one-directory" "$n"; fi
if mdir -i "$T/s.img" '::/Long Names' | grep -q "README   TXT"; then pass "mixed-case-8.3-keeps-short-name"; else fail "mixed-case-8.3-keeps-short-name" "$(mdir -i "$T/s.img" '::/Long Names')"; fi

# Names that differ only in case are one name on FAT: the later copy wins.
mkdir -p "$T/case"
echo lower >"$T/case/notes.txt"
echo UPPER >"$T/case/NOTES.TXT"
out=$("$GM" -m "$M" xcopy "$T/case" 'S:\case' /y 2>&1)
part_extract "$M/disk0.img" 2 "$T/s.img"
got=$(mtype -i "$T/s.img" ::/case/notes.txt)
if [ "$(mdir -i "$T/s.img" -b ::/case | wc -l)" = 1 ] && [ "$got" = "lower" ] && fsck_clean "$T/s.img" >/dev/null; then
	pass "case-only-names-overwrite"
else
	fail "case-only-names-overwrite" "$got" "$out"
fi

# Hidden and system files: copied with /h only, attributes kept (FAT to FAT).
mattrib -i "$T/s.img" +h ::/one-cluster.bin
mattrib -i "$T/s.img" +s ::/empty.dat
"$IMGTOOL" extract "$T/s.img" 0 $((100 * 1048576)) "$T/s2.img"
first=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
dd if="$T/s.img" of="$M/disk0.img" bs=512 seek="$first" conv=notrunc,sparse status=none
out=$("$GM" -m "$M" xcopy 'S:\*.*' 'D:\nohidden' 2>&1)
out2=$("$GM" -m "$M" xcopy 'S:\*.*' 'D:\withhidden' /h 2>&1)
part_extract "$M/disk0.img" 3 "$T/d.img"
attrs=$(mattrib -i "$T/d.img" ::/withhidden/one-cluster.bin ::/withhidden/empty.dat 2>&1)
if grep -q "2 File(s) copied" <<<"$out" && grep -q "4 File(s) copied" <<<"$out2" &&
	grep -q "H.*one-cluster.bin" <<<"$attrs" && grep -q "S.*empty.dat" <<<"$attrs" &&
	fsck_clean "$T/d.img" >/dev/null; then
	pass "hidden-system-with-h-only"
else
	fail "hidden-system-with-h-only" "$out" "$out2" "$attrs"
fi

# --- volumes made by mkfs.fat and filled by mcopy, read by us -------------
for t in 12 16 32; do
	rm -rf "$M" "$T/out$t"
	"$GM" machine create "$M" --disk 600M --profile modern >/dev/null
	dp "select disk 0" "convert gpt" "create partition primary size=$([ $t = 12 ] && echo 4 || echo 300)" "assign letter=F"
	first=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
	secs=$(($(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p') - first + 1))
	mkfs.fat -F $t -n MKFS$t --offset "$first" "$M/disk0.img" $((secs / 2)) >/dev/null 2>&1
	small=$T/small$t
	rm -rf "$small"
	mkdir -p "$small/sub dir/deeper"
	echo hello >"$small/Hello World.txt"
	head -c 70000 /dev/urandom >"$small/sub dir/deeper/data.bin"
	: >"$small/sub dir/empty"
	mcopy -s -i "$M/disk0.img@@$((first * 512))" "$small/"* ::/ 2>"$T/mc"
	out=$("$GM" -m "$M" xcopy 'F:\*.*' "$T/out$t" /s /e /y 2>&1)
	if [ $? = 0 ] && diff -r "$small" "$T/out$t" >"$T/diff" 2>&1; then pass "reads-mkfs-fat$t"; else fail "reads-mkfs-fat$t" "$out" "$(cat "$T/diff" "$T/mc")"; fi
done

# --- copying out never writes outside the destination ---------------------
rm -rf "$M"
"$GM" machine create "$M" --disk 200M --profile modern >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=50" "assign letter=F"
"$GM" -m "$M" format f: /fs:fat /q /y >/dev/null
mkdir -p "$T/evil"
echo x >"$T/evil/Evil One.txt"
"$GM" -m "$M" xcopy "$T/evil" 'F:\' /y >/dev/null
# Rewrite the long name on disk (one long entry: units 0-4 at +1, 5-10
# at +14, 11-12 at +28; the checksum covers the short name only) to
# "../../x1", which no FAT driver would write.
python3 - "$M/disk0.img" <<'PY'
import sys
img = open(sys.argv[1], 'r+b')
data = img.read(150 * 1024 * 1024)
i = data.find('Evil '.encode('utf-16-le'))
assert i > 0
units = [ord(c) for c in '../../x1'] + [0] + [0xffff] * 4
b = b''.join(u.to_bytes(2, 'little') for u in units)
img.seek(i); img.write(b[0:10])
img.seek(i + 13); img.write(b[10:22])
img.seek(i + 27); img.write(b[22:26])
img.close()
PY
mkdir -p "$T/dest/inner"
out=$("$GM" -m "$M" xcopy 'F:\*.*' "$T/dest/inner" /y 2>&1)
rc=$?
if [ "$rc" != 0 ] && grep -q "not a safe file name" <<<"$out" && [ ! -e "$T/x1" ] && [ ! -e "$T/dest/x1" ] &&
	[ -z "$(find "$T/dest" -type f)" ]; then
	pass "unsafe-names-refused"
else
	fail "unsafe-names-refused" "rc=$rc" "$out" "$(find "$T" -name 'x1*' -o -name 'b')"
fi
