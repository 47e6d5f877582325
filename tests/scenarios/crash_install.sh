#!/usr/bin/env bash
# Setup and install can be retried: machine create --install and setup
# --disk N killed at every write (machine.conf and nvram.fd included); the
# same command run again ends with the disk as one uninterrupted run
# leaves it: sgdisk, fsck.fat (the ESP) and ntfsfix -n (the NTFS C:)
# accept it, efibootmgr reads exactly one
# entry for it (no leftover of the cut-off run), C: holds \WINDOWS, and no
# pending mark stays. A refused install leaves nothing behind.
. "$(dirname "$0")/../lib.sh"
need sgdisk
need fsck.fat
need ntfsfix
need efibootmgr
export GPTMIRROR_SEED=17
M=$T/server

# The state an install leaves, checked by the independent tools.
# installed DISK ENTRY-NAME: the disk's ESP (partition 1) passes fsck.fat
# and C: ntfsfix -n, the table sgdisk -v, and efibootmgr shows one
# ENTRY-NAME entry
# whose HD() is that ESP.
installed() {
	local img=$M/disk$1.img n guid
	sgdisk -v "$img" | grep -q "No problems found" || { echo "sgdisk -v $img"; return 1; }
	for n in $(sgdisk -p "$img" | awk '$6 == "EF00" { print $1 }'); do
		part_extract "$img" "$n" "$T/p.img"
		fsck_clean "$T/p.img" >/dev/null || { echo "fsck.fat partition $n"; return 1; }
	done
	for n in $(sgdisk -p "$img" | awk '$6 == "0700" { print $1 }'); do
		part_extract "$img" "$n" "$T/p.img"
		ntfsfix -n "$T/p.img" 2>&1 | grep -q "processed successfully" || { echo "ntfsfix partition $n"; return 1; }
	done
	! ls "$M"/ntfs-journal.* >/dev/null 2>&1 || { echo "a journal stays"; return 1; }
	guid=$(sgdisk -i 1 "$img" | sed -n 's/^Partition unique GUID: //p' | tr 'A-F' 'a-f')
	rm -rf "$T/ev"
	"$GM" -m "$M" nvram export "$T/ev" >/dev/null 2>&1
	EFIVARFS_PATH="$T/ev/" efibootmgr -v >"$T/eb" 2>&1 || { echo "efibootmgr"; return 1; }
	[ "$(grep -c "^Boot[0-9A-F]\{4\}\* $2	" "$T/eb")" = 1 ] || { echo "entries:"; cat "$T/eb"; return 1; }
	grep -q "^Boot[0-9A-F]\{4\}\* $2	HD(1,GPT,$guid," "$T/eb" || { echo "HD"; cat "$T/eb"; return 1; }
	! grep -q "^install\." "$M/machine.conf" || { echo "pending mark stays"; return 1; }
	"$GM" -m "$M" dir 'C:\WINDOWS' 2>/dev/null | grep -q "win.ini" || { echo "C:"; return 1; }
}

# machine create --install.
rm -rf "$T/count"
W=$(GPTMIRROR_IOSTATS=1 "$GM" machine create "$T/count" --disk 1G --install 2>&1 >/dev/null |
	sed -n 's/.* in \([0-9]*\) writes$/\1/p' | tail -1)
tried=0 fired=0 notheal=0 bad=""
for n in $(seq 1 "${W:-0}"); do
	rm -rf "$M"
	tried=$((tried + 1))
	crashed "$n" "$GM" machine create "$M" --disk 1G --install >/dev/null 2>&1 || { bad="$bad nofire@$n"; continue; }
	fired=$((fired + 1))
	# (Killed after its last write, the install is whole: the rerun says
	# the machine is there, and the check below still has to pass.)
	"$GM" machine create "$M" --disk 1G --install >"$T/o" 2>&1 || grep -q "already holds a machine" "$T/o" ||
		{ notheal=$((notheal + 1)); bad="$bad rerun@$n:$(head -c 200 "$T/o")"; continue; }
	installed 0 "Windows Boot Manager" >"$T/why" 2>&1 || { notheal=$((notheal + 1)); bad="$bad notheal@$n:$(head -c 300 "$T/why" | tr '\n' ' ')"; }
