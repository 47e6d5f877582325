#!/usr/bin/env bash
# KB 814070 "Convert the primary and shadow drives to Dynamic" and
# "Establish a mirror from the boot drive to the shadow drive", in
# deterministic mode against a golden transcript. ldmtool reads the result
# in both disk orders; the plexes are byte-identical at ldmtool's offsets;
# the boot volume's mirror gets its NVRAM entry. Crashes at every write of
# convert dynamic and of add disk leave disks every reader accepts, and an
# interrupted resync shows Rebuild, never Healthy, until it is resumed.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need sgdisk
need fsck.fat
export GPTMIRROR_SEED=814070 MTOOLS_SKIP_CHECK=1
GOLD=$(dirname "$0")/seed_dynamic.golden
M=$T/server
(cd "$T" && "$GM" machine create server --disk 10G --disk 10G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition primary size=300" \
	"create partition msr size=32 offset=9437184" "select partition 2" "assign letter=C" \
	"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32" \
	"select disk 0" "select partition 1" "assign letter=P"
mkdir -p "$T/esp/EFI/Microsoft/WINNT50"
cp "$LOADER_EFI" "$T/esp/EFI/Microsoft/WINNT50/ia64ldr.efi"
fixed_times "$T/esp"
{ "$GM" -m "$M" format p: /fs:fat /q /y && "$GM" -m "$M" xcopy "$T/esp" 'P:\' /s /y; } >"$T/setup" 2>&1 ||
	fail setup-esp "$(cat "$T/setup")"
dp "select volume p" "remove"
mkdir -p "$T/win/WINDOWS/system32"
echo "[boot]" >"$T/win/WINDOWS/win.ini"
det_bytes 5000000 >"$T/win/WINDOWS/system32/ntoskrnl.exe"
fixed_times "$T/win"
{
	"$GM" -m "$M" format c: /fs:fat32 /q /y /v:SYSTEM &&
		"$GM" -m "$M" xcopy "$T/win" 'C:\' /s /y &&
		"$GM" -m "$M" nvram create -L "Windows 2003 Server, Enterprise" -d 0 -p 1 \
			-l '\EFI\Microsoft\WINNT50\ia64ldr.efi' --os-disk 0 --os-part 2 &&
		"$GM" -m "$M" bootcfg /timeout 30
} >"$T/setup" 2>&1 || fail setup "$(cat "$T/setup")"
for i in 0 1; do cp --sparse=always "$M/disk$i.img" "$T/basic$i.img"; done
cp "$M/nvram.fd" "$T/basic.fd"

{
	dp "Select disk 1" "Convert dynamic" "Select disk 0" "Convert dynamic" "Exit"
	cat "$T/out"
	echo '$ gptmirror machine reboot'
	"$GM" -m "$M" machine reboot
	dp "list disk" "Select volume C" "add disk=1" "list volume" "Exit"
	cat "$T/out"
	echo 'C:\> bootcfg'
	"$GM" -m "$M" bootcfg
} >"$T/transcript" 2>&1
golden transcript "$T/transcript" "$GOLD"
golden_images seed_dynamic "$M"
if grep -q "You must reboot your computer to complete this operation." "$T/transcript" &&
	grep -q "DiskPart succeeded in adding a mirror to the volume." "$T/transcript" &&
	grep -q "Mirror .*Healthy" "$T/transcript" &&
	grep -q "OS Friendly Name:      Boot Mirror C: - secondary plex" "$T/transcript"; then
	pass "seed-dynamic-steps"
else
	fail "seed-dynamic-steps" "$(tail -40 "$T/transcript")"
fi

# ldmtool: one group in both orders, no errors, both disks present.
ldm_ok() {
	local a b err
	a=$(ldmtool -d /dev/null scan "$M/disk0.img" "$M/disk1.img" 2>"$T/e1" | tr -d '[]" \n')
	b=$(ldmtool -d /dev/null scan "$M/disk1.img" "$M/disk0.img" 2>"$T/e2" | tr -d '[]" \n')
	err=$(cat "$T/e1" "$T/e2" | grep -v -E 'Unable to determine sector size|Unable to get device for')
	[ -n "$a" ] && [ "$a" = "$b" ] && [ -z "$err" ] || { echo "scan: '$a' '$b' $err"; return 1; }
	G=$a
}
if ldm_ok >"$T/why"; then pass "ldmtool-scans-both-orders"; else fail "ldmtool-scans-both-orders" "$(cat "$T/why")"; fi
D=(-d "$M/disk0.img" -d "$M/disk1.img")
vj=$(ldmtool "${D[@]}" show volume "$G" Volume1 2>/dev/null)
if python3 -c "
import json,sys
v=json.loads(sys.argv[1])
assert v['type']=='mirrored' and v['size']==300*2048 and len(v['partitions'])==2, v
" "$vj" 2>"$T/py"; then pass "ldmtool-sees-the-mirror"; else fail "ldmtool-sees-the-mirror" "$vj" "$(cat "$T/py")"; fi
ok "ldmtool-agrees-with-volume-list" ldm_agrees "$M/disk0.img" "$M/disk1.img"
# The plexes, byte for byte, where ldmtool says they are.
at() {
	local pj dj
	pj=$(ldmtool "${D[@]}" show partition "$G" "$1" 2>/dev/null)
	dj=$(ldmtool "${D[@]}" show disk "$G" "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['disk'])" "$pj")" 2>/dev/null)
	python3 -c "
import json,sys
p=json.loads(sys.argv[1]); d=json.loads(sys.argv[2])
assert d['present']
print(d['device'], d['data-start']+p['start'], p['size'])" "$pj" "$dj"
}
read -r d1 s1 n1 < <(at "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['partitions'][0])" "$vj")")
read -r d2 s2 n2 < <(at "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['partitions'][1])" "$vj")")
if [ -n "$n1" ] && [ "$n1" = "$n2" ] && cmp -s <(dd if="$d1" bs=512 skip="$s1" count="$n1" status=none) \
	<(dd if="$d2" bs=512 skip="$s2" count="$n2" status=none); then
	pass "plexes-byte-identical"
else
	fail "plexes-byte-identical" "$d1 $s1 $n1 / $d2 $s2 $n2"
fi
"$GM" -m "$M" volume export Volume1 "$T/c.img" >/dev/null
if fsck_clean "$T/c.img" >/dev/null && cmp -s <(mtype -i "$T/c.img" ::/WINDOWS/system32/ntoskrnl.exe) "$T/win/WINDOWS/system32/ntoskrnl.exe"; then
	pass "mirrored-c-drive-intact"
else
	fail "mirrored-c-drive-intact"
fi
ok "gpt-clean-after" all_clean

# Crash injection: convert dynamic of disk 1 stopped at every write.
reset_basic() { for i in 0 1; do cp --sparse=always "$T/basic$i.img" "$M/disk$i.img"; done; cp "$T/basic.fd" "$M/nvram.fd"; }
bad=""
reset_basic
W=$(printf 'select disk 1\nconvert dynamic\n' | writes_of diskpart)
[ "${W:-0}" -ge 1 ] || bad="count:$W"
for n in $(seq 1 "${W:-0}"); do
	reset_basic
	printf 'select disk 1\nconvert dynamic\n' | crashed "$n" "$GM" -m "$M" diskpart >/dev/null 2>&1 ||
		{ bad="$bad nofire@$n"; continue; }
	ldmtool -d /dev/null scan "$M/disk0.img" "$M/disk1.img" >/dev/null 2>"$T/e"
	# No reader rejects what is left: ldmtool scans without an error,
	# sgdisk reads the table (a crash between the two GPT copies leaves
	# them different for sgdisk -v to note, each one whole), and we read
	# it, as the old disk or the new one.
	st=$("$GM" -m "$M" machine status 2>&1)
	if grep -v -E 'Unable to determine sector size' "$T/e" | grep -q . ||
		! sgdisk -p "$M/disk1.img" >/dev/null 2>&1 ||
		{ sgdisk -v "$M/disk1.img" >"$T/v" 2>&1 || true; ! grep -q "No problems found" "$T/v" &&
			! { grep -q "Main header: OK" "$T/v" && grep -q "Main partition table: OK" "$T/v"; }; } ||
		! grep -q "Disk 1: disk1.img.*GPT" <<<"$st" || grep -q unreadable <<<"$st"; then
		bad="$bad $n"
	fi
done
if [ -z "$bad" ]; then pass "crash-during-convert-dynamic"; else fail "crash-during-convert-dynamic" "bad after writes:$bad"; fi

# Crash injection: add disk=1 killed in the middle of its resync.
reset_basic
dp "select disk 1" "convert dynamic" "select disk 0" "convert dynamic"
"$GM" -m "$M" machine reboot >/dev/null 2>&1
cp --sparse=always "$M/disk0.img" "$T/dyn0.img"
cp --sparse=always "$M/disk1.img" "$T/dyn1.img"
cp "$M/machine.conf" "$T/dyn.conf"
# How many writes a whole add disk=1 makes, on a copy; then the real one
# is killed with a few copy steps still to go.
cp -r --sparse=always "$M" "$T/count"
W=$(printf 'select volume c\nadd disk=1\n' | GPTMIRROR_IOSTATS=1 "$GM" -m "$T/count" diskpart 2>&1 >/dev/null |
	sed -n 's/.* in \([0-9]*\) writes$/\1/p' | tail -1)
rm -rf "$T/count"
printf 'select volume c\nadd disk=1\n' | crashed $((W - 6)) "$GM" -m "$M" diskpart >/dev/null 2>&1
fired=$?
dp "list volume"
if [ "$fired" = 0 ] && grep -q "Mirror .*Rebuild" "$T/out" && ! grep -q "Mirror .*Healthy" "$T/out" &&
	grep -q "^resync\." "$M/machine.conf"; then
	pass "interrupted-resync-not-healthy"
else
	fail "interrupted-resync-not-healthy" "writes: $W" "$(cat "$T/out")" "$(cat "$M/machine.conf")"
fi
if ldm_ok >"$T/why"; then pass "ldmtool-reads-interrupted-mirror"; else fail "ldmtool-reads-interrupted-mirror" "$(cat "$T/why")"; fi
"$GM" -m "$M" volume resync >"$T/r" 2>&1
dp "list volume"
"$GM" -m "$M" volume export Volume1 "$T/c2.img" >/dev/null
if grep -q "1 mirror plex resynchronised" "$T/r" && grep -q "Mirror .*Healthy" "$T/out" &&
	! grep -q "^resync\." "$M/machine.conf" && cmp -s "$T/c.img" "$T/c2.img"; then
	pass "resync-resumes-to-healthy"
else
	fail "resync-resumes-to-healthy" "$(cat "$T/r" "$T/out")"
fi
vj=$(ldmtool "${D[@]}" show volume "$G" Volume1 2>/dev/null)
read -r d1 s1 n1 < <(at "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['partitions'][0])" "$vj")")
read -r d2 s2 n2 < <(at "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['partitions'][1])" "$vj")")
if [ -n "$n1" ] && cmp -s <(dd if="$d1" bs=512 skip="$s1" count="$n1" status=none) \
	<(dd if="$d2" bs=512 skip="$s2" count="$n2" status=none); then
	pass "resumed-plexes-byte-identical"
else
	fail "resumed-plexes-byte-identical"
fi

# Crash injection at every write of add disk=1: afterwards ldmtool reads
# both disks, the volume is the old simple one or a mirror that is not yet
# Healthy (or Healthy only once its copy was complete), and volume resync
# always ends with a healthy mirror whose plexes each hold the volume.
bad="" between=""
for n in $(seq 1 "$W"); do
	cp --sparse=always "$T/dyn0.img" "$M/disk0.img"
	cp --sparse=always "$T/dyn1.img" "$M/disk1.img"
	cp "$T/dyn.conf" "$M/machine.conf"
	printf 'select volume c\nadd disk=1\n' | crashed "$n" "$GM" -m "$M" diskpart >/dev/null 2>&1 ||
		{ bad="$bad nofire@$n"; continue; }
	dp "list volume"
	state=$(grep -oE "(Simple|Mirror) +[0-9]+ MB +[A-Za-z ]+" "$T/out" | awk '{ print $1 "-" $4 }')
	if ! ldm_ok >/dev/null; then
		# Killed between the two disks' database writes: ldmtool refuses
		# the pair (their committed sequences differ) but reads each disk
		# alone; we read the newest copy, and resync rewrites the other.
		if grep -q "are inconsistent" "$T/e1" "$T/e2" &&
			ldmtool -d /dev/null scan "$M/disk0.img" 2>/dev/null | grep -q - &&
			ldmtool -d /dev/null scan "$M/disk1.img" 2>/dev/null | grep -q - &&
			"$GM" -m "$M" volume list 2>/dev/null | grep -q "out of date"; then
			between="$between $n"
		else
			bad="$bad ldmtool@$n"
		fi
	fi
	case "$state" in
	Simple-Healthy | Mirror-Rebuild) ;;
	Mirror-Healthy) grep -q "^resync\." "$M/machine.conf" && [ "$n" -lt $((W - 3)) ] && bad="$bad early-healthy@$n" ;;
	*) bad="$bad state'$state'@$n" ;;
	esac
	"$GM" -m "$M" volume resync >/dev/null 2>&1
	if [ "$state" != Simple-Healthy ]; then
		dp "list volume"
		grep -q "Mirror .*Healthy" "$T/out" || bad="$bad not-healed@$n"
		ldm_ok >/dev/null || bad="$bad ldmtool-after-resync@$n"
		for g in 0 1; do
			rm -rf "$T/one" && cp -r --sparse=always "$M" "$T/one"
			"$GM" -m "$T/one" machine pull-disk "$g" >/dev/null
			"$GM" -m "$T/one" volume export Volume1 "$T/p.img" >/dev/null 2>&1 &&
				cmp -s "$T/p.img" "$T/c.img" || bad="$bad plex-without-disk$g@$n"
		done
	fi
done
if [ -z "$bad" ]; then
	pass "crash-at-every-write-of-add-disk ($W writes; between the disks' database writes:$between)"
else
	fail "crash-at-every-write-of-add-disk" "bad:$bad"
fi
