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
(cd "$T" && "$GM" machine create m --disk 64M --disk 64M) >/dev/null
dp "select disk 0" "convert gpt" "select disk 1" "convert gpt"
truncate -s 64M "$T/outside.img"
printf 'precious' | dd of="$T/outside.img" conv=notrunc status=none
cp "$M/machine.conf" "$T/good.conf"
hashes() { (cd "$T" && "$IMGTOOL" hash m/disk*.img outside.img); }

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

# The good configuration still works, and the same checks pass it.
cp "$T/good.conf" "$M/machine.conf"
ok good-config-still-opens "$GM" -m "$M" machine status
