#!/usr/bin/env bash
# Firmware boots at the edges of the procedure, each one emulated and in
# QEMU with OVMF, which must agree: disk 1 pulled instead of disk 0; both
# disks pulled (nothing boots, said clearly); disk 0 pulled in the middle
# of a resync; ESPs that drifted apart (the boot uses what is on the disk
# it boots from); a replacement disk smaller than the original; and the
# loader's OS check: the OS on the pulled disk with the loader on the other,
# a mirror with one plex present, the OS partition deleted, C:'s \WINDOWS
# gone (FAT) and an OS directory that is not there (NTFS).
. "$(dirname "$0")/../lib.sh"
need qemu-system-x86_64
need mdel
export GPTMIRROR_SEED=2003 MTOOLS_SKIP_CHECK=1
M=$T/server
"$GM" machine create "$M" --disk 10G --disk 10G --profile 2003 --install >/dev/null ||
	fail install "machine create --install failed"
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition msr size=32" "select partition 1" \
	"assign letter=S" "select disk 0" "select partition 1" "assign letter=P"
{ "$GM" -m "$M" format s: /fs:fat /q /y && "$GM" -m "$M" xcopy 'p:\*.*' s: /s /h; } >/dev/null 2>&1 ||
	fail setup-esp "format or xcopy failed"
dp "select volume p" "remove" "select volume s" "remove" "select disk 1" "convert dynamic" \
	"select disk 0" "convert dynamic"
"$GM" -m "$M" machine reboot >/dev/null 2>&1
esp() { "$GM" -m "$M" bootcfg /list "$1" | awk '/^Partition GUID:/ { g = $3 } /^GUID type:/ && /c12a7328/ { print g; exit }' | tr -d '{}'; }
G0=$(esp 0)
G1=$(esp 1)
cp -r --sparse=always "$M" "$T/dynamic"
dp "select volume c" "add disk=1"
"$GM" -m "$M" bootcfg /clone /sg "{$G0}" /tg "{$G1}" /d+ Cloned_Entry >/dev/null
save() { rm -rf "$T/$1"; cp -r --sparse=always "$M" "$T/$1"; }
restore() { rm -rf "$M"; cp -r --sparse=always "$T/$1" "$M"; }
save mirrored

