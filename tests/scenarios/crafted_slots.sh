#!/usr/bin/env bash
# machine.conf that points a slot anywhere but at its own image file inside
# the machine directory: another slot's image, a symbolic link, a path with
# "..", an absolute path, a directory. Every command refuses with a clear
# message and a non-zero exit, and no byte changes: not in any image of
# the machine, not in the file outside it.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=7
M=$T/m
(cd "$T" && "$GM" machine create m --disk 256M --disk 256M) >/dev/null
dp "select disk 0" "convert gpt" "select disk 1" "convert gpt"
[ "$RC" = 0 ] || fail setup "$(cat "$T/out")"
truncate -s 256M "$T/outside.img"
printf 'precious' | dd of="$T/outside.img" conv=notrunc status=none
cp "$M/machine.conf" "$T/good.conf"
hashes() { (cd "$T" && "$IMGTOOL" hash m/disk*.img outside.img m/nvram.fd); }

# case NAME DISK1-VALUE [SETUP]: disk1 of machine.conf names DISK1-VALUE.
bad=""
case_slot() {
	local name=$1 val=$2 before
	sed "s|^disk1 = .*|disk1 = $val|" "$T/good.conf" >"$M/machine.conf"
	before=$(hashes)
	dp "select disk 1" "clean"
	local rc1=$RC out1
	out1=$(cat "$T/out")
	"$GM" -m "$M" machine status >"$T/st" 2>&1
	local rc2=$?
	"$GM" -m "$M" format e: /fs:fat /q /y >"$T/fmt" 2>&1
	local rc3=$?
	if [ "$rc1" != 0 ] && [ "$rc2" != 0 ] && [ "$rc3" != 0 ] && [ "$(hashes)" = "$before" ] &&
		grep -q "disk1" <<<"$out1" && grep -qE "refuses|inside the machine directory" "$T/st"; then
		pass "refused-$name"
	else
		fail "refused-$name" "rc $rc1/$rc2/$rc3" "$out1" "$(cat "$T/st")"
	fi
}
case_slot other-slots-image disk0.img
ln -s disk0.img "$M/link.img"
case_slot symlink link.img
ln -s ../outside.img "$M/out-link.img"
case_slot symlink-outside out-link.img
case_slot dotdot ../outside.img
case_slot dotdot-inside "pulled/../../outside.img"
case_slot absolute "$T/outside.img"
mkdir -p "$M/adir"
case_slot directory adir
case_slot own-nvram nvram.fd
case_slot own-conf machine.conf
case_slot own-lock .lock

# The good configuration still works, and the same checks pass it.
cp "$T/good.conf" "$M/machine.conf"
ok good-config-still-opens "$GM" -m "$M" machine status

# A machine.conf line longer than gptmirror reads is refused, not split.
{ cat "$T/good.conf"; printf 'note = %01100d\n' 0; } >"$M/machine.conf"
before=$(hashes)
"$GM" -m "$M" machine status >"$T/st" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "is longer than" "$T/st" && [ "$(hashes)" = "$before" ]; then
	pass "overlong-conf-line-refused"
else
	fail "overlong-conf-line-refused" "rc $rc" "$(cat "$T/st")"
fi
cp "$T/good.conf" "$M/machine.conf"

# Windows' reserved device names are not FAT names: xcopy refuses them.
dp "select disk 1" "create partition primary size=32" "assign letter=F"
[ "$RC" = 0 ] || fail reserved-setup "$(cat "$T/out")"
"$GM" -m "$M" format f: /fs:fat /q /y >/dev/null
for n in CON nul COM1 AUX.c LPT1.txt; do
	rm -rf "$T/src"
	mkdir -p "$T/src"
	echo x >"$T/src/$n"
	"$GM" -m "$M" xcopy "$T/src" 'f:\' /y >"$T/x" 2>&1
	rc=$?
	if [ "$rc" != 0 ] && grep -q "not a valid file name" "$T/x" && ! "$GM" -m "$M" dir 'f:\' | grep -qi "$n"; then
		pass "reserved-name-$n-refused"
	else
		fail "reserved-name-$n-refused" "rc $rc" "$(cat "$T/x")"
	fi
done

# bootcfg /list of a disk whose two GPT copies are both damaged says so
# (not "is not a GPT disk") and writes nothing.
sz=$(stat -c %s "$M/disk0.img")
dd if=/dev/zero of="$M/disk0.img" bs=512 seek=1 count=1 conv=notrunc status=none
dd if=/dev/zero of="$M/disk0.img" bs=512 seek=$((sz / 512 - 1)) count=1 conv=notrunc status=none
before=$(hashes)
"$GM" -m "$M" bootcfg /list 0 >"$T/l" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "cannot be read: both copies of its GPT are damaged" "$T/l" &&
	! grep -q "not a GPT disk" "$T/l" && [ "$(hashes)" = "$before" ]; then
	pass "list-of-unreadable-gpt-says-damaged"
else
	fail "list-of-unreadable-gpt-says-damaged" "rc $rc" "$(cat "$T/l")"
fi
