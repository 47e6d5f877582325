#!/usr/bin/env bash
# The firmware's NVRAM through efivarfs (GPTMIRROR_EFIVARFS points at a
# directory laid out as efivarfs is: NAME-GUID files of 4 attribute bytes
# and the data, made from an installed machine's store). bootcfg and nvram
# read and write it; efibootmgr reads what they wrote; a command touches
# only the variables it names; an immutable variable keeps its flag; a full
# store (a small tmpfs) and a read-only one give a clear error and leave
# every variable as it was, with no 0-byte leftover.
. "$(dirname "$0")/../lib.sh"
need efibootmgr
export GPTMIRROR_SEED=88
(cd "$T" && "$GM" machine create inst --disk 6G --disk 6G --profile 2003 --install) >/dev/null || fail install
EV=$T/efivars
"$GM" -m "$T/inst" nvram export "$EV" >/dev/null
rm -f "$T/inst/nvram.fd"
printf 'nvram = efivarfs\n' >>"$T/inst/machine.conf"
M=$T/inst
export GPTMIRROR_EFIVARFS=$EV
snap() { (cd "$EV" && for f in *; do printf '%s %s\n' "$f" "$(sha256sum <"$f")"; done) | sort; }
G=8be4df61-93ca-11d2-aa0d-00e098032b8c

"$GM" -m "$M" bootcfg >"$T/l" 2>&1
lrc=$?
if [ "$lrc" = 0 ] && grep -q "OS Friendly Name:      Windows 2003 Server, Enterprise" "$T/l" && grep -q "^Timeout: *30" "$T/l" &&
	"$GM" -m "$M" machine status 2>&1 | grep -q "^NVRAM:   the firmware's, through efivarfs"; then
	pass "bootcfg-reads-efivarfs"
else
	fail "bootcfg-reads-efivarfs" "$(cat "$T/l")"
fi

# /timeout changes Timeout and nothing else.
before=$(snap)
"$GM" -m "$M" bootcfg /timeout 9 >/dev/null 2>&1
changed=$(diff <(echo "$before") <(snap) | sed -n 's/^> \([^ ]*\) .*/\1/p')
if [ "$changed" = "Timeout-$G" ] && [ "$(od -An -tx1 "$EV/Timeout-$G" | tr -d ' \n')" = "070000000900" ]; then
	pass "timeout-touches-only-timeout"
else
	fail "timeout-touches-only-timeout" "changed: $changed" "$(od -An -tx1 "$EV/Timeout-$G")"
fi

# A new entry, then its delete: efibootmgr reads both states; the entry is
# written before BootOrder names it, and BootOrder loses it before it goes.
"$GM" -m "$M" nvram create -L "Extra entry" -d 0 -p 1 -l '\EFI\BOOT\BOOTX64.EFI' >"$T/c" 2>&1
num=$(sed -n 's/.*Boot\([0-9A-F]\{4\}\).*/\1/p' "$T/c" | head -1)
e1=$(EFIVARFS_PATH="$EV/" efibootmgr -v 2>&1)
"$GM" -m "$M" nvram delete "$num" >/dev/null 2>&1
e2=$(EFIVARFS_PATH="$EV/" efibootmgr -v 2>&1)
if [ -n "$num" ] && grep -q "^Boot$num\* Extra entry	HD(1,GPT," <<<"$e1" && grep -q "^BootOrder: .*$num" <<<"$e1" &&
	! grep -q "Extra entry" <<<"$e2" && ! grep -q "^BootOrder: .*$num" <<<"$e2" && [ ! -e "$EV/Boot$num-$G" ]; then
	pass "create-and-delete-an-entry"
else
	fail "create-and-delete-an-entry" "num=$num" "$(cat "$T/c")" "AFTER: $e2" "$(ls "$EV")"
fi