done
echo "crash points in machine create --install: $tried tried, $fired fired, $notheal not healed by the rerun"
if [ "${W:-0}" -ge 10 ] && [ "$fired" = "$tried" ] && [ "$notheal" = 0 ]; then
	pass "install-crashed-at-every-write-then-rerun ($tried points)"
else
	fail "install-crashed-at-every-write-then-rerun" "writes: $W" "$bad"
fi

# setup --disk 1 on a replacement disk, with disk 0 gone (the recovery).
rm -rf "$M"
"$GM" machine create "$M" --disk 6G --profile 2003 --install >/dev/null
"$GM" -m "$M" machine pull-disk 0 >/dev/null
"$GM" -m "$M" machine insert-disk 1 --size 6G >/dev/null
cp -r --sparse=always "$M" "$T/base"
W=$(writes_of setup --disk 1)
tried=0 fired=0 notheal=0 bad=""
for n in $(seq 1 "${W:-0}"); do
	rm -rf "$M"
	cp -r --sparse=always "$T/base" "$M"
	tried=$((tried + 1))
	crashed "$n" "$GM" -m "$M" setup --disk 1 >/dev/null 2>&1 || { bad="$bad nofire@$n"; continue; }
	fired=$((fired + 1))
	"$GM" -m "$M" setup --disk 1 >"$T/o" 2>&1 || grep -q "holds partitions or data" "$T/o" ||
		{ notheal=$((notheal + 1)); bad="$bad rerun@$n:$(head -c 200 "$T/o")"; continue; }
	installed 1 "Microsoft Windows Server 2003, Enterprise Edition" >"$T/why" 2>&1 &&
		"$GM" -m "$M" bootcfg 2>/dev/null | grep -q "Microsoft Windows Server 2003, Enterprise Edition" ||
		{ notheal=$((notheal + 1)); bad="$bad notheal@$n:$(head -c 300 "$T/why" | tr '\n' ' ')"; }
done
echo "crash points in setup --disk 1: $tried tried, $fired fired, $notheal not healed by the rerun"
if [ "${W:-0}" -ge 10 ] && [ "$fired" = "$tried" ] && [ "$notheal" = 0 ]; then
	pass "setup-crashed-at-every-write-then-rerun ($tried points)"
else
	fail "setup-crashed-at-every-write-then-rerun" "writes: $W" "$bad"
fi

# Refused installs leave nothing behind.
rm -rf "$M"
"$GM" machine create "$M" --disk 100M --install >"$T/o" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "too small for Windows" "$T/o" && [ ! -e "$M" ]; then
	pass "too-small-install-leaves-nothing"
else
	fail "too-small-install-leaves-nothing" "rc=$rc" "$(cat "$T/o")" "$(ls -la "$M" 2>&1)"
fi
"$GM" machine create "$M" --disk 1G --install --loader "$T/no-such.efi" >"$T/o" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "cannot read the EFI loader" "$T/o" && [ ! -e "$M" ]; then
	pass "install-without-loader-leaves-nothing"
else
	fail "install-without-loader-leaves-nothing" "rc=$rc" "$(cat "$T/o")"
fi
"$GM" machine create "$M" --disk 1G --disk 100M >/dev/null
before=$(image_hash; sha256sum <"$M/machine.conf"; sha256sum <"$M/nvram.fd")
"$GM" -m "$M" setup --disk 1 >"$T/o" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "too small for Windows" "$T/o" &&
	[ "$before" = "$(image_hash; sha256sum <"$M/machine.conf"; sha256sum <"$M/nvram.fd")" ]; then
	pass "too-small-setup-changes-nothing"
else
	fail "too-small-setup-changes-nothing" "rc=$rc" "$(cat "$T/o")"
fi
