#!/usr/bin/env bash
# KB 814070 "Re-establish the primary boot drive mirror": disk 0 of a
# mirrored boot volume dies; the volume shows Failed Rd with disk M0
# missing; break disk=m0 nokeep, delete disk, the setup partition deleted,
# convert dynamic, add disk=0, Healthy again. Golden transcript in
# deterministic mode; ldmtool reads every stage; break with keep, convert
# basic, refusals, and crashes at every write of break and delete disk.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need sgdisk
export GPTMIRROR_SEED=4242 MTOOLS_SKIP_CHECK=1
GOLD=$(dirname "$0")/seed_recovery.golden
M=$T/server
(cd "$T" && "$GM" machine create server --disk 4G --disk 4G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=102" "create partition primary size=300" \
	"create partition msr size=32 offset=2097152" "select partition 2" "assign letter=C" \
	"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=102" "create partition msr size=32"
mkdir -p "$T/win/WINDOWS"
det_bytes 3000000 >"$T/win/WINDOWS/big.bin"
fixed_times "$T/win"
{
	"$GM" -m "$M" format c: /fs:fat32 /q /y /v:PRIMARY &&
		"$GM" -m "$M" xcopy "$T/win" 'C:\' /s /y
} >"$T/setup" 2>&1 || fail setup "$(cat "$T/setup")"
dp "select disk 1" "convert dynamic" "select disk 0" "convert dynamic"
"$GM" -m "$M" machine reboot >/dev/null 2>&1
dp "select volume c" "add disk=1"
grep -q "succeeded in adding a mirror" "$T/out" || fail setup-mirror "$(cat "$T/out")"
save() { mkdir -p "$T/$1"; cp --sparse=always "$M"/disk*.img "$M/machine.conf" "$M/nvram.fd" "$T/$1/"; }
restore() { rm -f "$M"/disk*.img; cp --sparse=always "$T/$1"/* "$M/"; }
save mirrored
"$GM" -m "$M" volume export Volume1 "$T/c-before.img" >/dev/null

# ldmtool's view: group GUID of the disks given, every one present, no errors.
ldm_scan_ok() { # IMAGES...
	local out err
	out=$(ldmtool -d /dev/null scan "$@" 2>"$T/e" | tr -d '[]" \n')
	err=$(grep -v -E 'Unable to determine sector size|Unable to get device' "$T/e")
	[ -n "$out" ] && [ -z "$err" ] || { echo "scan '$out' $err"; return 1; }
	G=$out
}
ldm_json() { # WHAT NAME IMAGES...
	local what=$1 name=$2 a=()
	shift 2
	for i in "$@"; do a+=(-d "$i"); done
	ldmtool "${a[@]}" show "$what" "$G" "$name" 2>/dev/null
}

{
	echo '$ gptmirror machine pull-disk 0'
	"$GM" -m "$M" machine pull-disk 0
	dp "list disk" "list volume" "select volume 0" "detail volume" "break disk=m0 nokeep" \
		"list volume" "select disk m0" "delete disk" "list disk" "exit"
	cat "$T/out"
} >"$T/transcript" 2>&1
save broken
# After break and delete: disk 1 alone, its group complete, one simple volume.
if ldm_scan_ok "$M/disk1.img" >"$T/why" &&
	python3 -c "
import json,sys
g=json.loads(sys.argv[1]); v=json.loads(sys.argv[2])
assert len(g['disks'])==1 and len(g['volumes'])==1, g
assert v['type']=='simple' and v['size']==300*2048 and len(v['partitions'])==1, v
" "$(ldm_json diskgroup "" "$M/disk1.img" 2>/dev/null || ldmtool -d "$M/disk1.img" show diskgroup "$G")" \
		"$(ldm_json volume Volume1 "$M/disk1.img")" 2>>"$T/why"; then
	pass "ldmtool-after-break-and-delete-disk"
else
	fail "ldmtool-after-break-and-delete-disk" "$(cat "$T/why")"
fi
{
	echo '$ gptmirror machine insert-disk 0 --size 4G'
	"$GM" -m "$M" machine insert-disk 0 --size 4G
	dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
		"create partition efi size=102" "create partition msr size=32" \
		"create partition primary size=300" "exit"
	cat "$T/out"
	dp "select disk 0" "list partition" "select partition 3" "delete partition" \
		"convert dynamic" "list volume" "select volume 0" "add disk=0" "list volume" "exit"
	cat "$T/out"
} >>"$T/transcript" 2>&1
golden transcript "$T/transcript" "$GOLD"
golden_images seed_recovery "$M"
if grep -q "The service did not update the boot file." "$T/transcript" &&
	grep -q "DiskPart successfully broke the mirror volume." "$T/transcript" &&
	grep -q "Disk M0 is now the selected disk." "$T/transcript" &&
	grep -q "DiskPart successfully deleted the missing disk." "$T/transcript" &&
	grep -q "Failed Rd" "$T/transcript" && tail -12 "$T/transcript" | grep -q "Mirror .*Healthy"; then
	pass "recovery-steps"
else
	fail "recovery-steps" "$(tail -30 "$T/transcript")"
fi
ok "gpt-clean-after-recovery" all_clean
if ldm_scan_ok "$M/disk0.img" "$M/disk1.img" >"$T/why" && G1=$G &&
	ldm_scan_ok "$M/disk1.img" "$M/disk0.img" >>"$T/why" && [ "$G" = "$G1" ] &&
	python3 -c "
import json,sys
v=json.loads(sys.argv[1])
assert v['type']=='mirrored' and v['size']==300*2048 and len(v['partitions'])==2, v
" "$(ldm_json volume Volume1 "$M/disk0.img" "$M/disk1.img")" 2>>"$T/why"; then
	pass "ldmtool-after-re-mirror"
	ok "ldmtool-agrees-after-re-mirror" ldm_agrees "$M/disk0.img" "$M/disk1.img"
else
	fail "ldmtool-after-re-mirror" "$(cat "$T/why")"
fi
"$GM" -m "$M" volume export Volume1 "$T/c-after.img" >/dev/null
if cmp -s "$T/c-before.img" "$T/c-after.img"; then pass "boot-volume-data-survives"; else fail "boot-volume-data-survives"; fi
# Each plex alone gives the same bytes: pull one disk, then the other.
ok1=0
for gone in 0 1; do
	save remirrored
	"$GM" -m "$M" machine pull-disk "$gone" >/dev/null
	"$GM" -m "$M" volume export Volume1 "$T/c-one.img" >/dev/null 2>&1 && cmp -s "$T/c-before.img" "$T/c-one.img" || ok1=1
	restore remirrored
done
if [ "$ok1" = 0 ]; then pass "each-plex-alone-holds-the-volume"; else fail "each-plex-alone-holds-the-volume"; fi

# Refusals, each leaving every byte as it was.
restore mirrored
"$GM" -m "$M" machine pull-disk 0 >/dev/null
dp_refused "delete-disk-refused-while-volumes-use-it" \
	"This operation is not allowed on disks with volumes." "select disk m0" "delete disk"
dp_refused "delete-disk-refused-on-present-disk" "The disk is not missing." "select disk 1" "delete disk"
dp "select volume 0" "break disk=m0 nokeep" "break disk=m0 nokeep"
if [ "$RC" != 0 ] && grep -q "The volume is not a mirror." "$T/out"; then
	pass "break-of-a-simple-volume-refused"
else
	fail "break-of-a-simple-volume-refused" "$(cat "$T/out")"
fi

# break disk=1 (keep): the plex on disk 1 becomes a simple volume of its
# own, no letter, same bytes; then convert basic is refused (not empty).
restore mirrored
dp "select volume c" "break disk=1" "list volume" "select disk 1" "convert basic"
if grep -q "DiskPart successfully broke the mirror volume." "$T/out" &&
	[ "$(grep -c 'Simple .*Healthy' "$T/out")" = 2 ] && grep -q "The disk is not empty." "$T/out" &&
	ldm_scan_ok "$M/disk1.img" "$M/disk0.img" >"$T/why" &&
	ldm_scan_ok "$M/disk0.img" "$M/disk1.img" >>"$T/why" &&
	python3 -c "
import json,sys
a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2])
assert a['type']=='simple' and b['type']=='simple' and a['hint']=='C:' and not b.get('hint'), (a,b)
" "$(ldm_json volume Volume1 "$M/disk0.img" "$M/disk1.img")" "$(ldm_json volume Volume2 "$M/disk0.img" "$M/disk1.img")" 2>>"$T/why"; then
	pass "break-keep-makes-a-simple-volume"
	ok "ldmtool-agrees-after-break-keep" ldm_agrees "$M/disk1.img" "$M/disk0.img"
else
	fail "break-keep-makes-a-simple-volume" "$(cat "$T/out" "$T/why")"
fi
"$GM" -m "$M" volume export Volume2 "$T/c-kept.img" >/dev/null
if cmp -s "$T/c-before.img" "$T/c-kept.img"; then pass "kept-plex-holds-the-data"; else fail "kept-plex-holds-the-data"; fi

# convert basic of an emptied disk: the MSR gets its MiB back, the group
# forgets the disk.
restore mirrored
dp "select volume c" "break disk=1 nokeep" "select disk 1" "convert basic" "list disk"
msr=$(sgdisk -i 2 "$M/disk1.img" 2>/dev/null | sed -n 's/^Partition size: \([0-9]*\) sectors.*/\1/p')
if grep -q "DiskPart successfully converted the selected disk to basic format." "$T/out" &&
	[ "$msr" = 65536 ] && sgdisk_clean "$M/disk1.img" && ldm_scan_ok "$M/disk0.img" >"$T/why" &&
	python3 -c "
import json,sys
g=json.loads(sys.argv[1]); assert len(g['disks'])==1, g
" "$(ldmtool -d "$M/disk0.img" show diskgroup "$G" 2>/dev/null)" 2>>"$T/why" &&
	! ldmtool -d /dev/null scan "$M/disk1.img" 2>/dev/null | grep -q -- -; then
	pass "convert-basic-of-an-empty-disk"
else
	fail "convert-basic-of-an-empty-disk" "msr=$msr" "$(cat "$T/out" "$T/why")"
fi

# Crashes at every write of break disk=m0 nokeep and of delete disk: every
# image opens, ldmtool reads it, and the volume is the old one or the new.
bad=""
restore mirrored
"$GM" -m "$M" machine pull-disk 0 >/dev/null
WB=$(printf 'select volume 0\nbreak disk=m0 nokeep\n' | writes_of diskpart)
dp "select volume 0" "break disk=m0 nokeep"
WD=$(printf 'select disk m0\ndelete disk\n' | writes_of diskpart)
[ "${WB:-0}" -ge 1 ] && [ "${WD:-0}" -ge 1 ] || bad="counts:$WB/$WD"
for n in $(seq 1 "${WB:-0}"); do
	restore mirrored
	"$GM" -m "$M" machine pull-disk 0 >/dev/null
	printf 'select volume 0\nbreak disk=m0 nokeep\n' | crashed "$n" "$GM" -m "$M" diskpart >/dev/null 2>&1 ||
		bad="$bad break-nofire@$n"
	dp "list volume"
	{ ldm_scan_ok "$M/disk1.img" >/dev/null && sgdisk_clean "$M/disk1.img" &&
		grep -qE "Mirror .*Failed Rd|Simple .*Healthy" "$T/out"; } || bad="$bad break@$n"
done
for n in $(seq 1 "${WD:-0}"); do
	restore mirrored
	"$GM" -m "$M" machine pull-disk 0 >/dev/null
	dp "select volume 0" "break disk=m0 nokeep"
	printf 'select disk m0\ndelete disk\n' | crashed "$n" "$GM" -m "$M" diskpart >/dev/null 2>&1 ||
		bad="$bad delete-nofire@$n"
	dp "list disk"
	{ ldm_scan_ok "$M/disk1.img" >/dev/null && grep -q "Disk 1 " "$T/out"; } || bad="$bad delete@$n"
done
if [ -z "$bad" ]; then pass "crash-during-break-and-delete-disk"; else fail "crash-during-break-and-delete-disk" "bad:$bad"; fi
