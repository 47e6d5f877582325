#!/usr/bin/env bash
# For automation: bootcfg /clone asked again finds the clones it made and
# adds no second one (exit 0, "already cloned", NVRAM unchanged);
# efibootmgr sees each clone once.
. "$(dirname "$0")/../lib.sh"
need efibootmgr
export GPTMIRROR_SEED=919
M=$T/server
"$GM" machine create "$M" --disk 6G --disk 6G --profile 2003 --install >/dev/null
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" "create partition efi size=100"
S=$("$GM" -m "$M" bootcfg /list 0 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
TG=$("$GM" -m "$M" bootcfg /list 1 | sed -n '0,/^Partition GUID/s/^Partition GUID: *//p')
"$GM" -m "$M" bootcfg /clone /sg "$S" /tg "$TG" /d+ Cloned >"$T/1" 2>&1
r1=$?
before=$(sha256sum <"$M/nvram.fd")
"$GM" -m "$M" bootcfg /clone /sg "$S" /tg "$TG" /d+ Cloned >"$T/2" 2>&1
r2=$?
rm -rf "$T/ev"
"$GM" -m "$M" nvram export "$T/ev" >/dev/null
n=$(EFIVARFS_PATH="$T/ev/" efibootmgr -v 2>/dev/null | grep -c "Windows 2003 Server, Enterprise Cloned	")
if [ "$r1" = 0 ] && grep -q "successfully cloned" "$T/1" && [ "$r2" = 0 ] && grep -q "is already cloned there (Boot" "$T/2" &&
	! grep -q "successfully cloned" "$T/2" && [ "$before" = "$(sha256sum <"$M/nvram.fd")" ] && [ "$n" = 1 ]; then
	pass "clone-again-adds-nothing"
else
	fail "clone-again-adds-nothing" "rc $r1/$r2, $n clones" "$(cat "$T/1" "$T/2")"
fi

# add disk=N on a volume already mirrored there: "already mirrored", exit 0
# in a script, and no byte of any image or of machine.conf changes.
export GPTMIRROR_SEED=920
M=$T/pair
dynamic_pair 64
printf '%s\n' "select volume c" "add disk=1" >"$T/add.txt"
"$GM" -m "$M" diskpart /s "$T/add.txt" >"$T/a1" 2>&1
a1=$?
h1=$(image_hash; sha256sum <"$M/machine.conf")
"$GM" -m "$M" diskpart /s "$T/add.txt" >"$T/a2" 2>&1
a2=$?
h2=$(image_hash; sha256sum <"$M/machine.conf")
if [ "$a1" = 0 ] && grep -q "succeeded in adding a mirror" "$T/a1" && [ "$a2" = 0 ] &&
	grep -q "INFO: The volume is already mirrored on disk 1; nothing was changed." "$T/a2" &&
	[ "$h1" = "$h2" ]; then
	pass "add-disk-again-changes-nothing"
else
	fail "add-disk-again-changes-nothing" "rc $a1/$a2" "$(cat "$T/a1" "$T/a2")"
fi
