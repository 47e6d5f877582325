#!/usr/bin/env bash
# Two diskpart runs at once on one machine, 20 rounds: each creates a
# partition and assigns it a letter. The machine lock is taken before
# machine.conf is read and held for the whole command, so afterwards every
# partition and every letter is there, and (in deterministic mode) no two
# partitions share a GUID.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=11
bad=""
for r in $(seq 1 20); do
	M=$T/m$r
	(cd "$T" && "$GM" machine create "m$r" --disk 1G) >/dev/null
	dp "select disk 0" "convert gpt"
	printf 'select disk 0\ncreate partition primary size=16\nassign letter=P\n' |
		"$GM" -m "$M" diskpart >"$T/a" 2>&1 &
	pa=$!
	printf 'select disk 0\ncreate partition primary size=16\nassign letter=Q\n' |
		"$GM" -m "$M" diskpart >"$T/b" 2>&1 &
	pb=$!
	wait $pa
	ra=$?
	wait $pb
	rb=$?
	nparts=$(sgdisk -p "$M/disk0.img" 2>/dev/null | grep -c 'Basic data partition')
	guids=$(for i in 1 2 3; do sgdisk -i "$i" "$M/disk0.img" 2>/dev/null | sed -n 's/^Partition unique GUID: //p'; done | sort)
	letters=$(grep -c '^letter\.[PQ] = ' "$M/machine.conf")
	if [ "$ra" != 0 ] || [ "$rb" != 0 ] || [ "$nparts" != 2 ] || [ "$letters" != 2 ] ||
		[ "$(uniq <<<"$guids" | wc -l)" != "$(wc -l <<<"$guids")" ] ||
		! grep -q "successfully assigned" "$T/a" || ! grep -q "successfully assigned" "$T/b"; then
		bad="$bad round$r(rc $ra/$rb, parts $nparts, letters $letters)"
	fi
	"$GM" -m "$M" diskpart <<<"list volume" >"$T/v" 2>&1
	grep -qE 'Volume [0-9]+ +P ' "$T/v" && grep -qE 'Volume [0-9]+ +Q ' "$T/v" || bad="$bad round$r(list volume)"
	rm -rf "$M"
done
if [ -z "$bad" ]; then pass "two-diskparts-at-once-lose-nothing-20-rounds"; else fail "two-diskparts-at-once-lose-nothing-20-rounds" "$bad"; fi
