#!/usr/bin/env bash
# format /fs:ntfs (format X: and diskpart's format fs=ntfs): mkntfs makes
# the file system on a scratch sparse file, which is written onto the
# volume holes and all. Checked by ntfs-3g's own tools: ntfsfix -n accepts
# every volume we format, ntfsinfo reads the label, the 4 KB cluster and
# the hidden sectors (the partition's start); Windows' text as a golden in
# deterministic mode (the same seed gives the same bytes); on a mirrored
# dynamic volume both plexes get it (read off the images at ldmtool's
# offsets); killed at every write, the volume is RAW or a whole NTFS that
# ntfsfix accepts, and the rerun completes it; bad units and a volume too
# small are refused with nothing written.
. "$(dirname "$0")/../lib.sh"
need mkntfs
need ntfsfix
need ntfsinfo
need sgdisk
need ldmtool
export GPTMIRROR_SEED=6161
GOLD=$(dirname "$0")/ntfs_format.golden
M=$T/server
(cd "$T" && "$GM" machine create server --disk 2G --disk 2G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "create partition primary size=600" "assign letter=E" \
	"create partition primary size=1" "assign letter=T"
[ "$RC" = 0 ] || fail setup "$(cat "$T/out")"
cp -r --sparse=always "$M" "$T/fresh"
# ntfs_ok DIR PART: ntfsfix -n accepts that partition of disk 0.
ntfs_ok() { part_extract "$1/disk0.img" "$2" "$T/p.img" && ntfsfix -n "$T/p.img" >"$T/fix" 2>&1 && grep -q "processed successfully" "$T/fix"; }
{
	echo 'C:\> format e: /fs:ntfs /q /y /v:DATA'
	"$GM" -m "$M" format e: /fs:ntfs /q /y /v:DATA
	echo "[exit $?]"
	echo 'C:\> dir e:\'
	"$GM" -m "$M" dir 'e:\'
	echo "[exit $?]"
	echo 'C:\> format e: /fs:ntfs /q /y /a:3000'
	"$GM" -m "$M" format e: /fs:ntfs /q /y /a:3000
	echo "[exit $?]"
	echo 'C:\> format t: /fs:ntfs /q /y'
	"$GM" -m "$M" format t: /fs:ntfs /q /y
	echo "[exit $?]"
} >"$T/got" 2>&1
golden ntfs-format-transcript "$T/got" "$GOLD"
ST=$(sgdisk -i 2 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
if ntfs_ok "$M" 2; then
	info=$(ntfsinfo -m "$T/p.img" 2>/dev/null)
	hid=$(python3 -c "import struct,sys; print(struct.unpack('<I', open(sys.argv[1],'rb').read(32)[0x1c:0x20])[0])" "$T/p.img")
	if grep -q "Volume Name: DATA" <<<"$info" && grep -q "Cluster Size: 4096" <<<"$info" && [ "$hid" = "$ST" ] &&
		[ ! -e "$M/.format-ntfs.tmp" ]; then
		pass "ntfsfix-and-ntfsinfo-accept-it"
	else
		fail "ntfsfix-and-ntfsinfo-accept-it" "hidden $hid, want $ST" "$info"
	fi
else
	fail "ntfsfix-and-ntfsinfo-accept-it" "$(cat "$T/fix")"
fi
# The same seed, the same bytes.
cp -r --sparse=always "$T/fresh" "$T/again"
"$GM" -m "$T/again" format e: /fs:ntfs /q /y /v:DATA >/dev/null 2>&1
if cmp -s "$M/disk0.img" "$T/again/disk0.img"; then
	pass "deterministic-same-seed-same-bytes"
else
	fail "deterministic-same-seed-same-bytes"
fi

# Killed at each write: RAW or a whole NTFS; the rerun completes it.
cp -r --sparse=always "$T/fresh" "$T/base"
printf 'x' | dd of="$T/base/disk0.img" bs=1 seek=$((ST * 512 + 3)) conv=notrunc status=none
M=$T/base
nw=$(writes_of format e: /fs:ntfs /q /y /v:DATA)
tried=0 bad=0
for ((k = 1; k <= nw; k++)); do
	rm -rf "$T/c"
	cp -r --sparse=always "$T/base" "$T/c"
	if ! crashed "$k" "$GM" -m "$T/c" format e: /fs:ntfs /q /y /v:DATA >/dev/null 2>&1; then
		bad=$((bad + 1)); echo "point $k: the hook did not fire"; continue
	fi
	tried=$((tried + 1))
	"$GM" -m "$T/c" dir 'e:\' >"$T/d" 2>&1
	if part_extract "$T/c/disk0.img" 2 "$T/p.img" && python3 -c "import sys; sys.exit(any(open(sys.argv[1],'rb').read(512)))" "$T/p.img"; then
		: # RAW: the old boot sector is gone, nothing looks like a file system
	elif ! ntfs_ok "$T/c" 2; then
		bad=$((bad + 1)); echo "point $k: neither RAW nor an NTFS ntfsfix accepts: $(cat "$T/fix")"; continue
	fi
	"$GM" -m "$T/c" format e: /fs:ntfs /q /y /v:DATA >/dev/null 2>&1 && ntfs_ok "$T/c" 2 ||
		{ bad=$((bad + 1)); echo "point $k: the rerun did not complete it"; }
done >"$T/crash.log"
if [ "$nw" -ge 3 ] && [ "$tried" = "$nw" ] && [ "$bad" = 0 ]; then
	pass "crash-at-every-write-raw-or-ntfs ($tried points)"
else
	fail "crash-at-every-write-raw-or-ntfs" "$nw writes, $tried tried, $bad bad" "$(cat "$T/crash.log")"
fi

# A mirrored dynamic volume: diskpart's format fs=ntfs reaches both plexes.
export GPTMIRROR_SEED=6162
M=$T/pair
dynamic_pair 300
dp "select volume c" "add disk=1" "format fs=ntfs label=MIRROR quick"
frc=$RC
g=$(ldmtool -d /dev/null scan "$M/disk0.img" "$M/disk1.img" 2>/dev/null | tr -d '[]" \n')
ok=0
for p in $(ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show volume "$g" Volume1 2>/dev/null | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["partitions"]))'); do
	pj=$(ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show partition "$g" "$p" 2>/dev/null)
	dk=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['disk'])" "$pj")
	dj=$(ldmtool -d "$M/disk0.img" -d "$M/disk1.img" show disk "$g" "$dk" 2>/dev/null)
	off=$(python3 -c "import json,sys; p=json.loads(sys.argv[1]); d=json.loads(sys.argv[2]); print((d['data-start']+p['start'])*512, p['size']*512, d['device'])" "$pj" "$dj")
	read -r o n dev <<<"$off"
	"$IMGTOOL" extract "$dev" "$o" "$n" "$T/plex.img"
	ntfsfix -n "$T/plex.img" 2>&1 | grep -q "processed successfully" || { ok=1; echo "$p: ntfsfix rejects it"; }
done >"$T/why"
if [ "$frc" = 0 ] && grep -q "DiskPart successfully formatted the volume." "$T/out" && [ "$ok" = 0 ] &&
	plexes_agree Volume1 >>"$T/why" 2>&1 && "$GM" -m "$M" dir 'c:\' | grep -q "Volume in drive C is MIRROR"; then
	pass "mirror-format-ntfs-both-plexes"
else
	fail "mirror-format-ntfs-both-plexes" "rc=$frc" "$(cat "$T/why" "$T/out")"
fi
