#!/usr/bin/env bash
# The running system's volumes are protected, as Windows protects them:
# delete partition (override too), delete volume, format (diskpart's and
# format X:), clean and convert basic refuse the current boot volume (the
# partition BootCurrent's OsFilePath names, or the mirror with a plex
# there) and the system partition the boot loaded from, and the disks that
# hold them, with Windows' words, exit 4 in a script, and no byte of any
# image, machine.conf or the NVRAM changed. delete volume (new) removes a
# mirror that is not running, both plexes and the plex's own GPT entry
# (ldmtool, sgdisk), and killed at each of its writes leaves the volume
# whole or gone, with images sgdisk and ldmtool accept.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need ldmtool
export GPTMIRROR_SEED=1212
M=$T/server
(cd "$T" && "$GM" machine create server --disk 2G --disk 2G --profile 2003 --install) >/dev/null
state() { image_hash; sha256sum <"$M/machine.conf"; sha256sum <"$M/nvram.fd"; }
# refused NAME WORDS COMMANDS...: a diskpart script refused with exit 4,
# the message WORDS, and nothing changed.
refused() {
	local name=$1 words=$2 before
	shift 2
	before=$(state)
	printf '%s\n' "$@" >"$T/s.txt"
	"$GM" -m "$M" diskpart /s "$T/s.txt" >"$T/out" 2>&1
	local rc=$?
	if [ "$rc" = 4 ] && grep -qF "$words" "$T/out" && [ "$before" = "$(state)" ]; then
		pass "$name"
	else
		fail "$name" "rc=$rc" "$(cat "$T/out")"
	fi
}
VOL="is not allowed on the current boot, system, pagefile, crashdump or hibernation volume."
DISK="is not allowed on the disk containing the current boot, system, pagefile, crashdump or hibernation volume."
refused delete-boot-partition "Delete $VOL" "select disk 0" "select partition 2" "delete partition"
refused delete-boot-partition-override "Delete $VOL" "select disk 0" "select partition 2" "delete partition override"
refused delete-system-partition "Delete $VOL" "select disk 0" "select partition 1" "delete partition override"
refused delete-boot-volume "Delete $VOL" "select volume c" "delete volume override"
refused format-boot-volume "Format $VOL" "select volume c" "format fs=fat32 quick"
refused clean-boot-disk "Clean $DISK" "select disk 0" "clean"
before=$(state)
"$GM" -m "$M" format c: /fs:fat32 /q /y >"$T/out" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -qF "Format $VOL" "$T/out" && [ "$before" = "$(state)" ]; then
	pass "format-command-refuses-c"
else
	fail "format-command-refuses-c" "rc=$rc" "$(cat "$T/out")"
fi

# The KB's mirror: disk 1 holds a plex of the running boot volume.
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=100" "create partition msr size=32" "convert dynamic" \
	"select disk 0" "convert dynamic"
"$GM" -m "$M" machine reboot >/dev/null 2>&1
dp "select volume c" "add disk=1"
[ "$RC" = 0 ] || fail setup-mirror "$(cat "$T/out")"
refused clean-plex-disk "Clean $DISK" "select disk 1" "clean"
refused convert-basic-plex-disk "Convert $DISK" "select disk 1" "convert basic"
refused delete-mirrored-boot-volume "Delete $VOL" "select volume c" "delete volume"
refused format-mirrored-boot-volume "Format $VOL" "select volume c" "format fs=fat32 quick"

# delete volume of a mirror that is not running: both plexes go, and the
# plex's own LDM data entry on disk 1.
export GPTMIRROR_SEED=1213
M=$T/pair
(cd "$T" && "$GM" machine create pair --disk 2G --disk 2G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=100" "create partition primary size=300" \
	"create partition msr size=32 offset=1048576" "select partition 2" "assign letter=E" \
	"select disk 1" "convert gpt" "convert dynamic" "select disk 0" "convert dynamic" \
	"select volume e" "add disk=1"
[ "$RC" = 0 ] || fail setup-pair "$(cat "$T/out")"
ldm_vols() { # the volumes ldmtool sees on the pair
	local g
	g=$(ldmtool -d /dev/null scan "$1/disk0.img" "$1/disk1.img" 2>/dev/null | tr -d '[]" \n')
	ldmtool -d "$1/disk0.img" -d "$1/disk1.img" show diskgroup "$g" 2>/dev/null |
		python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["volumes"]))'
}
parts1() { sgdisk -p "$1/disk1.img" 2>/dev/null | grep -c "LDM data"; }
[ "$(ldm_vols "$M")" = Volume1 ] && [ "$(parts1 "$M")" = 1 ] || fail setup-pair "ldmtool: $(ldm_vols "$M"), disk 1 LDM data entries: $(parts1 "$M")"
cp -r --sparse=always "$M" "$T/pair.orig"
printf '%s\n' "select volume e" "delete volume" >"$T/del.txt"
nw=$(writes_of diskpart /s "$T/del.txt")
"$GM" -m "$M" diskpart /s "$T/del.txt" >"$T/out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q "DiskPart successfully deleted the volume." "$T/out" && [ -z "$(ldm_vols "$M")" ] &&
	[ "$(parts1 "$M")" = 0 ] && sgdisk_clean "$M/disk0.img" && sgdisk_clean "$M/disk1.img" &&
	! "$GM" -m "$M" volume list 2>&1 | grep -q "Volume1"; then
	pass "delete-volume-removes-the-mirror ($nw writes)"
