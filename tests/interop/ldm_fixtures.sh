#!/usr/bin/env bash
# Dynamic disks written by Windows Server 2003 R2 and 2008 R2 (the fixtures
# in ../shared/fixtures/ldm-data.tar.xz: simple, spanned, striped, mirrored
# and RAID-5, MBR and GPT), inserted into machines: what we list agrees with
# ldmtool (type, size, extents); every exported volume is the NTFS Windows
# made (ntfs-3g reads its test.txt) and, for concatenated layouts, the bytes
# at ldmtool's offsets; with a disk pulled, mirror and RAID-5 still export
# the same bytes and show Failed Rd, and the disk shows as missing.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need ntfscat
FIX=$(cd "$(dirname "$0")/../.." && pwd)/../shared/fixtures/ldm-data.tar.xz
[ -f "$FIX" ] || { fail fixtures "$FIX is missing"; exit 0; }
mkdir -p "$T/fx"
tar -xJf "$FIX" -C "$T/fx" || { fail fixtures-unpack; exit 0; }

ldmtype() { case "$1" in mirrored) echo Mirror ;; spanned) echo Spanned ;; striped) echo Stripe ;; RAID5) echo RAID-5 ;; *) echo Simple ;; esac; }

for grp in 2003r2 2008r2; do
	M=$T/m$grp
	fixture_machine "$M" "$grp"
	D=()
	for f in "${imgs[@]}"; do D+=(-d "$f"); done
	G=$(ldmtool -d /dev/null scan "${imgs[@]}" 2>/dev/null | tr -d '[]" \n')
	"$GM" -m "$M" volume list >"$T/ours" 2>&1
	names=$(ldmtool "${D[@]}" show diskgroup "$G" 2>/dev/null | python3 -c "import json,sys; print(' '.join(json.load(sys.stdin)['volumes']))")
	[ -n "$names" ] || fail "$grp-ldmtool-reads-fixtures"
	for v in $names; do
		js=$(ldmtool "${D[@]}" show volume "$G" "$v" 2>/dev/null)
		want_type=$(ldmtype "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['type'])" "$js")")
		want_size=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['size'])" "$js")
		want_parts=$(python3 -c "import json,sys; print(' '.join(sorted(json.loads(sys.argv[1])['partitions'])))" "$js")
		line=$(grep "^  $v " "$T/ours")
		got_type=$(awk '{print $2}' <<<"$line")
		got_parts=$(awk '{for (i = 6; i <= NF; i++) print $i}' <<<"$line" | sort | tr '\n' ' ' | sed 's/ $//')
		if [ "$got_type" = "$want_type" ] && [ "$got_parts" = "$want_parts" ] && grep -q Healthy <<<"$line"; then
			pass "$grp-$v-agrees-with-ldmtool"
		else
			fail "$grp-$v-agrees-with-ldmtool" "ldmtool: $want_type $want_size $want_parts" "ours: $line"
		fi
		"$GM" -m "$M" volume export "$v" "$T/$grp-$v.img" >"$T/x" 2>&1
		got_size=$(($(stat -c %s "$T/$grp-$v.img") / 512))
		txt=$(ntfscat -f "$T/$grp-$v.img" test.txt 2>/dev/null)
		if [ "$got_size" = "$want_size" ] && [ "$txt" = "Filesystem test" ]; then
			pass "$grp-$v-export-is-the-ntfs-windows-made"
		else
			fail "$grp-$v-export-is-the-ntfs-windows-made" "size $got_size, want $want_size" "test.txt: $txt" "$(cat "$T/x")"
		fi
		# Concatenated layouts: the bytes at ldmtool's offsets, in order.
		case "$want_type" in Simple | Spanned | Mirror)
			: >"$T/want.img"
			first=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['partitions'][0])" "$js")
			plist=$first
			[ "$want_type" = Mirror ] || plist=$(python3 -c "import json,sys; print(' '.join(json.loads(sys.argv[1])['partitions']))" "$js")
			for p in $plist; do
				pj=$(ldmtool "${D[@]}" show partition "$G" "$p" 2>/dev/null)
				dk=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['disk'])" "$pj")
				st=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['start'])" "$pj")
				sz=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['size'])" "$pj")
				dj=$(ldmtool "${D[@]}" show disk "$G" "$dk" 2>/dev/null)
				dev=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['device'])" "$dj")
				ds=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['data-start'])" "$dj")
				dd if="$dev" bs=512 skip=$((ds + st)) count="$sz" status=none >>"$T/want.img"
			done
			if cmp -s "$T/want.img" "$T/$grp-$v.img"; then pass "$grp-$v-export-equals-ldmtool-offsets"; else fail "$grp-$v-export-equals-ldmtool-offsets"; fi
			;;
		esac
	done
