#!/usr/bin/env bash
# GPTs written by sgdisk in several layouts: our reader lists what sgdisk
# lists (entry number, first and last sector, type, unique GUID, name), and
# a change we then make keeps every partition sgdisk made and passes sgdisk -v.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=9
M=$T/server
"$GM" machine create "$M" --disk 64M --profile modern >/dev/null

# sgdisk's view: "num first last TYPE-GUID unique-guid name" per partition.
sgdisk_view() {
	local img=$1 n
	for n in $(sgdisk -p "$img" | awk '/^ *[0-9]+ +[0-9]+ +[0-9]+/ {print $1}'); do
		sgdisk -i "$n" "$img" | awk -v n="$n" '
			/^Partition GUID code:/ {t=tolower($4)}
			/^Partition unique GUID:/ {u=tolower($4)}
			/^First sector:/ {f=$3}
			/^Last sector:/ {l=$3}
			/^Partition name:/ {sub(/^Partition name: \047/, ""); sub(/\047$/, ""); nm=$0}
			END {print n, f, l, t, u, nm}'
	done
}
# Ours, from machine status.
our_view() {
	"$GM" -m "$M" machine status | awk -v d="Disk $1:" '
		index($0, d) == 1 {on=1; next}
		/^Disk [0-9]+:/ {on=0}
		on && $1 ~ /^[0-9]+$/ && NF >= 5 {
			name=""; for (i = 6; i <= NF; i++) name = name (i > 6 ? " " : "") $i
			print $1, $2, $3, $4, $5, name }'
}

# sgdisk -v's cautions and warnings, one line each, and its verdict.
sgdisk_notes() { sgdisk -v "$1" 2>&1 | grep -iE '^(caution|warning)|problems found'; }

layout() { # NAME SIZE SGDISK-ARGS...
	local name=$1 size=$2 slot
	shift 2
	slot=$((${slot_next:-0} + 1))
	slot_next=$slot
	rm -f "$T/$name.img"
	truncate -s "$size" "$T/$name.img"
	if ! sgdisk "$@" "$T/$name.img" >"$T/sg.out" 2>&1 ||
		! sgdisk -v "$T/$name.img" | grep -q '^No problems found'; then
		fail "$name-made-by-sgdisk" "$(cat "$T/sg.out")"
		return
	fi
	sgdisk_notes "$T/$name.img" | sed 's/ [0-9]* free sectors.*//' | sort >"$T/notes.before"
	"$GM" -m "$M" machine insert-disk "$slot" --image "$T/$name.img" >/dev/null
	if ! "$IMGTOOL" cmp "$T/$name.img" "$M/disk$slot.img"; then fail "$name-inserted-unchanged"; fi
	sgdisk_view "$M/disk$slot.img" | sort >"$T/want"
	our_view "$slot" | sort >"$T/got"
	if [ -s "$T/want" ] && diff -u "$T/want" "$T/got" >"$T/d"; then
		pass "$name-read-as-sgdisk-reads-it"
	else
		fail "$name-read-as-sgdisk-reads-it" "$(cat "$T/d")"
	fi
	local before
	if [ -n "${FULL:-}" ]; then
		before=$("$IMGTOOL" hash "$M/disk$slot.img" | cut -d' ' -f1)
		dp "select disk $slot" "create partition primary size=1"
		if [ "$RC" = 4 ] && grep -q "not enough usable space" "$T/out" &&
			[ "$before" = "$("$IMGTOOL" hash "$M/disk$slot.img" | cut -d' ' -f1)" ]; then
			pass "$name-no-room-refused"
		else
			fail "$name-no-room-refused" "$(cat "$T/out")"
		fi
		return
	fi
	before=$(sgdisk -p "$M/disk$slot.img" | grep -c '^ *[0-9]')
	dp "select disk $slot" "create partition primary size=1" "list partition"
	sgdisk_view "$M/disk$slot.img" | awk '{print $2, $3, $4, $5, $6, $7, $8}' | sort >"$T/after"
	awk '{print $2, $3, $4, $5, $6, $7, $8}' "$T/want" | sort >"$T/wantn"
	sgdisk_notes "$M/disk$slot.img" | sed 's/ [0-9]* free sectors.*//' | sort >"$T/notes.after"
	# No new caution: exactly clean, or only what sgdisk said of its own layout.
	if [ "$RC" = 0 ] && grep -q '^No problems found' "$T/notes.after" &&
		[ "$(comm -13 "$T/notes.before" "$T/notes.after" | wc -l)" = 0 ] &&
		[ "$(comm -23 "$T/wantn" "$T/after" | wc -l)" = 0 ] &&
		[ "$(sgdisk -p "$M/disk$slot.img" | grep -c '^ *[0-9]')" = $((before + 1)) ]; then
		pass "$name-changed-keeps-partitions"
	else
		fail "$name-changed-keeps-partitions" "rc=$RC" "$(sgdisk -v "$M/disk$slot.img")" "$(comm -23 "$T/wantn" "$T/after")"
	fi
}

layout windows 1G -n 1:0:+100M -t 1:EF00 -c 1:"EFI system partition" \
	-n 2:0:+16M -t 2:0C01 -c 2:"Microsoft reserved partition" \
	-n 3:0:+500M -t 3:0700 -c 3:"Basic data partition"
layout holes 512M -n 2:2048:+10M -t 2:8300 -c 2:"second" -n 5:0:+20M -t 5:EF00 -c 5:"fifth" \
	-n 9:0:+5M -t 9:4201 -c 9:"LDM data partition"
layout names 256M -n 1:0:+8M -c 1:"Données système é€" -n 2:0:+8M -c 2:"123456789012345678901234567890123456" \
	-n 3:0:+8M -c 3:""
layout attributes 256M -n 1:0:+8M -t 1:EF00 -A 1:set:0 -A 1:set:60 -n 2:0:+8M -t 2:8300 -A 2:set:2
layout big-table 256M -S 256 -n 1:0:+8M -n 200:0:+8M -t 200:0700
layout moved-table 256M -j 4096 -n 1:8192:+8M
layout unaligned 256M -a 1 -n 1:35:+1001K -n 2:0:+3M -t 2:EF00
FULL=1 layout full-disk 256M -n 1:0:0 -t 1:8300

# Attributes survive our rewrite.
attr=$(sgdisk -A 1:show "$M/disk4.img" 2>/dev/null | tr -d '\n')
if grep -q "1:0:1 (system partition)" <<<"$attr" && grep -q "1:60:1 (read-only)" <<<"$attr"; then pass "attributes-kept"; else fail "attributes-kept" "$attr"; fi
# sgdisk's 256-entry table is kept at 256 entries.
if sgdisk -p "$M/disk5.img" | grep -q "holds up to 256 entries"; then pass "big-table-kept"; else fail "big-table-kept" "$(sgdisk -p "$M/disk5.img")"; fi
