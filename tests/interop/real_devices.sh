#!/usr/bin/env bash
# A machine of real block devices: loop devices this test attaches to its
# own images (and detaches, even on failure). The KB's first half runs on
# them with the KB's commands, with sgdisk, ldmtool, fsck.fat and efibootmgr
# checking, and the kernel's partition view (sysfs) matching the new table
# after every diskpart step; OVMF then boots the cloned entry from the
# shadow's image alone with the NVRAM the device machine wrote. Safety: a
# read-only device, a device with a mounted partition, and a path that now
# leads to another disk are each refused with the reason, nothing written;
# a loop device the machine does not name is never touched.
. "$(dirname "$0")/../lib.sh"
need losetup
need sgdisk
need ldmtool
need fsck.fat
need efibootmgr
need mkfs.ext4
need qemu-system-x86_64
export GPTMIRROR_SEED=4242
[ "$(id -u)" = 0 ] || { fail "loop-devices" "attaching loop devices needs root"; exit 0; }
: >"$T/loops"
cleanup() {
	umount "$T/mnt" 2>/dev/null
	# The kernel keeps partitions added by BLKPG after a detach: they go first.
	while read -r l; do partx -d "$l" 2>/dev/null; losetup -d "$l" 2>/dev/null; done <"$T/loops"
	rm -rf "$T"
}
trap cleanup EXIT
attach() { # [losetup options] IMAGE: the loop device, recorded for the cleanup,
	# with the kernel's partitions read from its table (this kernel parses none)
	local l
	l=$(losetup -f --show "$@") || return 1
	echo "$l" >>"$T/loops"
	partx -d "$l" 2>/dev/null
	partx -a "$l" 2>/dev/null
	echo "$l"
}
# kernel_agrees DEV: the kernel's partitions of DEV are exactly sgdisk's
# (sysfs counts 512-byte units whatever the sector size).
kernel_agrees() {
	local n=${1#/dev/} want got k
	k=$(( $(blockdev --getss "$1") / 512 ))
	want=$(sgdisk -p "$1" 2>/dev/null | awk -v k="$k" '/^ +[0-9]+ / { print $1, $2 * k, ($3 - $2 + 1) * k }')
	got=$(for p in /sys/class/block/"$n"p*; do
		[ -e "$p/partition" ] && echo "$(cat "$p/partition") $(cat "$p/start") $(cat "$p/size")"
	done | sort -n)
	[ "$want" = "$got" ] || { echo "sgdisk: $want / kernel: $got"; return 1; }
}

# Disk 0 as Setup leaves it (a 300 MB C:, so that the mirror's copy
# between the devices stays short), disk 1 blank.
(cd "$T" && "$GM" machine create inst --disk 1G --profile 2003 && "$GM" -m inst setup --disk 0 --size 300) >/dev/null ||
	fail install
mv "$T/inst/disk0.img" "$T/d0.img"
cp "$T/inst/nvram.fd" "$T/vars.fd"
truncate -s 1G "$T/d1.img" "$T/bystander.img"
printf 'keep out' | dd of="$T/bystander.img" conv=notrunc status=none
L0=$(attach "$T/d0.img") && L1=$(attach "$T/d1.img") && LB=$(attach "$T/bystander.img") ||
	{ fail "loop-devices" "no loop device could be attached"; exit 0; }
bystander=$(sha256sum <"$T/bystander.img")
# Another seed than the install's: its GUIDs must not come again.
export GPTMIRROR_SEED=4343
M=$T/real
"$GM" machine create "$M" --device "$L0" --device "$L1" --nvram "$T/vars.fd" --profile 2003 >"$T/c" 2>&1
st=$("$GM" -m "$M" machine status 2>&1)
if grep -q "Block device: id=loop:$T/d0.img" <<<"$st" && grep -q "Block device: id=loop:$T/d1.img" <<<"$st" &&
	grep -q "^NVRAM:   $T/vars.fd" <<<"$st" && ! [ -e "$M/disk0.img" ] && ! [ -e "$M/nvram.fd" ]; then
	pass "machine-of-devices"
else
	fail "machine-of-devices" "$(cat "$T/c")" "$st"
fi

# The KB's first half, with the kernel's view checked after each step.
step() { # NAME DISKPART-COMMANDS...
	local name=$1
	shift
	dp "$@"
	if [ "$RC" = 0 ] && kernel_agrees "$L0" >"$T/k" && kernel_agrees "$L1" >>"$T/k" &&
		sgdisk_clean "$L1" && sgdisk_clean "$L0"; then
		pass "$name"
	else
		fail "$name" "rc=$RC" "$(cat "$T/k")" "$(tail -8 "$T/out")"
	fi
}
step "prepare-the-shadow" "select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32" "select partition 1" "assign letter=S" \
	"select disk 0" "select partition 1" "assign letter=P" "select partition 3" "assign letter=C"
{ "$GM" -m "$M" format s: /fs:fat /q /y && "$GM" -m "$M" xcopy 'p:\*.*' s: /s /h; } >"$T/x" 2>&1
part_extract "$T/d1.img" 1 "$T/esp1.img"
if grep -q "File(s) copied" "$T/x" && fsck_clean "$T/esp1.img" >/dev/null; then pass "format-and-xcopy-the-shadow-esp"; else fail "format-and-xcopy-the-shadow-esp" "$(cat "$T/x")"; fi
step "convert-both-dynamic" "select volume p" "remove" "select volume s" "remove" "select disk 1" "convert dynamic" \
	"select disk 0" "convert dynamic"
"$GM" -m "$M" machine reboot >"$T/r" 2>&1
if grep -q "Disk 0 was converted to dynamic." "$T/r" && grep -q "Restart the computer now" "$T/r" &&
	kernel_agrees "$L0" >/dev/null; then pass "reboot-does-the-pending-work"; else fail "reboot-does-the-pending-work" "$(cat "$T/r")"; fi
step "add-the-mirror" "select volume c" "add disk=1"
G=$(ldmtool -d /dev/null scan "$L0" "$L1" 2>/dev/null | tr -d '[]" \n')
if [ -n "$G" ] && ldmtool -d "$L0" -d "$L1" show volume "$G" Volume1 2>/dev/null | grep -q mirrored &&
	"$GM" -m "$M" volume list | grep -q "Volume1 *Mirror .*Healthy"; then
	pass "ldmtool-reads-the-mirror-on-the-devices"
else
	fail "ldmtool-reads-the-mirror-on-the-devices" "$("$GM" -m "$M" volume list 2>&1)"
fi
S=$("$GM" -m "$M" bootcfg /list 0 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
TG=$("$GM" -m "$M" bootcfg /list 1 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
"$GM" -m "$M" bootcfg /clone /sg "$S" /tg "$TG" /d+ Cloned_Entry >"$T/b" 2>&1
rm -rf "$T/ev"
"$GM" -m "$M" nvram export "$T/ev" >/dev/null
G1=$(sgdisk -i 1 "$L1" | sed -n 's/^Partition unique GUID: //p' | tr 'A-F' 'a-f')
if EFIVARFS_PATH="$T/ev/" efibootmgr -v 2>/dev/null | grep -q "^Boot[0-9A-F]*\* Microsoft Windows Server 2003, Enterprise Edition Cloned_Entry	HD(1,GPT,$G1," &&
	"$GM" -m "$M" esp status >/dev/null; then
	pass "clone-onto-the-shadow-device"
else
	fail "clone-onto-the-shadow-device" "$(cat "$T/b")"
fi
if [ "$(sha256sum <"$T/bystander.img")" = "$bystander" ]; then pass "a-device-not-named-is-untouched"; else fail "a-device-not-named-is-untouched"; fi
"$GM" -m "$M" machine boot >"$T/mb" 2>&1
mrc=$?
"$GM" -m "$M" machine pull-disk 1 >>"$T/mb" 2>&1
prc=$?
if [ "$mrc" != 0 ] && [ "$prc" != 0 ] && grep -q "needs an image machine" "$T/mb"; then pass "image-only-commands-refused"; else fail "image-only-commands-refused" "$(cat "$T/mb")"; fi

# Names move: the two loop devices now lead to each other's images.
partx -d "$L0" 2>/dev/null; partx -d "$L1" 2>/dev/null
losetup -d "$L0" && losetup -d "$L1"
losetup "$L0" "$T/d1.img" && losetup "$L1" "$T/d0.img"
before=$(sha256sum <"$T/d0.img"; sha256sum <"$T/d1.img")
dp "select disk 1" "select partition 1" "delete partition override"
"$GM" -m "$M" machine status >"$T/st" 2>&1
if [ "$RC" != 0 ] && grep -q "now leads to another disk" "$T/out" && grep -q "disk0 = $L0 now leads to another disk" "$T/st" &&
	[ "$before" = "$(sha256sum <"$T/d0.img"; sha256sum <"$T/d1.img")" ]; then
	pass "moved-names-refused"
else
	fail "moved-names-refused" "$(tail -5 "$T/out")" "$(cat "$T/st")"
fi
losetup -d "$L0" && losetup -d "$L1"
losetup "$L0" "$T/d0.img" && losetup "$L1" "$T/d1.img"

# OVMF boots the cloned entry from the shadow's image alone, with the
# NVRAM the device machine wrote.
partx -d "$L0" 2>/dev/null; partx -d "$L1" 2>/dev/null
losetup -d "$L0" && losetup -d "$L1"
grep -v -e "^$L0\$" -e "^$L1\$" "$T/loops" >"$T/loops2"; mv "$T/loops2" "$T/loops"
mkdir -p "$T/img"
cp --sparse=always "$T/d1.img" "$T/img/disk0.img"
cp "$T/vars.fd" "$T/img/nvram.fd"
printf 'version = 1\nprofile = 2003\nslots = 1\ndisk0 = disk0.img\ndisk0.sector_size = 512\n' >"$T/img/machine.conf"
"$GM" -m "$T/img" machine boot --qemu >"$T/q" 2>&1
if grep -q "QEMU: the loader booted: Boot[0-9A-F]* from partition {$G1}" "$T/q" && grep -q "Cloned_Entry" "$T/q"; then
	pass "ovmf-boots-the-clone-the-device-machine-wrote"
else
	fail "ovmf-boots-the-clone-the-device-machine-wrote" "$(cat "$T/q")"
fi

# A read-only device: listed, not written.
cp --sparse=always "$T/d0.img" "$T/ro.img"
LR=$(attach -r "$T/ro.img")
M=$T/romachine
"$GM" machine create "$M" --device "$LR" --nvram "$T/vars.fd" --profile 2003 >/dev/null 2>&1
before=$(sha256sum <"$T/ro.img")
dp "select disk 0" "list partition" "clean"
if [ "$RC" != 0 ] && grep -q "Partition 1" "$T/out" && grep -q "is read-only" "$T/out" && [ "$before" = "$(sha256sum <"$T/ro.img")" ]; then
	pass "read-only-device-refused"
else
	fail "read-only-device-refused" "$(tail -8 "$T/out")"
fi

# A device with a mounted partition: refused, and the refusal names it. (Mounted
# read-only, so that nothing the kernel does on its own changes the image.)
truncate -s 256M "$T/m.img"
LM=$(attach "$T/m.img")
M=$T/mounted
"$GM" machine create "$M" --device "$LM" --nvram "$T/vars.fd" >/dev/null 2>&1
dp "select disk 0" "convert gpt" "create partition primary size=64"
mkdir -p "$T/mnt"
if [ -b "${LM}p2" ] && mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "${LM}p2" && mount -o ro "${LM}p2" "$T/mnt"; then
	before=$(sha256sum <"$T/m.img")
	dp "select disk 0" "clean"
	"$GM" -m "$M" machine status >"$T/st" 2>&1
	if [ "$RC" != 0 ] && grep -q "${LM#/dev/}p2 is mounted on $T/mnt" "$T/out" && [ "$before" = "$(sha256sum <"$T/m.img")" ] &&
		grep -q "is mounted on" "$T/st"; then
		pass "mounted-partition-refused"
	else
		fail "mounted-partition-refused" "$(tail -6 "$T/out")"
	fi
	umount "$T/mnt"
else
	fail "mounted-partition-refused" "could not make and mount the test's own partition ${LM}p2" "$(tail -6 "$T/out")"
fi

# A 4096-byte-sector device: its sector size comes from the device, and
# sgdisk and the kernel read the table we write on it.
truncate -s 512M "$T/4k.img"
export GPTMIRROR_SEED=4444
L4=$(attach --sector-size 4096 "$T/4k.img")
M=$T/fourk
"$GM" machine create "$M" --device "$L4" --nvram "$T/vars.fd" >/dev/null 2>&1
dp "select disk 0" "convert gpt" "create partition efi size=100" "create partition primary size=200"
st=$("$GM" -m "$M" machine status 2>&1)
if [ "$RC" = 0 ] && grep -q "4096-byte sectors" <<<"$st" && grep -q "ss=4096" <<<"$st" && sgdisk_clean "$L4" &&
	sgdisk -p "$L4" | grep -qE "Sector size \(logical[/a-z]*\): 4096" && kernel_agrees "$L4" >"$T/k"; then
	pass "4096-byte-sector-device"
else
	fail "4096-byte-sector-device" "rc=$RC" "$st" "$(cat "$T/k" 2>/dev/null)" "$(sgdisk -p "$L4" 2>&1 | tail -5)"
fi
