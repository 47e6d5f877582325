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
dp "list volume" "select volume p" "remove" "list volume" "select volume 2" "detail volume"
python3 - "$T/out" >"$T/why" 2>&1 <<'PY'
import re, sys
blocks = open(sys.argv[1]).read().split('DISKPART> ')
def vols(b):
    return {m.group(2).strip() or '-': int(m.group(1)) for m in re.finditer(r'^[ *] Volume (\d+) +(\S)? ', b, re.M)}
lists = [vols(b) for b in blocks if b.startswith('list volume')]
first, second = lists
assert first == {'P': 0, 'C': 1, 'S': 2}, first
assert second == {'C': 1, 'S': 2}, second
assert 'select volume 2\n\nVolume 2 is the selected volume.' in open(sys.argv[1]).read()
print('ok')
PY
if [ "$RC" = 0 ] && grep -q '^ok$' "$T/why"; then
	pass "volume-numbers-kept-in-a-session"
else
	fail "volume-numbers-kept-in-a-session" "$(cat "$T/why" "$T/out")"
fi
dp "list volume"
fresh=$(grep -E "^[ *] Volume [0-9]" "$T/out" | awk '{print $2}' | tr '\n' ' ')
if [ "$fresh" = "0 1 " ]; then pass "a-new-session-numbers-afresh"; else fail "a-new-session-numbers-afresh" "$fresh" "$(cat "$T/out")"; fi

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
