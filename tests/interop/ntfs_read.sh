#!/usr/bin/env bash
# NTFS read through libntfs-3g on gptmirror's own block layer (no loop
# device, FUSE or mount):
# - Windows' own volumes: on the 2003 R2 and 2008 R2 fixtures, `dir X:\`
#   lists every NTFS dynamic volume (simple, spanned, striped, mirrored,
#   RAID-5) with the names ntfsls reads from the file `volume export`
#   writes, and `xcopy X:\ DIR /s /e /h` copies each file with the bytes
#   ntfscat reads there; with a disk of the mirror and of the RAID-5 pulled,
#   the degraded volumes still list and copy the same bytes;
# - a basic NTFS partition made by mkntfs and filled by ntfscp: dir, xcopy
#   to the host (bytes, times) and onto a FAT volume (fsck.fat accepts it,
#   mcopy reads the same bytes back);
# - writing NTFS: onto the mkntfs volume and onto Windows' own mirror (both
#   plexes, ntfsfix -n accepts it, ntfscat reads the file); a RAID-5 is
#   refused with no byte changed; a damaged boot sector or MFT gives a
#   clear error, no crash, no change.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need ntfsls
need ntfscat
need mkntfs
need ntfsfix
need ntfscp
need fsck.fat
need mcopy
export MTOOLS_SKIP_CHECK=1 GPTMIRROR_SEED=3131
FIX=$(cd "$(dirname "$0")/../.." && pwd)/../shared/fixtures/ldm-data.tar.xz
mkdir -p "$T/fx"
tar -xJf "$FIX" -C "$T/fx" || { fail fixtures-unpack; exit 0; }

# check_volumes M TAG: every dynamic volume with a letter, dir and xcopy
# against ntfsls/ntfscat of its export.
check_volumes() {
	local M=$1 tag=$2 bad=0 n=0
	while read -r ltr name; do
		n=$((n + 1))
		"$GM" -m "$M" volume export "$name" "$T/$tag-$name.img" >/dev/null 2>&1 || { echo "$name: export failed"; bad=1; continue; }
		"$GM" -m "$M" dir "$ltr:\\" >"$T/dir" 2>&1 || { echo "$ltr: dir failed: $(cat "$T/dir")"; bad=1; continue; }
		ours=$(sed -n 's/^[0-9/]*  [0-9:]* [AP]M  *\(<DIR>\|[0-9,]*\) *\(.*\)$/\2/p' "$T/dir" | sort)
		# dir shows no hidden system entries: ntfsls's System Volume Information goes.
		theirs=$(ntfsls "$T/$tag-$name.img" 2>/dev/null | grep -v -e '^\$' -e '^System Volume Information$' | sort)
		[ -n "$ours" ] && [ "$ours" = "$theirs" ] || { echo "$ltr: dir '$ours', ntfsls '$theirs'"; bad=1; }
		rm -rf "$T/copy"
		"$GM" -m "$M" xcopy "$ltr:\\" "$T/copy" /s /e /h >"$T/xc" 2>&1 || { echo "$ltr: xcopy failed: $(cat "$T/xc")"; bad=1; continue; }
		while read -r f; do
			ntfscat "$T/$tag-$name.img" "$f" 2>/dev/null | cmp -s - "$T/copy/$f" || { echo "$ltr: $f differs from ntfscat"; bad=1; }
		done <<<"$theirs"
		cp -r "$T/copy" "$T/healthy-$tag-$ltr"
	done < <("$GM" -m "$M" diskpart <<<"list volume" 2>/dev/null | sed -n 's/^[ *] Volume [0-9]* *\([A-Z]\)  .*NTFS.*/\1/p' |
		while read -r l; do
			printf '%s %s\n' "$l" "$("$GM" -m "$M" volume list --json | python3 -c "
import json,sys
for g in json.load(sys.stdin)['groups']:
    for v in g['volumes']:
        if v['letter'] == sys.argv[1]: print(v['name'])" "$l")"
		done)
	[ "$n" -ge 5 ] || { echo "only $n NTFS volumes found"; bad=1; }
	return $bad
}
for grp in 2003r2 2008r2; do
	M=$T/m$grp
	fixture_machine "$M" "$grp"
	if check_volumes "$M" "$grp" >"$T/why" 2>&1; then pass "$grp-dir-and-xcopy-are-ntfs-3g"; else fail "$grp-dir-and-xcopy-are-ntfs-3g" "$(cat "$T/why")"; fi
	# Degraded: a disk of the mirror and one of the RAID-5 out.
	for k in "${!imgs[@]}"; do
		case "${imgs[$k]}" in *mirrored-1.img | *raid5-1.img) "$GM" -m "$M" machine pull-disk "$k" >/dev/null ;; esac
	done
	lv=$("$GM" -m "$M" diskpart <<<"list volume" 2>/dev/null)
	ok=0
	for typ in Mirror RAID-5; do
		l=$(sed -n "s/^[ *] Volume [0-9]* *\([A-Z]\)  .*NTFS  *$typ .*Failed Rd.*/\1/p" <<<"$lv")
		[ -n "$l" ] || { ok=1; echo "no degraded $typ volume: $lv"; continue; }
		rm -rf "$T/copy"
		"$GM" -m "$M" xcopy "$l:\\" "$T/copy" /s /e /h >"$T/xc" 2>&1 && diff -r "$T/healthy-$grp-$l" "$T/copy" >/dev/null ||
			{ ok=1; echo "$typ $l: $(cat "$T/xc")"; }
	done >"$T/why" 2>&1
	if [ "$ok" = 0 ]; then pass "$grp-degraded-volumes-still-read"; else fail "$grp-degraded-volumes-still-read" "$(cat "$T/why")"; fi