done

# Degraded: one disk of the 2003 mirror and one of its RAID-5 pulled.
M=$T/m2003r2
slot_of() { grep -l . /dev/null >/dev/null; for s in $(seq 0 9); do f=$(sed -n "s/^disk$s = //p" "$M/machine.conf"); [ -n "$f" ] && cmp -s "$M/$f" "$T/fx/$1" && echo $s; done; }
ms=$(slot_of ldm-2003r2-mirrored-1.img)
rs=$(slot_of ldm-2003r2-raid5-1.img)
"$GM" -m "$M" machine pull-disk "$ms" >/dev/null
"$GM" -m "$M" machine pull-disk "$rs" >/dev/null
"$GM" -m "$M" volume list >"$T/deg"
"$GM" -m "$M" volume export Volume3 "$T/deg-mirror.img" >/dev/null 2>&1
"$GM" -m "$M" volume export Raid1 "$T/deg-raid5.img" >/dev/null 2>&1
if grep -q "Volume3 .*Mirror .*Failed Rd" "$T/deg" && cmp -s "$T/deg-mirror.img" "$T/2003r2-Volume3.img"; then
	pass "degraded-mirror-exports-same-bytes"
else
	fail "degraded-mirror-exports-same-bytes" "$(cat "$T/deg")"
fi
if grep -q "Raid1 .*RAID-5 .*Failed Rd" "$T/deg" && cmp -s "$T/deg-raid5.img" "$T/2003r2-Raid1.img"; then
	pass "degraded-raid5-rebuilds-same-bytes"
else
	fail "degraded-raid5-rebuilds-same-bytes" "$(cat "$T/deg")"
fi
printf 'list disk\nlist volume\n' | "$GM" -m "$M" diskpart >"$T/dp" 2>&1
if [ "$(grep -c 'Disk M[0-9]  *Missing' "$T/dp")" = 2 ] && grep -q "RAID-5 .*Failed Rd" "$T/dp" &&
	grep -q "Mirror .*Failed Rd" "$T/dp"; then
	pass "diskpart-shows-missing-disks"
else
	fail "diskpart-shows-missing-disks" "$(cat "$T/dp")"
fi
# A second mirror disk gone: nothing to read, said clearly.
ms2=$(slot_of ldm-2003r2-mirrored-2.img)
"$GM" -m "$M" machine pull-disk "$ms2" >/dev/null
out=$("$GM" -m "$M" volume export Volume3 "$T/none.img" 2>&1)
if [ $? != 0 ] && grep -q "no complete plex" <<<"$out" && [ ! -e "$T/none.img" ]; then pass "mirror-with-no-plex-refused"; else fail "mirror-with-no-plex-refused" "$out"; fi
# The GPT disks of the 2008 R2 group show Dyn and Gpt.
printf 'list disk\n' | "$GM" -m "$T/m2008r2" diskpart >"$T/dp2"
if [ "$(grep -c ' \*    \*$' "$T/dp2")" = 5 ] && [ "$(grep -c 'B   \*$' "$T/dp2")" = 4 ]; then
	pass "2008r2-dyn-and-gpt-columns"
else
	fail "2008r2-dyn-and-gpt-columns" "$(cat "$T/dp2")"
fi
