#!/usr/bin/env bash
# ESPs that drift apart: the KB's two ESPs (disk 0's and the shadow's, with
# the cloned entries), edited behind gptmirror's back with mtools. esp
# status reports exactly what was changed, added, deleted, made hidden or
# lost (a loader an entry needs); esp sync brings the shadow back in line
# (fsck.fat and mtools agree, each disk boots alone, emulated and in
# OVMF); a sync from an ESP that misses its own loader is refused; two ESPs
# of different FAT types with the same files agree; esp sync killed at
# every write is completed by a second sync; and a sync of 2,000 files of
# which 3 differ writes only what those 3 need.
. "$(dirname "$0")/../lib.sh"
need mcopy
need mdel
need mattrib
need fsck.fat
need qemu-system-x86_64
export GPTMIRROR_SEED=1515 MTOOLS_SKIP_CHECK=1
M=$T/server
"$GM" machine create "$M" --disk 10G --disk 10G --profile 2003 --install >/dev/null || fail install
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32" "select partition 1" \
	"assign letter=S" "select disk 0" "select partition 1" "assign letter=P"
{ "$GM" -m "$M" format s: /fs:fat /q /y && "$GM" -m "$M" xcopy 'p:\*.*' s: /s /h; } >/dev/null 2>&1 || fail setup-esp
dp "select disk 1" "convert dynamic" "select disk 0" "convert dynamic"
"$GM" -m "$M" machine reboot >/dev/null 2>&1
dp "select volume c" "add disk=1"
esp_guid() { "$GM" -m "$M" bootcfg /list "$1" | awk '/^Partition GUID:/ { g = $3 } /^GUID type:/ && /c12a7328/ { print g; exit }' | tr -d '{}'; }
G0=$(esp_guid 0)
G1=$(esp_guid 1)
"$GM" -m "$M" bootcfg /clone /sg "{$G0}" /tg "{$G1}" /d+ Cloned_Entry >/dev/null
cp -r --sparse=always "$M" "$T/base"
restore() { rm -rf "$M"; cp -r --sparse=always "$T/base" "$M"; }
off() { echo $(( $(sgdisk -i 1 "$M/disk$1.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p') * 512 )); }
O0=$(off 0)
O1=$(off 1)
esp0="$M/disk0.img@@$O0"
esp1="$M/disk1.img@@$O1"
LDR=::/EFI/Microsoft/WINNT50/ia64ldr.efi

"$GM" -m "$M" esp status >"$T/s" 2>&1
src=$?
if [ "$src" = 0 ] && grep -q "^Disk 0 and disk 1 (one OS): the same files$" "$T/s" &&
	grep -q "Boot0005 Windows 2003 Server, Enterprise Cloned_Entry: .*ia64ldr.efi" "$T/s"; then
	pass "kb-esps-agree"
else
	fail "kb-esps-agree" "rc=$src" "$(cat "$T/s")"
fi

# The drift: a file changed (same size, other bytes), a new driver, a
# deleted file, a file made hidden. (The loaders stay real EFI programs.)
printf 'a new driver' >"$T/NEWDRV.EFI"
mcopy -i "$esp0" "$T/NEWDRV.EFI" ::/EFI/Microsoft/WINNT50/NEWDRV.EFI
others=$(mdir -/ -b -i "$esp0" ::/ | grep -vi -e ia64ldr -e BOOTX64 -e NEWDRV | grep -v '/$')
victim=$(sed -n 1p <<<"$others")
hidden=$(sed -n 2p <<<"$others")
changed=$(sed -n 3p <<<"$others")
mtype -i "$esp0" "$changed" | tr 'a-zA-Z0-9' 'b-zaB-ZA1-90' >"$T/changed"
mcopy -o -i "$esp0" "$T/changed" "$changed"
mdel -i "$esp0" "$victim"
mattrib -i "$esp0" +h "$hidden"
"$GM" -m "$M" esp status >"$T/s" 2>&1
src=$?
"$GM" -m "$M" esp status --json >"$T/j" 2>&1
"$GM" -m "$M" machine status >"$T/ms" 2>&1
"$GM" -m "$M" machine boot >"$T/mb" 2>&1
v=${victim#::}
h=${hidden#::}
c=${changed#::}
want=$(printf '%s\n' "content ${c//\//\\}" "only first \\EFI\\Microsoft\\WINNT50\\NEWDRV.EFI" \
	"only second ${v//\//\\}" "attributes ${h//\//\\}" | sort)
got=$(sed -n 's/^  \(size\|only first\|only second\|attributes\|content\|kind\) *\(\\[^ ]*\).*/\1 \2/p' "$T/s" | sort)
if [ "$src" = 1 ] && [ "$(tr 'a-z' 'A-Z' <<<"$got")" = "$(tr 'a-z' 'A-Z' <<<"$want")" ] &&
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not r["clean"] and len(r["pairs"][0]["differences"]) == 4' "$T/j" &&
	grep -q "Warning: the ESPs of disk 0 and disk 1, which boot one OS, differ (4 differences" "$T/ms" &&
	grep -q "warning: the ESPs of disk 0 and disk 1" "$T/mb"; then
	pass "drift-reported-exactly"
else
	fail "drift-reported-exactly" "rc=$src" "want: $want" "got: $got" "$(cat "$T/s" "$T/ms" "$T/mb" | head -40)"
fi

# The shadow's own loader deleted: reported, and a sync from it refused.
mdel -i "$esp1" "$LDR"
"$GM" -m "$M" esp status >"$T/s" 2>&1
src=$?
before=$(image_hash)
"$GM" -m "$M" esp sync --from 1 --to 0 >"$T/r" 2>&1
rrc=$?
if [ "$src" = 1 ] && grep -q "Boot0005 .*ia64ldr.efi  (MISSING" "$T/s" && [ "$rrc" != 0 ] &&
	grep -q "the source ESP (disk 1) is itself missing .*ia64ldr.efi" "$T/r" && [ "$before" = "$(image_hash)" ]; then
	pass "missing-loader-reported-and-sync-from-it-refused"
else
	fail "missing-loader-reported-and-sync-from-it-refused" "rc=$src/$rrc" "$(cat "$T/s" "$T/r")"
fi

# esp sync --all, from the ESP the current boot loaded from.
cp -r --sparse=always "$M" "$T/drifted"
"$GM" -m "$M" esp sync --all >"$T/r" 2>&1
rrc=$?
"$GM" -m "$M" esp status >"$T/s" 2>&1
src=$?
part_extract "$M/disk0.img" 1 "$T/e0.img"
part_extract "$M/disk1.img" 1 "$T/e1.img"
rm -rf "$T/c0" "$T/c1"
mkdir -p "$T/c0" "$T/c1"
mcopy -s -n -i "$T/e0.img" '::*' "$T/c0/" 2>/dev/null
mcopy -s -n -i "$T/e1.img" '::*' "$T/c1/" 2>/dev/null
if [ "$rrc" = 0 ] && grep -q "ESP of disk 0 -> ESP of disk 1: 2 added, 1 replaced, 1 deleted, 1 attributes set" "$T/r" &&
	[ "$src" = 0 ] && grep -q "the same files" "$T/s" && fsck_clean "$T/e0.img" >/dev/null && fsck_clean "$T/e1.img" >/dev/null &&
	diff -r "$T/c0" "$T/c1" >/dev/null && [ "$(mattrib -i "$T/e1.img" "$hidden" | cut -c1-4)" = "$(mattrib -i "$T/e0.img" "$hidden" | cut -c1-4)" ] &&
	[ "$(mdir -i "$T/e1.img" ::/ | grep -i "volume serial")" != "$(mdir -i "$T/e0.img" ::/ | grep -i "volume serial")" ]; then
	pass "sync-all-brings-the-shadow-in-line"
else
	fail "sync-all-brings-the-shadow-in-line" "rc=$rrc/$src" "$(cat "$T/r" "$T/s")" "$(diff -r "$T/c0" "$T/c1")"
fi
# Each disk alone boots, emulated and in OVMF.
alone() { # SLOT-LEFT NAME WANT-GUID
	rm -rf "$T/one"
	cp -r --sparse=always "$M" "$T/one"
	"$GM" -m "$T/one" machine pull-disk $((1 - $1)) >/dev/null
	"$GM" -m "$T/one" machine boot >"$T/emu" 2>&1
	local erc=$?
	"$GM" -m "$T/one" machine boot --qemu >"$T/qemu" 2>&1
	local qrc=$?
	if [ "$erc" = 0 ] && [ "$qrc" = 0 ] && grep -q "{$3}" "$T/emu" &&
		grep -q "QEMU: the loader booted: Boot[0-9A-F]* from partition {$3}: .*ia64ldr.efi" "$T/qemu"; then
		pass "$2"
	else
		fail "$2" "$(cat "$T/emu" "$T/qemu")"
	fi
}
alone 0 "after-sync-disk-0-boots-alone" "$G0"
alone 1 "after-sync-disk-1-boots-alone" "$G1"

# FAT16 against FAT32 with the same files: they agree.
restore
dp "select disk 1" "select partition 1" "assign letter=S"
{ "$GM" -m "$M" format s: /fs:fat32 /q /y && "$GM" -m "$M" xcopy 'p:\*.*' s: /s /h /y; } >/dev/null 2>&1
"$GM" -m "$M" esp status >"$T/s" 2>&1
src=$?
if [ "$src" = 0 ] && grep -q "disk 0, partition 1 .*: FAT16" "$T/s" && grep -q "disk 1, partition 1 .*: FAT32" "$T/s" &&
	grep -q "the same files" "$T/s"; then
	pass "fat16-and-fat32-with-the-same-files-agree"
else
	fail "fat16-and-fat32-with-the-same-files-agree" "rc=$src" "$(cat "$T/s")"
fi
mcopy -i "$esp0" "$T/NEWDRV.EFI" ::/NEWDRV.EFI
"$GM" -m "$M" esp sync --from P: --to S: >"$T/r" 2>&1 && "$GM" -m "$M" esp status >"$T/s" 2>&1 &&
	part_extract "$M/disk1.img" 1 "$T/e1.img" && fsck_clean "$T/e1.img" >/dev/null &&
	cmp -s <(mtype -i "$T/e1.img" ::/NEWDRV.EFI) "$T/NEWDRV.EFI" && pass "sync-by-letters-fat16-to-fat32" ||
	fail "sync-by-letters-fat16-to-fat32" "$(cat "$T/r" "$T/s")"

# esp sync killed at every write: the second sync completes it.
rm -rf "$M"
cp -r --sparse=always "$T/drifted" "$M"
mcopy -n -i "$M/disk0.img@@$O0" "$LDR" "$T/ldr"
mcopy -o -i "$M/disk1.img@@$O1" "$T/ldr" "$LDR" # the shadow's loader back
cp -r --sparse=always "$M" "$T/crashbase"
W=$(writes_of esp sync --from 0 --to 1)
tried=0 fired=0 left=0 notheal=0 bad=""
for n in $(seq 1 "${W:-0}"); do
	rm -rf "$M"
	cp -r --sparse=always "$T/crashbase" "$M"
	tried=$((tried + 1))
	crashed "$n" "$GM" -m "$M" esp sync --from 0 --to 1 >/dev/null 2>&1 || { bad="$bad nofire@$n"; continue; }
	fired=$((fired + 1))
	part_extract "$M/disk1.img" 1 "$T/e1.img"
	fsck_clean "$T/e1.img" >/dev/null || left=$((left + 1))
	"$GM" -m "$M" esp sync --from 0 --to 1 >/dev/null 2>&1
	"$GM" -m "$M" esp status >"$T/s" 2>&1
	src=$?
	part_extract "$M/disk1.img" 1 "$T/e1.img"
	[ "$src" = 0 ] && fsck_clean "$T/e1.img" >/dev/null || { notheal=$((notheal + 1)); bad="$bad notheal@$n"; }
done
echo "crash points in esp sync: $tried tried, $fired fired, $left left a volume fsck.fat rejects (marked dirty), $notheal not healed by a second sync"
if [ "${W:-0}" -ge 5 ] && [ "$fired" = "$tried" ] && [ "$notheal" = 0 ]; then
	pass "esp-sync-crashed-at-every-write ($tried points)"
else
	fail "esp-sync-crashed-at-every-write" "writes: $W" "$bad"
fi

# 2,000 files, 3 of them changed: only those are written.
restore
mkdir -p "$T/many"
for i in $(seq 1 2000); do printf 'file %d\n' "$i" >"$T/many/f$i.txt"; done
fixed_times "$T/many"
dp "select disk 1" "select partition 1" "assign letter=S"
"$GM" -m "$M" xcopy "$T/many" 'P:\EFI\many\' /y >/dev/null
"$GM" -m "$M" xcopy "$T/many" 'S:\EFI\many\' /y >/dev/null
for i in 7 777 1999; do printf 'changed %d, a little longer\n' "$i" >"$T/ch$i"; mcopy -o -i "$esp0" "$T/ch$i" "::/EFI/many/f$i.txt"; done
GPTMIRROR_IOSTATS=1 "$GM" -m "$M" esp sync --from 0 --to 1 >"$T/r" 2>"$T/io"
bytes=$(sed -n 's/.*wrote \([0-9]*\) bytes in.*/\1/p' "$T/io" | tail -1)
clus=$(mdir -i "$esp1" ::/ 2>/dev/null | head -0; python3 -c "import struct,sys; f=open(sys.argv[1],'rb'); f.seek(int(sys.argv[2])); b=f.read(512); print(struct.unpack_from('<H',b,11)[0]*b[13])" "$M/disk1.img" "$O1")
limit=$((3 * clus + 64 * 1024))
"$GM" -m "$M" esp status >"$T/s" 2>&1
src=$?
if grep -q "0 added, 3 replaced, 0 deleted" "$T/r" && [ -n "$bytes" ] && [ "$bytes" -le "$limit" ] && [ "$src" = 0 ]; then
	pass "sync-of-2000-files-writes-only-the-3-that-differ ($bytes bytes written; 3 clusters of $clus bytes + metadata)"
else
	fail "sync-of-2000-files-writes-only-the-3-that-differ" "bytes $bytes, limit $limit" "$(cat "$T/r" "$T/io" "$T/s" | tail -12)"
fi