done

# A basic NTFS partition, made by mkntfs and filled by ntfscp.
M=$T/basic
(cd "$T" && "$GM" machine create basic --disk 1G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=200" "assign letter=E" \
	"create partition efi size=64" "assign letter=S"
"$GM" -m "$M" format s: /fs:fat32 /q /y >/dev/null
ST=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
LA=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
truncate -s $(((LA - ST + 1) * 512)) "$T/e.img"
mkntfs -Q -F -q -L DATA -p "$ST" -H 255 -S 63 -s 512 "$T/e.img" >/dev/null 2>&1
det_bytes 300000 5 >"$T/big.bin"
printf 'hello\n' >"$T/h.txt"
ntfscp -q "$T/e.img" "$T/big.bin" big.bin 2>/dev/null
ntfscp -q "$T/e.img" "$T/h.txt" "A rather long file name.txt" 2>/dev/null
dd if="$T/e.img" of="$M/disk0.img" bs=512 seek="$ST" conv=notrunc,sparse status=none
"$GM" -m "$M" dir 'E:\' >"$T/dir" 2>&1
drc=$?
if [ "$drc" = 0 ] && grep -q "Volume in drive E is DATA" "$T/dir" && grep -q " 300,000 big.bin$" "$T/dir" &&
	grep -q " 6 A rather long file name.txt$" "$T/dir" && grep -q "2 File(s)        300,006 bytes" "$T/dir"; then
	pass "basic-ntfs-dir"
else
	fail "basic-ntfs-dir" "rc=$drc" "$(cat "$T/dir")"
fi
rm -rf "$T/copy"
"$GM" -m "$M" xcopy 'E:\' "$T/copy" /s /e /h >"$T/xc" 2>&1 && cmp -s "$T/copy/big.bin" "$T/big.bin" &&
	cmp -s "$T/copy/A rather long file name.txt" "$T/h.txt" &&
	[ "$(stat -c %Y "$T/copy/big.bin")" = "$(ntfsinfo -F big.bin "$T/e.img" 2>/dev/null | sed -n 's/.*File Altered Time:[[:space:]]*//p' | head -1 | xargs -I{} date -u -d {} +%s)" ]
xrc=$?
if [ "$xrc" = 0 ]; then pass "basic-ntfs-xcopy-to-host"; else fail "basic-ntfs-xcopy-to-host" "$(cat "$T/xc")" "$(ls -l --time-style=+%s "$T/copy")"; fi
"$GM" -m "$M" xcopy 'E:\' 'S:\from-ntfs' /s /e /h >"$T/xc" 2>&1
xrc=$?
first=$(sgdisk -i 3 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
part_extract "$M/disk0.img" 3 "$T/s.img"
mcopy -n -i "$T/s.img" "::/from-ntfs/big.bin" "$T/back.bin" 2>/dev/null
if [ "$xrc" = 0 ] && fsck_clean "$T/s.img" >/dev/null && cmp -s "$T/back.bin" "$T/big.bin" &&
	mdir -i "$T/s.img" ::/from-ntfs 2>/dev/null | grep -q "A rather long file name.txt"; then
	pass "basic-ntfs-xcopy-onto-fat"
else
	fail "basic-ntfs-xcopy-onto-fat" "rc=$xrc" "$(cat "$T/xc")"
fi

# Writing onto NTFS that mkntfs made: ntfsfix -n accepts it, ntfscat reads
# the new file and the old ones are still there.
mkdir -p "$T/add/Sub dir"
printf 'added\r\n' >"$T/add/Sub dir/new file.txt"
"$GM" -m "$M" xcopy "$T/add" 'E:\Added' /s /e >"$T/xc" 2>&1
wrc=$?
part_extract "$M/disk0.img" 2 "$T/e2.img"
if [ "$wrc" = 0 ] && ntfsfix -n "$T/e2.img" 2>&1 | grep -q "processed successfully" &&
	ntfscat "$T/e2.img" "/Added/Sub dir/new file.txt" 2>/dev/null | cmp -s - "$T/add/Sub dir/new file.txt" &&
	ntfscat "$T/e2.img" /big.bin 2>/dev/null | cmp -s - "$T/big.bin"; then
	pass "ntfs-write-onto-mkntfs-volume"
else
	fail "ntfs-write-onto-mkntfs-volume" "rc=$wrc" "$(cat "$T/xc")"
fi

# Windows' own volumes: a write onto the 2008 R2 mirror reaches both plexes
# (Windows' NTFS, written by libntfs-3g, still passes ntfsfix -n on each);
# the RAID-5 is refused with nothing changed.
M=$T/w2008
fixture_machine "$M" 2008r2
lv=$("$GM" -m "$M" diskpart <<<"list volume" 2>/dev/null)
ml=$(sed -n "s/^[ *] Volume [0-9]* *\([A-Z]\)  .*NTFS  *Mirror .*/\1/p" <<<"$lv")
rl=$(sed -n "s/^[ *] Volume [0-9]* *\([A-Z]\)  .*NTFS  *RAID-5 .*/\1/p" <<<"$lv")
mname=$("$GM" -m "$M" volume list --json | python3 -c "
import json,sys
for g in json.load(sys.stdin)['groups']:
    for v in g['volumes']:
        if v['letter'] == sys.argv[1]: print(v['name'])" "$ml")
"$GM" -m "$M" xcopy "$T/add" "$ml:\\Added" /s /e >"$T/xc" 2>&1
wrc=$?
ok=0
{
	[ -n "$ml" ] && [ "$wrc" = 0 ] || { ok=1; echo "mirror '$ml' rc=$wrc: $(cat "$T/xc")"; }
	plexes_agree "$mname" || ok=1
	"$GM" -m "$M" volume export "$mname" "$T/wm.img" >/dev/null 2>&1
	ntfsfix -n "$T/wm.img" 2>&1 | grep -q "processed successfully" || { ok=1; echo "ntfsfix rejects the mirror"; }
	ntfscat "$T/wm.img" "/Added/Sub dir/new file.txt" 2>/dev/null | cmp -s - "$T/add/Sub dir/new file.txt" ||
		{ ok=1; echo "the new file differs"; }
} >"$T/why" 2>&1
if [ "$ok" = 0 ]; then pass "ntfs-write-onto-windows-mirror"; else fail "ntfs-write-onto-windows-mirror" "$(cat "$T/why")"; fi
h=$(image_hash)
"$GM" -m "$M" xcopy "$T/h.txt" "$rl:\\" >"$T/xc" 2>&1
wrc=$?
if [ -n "$rl" ] && [ "$wrc" = 4 ] && grep -q "is a RAID-5 volume: gptmirror reads it (volume export) but does not write it" "$T/xc" &&
	[ "$h" = "$(image_hash)" ]; then
	pass "ntfs-raid5-write-refused"
else
	fail "ntfs-raid5-write-refused" "'$rl' rc=$wrc" "$(cat "$T/xc")"
fi
M=$T/basic

# Damage: the MFT's first record, the boot sector's cluster size and MFT
# position, the root directory's index (an entry's length): dir, xcopy
# from it and xcopy onto it each give a clear error and change nothing.
damage() { # OFFSET-IN-VOLUME BYTES...: writes them into E: on a copy
	rm -rf "$T/dmg"
	cp -r --sparse=always "$M" "$T/dmg"
	printf "$2" | dd of="$T/dmg/disk0.img" bs=1 seek=$((ST * 512 + $1)) conv=notrunc status=none
}
mft=$(python3 -c "
import struct,sys
b = open(sys.argv[1],'rb').read(512)
spc = b[13]; print(struct.unpack('<q', b[48:56])[0] * spc * 512)" "$T/e.img")
# The first index entry of the root's \$INDEX_ROOT (MFT record 5).
idx=$(python3 -c "
import struct,sys
f = open(sys.argv[1],'rb'); m = int(sys.argv[2]); f.seek(m + 5 * 1024); r = f.read(1024)
o = struct.unpack('<H', r[20:22])[0]
while o < 1024:
    t, l = struct.unpack('<II', r[o:o+8])
    if t == 0x90:
        v = o + struct.unpack('<H', r[o+20:o+22])[0]
        print(m + 5 * 1024 + v + 16 + struct.unpack('<I', r[v+16:v+20])[0] + 8); break
    o += l" "$T/e.img" "$mft")
ok=0
[ -n "$idx" ] || { ok=1; echo "no \$INDEX_ROOT in record 5"; } >"$T/why0"
for what in "$mft:XXXX" "13:\\000" "0x30:\\377\\377\\377\\377\\377\\377\\377\\177" "$idx:\\360\\377"; do
	damage "$(( ${what%%:*} ))" "${what#*:}"
	h=$(cd "$T/dmg" && "$IMGTOOL" hash disk*.img)
	"$GM" -m "$T/dmg" dir 'E:\' >"$T/d" 2>&1
	r1=$?
	rm -rf "$T/o2"
	"$GM" -m "$T/dmg" xcopy 'E:\' "$T/o2" /s >"$T/x" 2>&1
	r2=$?
	"$GM" -m "$T/dmg" xcopy "$T/h.txt" 'E:\' >>"$T/x" 2>&1
	r3=$?
	if [ "$r1" = 0 ] || [ "$r2" = 0 ] || [ "$r3" = 0 ] || grep -q "AddressSanitizer\|runtime error" "$T/d" "$T/x" ||
		[ "$h" != "$(cd "$T/dmg" && "$IMGTOOL" hash disk*.img)" ] || ! grep -qi "ntfs\|not found\|cannot" "$T/d"; then
		ok=1
		echo "damage $what: dir rc=$r1 xcopy rc=$r2 onto rc=$r3: $(cat "$T/d" "$T/x")"
	fi
done >>"$T/why0"
if [ "$ok" = 0 ] && [ ! -s "$T/why0" ]; then pass "damaged-ntfs-clear-error-no-change"; else fail "damaged-ntfs-clear-error-no-change" "$(cat "$T/why0")"; fi
