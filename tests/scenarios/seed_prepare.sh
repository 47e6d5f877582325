#!/usr/bin/env bash
# KB 814070, "Prepare the shadow drive for mirroring": the diskpart steps
# 1-5, 7 and 9 in one session on a fresh 2003 machine in deterministic mode,
# compared with a golden transcript. sgdisk -v checks every image after every
# command.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=814070
GOLD=$(dirname "$0")/seed_prepare.golden

# Disk 0 as Windows Setup left it in the KB (204 MB ESP, 4996 MB system
# volume, 32 MB MSR at 9 GB), until machine create --install exists.
SETUP=("select disk 0" "convert gpt" "select partition 1" "delete partition override"
	"create partition efi size=204" "create partition primary size=4996"
	"create partition msr size=32 offset=9437184" "exit")
SEED=("Select disk 1" "Convert GPT" "List partition"
	"Select partition 1" "Delete partition override"
	"Select disk 0" "List partition" "select disk 1"
	"create partition efi size=204" "create partition msr size=32" "list partition"
	"Select disk 1" "Select partition 1" "Assign letter=S"
	"Select disk 0" "Select partition 1" "Assign letter=P"
	"Select volume P" "Remove" "Select volume S" "Remove" "list volume" "Exit")

run_seed() { # DIR: a fresh machine DIR/server; transcript in DIR.log
	M=$1/server
	(cd "$1" && "$GM" machine create server --disk 10G --disk 10G --profile 2003) >"$1.log"
	AFTER=all_clean dp_session "${SETUP[@]}"
	SETUP_RC=$RC SETUP_BAD=$AFTER_BAD
	AFTER=all_clean dp_session "${SEED[@]}"
	cat "$T/out" >>"$1.log"
}

mkdir -p "$T/a" "$T/b" "$T/c" "$T/d" "$T/e"
run_seed "$T/a"
if [ "$SETUP_RC" = 0 ] && [ -z "$SETUP_BAD" ]; then pass "disk0-setup"; else fail "disk0-setup" "rc=$SETUP_RC sgdisk failed after:$SETUP_BAD"; fi
if [ "$RC" = 0 ]; then pass "seed-session-exit-0"; else fail "seed-session-exit-0" "rc=$RC" "$(tail -5 "$T/out")"; fi
if [ -z "$AFTER_BAD" ]; then pass "sgdisk-clean-after-every-command"; else fail "sgdisk-clean-after-every-command" "failed after:$AFTER_BAD"; fi
golden transcript "$T/a.log" "$GOLD"
golden_images seed_prepare "$T/a/server"

# The seed's sizes, read back by sgdisk: ESP 204 MiB and MSR 32 MiB at 17 KiB,
# the shadow ESP exactly where disk 0's is.
M=$T/a/server
info() { sgdisk -i "$2" "$M/$1" | sed -n "s/^$3: \([0-9]*\).*/\1/p"; }
if [ "$(info disk1.img 1 'First sector')" = 34 ] && [ "$(info disk1.img 1 'Last sector')" = 417825 ] &&
	[ "$(info disk1.img 2 'First sector')" = 417826 ] && [ "$(info disk1.img 2 'Last sector')" = 483361 ] &&
	[ "$(info disk0.img 1 'First sector')" = 34 ] && [ "$(info disk0.img 1 'Last sector')" = 417825 ] &&
	sgdisk -i 1 "$M/disk1.img" | grep -q 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B (EFI system partition)' &&
	sgdisk -i 2 "$M/disk1.img" | grep -q 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE (Microsoft reserved)' &&
	[ "$(sgdisk -p "$M/disk1.img" | grep -c '^ *[0-9]')" = 2 ]; then
	pass "seed-sizes-by-sgdisk"
else
	fail "seed-sizes-by-sgdisk" "$(sgdisk -p "$M/disk1.img")"
fi
if ! grep -q '^letter\.' "$M/machine.conf"; then pass "letters-removed"; else fail "letters-removed" "$(cat "$M/machine.conf")"; fi

# Deterministic mode: the same commands give the same bytes and transcript;
# another seed gives other GUIDs.
run_seed "$T/b"
if cmp -s "$T/a.log" "$T/b.log" && same_image "$T/a/server/disk0.img" "$T/b/server/disk0.img" &&
	same_image "$T/a/server/disk1.img" "$T/b/server/disk1.img"; then
	pass "deterministic-same-seed-same-bytes"
else
	fail "deterministic-same-seed-same-bytes" "$(diff "$T/a.log" "$T/b.log" | head)"
fi
GPTMIRROR_SEED=1 run_seed "$T/c"
if ! same_image "$T/a/server/disk1.img" "$T/c/server/disk1.img" &&
	[ "$(sgdisk -p "$T/a/server/disk1.img" | grep identifier)" != "$(sgdisk -p "$T/c/server/disk1.img" | grep identifier)" ]; then
	pass "other-seed-other-guids"
else
	fail "other-seed-other-guids"
fi
# Without a seed, two machines never share a GUID.
unset GPTMIRROR_SEED
run_seed "$T/d"
run_seed "$T/e"
g1=$(sgdisk -i 1 "$T/d/server/disk1.img" | grep unique)
g2=$(sgdisk -i 1 "$T/e/server/disk1.img" | grep unique)
if [ -n "$g1" ] && [ "$g1" != "$g2" ]; then pass "random-guids-differ"; else fail "random-guids-differ" "$g1" "$g2"; fi
