#!/usr/bin/env bash
# The mirror's copy in the background, as Windows resynchronises: add disk=1
# returns as soon as the plex is recorded; list volume shows Rebuild (detail
# volume how far), then Healthy; files written during the rebuild are on
# each plex alone afterwards (read by mtools where ldmtool puts the plexes).
# REBUILD_ROUNDS rounds of that (default 20), on a 2 GiB volume with 768 MiB
# of data to copy. Then: a killed copy is started again by the next command
# and ends Healthy; a layout change during the copy (a partition made on a
# third disk) is followed; volume resync and machine boot take a running
# copy over; add disk=1 wait blocks; and the copy itself (volume resync
# --worker) is killed at every one of its writes: the volume is never
# Healthy while its plexes differ, and volume resync ends with equal ones.
. "$(dirname "$0")/../lib.sh"
need ldmtool
need mtype
unset GPTMIRROR_REBUILD
export MTOOLS_SKIP_CHECK=1
ROUNDS=${REBUILD_ROUNDS:-20}

# state: Rebuild, Healthy, ... of Volume1 as volume list says it.
state() { "$GM" -m "$M" volume list 2>/dev/null | awk '$1 == "Volume1" { print $5 }'; }
# Waits until Volume1 is not Rebuild (each volume list also polls the copy).
wait_done() {
	local i
	for i in $(seq 1 600); do
		[ "$(state)" != Rebuild ] && return 0
		sleep 0.2
	done
	return 1
}
# same_plexes PLACES: the two plexes at the places plex_places gave hold
# the same bytes (imgtool cmprange reads no hole that both have).
same_plexes() {
	local a ao n b bo
	{ read -r a ao n && read -r b bo _; } <"$1" && "$IMGTOOL" cmprange "$a" "$ao" "$b" "$bo" "$n"
}
# files_on_each_plex DIR HOSTDIR PLACES: every file of HOSTDIR is
# C:\DIR\name on each plex read alone (mtools at the plex's offset in its
# image).
files_on_each_plex() {
	local img off f n=0 _sz
	while read -r img off _sz; do
		for f in "$2"/*; do
			mtype -i "$img@@$off" "::/$1/$(basename "$f")" >"$T/.got" 2>/dev/null &&
				cmp -s "$T/.got" "$f" || { echo "$1/$(basename "$f") differs on $img@$off"; return 1; }
		done
		n=$((n + 1))
	done <"$3"
	[ "$n" = 2 ] || { echo "ldmtool shows $n plexes"; return 1; }
}

# A 2003 machine, C: FAT32 on disk 0 (2061 MB), both disks dynamic.
M=$T/m
"$GM" machine create "$M" --disk 2300M --disk 2300M --profile 2003 --install --fs fat32 >/dev/null ||
	fail install "machine create failed"
dp "select disk 1" "convert gpt" "select disk 1" "convert dynamic" "select disk 0" "convert dynamic"
"$GM" -m "$M" machine reboot >/dev/null 2>&1
# Where C: (a simple volume yet) starts in disk 0's image, by ldmtool.
C0=$(plex_places Volume1 | awk 'NR == 1 { print $2 }')
# 768 MiB of data in C:'s free clusters (from 1 GiB into the volume), so
# that the copy takes a while.
yes gptmirror-rebuild-data | head -c 768M |
	dd of="$M/disk0.img" bs=1M seek=$(((C0 + (1 << 30)) / 1048576)) conv=notrunc status=none
save() { rm -rf "$T/$1"; cp -r --sparse=always "$M" "$T/$1"; }
restore() { rm -rf "$M"; cp -r --sparse=always "$T/$1" "$M"; }
save base

# --- add disk=1 in the background, files written during the rebuild ----------
good=0 overlapped=0 why=
for r in $(seq 1 "$ROUNDS"); do
	restore base
	mkdir -p "$T/in$r"
	for k in 1 2 3; do det_bytes $((k * 300000 + r)) "$r$k" >"$T/in$r/F$k.BIN"; done
	printf 'select volume c\nadd disk=1\nlist volume\ndetail volume\n' | "$GM" -m "$M" diskpart >"$T/out" 2>&1
	rc=$?
	if [ "$rc" != 0 ] || ! grep -q "DiskPart succeeded in adding a mirror to the volume." "$T/out" ||
		! grep -q "Mirror .*Rebuild" "$T/out" || ! grep -qE "^Rebuild +: +[0-9]+ %" "$T/out"; then
		why="round $r: add disk: $(cat "$T/out")"
		break
	fi
	# Written while the copy runs: the copy is still at it afterwards.
	"$GM" -m "$M" xcopy "$T/in$r" "c:\\R$r\\" /y >"$T/x" 2>&1 || { why="round $r: xcopy: $(cat "$T/x")"; break; }
	"$GM" -m "$M" machine status | grep -q "^Rebuild: Volume1, .* in the background" &&
		overlapped=$((overlapped + 1))
	wait_done || { why="round $r: still Rebuild after 120 s"; break; }
	[ "$(state)" = Healthy ] || { why="round $r: the volume is $(state)"; break; }
	# ldmtool's view of the mirror (the same places every round).
	[ -s "$T/rplaces" ] || plex_places Volume1 >"$T/rplaces"
	same_plexes "$T/rplaces" >"$T/pa" 2>&1 || { why="round $r: $(cat "$T/pa")"; break; }
	files_on_each_plex "R$r" "$T/in$r" "$T/rplaces" >"$T/fe" 2>&1 || { why="round $r: $(cat "$T/fe")"; break; }
	[ ! -e "$M/.rebuild" ] || { why="round $r: .rebuild left behind"; break; }
	good=$((good + 1))
done
if [ "$good" = "$ROUNDS" ] && [ "$overlapped" = "$ROUNDS" ]; then
	pass "rebuild-then-healthy-files-written-during-it-on-each-plex ($good rounds in a row, each write during the copy)"
else
	fail "rebuild-then-healthy-files-written-during-it-on-each-plex" \
		"$good of $ROUNDS rounds good, $overlapped written during the copy" "$why"
fi

# --- a killed copy goes on from its checkpoint --------------------------------
restore base
printf 'select volume c\nadd disk=1\n' | "$GM" -m "$M" diskpart >/dev/null 2>&1
pid=$("$GM" -m "$M" machine status | sed -n 's/^Rebuild: .* (process \([0-9]*\))$/\1/p')
sleep 0.5
[ -n "$pid" ] && kill -9 "$pid"
sleep 0.2
st=$("$GM" -m "$M" machine status 2>&1 | grep "^Rebuild:")
# volume list, the next command, started it again (machine status above
# was the first: it says so).
if [ -n "$pid" ] && wait_done && [ "$(state)" = Healthy ] && same_plexes "$T/rplaces" >"$T/pa" 2>&1; then
	pass "killed-copy-resumed-by-the-next-command"
else
	fail "killed-copy-resumed-by-the-next-command" "pid '$pid' status '$st' state $(state)" "$(cat "$T/pa")"
fi

# --- the layout changes under the copy: it reads the disks again ---------------
restore base
"$GM" -m "$M" machine insert-disk 2 --size 200M >/dev/null
printf 'select volume c\nadd disk=1\n' | "$GM" -m "$M" diskpart >/dev/null 2>&1
dp "select disk 2" "convert gpt" "create partition primary size=16"
during=$("$GM" -m "$M" machine status | grep -c "^Rebuild: Volume1, .* in the background")
if [ "$RC" = 0 ] && [ "$during" = 1 ] && wait_done && [ "$(state)" = Healthy ] &&
	same_plexes "$T/rplaces" >"$T/pa" 2>&1 && sgdisk_clean "$M/disk2.img"; then
	pass "partition-made-during-the-copy-copy-goes-on"
else
	fail "partition-made-during-the-copy-copy-goes-on" "rc $RC during $during state $(state)" "$(cat "$T/out" "$T/pa")"
fi

# --- volume resync and machine boot take a running copy over ------------------
restore base
printf 'select volume c\nadd disk=1\n' | "$GM" -m "$M" diskpart >/dev/null 2>&1
"$GM" -m "$M" volume resync >"$T/r" 2>&1
rrc=$?
if [ "$rrc" = 0 ] && grep -q "1 mirror plex resynchronised" "$T/r" && [ "$(state)" = Healthy ] &&
	same_plexes "$T/rplaces" >"$T/pa" 2>&1 && ! "$GM" -m "$M" machine status | grep -q "^Rebuild:"; then
	pass "volume-resync-takes-the-copy-over"
else
	fail "volume-resync-takes-the-copy-over" "rc $rrc" "$(cat "$T/r" "$T/pa")"
fi
restore base
printf 'select volume c\nadd disk=1\n' | "$GM" -m "$M" diskpart >/dev/null 2>&1
"$GM" -m "$M" machine boot >"$T/b" 2>&1
brc=$?
if [ "$brc" = 0 ] && grep -q "finishing the mirror's background copy before the boot" "$T/b" &&
	grep -q "^Booted Boot0000 " "$T/b" && [ "$(state)" = Healthy ] && same_plexes "$T/rplaces" >"$T/pa" 2>&1; then
	pass "machine-boot-finishes-the-copy-first"
else
	fail "machine-boot-finishes-the-copy-first" "rc $brc" "$(cat "$T/b" "$T/pa")"
fi

# --- add disk=1 wait blocks until the copy is done -----------------------------
restore base
printf 'select volume c\nadd disk=1 wait\nlist volume\n' | "$GM" -m "$M" diskpart >"$T/out" 2>&1
if grep -q "Mirror .*Healthy" "$T/out" && [ ! -e "$M/.rebuild" ] && same_plexes "$T/rplaces" >"$T/pa" 2>&1; then
	pass "add-disk-wait-blocks"
else
	fail "add-disk-wait-blocks" "$(cat "$T/out" "$T/pa")"
fi

# --- the copy killed at every one of its writes ---------------------------------
# A smaller volume (100 MB, 32 MiB of data) for the campaign. The plex is
# recorded by add disk=1 wait cut off just before its copy's first write.
M=$T/small
dynamic_pair 100
SC=$(plex_places Volume1 | awk 'NR == 1 { print $2 }')
yes gptmirror-crash-data | head -c 32M |
	dd of="$M/disk0.img" bs=1M seek=$(((SC + (48 << 20)) / 1048576)) conv=notrunc status=none
# The plex recorded and no copy begun: add disk=1 (the background form)
# cut off right after its last write, before it starts the copy.
printf 'select volume c\nadd disk=1\n' >"$T/add"
cp -r --sparse=always "$M" "$T/count"
rec=$(GPTMIRROR_IOSTATS=1 "$GM" -m "$T/count" diskpart <"$T/add" 2>&1 >/dev/null | sed -n 's/.* in \([0-9]*\) writes$/\1/p' | tail -1)
"$GM" -m "$T/count" volume resync >/dev/null 2>&1 # its copy, taken over and finished
rm -rf "$T/count"
crashed "$rec" "$GM" -m "$M" diskpart <"$T/add" >/dev/null 2>&1 || fail "record-the-plex" "rec=$rec: the hook did not fire"
save recorded
# Where ldmtool puts the plexes, read while every database copy agrees
# (between two disks' database writes ldmtool may refuse them).
plex_places Volume1 >"$T/places"
W=$(writes_of volume resync --worker)
tried=0 fired=0 lied=0 unhealed=0 detail=
for k in $(seq 1 "${W:-0}"); do
	restore recorded
	tried=$((tried + 1))
	crashed "$k" "$GM" -m "$M" volume resync --worker >/dev/null 2>&1 && fired=$((fired + 1))
	# The next command: never Healthy with plexes that differ. (volume
	# list polls: a whole copy is marked healthy, a cut-off one started
	# again in the background.)
	s=$(state)
	if [ "$s" = Healthy ] && ! same_plexes "$T/places" >/dev/null 2>&1; then
		lied=$((lied + 1))
		detail="$detail lied@$k"
	fi
	"$GM" -m "$M" volume resync >/dev/null 2>&1
	if [ "$(state)" != Healthy ] || ! same_plexes "$T/places" >/dev/null 2>&1 || [ -e "$M/.rebuild" ]; then
		unhealed=$((unhealed + 1))
		detail="$detail unhealed@$k"
	fi
done
echo "crash points in the background copy: $tried tried, $fired fired, $lied Healthy with differing plexes, $unhealed not healed by volume resync"
if [ "$tried" -gt 5 ] && [ "$fired" = "$tried" ] && [ "$lied" = 0 ] && [ "$unhealed" = 0 ]; then
	pass "copy-crashed-at-every-write ($tried points)"
else
	fail "copy-crashed-at-every-write" "W=$W rec=$rec tried $tried fired $fired lied $lied unhealed $unhealed:$detail"
fi
