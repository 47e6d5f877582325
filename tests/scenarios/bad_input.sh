#!/usr/bin/env bash
# Bad input: each gives a diskpart-style error, a non-zero exit in script
# mode, and leaves every image byte-identical.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=7
M=$T/server
"$GM" machine create "$M" --disk 1G --disk 1G --profile 2003 >/dev/null
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=100" "create partition primary size=500" "create partition msr size=32" \
	"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=100" "create partition msr size=32" "select partition 1" "assign letter=S"
[ "$RC" = 0 ] || fail setup "$(cat "$T/out")"

# refused NAME WANT-RC WANT-TEXT COMMANDS...
refused() {
	local name=$1 want_rc=$2 want=$3
	shift 3
	local before after
	before=$(image_hash)
	dp "$@"
	after=$(image_hash)
	if [ "$RC" != "$want_rc" ]; then
		fail "$name" "exit $RC, wanted $want_rc" "$(tail -8 "$T/out")"
	elif ! grep -qF -- "$want" "$T/out"; then
		fail "$name" "no '$want' in:" "$(tail -8 "$T/out")"
	elif [ "$before" != "$after" ]; then
		fail "$name" "an image changed"
	else
		pass "$name"
	fi
}

refused unknown-command 5 'DiskPart does not know the command "frobnicate".' "frobnicate disk 1"
refused ambiguous-prefix 5 'does not know the command "de"' "de part"
refused select-no-object 2 "The arguments specified for this command are not valid." "select"
refused select-bad-object 2 "For more information on the command type: HELP SELECT" "select potato 1"
refused list-missing-object 2 "The arguments specified for this command are not valid." "list"
refused select-disk-9 2 "The disk you specified is not valid." "select disk 9"
refused select-disk-not-a-number 2 "The disk you specified is not valid." "select disk one"
refused select-partition-9 2 "The partition you specified is not valid." "select disk 0" "select partition 9"
refused select-volume-q 2 "The volume you specified is not valid." "select volume Q"
refused partition-without-disk 5 "There is no disk selected." "select partition 1"
refused create-without-disk 5 "Please select a disk and try again." "create partition primary size=10"
refused delete-without-partition 5 "There is no partition selected." "select disk 0" "delete partition"
refused size-not-a-number 2 "HELP CREATE PARTITION PRIMARY" "select disk 0" "create partition primary size=abc"
refused size-zero 2 "The arguments specified for this command are not valid." "select disk 0" "create partition primary size=0"
refused unknown-parameter 2 "The arguments specified for this command are not valid." "select disk 0" "create partition primary size=10 colour=red"
refused missing-kind 2 "The arguments specified for this command are not valid." "select disk 0" "create partition"
refused size-beyond-free 4 "There is not enough usable space for this operation." "select disk 1" "create partition primary size=2000"
refused offset-inside-partition 4 "There is not enough usable space for this operation." "select disk 0" "create partition primary size=1 offset=100"
refused convert-gpt-with-partitions 4 "The specified disk is not convertible." "select disk 0" "convert gpt"
refused convert-mbr-with-partitions 4 "Disk 0 has partitions" "select disk 0" "convert mbr"
refused delete-esp-without-override 4 "Cannot delete a protected partition without the force protected parameter set." "select disk 0" "select partition 1" "delete partition"
refused delete-msr-without-override 4 "Cannot delete a protected partition without the force protected parameter set." "select disk 0" "select partition 3" "delete partition"
refused letter-in-use 4 "The specified drive letter is not free to be assigned." "select disk 0" "select partition 1" "assign letter=S"
refused letter-invalid 2 "HELP ASSIGN" "select disk 0" "select partition 1" "assign letter=1"
refused assign-to-msr 4 "not supported on MSR partitions" "select disk 0" "select partition 3" "assign letter=T"
refused remove-no-letter 4 "is not assigned" "select disk 0" "select partition 2" "remove"
dp "select disk 1" "clean" "convert mbr"
refused efi-on-mbr-disk 4 "not valid for this disk" "select disk 1" "create partition efi size=10"
refused gpt-id-on-mbr-disk 2 "HELP CREATE PARTITION PRIMARY" "select disk 1" "create partition primary id=ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"
dp "select disk 1" "clean" "convert gpt"

# The script stops at the first error: nothing after it runs.
before=$(image_hash)
dp "select disk 9" "select disk 1" "create partition primary size=10"
if [ "$RC" != 0 ] && [ "$before" = "$(image_hash)" ] && ! grep -q "succeeded in creating" "$T/out"; then
	pass "script-stops-at-first-error"
else
	fail "script-stops-at-first-error" "$(cat "$T/out")"
fi
# NOERR lets it go on.
dp "select disk 9 noerr" "select disk 1" "list partition"
if [ "$RC" = 0 ] && grep -q "Disk 1 is now the selected disk." "$T/out"; then pass "noerr-goes-on"; else fail "noerr-goes-on" "$(cat "$T/out")"; fi
# /s with a script file: same grammar, no echo, same exit status.
printf 'select disk 0\nselect partition 1\ndelete partition\n' >"$T/s.txt"
before=$(image_hash)
"$GM" -m "$M" diskpart /s "$T/s.txt" >"$T/out" 2>&1
rc=$?
if [ "$rc" = 4 ] && grep -q "force protected" "$T/out" && ! grep -q "DISKPART>" "$T/out" && [ "$before" = "$(image_hash)" ]; then
	pass "script-file-error"
