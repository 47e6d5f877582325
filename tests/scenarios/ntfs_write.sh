#!/usr/bin/env bash
# xcopy onto NTFS through libntfs-3g (host, FAT and NTFS sources), checked
# by ntfs-3g's own tools:
# - host to NTFS: ntfsfix -n accepts the volume, ntfsls lists the tree
#   (long and non-ASCII names, an empty directory with /e), ntfscat reads
#   the same bytes, ntfsinfo shows each file's time and the archive bit;
#   our dir and xcopy read it all back to the host unchanged;
# - FAT to NTFS keeps the hidden, system and read-only attributes; NTFS to
#   NTFS, on one volume and across two; /y overwrites, "No" keeps a file;
#   a name Windows cannot make is refused with nothing written; a volume
#   that fills says so in Windows' words and keeps no partial file;
# - deterministic mode: the same seed writes the same bytes;
# - a mirrored NTFS volume gets the files on both plexes (each read alone
#   off the images at ldmtool's offsets), and with a disk pulled the files
#   still read; the resync makes the plexes equal again;
# - killed at every write, the next command finds the old volume or the
#   new one (a journal is finished, a cut-off one dropped) and ntfsfix -n
#   accepts it.
. "$(dirname "$0")/../lib.sh"
need mkntfs
need ntfsfix
need ntfsls
need ntfscat
need ntfsinfo
need sgdisk
need ldmtool
need mattrib
export GPTMIRROR_SEED=7171 MTOOLS_SKIP_CHECK=1
M=$T/server
(cd "$T" && "$GM" machine create server --disk 1G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=300" "assign letter=E" \
	"create partition primary size=100" "assign letter=F" "create partition efi size=64" "assign letter=S"
"$GM" -m "$M" format e: /fs:ntfs /q /y /v:DATA >/dev/null &&
	"$GM" -m "$M" format f: /fs:ntfs /q /y /v:OTHER >/dev/null &&
	"$GM" -m "$M" format s: /fs:fat32 /q /y >/dev/null || fail setup "formats failed"
cp -r --sparse=always "$M" "$T/fresh"
# vol_img DIR PART OUT: partition PART of DIR's disk 0; ntfs_ok: ntfsfix -n accepts it.
ntfs_ok() { part_extract "$1/disk0.img" "$2" "$T/p.img" && ntfsfix -n "$T/p.img" >"$T/fix" 2>&1 && grep -q "processed successfully" "$T/fix"; }

# The host tree.
H=$T/host
mkdir -p "$H/Program Files/Common Files" "$H/empty dir" "$H/données"
det_bytes 3000000 1 >"$H/Program Files/big.bin"
printf 'boot loader\r\n' >"$H/boot.ini"
printf 'é\n' >"$H/données/résumé.txt"
printf 'x' >"$H/Program Files/Common Files/A file with a rather long name, longer than 8.3.txt"
: >"$H/zero.dat"
touch -d '2003-03-28 12:00:00 UTC' "$H/boot.ini"
touch -d '2001-09-09 01:46:40 UTC' "$H/Program Files/big.bin"
"$GM" -m "$M" xcopy "$H" 'E:\WINDOWS' /s /e >"$T/xc" 2>&1
xrc=$?
ok=0
{
	[ "$xrc" = 0 ] && grep -q "^5 File(s) copied$" "$T/xc" || { ok=1; echo "xcopy rc=$xrc: $(cat "$T/xc")"; }
	[ ! -e "$M/ntfs-journal.E" ] || { ok=1; echo "the journal is left"; }
	ntfs_ok "$M" 2 || { ok=1; echo "ntfsfix: $(cat "$T/fix")"; }
	cp "$T/p.img" "$T/e.img"
	want=$(cd "$H" && find . -mindepth 1 | sed 's|^\./|/WINDOWS/|' | sort)
	got=$(ntfsls -R -p /WINDOWS/ "$T/e.img" 2>/dev/null | python3 -c '
import sys
d = None
for l in sys.stdin.read().split("\n"):
    if l.endswith(":") and l.startswith("/"): d = l[:-1].rstrip("/"); continue
    if l and l not in (".", ".."): print(d + "/" + l)' | sort)
	[ "$want" = "$got" ] || { ok=1; echo "ntfsls: $got"; echo "want: $want"; }
	while read -r f; do
		[ -f "$H/${f#/WINDOWS/}" ] || continue
		ntfscat "$T/e.img" "$f" 2>/dev/null | cmp -s - "$H/${f#/WINDOWS/}" || { ok=1; echo "$f: ntfscat differs"; }
	done <<<"$want"
	info=$(ntfsinfo -F /WINDOWS/boot.ini "$T/e.img" 2>/dev/null)
	grep -q "File Altered Time:.*Fri Mar 28 12:00:00 2003" <<<"$info" && grep -q "File attributes:.*ARCHIVE" <<<"$info" ||
		{ ok=1; echo "boot.ini: $info"; }
	info=$(ntfsinfo -F "/WINDOWS/Program Files/big.bin" "$T/e.img" 2>/dev/null)
	grep -q "File Altered Time:.*Sun Sep  9 01:46:40 2001" <<<"$info" || { ok=1; echo "big.bin: $info"; }
} >"$T/why" 2>&1
if [ "$ok" = 0 ]; then pass "host-to-ntfs-is-what-ntfs-3g-reads"; else fail "host-to-ntfs-is-what-ntfs-3g-reads" "$(cat "$T/why")"; fi

# Our own dir and xcopy read it back.
rm -rf "$T/back"
"$GM" -m "$M" xcopy 'E:\WINDOWS' "$T/back" /s /e /h >"$T/xc" 2>&1
"$GM" -m "$M" dir 'e:\windows\program files' >"$T/dir" 2>&1
if diff -r "$H" "$T/back" >"$T/why" 2>&1 && [ "$(stat -c %Y "$T/back/boot.ini")" = "$(stat -c %Y "$H/boot.ini")" ] &&
	grep -q "09/09/2001  01:46 AM         3,000,000 big.bin" "$T/dir"; then
	pass "ntfs-round-trip-host"
else
	fail "ntfs-round-trip-host" "$(cat "$T/why" "$T/xc" "$T/dir")"
fi

# FAT to NTFS keeps the attributes; NTFS to NTFS on one volume and across two.
"$GM" -m "$M" xcopy "$H/boot.ini" 'S:\' >/dev/null 2>&1
printf 'hidden\n' >"$T/h.sys"
"$GM" -m "$M" xcopy "$T/h.sys" 'S:\' >/dev/null 2>&1
part_extract "$M/disk0.img" 4 "$T/s.img"
first=$(sgdisk -i 4 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
mattrib -i "$T/s.img" +h +s +r ::/h.sys && dd if="$T/s.img" of="$M/disk0.img" bs=512 seek="$first" conv=notrunc status=none
"$GM" -m "$M" xcopy 'S:\' 'E:\fromfat' /h >"$T/xc1" 2>&1
r1=$?
"$GM" -m "$M" xcopy 'E:\WINDOWS' 'E:\copy' /s /e >"$T/xc2" 2>&1
r2=$?
"$GM" -m "$M" xcopy 'E:\WINDOWS' 'F:\' /s /e >"$T/xc3" 2>&1
r3=$?
ok=0
{
	[ "$r1$r2$r3" = 000 ] || { ok=1; echo "rc $r1 $r2 $r3"; cat "$T/xc1" "$T/xc2" "$T/xc3"; }
	ntfs_ok "$M" 2 || { ok=1; echo "E: ntfsfix: $(cat "$T/fix")"; }
	cp "$T/p.img" "$T/e.img"
	info=$(ntfsinfo -F /fromfat/h.sys "$T/e.img" 2>/dev/null)
	grep -q "File attributes:.*READONLY.*HIDDEN.*SYSTEM" <<<"$info" || { ok=1; echo "h.sys: $info"; }
	ntfscat "$T/e.img" /fromfat/h.sys 2>/dev/null | cmp -s - "$T/h.sys" || { ok=1; echo "h.sys differs"; }
	ntfscat "$T/e.img" "/copy/Program Files/big.bin" 2>/dev/null | cmp -s - "$H/Program Files/big.bin" || { ok=1; echo "E:\\copy differs"; }
	ntfs_ok "$M" 3 || { ok=1; echo "F: ntfsfix: $(cat "$T/fix")"; }
	ntfscat "$T/p.img" "/données/résumé.txt" 2>/dev/null | cmp -s - "$H/données/résumé.txt" || { ok=1; echo "F: differs"; }
} >"$T/why" 2>&1
if [ "$ok" = 0 ]; then pass "fat-and-ntfs-to-ntfs"; else fail "fat-and-ntfs-to-ntfs" "$(cat "$T/why")"; fi

# Overwrite: "N" keeps the file, /y replaces it; any case finds it.
printf 'new\n' >"$T/BOOT.INI"
h=$(image_hash)
printf 'n\n' | "$GM" -m "$M" xcopy "$T/BOOT.INI" 'E:\WINDOWS' >"$T/xn" 2>&1
kept=$([ "$h" = "$(image_hash)" ] && echo yes)
"$GM" -m "$M" xcopy "$T/BOOT.INI" 'E:\WINDOWS' /y >"$T/xy" 2>&1
yrc=$?
ntfs_ok "$M" 2
if [ "$kept" = yes ] && grep -q "Overwrite E:\\\\WINDOWS\\\\BOOT.INI (Yes/No/All)? n" "$T/xn" && [ "$yrc" = 0 ] &&
	ntfscat "$T/p.img" /WINDOWS/boot.ini 2>/dev/null | cmp -s - "$T/BOOT.INI" &&
	[ "$(ntfsls -p /WINDOWS "$T/p.img" 2>/dev/null | grep -ci '^boot.ini$')" = 1 ]; then
	pass "overwrite-no-keeps-yes-replaces"
else
	fail "overwrite-no-keeps-yes-replaces" "kept=$kept rc=$yrc" "$(cat "$T/xn" "$T/xy")" "$(ntfsls -p /WINDOWS "$T/p.img" 2>&1)"
fi

# A name Windows cannot make: refused, nothing written.
mkdir -p "$T/bad"
printf 'x' >"$T/bad/a:b"
h=$(image_hash)
"$GM" -m "$M" xcopy "$T/bad" 'E:\' >"$T/xb" 2>&1
brc=$?
if [ "$brc" = 4 ] && grep -q '"a:b" is not a name Windows can give a file' "$T/xb" && [ "$h" = "$(image_hash)" ] &&
	[ ! -e "$M/ntfs-journal.E" ]; then
	pass "bad-name-refused-no-change"
else
	fail "bad-name-refused-no-change" "rc=$brc" "$(cat "$T/xb")"
fi

# The same seed, the same bytes.
for r in a b; do
	rm -rf "$T/det-$r"
	cp -r --sparse=always "$T/fresh" "$T/det-$r"
	"$GM" -m "$T/det-$r" xcopy "$H" 'E:\WINDOWS' /s /e >/dev/null 2>&1
done
if cmp -s "$T/det-a/disk0.img" "$T/det-b/disk0.img"; then
	pass "deterministic-same-seed-same-bytes"
else
	fail "deterministic-same-seed-same-bytes" "$(cmp "$T/det-a/disk0.img" "$T/det-b/disk0.img" 2>&1 | head -3)"
fi

# Killed at every write: the old volume or the new one, as ntfsfix sees it
# and as the next command lists it.
M=$T/fresh
rm -rf "$T/small"
mkdir -p "$T/small/sub"
printf 'one\n' >"$T/small/one.txt"
det_bytes 200000 2 >"$T/small/sub/two.bin"
rm -rf "$T/ref"
cp -r --sparse=always "$T/fresh" "$T/ref"
"$GM" -m "$T/ref" xcopy "$T/small" 'E:\new' /s >/dev/null 2>&1
new_dir=$("$GM" -m "$T/ref" dir 'E:\new\sub' 2>&1)
nw=$(writes_of xcopy "$T/small" 'E:\new' /s)
tried=0 bad=0 olds=0 news=0
for ((k = 1; k <= nw; k++)); do
	rm -rf "$T/c"
	cp -r --sparse=always "$T/fresh" "$T/c"
	if ! crashed "$k" "$GM" -m "$T/c" xcopy "$T/small" 'E:\new' /s >/dev/null 2>&1; then
		bad=$((bad + 1)); echo "point $k: the hook did not fire"; continue
	fi
	tried=$((tried + 1))
	"$GM" -m "$T/c" dir 'E:\new\sub' >"$T/d" 2>&1
	drc=$?
	if ! ntfs_ok "$T/c" 2; then
		bad=$((bad + 1)); echo "point $k: ntfsfix rejects it: $(cat "$T/fix")"; continue
	fi
	if [ -e "$T/c/ntfs-journal.E" ]; then
		bad=$((bad + 1)); echo "point $k: the journal is still there"
	elif [ "$drc" = 0 ] && [ "$(grep -v 'cut off' "$T/d")" = "$new_dir" ] &&
		ntfscat "$T/p.img" /new/sub/two.bin 2>/dev/null | cmp -s - "$T/small/sub/two.bin"; then
		news=$((news + 1))
	elif [ "$drc" != 0 ] && ! ntfsls "$T/p.img" 2>/dev/null | grep -q '^new$'; then
		olds=$((olds + 1))
	else
		bad=$((bad + 1)); echo "point $k: neither old nor new: rc=$drc $(cat "$T/d")"
	fi
done >"$T/crash.log"
# One more write than it makes: the hook does not fire, the copy completes.
rm -rf "$T/c"
cp -r --sparse=always "$T/fresh" "$T/c"
crashed $((nw + 1)) "$GM" -m "$T/c" xcopy "$T/small" 'E:\new' /s >/dev/null 2>&1 && { bad=$((bad + 1)); echo "point $((nw + 1)) fired"; } >>"$T/crash.log"
if [ "$nw" -ge 3 ] && [ "$tried" = "$nw" ] && [ "$bad" = 0 ] && [ "$olds" -ge 1 ] && [ "$news" -ge 1 ]; then
	pass "crash-at-every-write-old-or-new ($tried points: $olds old, $news new)"
else
	fail "crash-at-every-write-old-or-new" "$nw writes, $tried tried, $bad bad, $olds old, $news new" "$(cat "$T/crash.log")"
fi

# A journal that is not whole (cut off while written) is dropped; one of
# another volume is left, with a clear warning.
rm -rf "$T/c"
cp -r --sparse=always "$T/fresh" "$T/c"
M=$T/c
h=$(image_hash)
printf 'GMNTFSJ1 cut off' >"$T/c/ntfs-journal.E"
"$GM" -m "$T/c" dir 'E:\' >"$T/d" 2>&1
if [ ! -e "$T/c/ntfs-journal.E" ] && [ "$h" = "$(image_hash)" ] && ! grep -q "cut off" "$T/d"; then
	pass "cut-off-journal-dropped"
else
	fail "cut-off-journal-dropped" "$(cat "$T/d")"
fi

# A mirrored NTFS volume: both plexes get the files; a plex pulled, they
# still read, and a write marks the pulled plex failed (Failed Rd when its
# disk is back); the resync makes the plexes equal.
export GPTMIRROR_SEED=7172
M=$T/pair
dynamic_pair 300
dp "select volume c" "add disk=1" "format fs=ntfs label=MIRROR quick"
"$GM" -m "$M" xcopy "$H" 'C:\WINDOWS' /s /e >"$T/xc" 2>&1
xrc=$?
g=$(ldmtool -d /dev/null scan "$M/disk0.img" "$M/disk1.img" 2>/dev/null | tr -d '[]" \n')
ok=0
{
	[ "$xrc" = 0 ] || { ok=1; cat "$T/xc"; }
	for p in $(ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show volume "$g" Volume1 2>/dev/null | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["partitions"]))'); do
		pj=$(ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show partition "$g" "$p" 2>/dev/null)
		dk=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['disk'])" "$pj")
		dj=$(ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show disk "$g" "$dk" 2>/dev/null)
		read -r o n dev <<<"$(python3 -c "import json,sys; p=json.loads(sys.argv[1]); d=json.loads(sys.argv[2]); print((d['data-start']+p['start'])*512, p['size']*512, d['device'])" "$pj" "$dj")"
		"$IMGTOOL" extract "$dev" "$o" "$n" "$T/plex.img"
		ntfsfix -n "$T/plex.img" 2>&1 | grep -q "processed successfully" || { ok=1; echo "$p: ntfsfix rejects it"; }
		ntfscat "$T/plex.img" "/WINDOWS/Program Files/big.bin" 2>/dev/null | cmp -s - "$H/Program Files/big.bin" || { ok=1; echo "$p: big.bin differs"; }
	done
	plexes_agree Volume1 || ok=1
	"$GM" -m "$M" machine pull-disk 1 >/dev/null
	rm -rf "$T/back"
	"$GM" -m "$M" xcopy 'C:\WINDOWS' "$T/back" /s /e >/dev/null 2>&1 && diff -r "$H" "$T/back" || { ok=1; echo "degraded read differs"; }
	printf 'later\n' >"$T/later.txt"
	"$GM" -m "$M" xcopy "$T/later.txt" 'C:\' >/dev/null 2>&1 || { ok=1; echo "degraded write failed"; }
	"$GM" -m "$M" machine insert-disk 1 --image "$M/pulled/disk1.img" >/dev/null 2>&1
	# Back, the plex that missed the write is not Healthy until resynced.
	"$GM" -m "$M" volume list >"$T/vl" 2>&1
	grep -q "Volume1 .*Failed Rd" "$T/vl" || { ok=1; echo "reinserted: $(cat "$T/vl")"; }
	"$GM" -m "$M" volume resync >"$T/rs" 2>&1 || { ok=1; cat "$T/rs"; }
	plexes_agree Volume1 || ok=1
	ntfscat "$T/plex.img" /later.txt >/dev/null 2>&1 && { ok=1; echo "the stale plex had later.txt"; }
} >"$T/why" 2>&1
if [ "$ok" = 0 ]; then pass "mirror-both-plexes-degraded-and-resynced"; else fail "mirror-both-plexes-degraded-and-resynced" "$(cat "$T/why")"; fi

# A volume that fills: Windows' words, and the file that did not fit goes
# (as Windows' copy deletes it); the one before stays; ntfsfix -n accepts it.
export GPTMIRROR_SEED=7173
rm -rf "$T/full" "$T/big"
cp -r --sparse=always "$T/fresh" "$T/full"
M=$T/full
mkdir -p "$T/big"
det_bytes 30000000 2 >"$T/big/a.bin"
det_bytes 90000000 3 >"$T/big/b.bin"
"$GM" -m "$M" xcopy "$T/big" 'F:\' /y >"$T/xf" 2>&1
frc=$?
"$GM" -m "$M" dir 'F:\' >"$T/df" 2>&1
if [ "$frc" = 4 ] && grep -q "^There is not enough space on the disk.$" "$T/xf" &&
	grep -q " 30,000,000 a.bin$" "$T/df" && ! grep -q "b.bin" "$T/df" && ntfs_ok "$M" 3; then
	pass "full-volume-says-so-and-drops-the-partial-file"
else
	fail "full-volume-says-so-and-drops-the-partial-file" "rc=$frc" "$(cat "$T/xf" "$T/df" "$T/fix")"
fi
