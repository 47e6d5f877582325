#!/usr/bin/env bash
# Smaller things of the KB as Windows does them:
# - volume numbers stay what they were within a diskpart session: after
#   `remove` takes P:'s letter (its volume goes), S: keeps its number and
#   `select volume` by that number still works; the list has a gap, as the
#   KB's own list after Setup's partition is deleted (Volume 0, 1, 3);
#   a new session numbers afresh;
# - `select disk m0` then `detail disk` and `list partition` speak of the
#   missing disk instead of saying no disk is selected;
# - `volume export` takes diskpart's number or the drive letter as well as
#   the LDM name, and all three give the same bytes.
. "$(dirname "$0")/../lib.sh"
export GPTMIRROR_SEED=2727
M=$T/server
(cd "$T" && "$GM" machine create server --disk 2G --disk 2G --profile 2003) >/dev/null
dp "select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=100" "create partition primary size=300" "select partition 2" "assign letter=C" \
	"select disk 1" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=100" "select disk 0" "select partition 1" "assign letter=P" \
	"select disk 1" "select partition 1" "assign letter=S"
[ "$RC" = 0 ] || fail setup "$(cat "$T/out")"
dp "list volume" "select volume p" "remove" "list volume" "select volume 3" "detail volume"
python3 - "$T/out" >"$T/why" 2>&1 <<'PY'
import re, sys
blocks = open(sys.argv[1]).read().split('DISKPART> ')
def vols(b):
    return {m.group(2).strip() or '-': int(m.group(1)) for m in re.finditer(r'^[ *] Volume (\d+) +(\S)? ', b, re.M)}
lists = [vols(b) for b in blocks if b.startswith('list volume')]
first, second = lists
assert first == {'D': 0, 'C': 1, 'P': 2, 'S': 3}, first
assert second == {'D': 0, 'C': 1, 'S': 3}, second
assert 'select volume 3\n\nVolume 3 is the selected volume.' in open(sys.argv[1]).read()
print('ok')
PY
if [ "$RC" = 0 ] && grep -q '^ok$' "$T/why"; then
	pass "volume-numbers-kept-in-a-session"
else
	fail "volume-numbers-kept-in-a-session" "$(cat "$T/why" "$T/out")"
fi
dp "list volume"
fresh=$(grep -E "^[ *] Volume [0-9]" "$T/out" | awk '{print $2}' | tr '\n' ' ')
if [ "$fresh" = "0 1 2 " ]; then pass "a-new-session-numbers-afresh"; else fail "a-new-session-numbers-afresh" "$fresh" "$(cat "$T/out")"; fi

# The 2003 machine's empty CD-ROM drive: listed as the KB lists it, after
# the dynamic volumes and before the partitions; it holds D; anything done
# to it says the device is not ready and writes nothing; a modern machine
# has none.
before=$(image_hash)
conf=$(sha256sum <"$M/machine.conf")
dp "list volume" "select volume d" "detail volume"
listed=$(grep -c "^  Volume 0     D                       CD-ROM          0 B  Healthy *$" "$T/out")
sel=$(grep -c "^Volume 0 is the selected volume.$" "$T/out")
nodisk=$(grep -c "^There are no disks attached to this volume.$" "$T/out")
refused=0
for c in "format fs=fat32 quick" "assign letter=e" "remove" "delete volume" "add disk=1"; do
	dp "select volume d" "$c"
	[ "$RC" = 4 ] && grep -q "^The device is not ready.$" "$T/out" || refused=$((refused + 1))
done
for c in "dir d:\\" "format d: /fs:fat32 /q /y" "chkdsk d:"; do
	"$GM" -m "$M" $c >"$T/o" 2>&1
	[ $? != 0 ] && grep -q "^The device is not ready.$" "$T/o" || refused=$((refused + 1))
done
dp "select disk 1" "select partition 1" "assign letter=D"
held=$(grep -c "The specified drive letter is not free to be assigned." "$T/out")
if [ "$listed" = 1 ] && [ "$sel" = 1 ] && [ "$nodisk" = 1 ] && [ "$refused" = 0 ] && [ "$held" = 1 ] &&
	[ "$before" = "$(image_hash)" ] && [ "$conf" = "$(sha256sum <"$M/machine.conf")" ]; then
	pass "empty-cdrom-drive"
else
	fail "empty-cdrom-drive" "listed $listed sel $sel nodisk $nodisk refused-wrong $refused held $held"
fi
"$GM" machine create "$T/modern" --disk 1G >/dev/null
M=$T/modern dp "list volume"
if grep -q "There are no volumes." "$T/out" && ! grep -q "CD-ROM" "$T/out"; then
	pass "modern-machine-has-no-cdrom"
else
	fail "modern-machine-has-no-cdrom" "$(cat "$T/out")"
fi

# A missing disk in focus.
M=$T/pair
dynamic_pair 64
dp "select volume c" "add disk=1"
"$GM" -m "$M" machine pull-disk 0 >/dev/null
dp "select disk m0" "detail disk" "list partition"
if grep -q "^Status : Missing" "$T/out" && grep -q "There are no partitions on this disk to show." "$T/out" &&
	grep -q "Volume 0     C .*Failed Rd" "$T/out" && ! grep -q "There is no disk selected" "$T/out"; then
	pass "missing-disk-detail-and-partitions"
else
	fail "missing-disk-detail-and-partitions" "$(cat "$T/out")"
fi

# volume export by name, number and letter.
ok=0
for v in Volume1 0 C: c; do
	"$GM" -m "$M" volume export "$v" "$T/exp-$v.img" >"$T/e" 2>&1 || { ok=1; echo "export $v: $(cat "$T/e")"; }
done >"$T/why"
for v in 0 C: c; do cmp -s "$T/exp-Volume1.img" "$T/exp-$v.img" || { ok=1; echo "export $v differs" >>"$T/why"; }; done
"$GM" -m "$M" volume export 5 "$T/none.img" >"$T/e" 2>&1
nrc=$?
if [ "$ok" = 0 ] && [ "$nrc" = 1 ] && grep -q "there is no dynamic volume 5" "$T/e" && [ ! -e "$T/none.img" ]; then
	pass "volume-export-by-name-number-or-letter"
else
	fail "volume-export-by-name-number-or-letter" "rc=$nrc" "$(cat "$T/why" "$T/e")"
fi