else
	fail "script-file-error" "rc=$rc" "$(cat "$T/out")"
fi
"$GM" -m "$M" diskpart /s "$T/does-not-exist.txt" >"$T/out" 2>&1
if [ $? = 3 ] && grep -q "could not open the script file" "$T/out"; then pass "script-file-missing"; else fail "script-file-missing" "$(cat "$T/out")"; fi
"$GM" -m "$T/nowhere" diskpart </dev/null >"$T/out" 2>&1
if [ $? != 0 ] && grep -q "is not a machine" "$T/out"; then pass "not-a-machine"; else fail "not-a-machine" "$(cat "$T/out")"; fi

# A truncated image: the GPT describes a bigger disk than the file.
cp --sparse=always "$M/disk0.img" "$T/trunc.img"
truncate -s 700M "$T/trunc.img"
"$GM" -m "$M" machine insert-disk 2 --image "$T/trunc.img" >/dev/null
refused truncated-image-create 4 "Disk 2 is unreadable" "select disk 2" "create partition primary size=10"
refused truncated-image-list 4 "usable range" "select disk 2" "list partition"
refused truncated-image-convert 4 "Disk 2 is unreadable" "select disk 2" "convert gpt"
dp "list disk"
if grep -q "Disk 2    Unreadable" "$T/out"; then pass "truncated-image-listed-unreadable"; else fail "truncated-image-listed-unreadable" "$(cat "$T/out")"; fi

# Images that are not disks at all.
printf 'This is a text file, not a disk.\n' >"$T/text.img"
"$GM" -m "$M" machine insert-disk 3 --image "$T/text.img" >/dev/null
refused text-file-convert 4 "Disk 3 is not usable" "select disk 3" "convert gpt"
refused text-file-create 4 "Disk 3 is not usable" "select disk 3" "create partition primary"
head -c 1048576 /dev/urandom >"$T/noise.img"
"$GM" -m "$M" machine insert-disk 4 --image "$T/noise.img" >/dev/null
refused noise-image-convert 4 "not a partition table" "select disk 4" "convert gpt"
"$GM" -m "$M" machine insert-disk 5 --image "$T" >"$T/out" 2>&1
if [ $? != 0 ] && grep -q "not a disk image" "$T/out"; then pass "directory-is-not-an-image"; else fail "directory-is-not-an-image" "$(cat "$T/out")"; fi
dp "list disk"
if grep -q "Disk 3    Invalid" "$T/out" && grep -q "Disk 4    Not Initialized" "$T/out"; then pass "bad-images-listed"; else fail "bad-images-listed" "$(cat "$T/out")"; fi
ok "good-images-still-clean" sgdisk_clean "$M/disk0.img"

# Setup, boot and dynamic-disk commands refuse bad input and change nothing.
# cmd_refused NAME WANT-TEXT COMMAND...: non-zero exit, the text, no image changed.
cmd_refused() {
	local name=$1 want=$2 before
	shift 2
	before=$(image_hash)
	"$@" >"$T/out" 2>&1
	local rc=$?
	if [ "$rc" != 0 ] && grep -qF -- "$want" "$T/out" && [ "$(image_hash)" = "$before" ]; then
		pass "$name"
	else
		fail "$name" "rc=$rc" "$(cat "$T/out")"
	fi
}
cmd_refused setup-on-a-disk-with-partitions "Setup installs on an empty disk" "$GM" -m "$M" setup --disk 0
cmd_refused setup-no-such-disk "there is no disk 9" "$GM" -m "$M" setup --disk 9
"$GM" -m "$M" machine insert-disk 6 --size 1G >/dev/null
cmd_refused setup-bad-loader "cannot read the EFI loader" "$GM" -m "$M" setup --disk 6 --loader "$T/none.efi"
cmd_refused setup-no-arguments "usage: gptmirror setup" "$GM" -m "$M" setup
cmd_refused boot-no-such-menu-entry "there is no boot entry 7 in the boot menu" "$GM" -m "$M" machine boot --entry 7
cmd_refused boot-bad-entry "usage: gptmirror machine boot" "$GM" -m "$M" machine boot --entry potato
cmd_refused boot-no-entries "No bootable option or device was found." "$GM" -m "$M" machine boot
cmd_refused volume-export-no-such-volume "there is no dynamic volume Volume9" "$GM" -m "$M" volume export Volume9 "$T/v.img"
refused convert-basic-of-a-basic-disk 4 "The disk is already basic." "select disk 0" "convert basic"
refused delete-disk-present 4 "The disk is not missing." "select disk 0" "delete disk"
refused break-without-volume 5 "There is no volume selected." "break disk=1"
refused select-missing-disk-none 2 "The disk you specified is not valid." "select disk m0"