else
	fail "delete-volume-removes-the-mirror" "rc=$rc ldmtool: $(ldm_vols "$M") entries: $(parts1 "$M")" "$(cat "$T/out")" "$("$GM" -m "$M" volume list 2>&1)"
fi
# Killed at each write: after the next command that heals (volume resync:
# a kill between the two disks' database writes leaves one copy a
# transaction behind, which it rewrites), the mirror is whole or gone, for
# ldmtool and for us alike.
bad=0 tried=0
for ((k = 1; k <= nw; k++)); do
	rm -rf "$T/c"
	cp -r --sparse=always "$T/pair.orig" "$T/c"
	crashed "$k" "$GM" -m "$T/c" diskpart /s "$T/del.txt" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "point $k: the hook did not fire"; continue; }
	tried=$((tried + 1))
	"$GM" -m "$T/c" volume resync >/dev/null 2>&1
	"$GM" -m "$T/c" volume list >"$T/vl" 2>&1
	v=$(ldm_vols "$T/c")
	ours=$(grep -o "Volume1 " "$T/vl" | head -1 | tr -d ' ')
	if ! sgdisk_clean "$T/c/disk0.img" || ! sgdisk_clean "$T/c/disk1.img"; then
		bad=$((bad + 1)); echo "point $k: sgdisk rejects a table"
	elif [ "$v" != Volume1 ] && [ -n "$v" ]; then
		bad=$((bad + 1)); echo "point $k: ldmtool sees '$v'"
	elif [ "$v" != "$ours" ]; then
		bad=$((bad + 1)); echo "point $k: ldmtool sees '$v', we see '$ours': $(cat "$T/vl")"
	elif [ "$v" = Volume1 ] && ! grep -q "Healthy" "$T/vl"; then
		bad=$((bad + 1)); echo "point $k: the mirror is there but not Healthy: $(cat "$T/vl")"
	fi
done >"$T/crash.log"
if [ "$nw" -ge 2 ] && [ "$tried" = "$nw" ] && [ "$bad" = 0 ]; then
	pass "delete-volume-crash-at-every-write ($tried points)"
else
	fail "delete-volume-crash-at-every-write" "$nw writes, $tried tried, $bad bad" "$(cat "$T/crash.log")"
fi

# On a real computer the firmware's BootCurrent says what runs: with the
# NVRAM through efivarfs, C: is protected when BootCurrent is the
# installed system's entry, and not when the firmware booted something
# else (machine.conf's record of the emulated boot does not count there).
export GPTMIRROR_SEED=1214
(cd "$T" && "$GM" machine create real --disk 2G --profile 2003 --install) >/dev/null
EV=$T/efivars
"$GM" -m "$T/real" nvram export "$EV" >/dev/null
rm -f "$T/real/nvram.fd"
printf 'nvram = efivarfs\n' >>"$T/real/machine.conf"
export GPTMIRROR_EFIVARFS=$EV
M=$T/real
printf '\006\000\000\000\000\000' >"$EV/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c"
state() { image_hash; sha256sum <"$M/machine.conf"; }
refused real-bootcurrent-protects-c "Delete $VOL" "select disk 0" "select partition 2" "delete partition"
rm -f "$EV/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c"
printf '%s\n' "select disk 0" "select partition 2" "delete partition" >"$T/s.txt"
"$GM" -m "$M" diskpart /s "$T/s.txt" >"$T/out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q "DiskPart successfully deleted the selected partition." "$T/out"; then
	pass "real-firmware-booted-something-else"
else
	fail "real-firmware-booted-something-else" "rc=$rc" "$(cat "$T/out")"
fi