# bootcfg /clone onto the second disk's ESP, read by efibootmgr.
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" "create partition efi size=100"
S=$("$GM" -m "$M" bootcfg /list 0 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
TG=$("$GM" -m "$M" bootcfg /list 1 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
"$GM" -m "$M" bootcfg /clone /sg "$S" /tg "$TG" /d+ Cloned >"$T/c" 2>&1
tg=$(tr -d '{}' <<<"$TG" | tr 'A-F' 'a-f')
if EFIVARFS_PATH="$EV/" efibootmgr -v 2>&1 | grep -q "Windows 2003 Server, Enterprise Cloned	HD(1,GPT,$tg,"; then
	pass "clone-into-efivarfs"
else
	fail "clone-into-efivarfs" "$(cat "$T/c")"
fi

# An immutable variable the command does not name keeps its flag and bytes.
if chattr +i "$EV/Timeout-$G" 2>/dev/null; then
	tb=$(sha256sum <"$EV/Timeout-$G")
	"$GM" -m "$M" nvram create -L "Another" -d 0 -p 1 -l '\EFI\BOOT\BOOTX64.EFI' >/dev/null 2>&1
	crc=$?
	flag=$(lsattr "$EV/Timeout-$G" 2>/dev/null | cut -c5)
	chattr -i "$EV/Timeout-$G"
	if [ "$crc" = 0 ] && [ "$flag" = i ] && [ "$tb" = "$(sha256sum <"$EV/Timeout-$G")" ]; then
		pass "immutable-variable-not-named-is-left-alone"
	else
		fail "immutable-variable-not-named-is-left-alone" "rc=$crc flag=$flag"
	fi
	# ...and one it does change (Timeout) has the flag cleared for the
	# write and set again.
	chattr +i "$EV/Timeout-$G"
	"$GM" -m "$M" bootcfg /timeout 5 >"$T/t" 2>&1
	trc=$?
	flag=$(lsattr "$EV/Timeout-$G" 2>/dev/null | cut -c5)
	chattr -i "$EV/Timeout-$G"
	if [ "$trc" = 0 ] && [ "$flag" = i ] && [ "$(od -An -tx1 "$EV/Timeout-$G" | tr -d ' \n')" = "070000000500" ]; then
		pass "immutable-variable-changed-and-flag-restored"
	else
		fail "immutable-variable-changed-and-flag-restored" "rc=$trc flag=$flag" "$(cat "$T/t")"
	fi
else
	fail "immutable-flag" "chattr +i does not work on $EV's file system"
fi

# A full store: a small tmpfs as efivarfs.
mkdir -p "$T/small"
if mount -t tmpfs -o size=64k tmpfs "$T/small" 2>/dev/null; then
	cp -a "$EV/." "$T/small/" 2>/dev/null
	# Fill it up, as pstore dumps fill a real store.
	i=0
	while head -c 4096 /dev/zero >"$T/small/dump-type0-$i-$G" 2>/dev/null; do i=$((i + 1)); done
	rm -f "$T/small/dump-type0-$i-$G"
	EV2=$T/small
	before=$(cd "$EV2" && for f in *; do printf '%s %s\n' "$f" "$(sha256sum <"$f")"; done | sort)
	GPTMIRROR_EFIVARFS=$EV2 "$GM" -m "$M" nvram create -L "Does not fit, and it has a very long description to be sure" \
		-d 0 -p 1 -l '\EFI\BOOT\BOOTX64.EFI' >"$T/f" 2>&1
	frc=$?
	after=$(cd "$EV2" && for f in *; do printf '%s %s\n' "$f" "$(sha256sum <"$f")"; done | sort)
	empty=$(find "$EV2" -type f -empty | wc -l)
	if [ "$frc" != 0 ] && grep -q "no room for" "$T/f" && [ "$before" = "$after" ] && [ "$empty" = 0 ]; then
		pass "full-store-refused-nothing-changed"
	else
		fail "full-store-refused-nothing-changed" "rc=$frc empty=$empty" "$(cat "$T/f")" "$(diff <(echo "$before") <(echo "$after"))"
	fi
	mount -o remount,ro "$T/small"
	GPTMIRROR_EFIVARFS=$EV2 "$GM" -m "$M" bootcfg /timeout 3 >"$T/f" 2>&1
	frc=$?
	if [ "$frc" != 0 ] && grep -q "read-only" "$T/f" && [ "$before" = "$(cd "$EV2" && for f in *; do printf '%s %s\n' "$f" "$(sha256sum <"$f")"; done | sort)" ]; then
		pass "read-only-store-refused"
	else
		fail "read-only-store-refused" "rc=$frc" "$(cat "$T/f")"
	fi
	umount "$T/small"
else
	fail "full-store" "a small tmpfs could not be mounted to stand for a full store"
fi

# No efivarfs at all: a clear error.
GPTMIRROR_EFIVARFS=$T/none "$GM" -m "$M" bootcfg >"$T/n" 2>&1
nrc=$?
if [ "$nrc" != 0 ] && grep -q "efivarfs" "$T/n"; then pass "no-efivarfs-said-clearly"; else fail "no-efivarfs-said-clearly" "$(cat "$T/n")"; fi
