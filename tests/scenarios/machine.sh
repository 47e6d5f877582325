#!/usr/bin/env bash
# The machine: create, status, pull-disk, insert-disk, and how a machine is
# chosen (-m, --machine, GPTMIRROR_MACHINE, the current directory).
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=11
M=$T/m
"$GM" machine create "$M" --disk 2G --disk 512M --disk 16K --profile 2003 >"$T/out"
if [ "$(stat -c %s "$M/disk0.img")" = 2147483648 ] && [ "$(stat -c %s "$M/disk1.img")" = 536870912 ] &&
	[ "$(stat -c %s "$M/disk2.img")" = 16384 ] && [ "$(du -k "$M/disk0.img" | cut -f1)" -lt 64 ]; then
	pass "create-sparse-images"
else
	fail "create-sparse-images" "$(ls -ls "$M")"
fi
if grep -q "^profile = 2003" "$M/machine.conf" && grep -q "^disk2 = disk2.img" "$M/machine.conf"; then pass "create-conf"; else fail "create-conf" "$(cat "$M/machine.conf")"; fi
"$GM" machine create "$T/t" --disk 1T >/dev/null && [ "$(stat -c %s "$T/t/disk0.img")" = 1099511627776 ] &&
	grep -q "^profile = modern" "$T/t/machine.conf"
ok "create-terabytes-default-modern" test $? = 0
"$GM" machine create "$T/k" --disk 40960K --sector-size 4096 >/dev/null && [ "$(stat -c %s "$T/k/disk0.img")" = 41943040 ] &&
	grep -q "^disk0.sector_size = 4096" "$T/k/machine.conf"
ok "create-kilobytes-4k" test $? = 0

for bad in "--disk 10X" "--disk" "--disk 0" "--disk 1G --profile 2008" "--disk 1G --sector-size 1024" "--disk 1000 --sector-size 4096" ""; do
	# shellcheck disable=SC2086
	"$GM" machine create "$T/bad" $bad >"$T/out" 2>&1
	rc=$?
	if [ "$rc" != 0 ] && [ ! -e "$T/bad/machine.conf" ]; then pass "create-refuses[$bad]"; else fail "create-refuses[$bad]" "rc=$rc" "$(cat "$T/out")"; fi
done
"$GM" machine create "$M" --disk 1G >"$T/out" 2>&1
if [ $? != 0 ] && grep -q "already holds a machine" "$T/out"; then pass "create-over-existing"; else fail "create-over-existing" "$(cat "$T/out")"; fi

# Choosing the machine.
"$GM" -m "$M" machine status >"$T/a"
"$GM" --machine "$M" machine status >"$T/b"
GPTMIRROR_MACHINE=$M "$GM" machine status >"$T/c"
(cd "$M" && "$GM" machine status) >"$T/d"
"$GM" machine status --machine="$M" >"$T/e"
if grep -q "Slots:   3" "$T/a" && cmp -s "$T/a" "$T/b" && cmp -s "$T/a" "$T/c" && cmp -s "$T/a" "$T/d" && cmp -s "$T/a" "$T/e"; then
	pass "machine-selection"
else
	fail "machine-selection" "$(cat "$T/a")" "$(cat "$T/d")"
fi
if grep -q "Disk 2: disk2.img, 16 KB.*not a disk" "$T/a"; then pass "status-tiny-image"; else fail "status-tiny-image" "$(cat "$T/a")"; fi

# A disk with a letter is pulled and put back.
dp "select disk 1" "convert gpt" "select partition 1" "delete partition override" "create partition primary size=100" "assign letter=E" "list volume"
# (Volume 0 is the 2003 machine's empty CD-ROM drive.)
grep -q "Volume 1     E" "$T/out"
ok "letter-assigned" test $? = 0
"$GM" -m "$M" machine pull-disk 1 >"$T/pull"
dp "list disk" "list volume"
if grep -q "the image is kept as pulled/disk1.img" "$T/pull" && [ -f "$M/pulled/disk1.img" ] && [ ! -e "$M/disk1.img" ] && grep -q "^disk1 = $" "$M/machine.conf" &&
	! grep -q "Disk 1 " "$T/out" && ! grep -q "Partition" "$T/out" && grep -q "Volume 0     D .*CD-ROM" "$T/out"; then
	pass "pull-disk"
else
	fail "pull-disk" "$(cat "$T/out")" "$(cat "$M/machine.conf")"
fi
dp "select disk 1"
if [ "$RC" = 2 ] && grep -q "The disk you specified is not valid." "$T/out"; then pass "pulled-disk-not-selectable"; else fail "pulled-disk-not-selectable" "$(cat "$T/out")"; fi
"$GM" -m "$M" machine pull-disk 1 >"$T/out" 2>&1
if [ $? != 0 ] && grep -q "holds no disk" "$T/out"; then pass "pull-empty-slot"; else fail "pull-empty-slot" "$(cat "$T/out")"; fi
# The letter stays reserved while its disk is out, as Windows' mount manager keeps it.
dp "select disk 0" "convert gpt" "create partition primary size=10" "assign letter=E"
if [ "$RC" = 4 ] && grep -q "not free to be assigned" "$T/out"; then pass "letter-kept-while-pulled"; else fail "letter-kept-while-pulled" "$(cat "$T/out")"; fi
"$GM" -m "$M" machine insert-disk 1 --image "$M/pulled/disk1.img" >/dev/null
dp "list volume"
if grep -q "Volume 2     E" "$T/out" && sgdisk_clean "$M/disk1.img"; then pass "reinsert-keeps-letter"; else fail "reinsert-keeps-letter" "$(cat "$T/out")"; fi
"$GM" -m "$M" machine insert-disk 1 --size 1G >"$T/out" 2>&1
if [ $? != 0 ] && grep -q "already holds a disk" "$T/out"; then pass "insert-into-full-slot"; else fail "insert-into-full-slot" "$(cat "$T/out")"; fi
"$GM" -m "$M" machine insert-disk 5 --size 300M >/dev/null
dp "list disk"
if grep -q "Disk 5    Online          300 MB   300 MB" "$T/out" && grep -q "^slots = 6" "$M/machine.conf"; then pass "insert-new-disk-in-new-slot"; else fail "insert-new-disk-in-new-slot" "$(cat "$T/out")"; fi
for bad in "3" "3 --size" "3 --size 1Q" "3 --size 1G --image x" "x --size 1G" "99 --size 1G"; do
	# shellcheck disable=SC2086
	"$GM" -m "$M" machine insert-disk $bad >"$T/out" 2>&1
	if [ $? != 0 ]; then pass "insert-refuses[$bad]"; else fail "insert-refuses[$bad]" "$(cat "$T/out")"; fi
done
"$GM" -m "$M" machine insert-disk 3 --image "$T/none.img" >"$T/out" 2>&1
if [ $? != 0 ] && [ ! -e "$M/disk3.img" ]; then pass "insert-missing-image"; else fail "insert-missing-image" "$(cat "$T/out")"; fi
# machine.conf lost: letters go, data stays.
rm "$M/machine.conf"
"$GM" -m "$M" machine status >"$T/out" 2>&1
if [ $? != 0 ] && grep -q "is not a machine" "$T/out" && sgdisk_clean "$M/disk1.img"; then pass "conf-lost-data-stays"; else fail "conf-lost-data-stays" "$(cat "$T/out")"; fi