# both NAME WANT [ARGS]: emulated and QEMU boots agree; WANT is the
# partition GUID that must boot, or "none".
both() {
	local name=$1 want=$2 e q erc qrc
	shift 2
	"$GM" -m "$M" machine boot "$@" >"$T/emu" 2>&1
	erc=$?
	"$GM" -m "$M" machine boot --qemu "$@" >"$T/qemu" 2>&1
	qrc=$?
	e=$(sed -n 's/^Booted Boot\([0-9A-F]*\) .*{\([0-9a-f-]*\)}.*/\1 \2/p' "$T/emu")
	q=$(sed -n 's/^QEMU: the loader booted: Boot\([0-9A-F]*\) from partition {\([0-9a-f-]*\)}.*/\1 \2/p' "$T/qemu")
	if [ "$want" = none ]; then
		if [ "$erc" != 0 ] && [ "$qrc" != 0 ] && [ -z "$e" ] && [ -z "$q" ] &&
			grep -q "No bootable option or device was found." "$T/emu" &&
			grep -q "QEMU: nothing booted." "$T/qemu"; then
			pass "$name"
		else
			fail "$name" "$(cat "$T/emu" "$T/qemu")"
		fi
	elif [ "$erc" = 0 ] && [ "$qrc" = 0 ] && [ -n "$e" ] && [ "$e" = "$q" ] && [ "${e#* }" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "emulated '$e' (rc $erc), QEMU '$q' (rc $qrc), want $want" "$(cat "$T/emu" "$T/qemu")"
	fi
}

both "both-disks-boot-disk-0" "$G0"
# The plex the running system was booted from cannot be broken off.
dp_refused "break-of-the-running-plex-refused" "the running system was booted from it (disk 0)" \
	"select volume c" "break disk=0"
"$GM" -m "$M" machine pull-disk 1 >/dev/null
both "disk-1-pulled-boots-disk-0" "$G0"
dp "list disk" "list volume"
if grep -q "Disk M0 .*Missing" "$T/out" && grep -q "Mirror .*Failed Rd" "$T/out"; then
	pass "disk-1-pulled-shows-m0-and-failed-rd"
else
	fail "disk-1-pulled-shows-m0-and-failed-rd" "$(cat "$T/out")"
fi
"$GM" -m "$M" machine pull-disk 0 >/dev/null
both "both-disks-pulled-nothing-boots" none

# Disk 0 pulled in the middle of the resync: the shadow's plex is not
# whole, so the volume has no healthy plex left, and says so; the shadow's
# ESP (not part of the mirror) still boots its cloned entry.
restore dynamic
cp -r --sparse=always "$M" "$T/count"
W=$(printf 'select volume c\nadd disk=1\n' | GPTMIRROR_IOSTATS=1 "$GM" -m "$T/count" diskpart 2>&1 >/dev/null |
	sed -n 's/.* in \([0-9]*\) writes$/\1/p' | tail -1)
rm -rf "$T/count"
printf 'select volume c\nadd disk=1\n' | crashed $((W / 2)) "$GM" -m "$M" diskpart >/dev/null 2>&1
fired=$?
"$GM" -m "$M" bootcfg /clone /sg "{$G0}" /tg "{$G1}" /d+ Cloned_Entry >/dev/null
"$GM" -m "$M" machine pull-disk 0 >/dev/null
dp "list volume"
"$GM" -m "$M" volume export Volume1 "$T/v.img" >"$T/x" 2>&1
xrc=$?
if [ "$fired" = 0 ] && grep -qE "Mirror .*(Failed|Rebuild)" "$T/out" && ! grep -q "Mirror .*Healthy" "$T/out" && [ "$xrc" != 0 ] &&
	grep -qi "no .*plex\|not readable\|cannot" "$T/x"; then
	pass "disk-0-pulled-mid-resync-volume-not-healthy"
else
	fail "disk-0-pulled-mid-resync-volume-not-healthy" "W=$W rc=$xrc" "$(cat "$T/out" "$T/x")"
fi
# The Windows entries on the shadow's ESP load, but the OS volume their
# OsFilePath names is on the pulled disk (and the shadow's plex is not
# whole): the loader says so in Windows' words and returns, in the
# emulation and under OVMF alike; then nothing boots (a 2003 ESP has no
# removable-media loader), said clearly by both.
"$GM" -m "$M" machine boot >"$T/emu" 2>&1
erc=$?
"$GM" -m "$M" machine boot --qemu >"$T/qemu" 2>&1
qrc=$?
if [ "$erc" != 0 ] && [ "$qrc" != 0 ] &&
	grep -A1 -x "LOADING.: Windows 2003 Server, Enterprise Cloned_Entry" "$T/emu" |
	grep -q "Windows could not start because of a computer disk hardware configuration problem." &&
	! grep -q '^Booted ' "$T/emu" &&
	grep -q "No bootable option or device was found." "$T/emu" &&
	grep -q "loader: OS NO-DISK" "$T/qemu" &&
	grep -q 'failed to start Boot0004 "Windows 2003 Server, Enterprise Cloned_Entry"' "$T/qemu" &&
	! grep -q "^QEMU: the loader booted" "$T/qemu" && grep -q "QEMU: nothing booted." "$T/qemu"; then
	pass "disk-0-pulled-mid-resync-no-windows-entry-boots"
else
	fail "disk-0-pulled-mid-resync-no-windows-entry-boots" "rc $erc / $qrc" "$(cat "$T/emu" "$T/qemu")"
fi

# A mirror with one plex present: disk 0 pulled from the whole mirror. The
# clone of the original entry loads from disk 1's ESP but names disk 0's
# plex as its OS volume, so its loader fails; the secondary plex's entry
# finds \WINDOWS on disk 1's plex and boots, in both.
restore mirrored
"$GM" -m "$M" machine pull-disk 0 >/dev/null
both "mirror-with-one-plex-boots-the-secondary-plex-entry" "$G1"
if grep -q '^Booted .*"Boot Mirror C: - secondary plex Cloned_Entry"' "$T/emu" &&
	grep -A1 -x "LOADING.: Windows 2003 Server, Enterprise Cloned_Entry" "$T/emu" | grep -q "Windows could not start" &&
	grep -q "loader: OS NO-DISK" "$T/qemu" && grep -q "loader: OS FOUND" "$T/qemu"; then
	pass "os-on-the-pulled-disk-loader-on-the-other-fails-in-both"
else
	fail "os-on-the-pulled-disk-loader-on-the-other-fails-in-both" "$(cat "$T/emu" "$T/qemu")"
fi

# Drift: the loader is gone from disk 0's ESP; the entries that point
# there fail and the clone on disk 1 boots, from disk 1's own files.
restore mirrored
first=$(sgdisk -i 1 "$M/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
mdel -i "$M/disk0.img@@$((first * 512))" ::/EFI/Microsoft/WINNT50/ia64ldr.efi
both "drifted-esp-boots-from-the-disk-that-has-the-file" "$G1"
grep -q "Load of Windows 2003 Server, Enterprise failed: Not Found" "$T/emu" &&
	grep -q 'failed to load Boot0000' "$T/qemu" && pass "drifted-esp-first-entry-fails-in-both" ||
	fail "drifted-esp-first-entry-fails-in-both" "$(cat "$T/emu" "$T/qemu")"

# A smaller replacement disk: Setup fits, the mirror does not; add disk
# says so and writes nothing.
restore mirrored
"$GM" -m "$M" machine pull-disk 0 >/dev/null
"$GM" -m "$M" machine insert-disk 0 --size 3G >/dev/null
"$GM" -m "$M" setup --disk 0 >"$T/s" 2>&1 || fail "small-disk-setup" "$(cat "$T/s")"
# As the KB does: the original system booted (bootcfg /mirror /add) before
# Setup's partition is deleted; Windows refuses to delete the running one.
OG=$("$GM" -m "$M" bootcfg /list 1 | awk '/^Partition GUID:/ { g = $3 } /^Partition name: *LDM data partition/ { print g }' | tail -1)
"$GM" -m "$M" bootcfg /mirror /add "$OG" /D "Original" >"$T/s" 2>&1 || fail "small-disk-mirror-add" "$(cat "$T/s")"
OID=$("$GM" -m "$M" bootcfg | awk '/^Boot entry ID:/ { id = $4 } /Original/ { print id }')
"$GM" -m "$M" machine boot --entry "$OID" >"$T/s" 2>&1 || fail "small-disk-original-boots" "$(cat "$T/s")"
dp "select volume c" "break disk=m0 nokeep" "select disk m0" "delete disk" "select disk 0" \
	"select partition 3" "delete partition" "convert dynamic"
dp_refused "smaller-replacement-disk-refused-clearly" \
	"There is not enough usable space for this operation." "select volume c" "add disk=0"
# Setup's partition is deleted, its entry stays first in BootOrder: its
# loader is still on the ESP but its OS partition is gone, so it fails in
# both, and the original system (on the mirror's plex on disk 1) boots.
both "os-partition-deleted-entry-fails-next-boots" "$G1"
if grep -A1 -x "LOADING.: Microsoft Windows Server 2003, Enterprise Edition" "$T/emu" | grep -q "Windows could not start" &&
	grep -q "loader: OS NO-DISK" "$T/qemu" && grep -q 'failed to start Boot0007 "Microsoft Windows Server 2003' "$T/qemu"; then
	pass "os-partition-deleted-loader-message-in-both"
else
	fail "os-partition-deleted-loader-message-in-both" "$(cat "$T/emu" "$T/qemu")"
fi
ok "gpt-clean-after" all_clean

# The modern profile's install boots Windows Boot Manager from its ESP.
M=$T/modern
"$GM" machine create "$M" --disk 2G --install >/dev/null || fail modern-install "machine create --install failed"
MG=$("$GM" -m "$M" bootcfg /list 0 | awk '/^Partition GUID:/ { g = $3 } /^GUID type:/ && /c12a7328/ { print g; exit }' | tr -d '{}')
both "modern-install-boots-windows-boot-manager" "$MG"
grep -q 'bootmgfw.efi' "$T/qemu" && pass "modern-loader-path" || fail "modern-loader-path" "$(cat "$T/qemu")"

# C:'s \WINDOWS gone (FAT C:, moved away with mtools): the loader is on
# the ESP and the partition is there, the kernel is not: Windows' missing-
# file message in both, and nothing else boots.
M=$T/fat
"$GM" machine create "$M" --disk 2G --profile 2003 --install --fs fat32 >/dev/null || fail fat-install "machine create --install --fs fat32 failed"
FG=$("$GM" -m "$M" bootcfg /list 0 | awk '/^Partition GUID:/ { g = $3 } /^GUID type:/ && /c12a7328/ { print g; exit }' | tr -d '{}')
both "fat-c-drive-boots" "$FG"
cfirst=$(sgdisk -p "$M/disk0.img" | awk '$6 == "0700" || $7 == "Basic" { print $2 }' | tail -1)
mmove -i "$M/disk0.img@@$((cfirst * 512))" ::/WINDOWS ::/WINDOWS.OLD
"$GM" -m "$M" machine boot >"$T/emu" 2>&1
erc=$?
"$GM" -m "$M" machine boot --qemu >"$T/qemu" 2>&1
qrc=$?
if [ "$erc" != 0 ] && [ "$qrc" != 0 ] && ! grep -q '^Booted ' "$T/emu" &&
	grep -q "No bootable option or device was found." "$T/emu" &&
	! grep -q "^QEMU: the loader booted" "$T/qemu" && grep -q "QEMU: nothing booted." "$T/qemu"; then
	pass "windows-directory-gone-no-windows-entry-boots"
else
	fail "windows-directory-gone-no-windows-entry-boots" "rc $erc / $qrc" "$(cat "$T/emu" "$T/qemu")"
fi
if grep -q "<Windows root>.system32.ntoskrnl.exe" "$T/emu" && grep -q "loader: OS MISSING" "$T/qemu" &&
	grep -q "loader: <Windows root>.system32.ntoskrnl.exe" "$T/qemu"; then
	pass "windows-directory-gone-missing-file-message-in-both"
else
	fail "windows-directory-gone-missing-file-message-in-both" "$(cat "$T/emu" "$T/qemu")"
fi

# NTFS: an entry whose OS directory is not on C: (\WINNT where Setup put
# \WINDOWS) fails with the missing-file message; the installed entry after
# it boots, in both.
M=$T/ntfs
"$GM" machine create "$M" --disk 2G --profile 2003 --install >/dev/null || fail ntfs-install "machine create --install failed"
NG=$("$GM" -m "$M" bootcfg /list 0 | awk '/^Partition GUID:/ { g = $3 } /^GUID type:/ && /c12a7328/ { print g; exit }' | tr -d '{}')
"$GM" -m "$M" nvram create -L "Wrong root" -d 0 -p 1 -l '\EFI\Microsoft\WINNT50\ia64ldr.efi' \
	--os-disk 0 --os-part 2 --os-dir '\WINNT' >/dev/null 2>&1 || fail ntfs-entry "nvram create failed"
"$GM" -m "$M" bootcfg /default /id 5 >/dev/null || fail ntfs-default "bootcfg /default /id 5 failed"
both "ntfs-wrong-os-directory-fails-next-boots" "$NG"
if grep -A1 -x "LOADING.: Wrong root" "$T/emu" | grep -q "missing or corrupt" &&
	grep -q "loader: OS MISSING" "$T/qemu" && grep -q 'failed to start Boot0004 "Wrong root"' "$T/qemu" &&
	grep -q '^Booted Boot0000 ' "$T/emu"; then
	pass "ntfs-wrong-os-directory-missing-file-message-in-both"
else
	fail "ntfs-wrong-os-directory-missing-file-message-in-both" "$(cat "$T/emu" "$T/qemu")"
fi
