#!/usr/bin/env bash
# KB 814070 replayed literally: every command the KB types, in its order,
# with its own IDs and drive letters, on a fresh machine (two 10 GB disks,
# Windows Server 2003 installed on disk 0). The commands and the KB's
# answers are read from the KB itself (scripts/kb-extract.awk); the steps
# the KB does by hand (restart, pull the failed disk, run Setup, pick a
# boot menu entry) are done by the machine commands that stand for them.
#
# Each answer is compared with the KB's, line by line, after folding
# spaces and the rulers under table heads, and with GUIDs and volume
# serial numbers masked. Every difference must be listed in the README
# under "Where the KB contradicts itself" (```kbdiff blocks), hunk for
# hunk, and every hunk listed there must still be met. The KB's GUIDs in
# commands are replaced by ours: each is learnt from the bootcfg /list
# where the KB shows it.
#
#   scripts/kb-replay.sh [GPTMIRROR-BINARY]   (make kb)
#   KB=seed.md README=README.md DEMO_DIR=dir  override the defaults
# The transcript goes to stdout; exit status 0 when every answer is the
# KB's or a listed contradiction, and every oracle agrees.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
GM=${1:-$HERE/../bin/gptmirror}
[ "$GM" = --verdict ] || GM=$(cd "$(dirname "$GM")" && pwd)/$(basename "$GM")
KB=${KB:-$HERE/../../shared/seed/000_565f4e7e6ef220e7.txt}
README=${README:-$HERE/../README.md}
export GPTMIRROR_LOADER=${GPTMIRROR_LOADER:-$(dirname -- "$GM")/gptmirror-loader.efi}
export MTOOLS_SKIP_CHECK=1
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
for f in "$KB" "$README"; do
	[ -r "$f" ] || { echo "kb-replay: cannot read $f" >&2; exit 2; }
done
# The README's list: hunks of "- KB line" / "+ our line", separated by
# blank lines, in ```kbdiff fences; "= KB text => typed text" lines are
# the KB's typos in commands, and what the replay types instead.
read_list() { # README -> $W/listed (hunks), $W/typos
	awk '/^```kbdiff$/ { f = 1; next } /^```$/ { if (f) print ""; f = 0; next } f' "$1" >"$W/listed.raw"
	grep '^= ' "$W/listed.raw" >"$W/typos" || true
	awk 'BEGIN { RS = ""; ORS = "\n\n" } { gsub(/\n?= [^\n]*/, ""); if ($0 != "") print }' "$W/listed.raw" >"$W/listed"
}
# verdict: every hunk met ($W/met) is listed, and every hunk listed is met.
verdict() {
	local unlisted stale
	unlisted=$(awk -v listed="$W/listed" 'BEGIN { RS = ""; while ((getline h < listed) > 0) L[h] = 1 }
		!($0 in L) { n++ } END { print n + 0 }' "$W/met")
	stale=$(awk -v met="$W/met" 'BEGIN { RS = ""; while ((getline h < met) > 0) U[h] = 1 }
		!($0 in U) { n++; printf "%s\n\n", $0 > "/dev/stderr" } END { print n + 0 }' "$W/listed" 2>"$W/stale")
	echo "   hunks that differ: $(awk 'BEGIN { RS = "" } END { print NR }' "$W/met"), of them not listed in the README: $unlisted"
	echo "   hunks listed in the README that the replay no longer meets: $stale"
	[ "$stale" = 0 ] || sed 's/^/     /' "$W/stale"
	[ "$unlisted" = 0 ] && [ "$stale" = 0 ]
}
# --verdict DIR: the verdict on a replay kept in DIR (DEMO_DIR) against
# the README as it is now, without replaying.
if [ "${1:-}" = --verdict ]; then
	W=${2:?--verdict DIR}
	[ -f "$W/met" ] || { echo "kb-replay: no replay kept in $W" >&2; exit 2; }
	read_list "$README"
	verdict
	exit
fi
workdir gptmirror-kb
M=$W/server
bad=0          # actions or oracles that failed
matched=0      # KB answer lines met exactly
compared=0     # KB answer lines compared
declare -A GUIDMAP # KB GUID -> ours

say() { printf '%s\n' "$*"; }
problem() { say "   PROBLEM: $*"; bad=$((bad + 1)); }

# The README's list: hunks of "- KB line" / "+ our line", separated by
# blank lines, in ```kbdiff fences; "= KB text => typed text" lines are
# the KB's typos in commands, and what the replay types instead.
read_list "$README"
: >"$W/met"

# The comparison's folding: spaces, table rulers, GUIDs, serials.
fold() {
	awk 'BEGIN {
		# mawk has no {n} intervals: the patterns are spelled out.
		h = "[0-9a-fA-F]"; h4 = h h h h; H = "[0-9A-F]"
		guid = "\\{" h4 h4 "-" h4 "-" h4 "-" h4 "-" h4 h4 h4 "\\}"
		serial = "^Volume Serial Number is " H H H H "-" H H H H "$"
	}
	{
		gsub(/[ \t]+/, " "); sub(/^ /, ""); sub(/ $/, "")
		if ($0 == "" || $0 ~ /^[- ]+$/) next
		sub(/^\*Partition/, "* Partition")
		gsub(guid, "{GUID}")
		sub(serial, "Volume Serial Number is XXXX-XXXX")
		print
	}'
}

# compare KB-FILE OURS-FILE: the KB's answer against ours; the differing
# hunks are printed under the answer and looked up in the README's list.
compare() {
	fold <"$1" >"$W/a"
	fold <"$2" >"$W/b"
	local n
	n=$(wc -l <"$W/a")
	# diff's hunks, each as "- KB line" then "+ our line" lines.
	diff "$W/a" "$W/b" | awk '
		/^[0-9]/ { if (h != "") print h; h = ""; next }
		/^</ { h = h "- " substr($0, 3) "\n"; next }
		/^>/ { h = h "+ " substr($0, 3) "\n"; next }
		END { if (h != "") print h }' | awk 'BEGIN { RS = ""; ORS = "\n\n" } { print }' >"$W/hunks"
	local kbmiss
	kbmiss=$(grep -c '^- ' "$W/hunks")
	matched=$((matched + n - kbmiss))
	compared=$((compared + n))
	[ -s "$W/hunks" ] || return 0
	cat "$W/hunks" >>"$W/met"
	awk -v listed="$W/listed" '
		BEGIN { RS = ""; while ((getline h < listed) > 0) L[h] = 1; close(listed) }
		{
			if ($0 in L) print "   KB differs (listed in the README):"
			else print "   KB DIFFERS, NOT LISTED in the README:"
			n = split($0, l, "\n")
			for (i = 1; i <= n; i++) print "     " l[i]
		}' "$W/hunks"
}

# learn KB-FILE OURS-FILE: after a bootcfg /list, each KB GUID is ours of
# the partition of the same name and rank among those of that name.
learn() {
	local k v
	while read -r k v; do GUIDMAP[$k]=$v; done < <(
		awk 'FNR == 1 { f++ } /Partition GUID:/ { g = $NF } /Partition name:/ {
			sub(/.*Partition name: */, ""); r = ++seen[f, $0]
			if (f == 1) kb[$0, r] = g; else if (($0, r) in kb) print tolower(kb[$0, r]), g }' "$1" "$2")
}

# typed KB-COMMAND: the command as the replay types it: the README's typo
# fixes, then our GUIDs for the KB's.
typed() {
	local c=$1 from to k
	while IFS= read -r line; do
		from=${line#= }; from=${from% => *}; to=${line##* => }
		c=${c//"$from"/"$to"}
	done <"$W/typos"
	for k in "${!GUIDMAP[@]}"; do c=${c//"$k"/"${GUIDMAP[$k]}"}; done
	printf '%s' "$c"
}

# words STRING: cmd.exe's splitting into ARGS: spaces, and double quotes
# that group (a backslash is a path separator, not an escape).
words() {
	local s=$1 w="" q=0 have=0 c i
	ARGS=()
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		if [ "$c" = '"' ]; then q=$((1 - q)); have=1
		elif [ "$c" = ' ' ] && [ $q = 0 ]; then
			[ $have = 1 ] && ARGS+=("$w")
			w="" have=0
		else w+=$c; have=1; fi
	done
	[ $have = 1 ] && ARGS+=("$w")
}

# The pending diskpart session: the KB's commands and their answers.
DPN=0
# dp_add COMMAND [-]: "-" when the KB shows no answer to compare with.
dp_add() {
	DPC[DPN]=$1
	rm -f "$W/exp.$DPN"
	[ "${2:-}" = - ] || : >"$W/exp.$DPN"
	DPN=$((DPN + 1))
}
dp_flush() {
	[ "$DPN" -gt 0 ] || return 0
	local i cmds=() last rc
	for ((i = 0; i < DPN; i++)); do cmds+=("${DPC[i]}"); done
	last=${DPC[DPN - 1],,}
	[ "$last" = exit ] || cmds+=("exit")
	printf '%s\n' "${cmds[@]}" | "$GM" -m "$M" diskpart >"$W/dpout" 2>&1
	rc=$?
	# Our answers, split at diskpart's echo of each command.
	awk -v n="$DPN" -v dir="$W" '
		/^DISKPART> / { k++; f = dir "/got." (k - 1); printf "" > f; next }
		k >= 1 && k <= n { print >> (dir "/got." (k - 1)) }' "$W/dpout"
	for ((i = 0; i < DPN; i++)); do
		say "DISKPART> ${DPC[i]}"
		[ -f "$W/got.$i" ] || : >"$W/got.$i"
		sed -e '/./,$!d' "$W/got.$i" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
		if [ -f "$W/exp.$i" ]; then compare "$W/exp.$i" "$W/got.$i"
		else say "   (the KB shows no answer here)"; fi
		rm -f "$W/got.$i" "$W/exp.$i"
	done
	[ "$last" = exit ] || say "   (replay: the session ends here; its exit is not the KB's)"
	[ "$rc" = 0 ] || problem "diskpart exited $rc"
	DPN=0
}

# run_c KB-COMMAND KB-ANSWER-FILE: a command at the C:\> prompt.
run_c() {
	local kbcmd=$1 exp=$2 t rc
	t=$(typed "$kbcmd")
	say "C:\\> $kbcmd"
	[ "$t" = "$kbcmd" ] || say "   (replay types: $t)"
	words "$t"
	"$GM" -m "$M" "${ARGS[@]}" >"$W/cout" 2>&1
	rc=$?
	sed -e '/./,$!d' "$W/cout"
	compare "$exp" "$W/cout"
	[ "$rc" = 0 ] || problem "exit status $rc"
	case "$t" in "bootcfg /list "*) learn "$exp" "$W/cout" ;; esac
}

machine() { # a step done by hand in the KB
	local a="$*"
	say "   (replay: gptmirror machine ${a//"$W"/<W>})"
	"$GM" -m "$M" machine "$@" >"$W/mout" 2>&1
	local rc=$?
	sed 's/^/   | /' "$W/mout"
	return $rc
}
entry_id() { # NAME: the bootcfg ID of the entry named NAME
	"$GM" -m "$M" bootcfg | awk -v n="$1" '/^Boot entry ID:/ { id = $NF }
		/^OS Friendly Name:/ { sub(/^OS Friendly Name: */, ""); if ($0 == n) { print id; exit } }'
}
boot_entry() { # NAME [expect-fail]
	local id
	id=$(entry_id "$1")
	[ -n "$id" ] || { problem "no boot entry named \"$1\""; return 1; }
	say "   (replay: the boot menu's \"$1\", bootcfg ID $id)"
	if machine boot --entry "$id"; then
		[ -z "${2:-}" ] || problem "\"$1\" booted; the KB says it fails"
	else
		[ -n "${2:-}" ] || problem "\"$1\" did not boot"
	fi
}
wait_healthy() {
	local i
	say "   (replay: list volume, repeated until no volume is in Rebuild)"
	for i in $(seq 1 900); do
		printf 'list volume\n' | "$GM" -m "$M" diskpart 2>&1 | grep -q Rebuild || return 0
		sleep 1
	done
	problem "the volume stayed in Rebuild"
}
oracles() { # the independent tools' word on the machine's disks
	local img ok=0 d first
	for img in "$M"/disk*.img; do
		if sgdisk_clean "$img"; then say "   sgdisk -v $(basename "$img"): No problems found"
		else problem "sgdisk -v $(basename "$img"): $(sgdisk -v "$img" 2>&1)"; fi
	done
	for d in 0 1; do
		first=$(sgdisk -p "$M/disk$d.img" 2>/dev/null | awk '$6 == "EF00" { print $2; exit }')
		[ -n "$first" ] || continue
		dd if="$M/disk$d.img" of="$W/esp.img" bs=512 skip="$first" count=417792 status=none
		if fsck.fat -n "$W/esp.img" >/dev/null 2>&1; then say "   fsck.fat -n disk $d's ESP: clean"
		else problem "fsck.fat -n disk $d's ESP: $(fsck.fat -n "$W/esp.img" 2>&1 | tail -3)"; fi
	done
	if command -v ldmtool >/dev/null; then
		out=$(ldmtool -d /dev/null scan "$M"/disk*.img 2>/dev/null | tr -d '[]" \n')
		if [ -n "$out" ]; then say "   ldmtool: one disk group, $out"
		else problem "ldmtool sees no disk group"; fi
	fi
}

# step SECTION N: what the replay does for a step the KB does by hand;
# has_step KEY: whether it does anything for it.
has_step() { grep -qF "	\"$1\")" "$0"; }
QUOTE=$W/quote
: >"$QUOTE"
step() {
	case "$1|$2" in
	"Convert the primary and shadow drives to Dynamic|2")
		machine reboot || problem "machine reboot" ;;
	"Establish a mirror from the boot drive to the shadow drive|2")
		wait_healthy ;;
	"Test-boot the shadow drive with the new boot entries|1")
		machine reboot || problem "machine reboot" ;;
	"Test-boot the shadow drive with the new boot entries|2")
		boot_entry "Boot Mirror C: - secondary plex Cloned_Entry"
		say "   (replay: and again with disk 0 removed, as the KB suggests)"
		machine pull-disk 0 || problem "pull-disk 0"
		kept=$(sed -n 's/.*the image is kept as \(.*\))\.$/\1/p' "$W/mout")
		boot_entry "Boot Mirror C: - secondary plex Cloned_Entry"
		machine insert-disk 0 --image "$M/$kept" || problem "insert-disk 0"
		boot_entry "Windows 2003 Server, Enterprise" ;;
	"Recover a shadow boot drive with missing or damaged EFI partition|1")
		# The failure the KB quotes first: disk 0 dies, and its
		# secondary-plex entry's loader (on disk 0's ESP) is not found.
		machine pull-disk 0 || problem "pull-disk 0"
		id=$(entry_id "Boot Mirror C: - secondary plex")
		say "   (replay: the boot menu's \"Boot Mirror C: - secondary plex\", bootcfg ID $id)"
		"$GM" -m "$M" machine boot --entry "$id" >"$W/mout" 2>&1 && problem "it booted"
		sed 's/^/   | /' "$W/mout"
		say "   (the KB's message, compared with the boot's)"
		compare "$QUOTE" "$W/mout"
		machine insert-disk 0 --size 10G || problem "insert-disk 0" ;;
	"Recover a shadow boot drive with missing or damaged EFI partition|4")
		say "   (replay: gptmirror setup --disk 0: Setup's partitions, Windows, its boot entry)"
		"$GM" -m "$M" setup --disk 0 >"$W/mout" 2>&1 || problem "setup --disk 0"
		sed 's/^/   | /' "$W/mout" ;;
	"Recover a shadow boot drive with missing or damaged EFI partition|12")
		boot_entry "Original Shadow drive" ;;
	"Re-establish the primary boot drive mirror|6")
		dp_flush
		wait_healthy ;;
	"Re-establish the primary boot drive mirror|8")
		# "the remaining boot entries ... are all valid boot entries":
		# each entry with a loader is booted from the menu.
		"$GM" -m "$M" bootcfg | awk '/^Boot entry ID:/ { id = $NF } /^BootFilePath:/ { print id }' >"$W/ids"
		echo "Every boot entry left boots." >"$W/claim"
		: >"$W/found"
		while read -r id; do
			say "   (replay: boot entry ID $id)"
			if ! machine boot --entry "$id"; then
				name=$("$GM" -m "$M" bootcfg | awk -v id="$id" '/^Boot entry ID:/ { i = $NF }
					i == id && /^OS Friendly Name:/ { sub(/^OS Friendly Name: */, ""); print; exit }')
				echo "Boot entry ID $id ($name) does not boot." >>"$W/found"
			fi
		done <"$W/ids"
		[ -s "$W/found" ] || cp "$W/claim" "$W/found"
		say "   (the KB's word on the entries left, against the boots)"
		compare "$W/claim" "$W/found"
		oracles ;;
	esac
}

say "== A fresh machine: two 10 GB disks, Windows Server 2003 installed on disk 0"
say "   (replay: gptmirror machine create server --disk 10G --disk 10G --profile 2003 --install)"
"$GM" machine create "$M" --disk 10G --disk 10G --profile 2003 --install >"$W/mout" 2>&1 || problem "machine create"
sed "s|$W|<W>|g; s/^/   | /" "$W/mout"
awk -f "$HERE/kb-extract.awk" "$KB" >"$W/kb.rec" || exit 2
mapfile -t REC <"$W/kb.rec"
section=""
for ((r = 0; r < ${#REC[@]}; r++)); do
	rec=${REC[r]}
	kind=${rec%% *}
	body=${rec#? }
	case "$kind" in
	H)
		dp_flush
		section=$body
		say ""
		say "== $section" ;;
	S)
		n=${body%% *}
		txt=${body#* }
		[ "${#txt}" -le 72 ] || txt="${txt:0:69}..."
		say "-- $n. $txt"
		# A step done by hand ends the diskpart session before it
		# (a wait ends it inside the step).
		if has_step "$section|$n"; then
			[ "$section|$n" = "Re-establish the primary boot drive mirror|6" ] || dp_flush
			step "$section" "$n"
		fi ;;
	I)
		say "-- $body"
		if [ "$body" = "Repeat the steps for the S volume." ]; then
			dp_add "Select volume S" -
			dp_add "Remove" -
		fi ;;
	C)
		p=${body%%$'\t'*}
		c=${body#*$'\t'}
		if [ "$p" = DISKPART ]; then
			dp_add "$c"
			exp=$W/exp.$((DPN - 1))
		else
			dp_flush
			exp=$W/cexp
			: >"$exp"
		fi
		# The KB's answer: the O records that follow.
		while [ $((r + 1)) -lt ${#REC[@]} ] && [ "${REC[r + 1]:0:2}" = "O " ]; do
			r=$((r + 1))
			printf '%s\n' "${REC[r]:2}" >>"$exp"
		done
		[ "$p" = DISKPART ] || run_c "$c" "$exp" ;;
	Q) printf '%s\n' "$body" >>"$QUOTE" ;;
	esac
done
dp_flush

say ""
say "== Replay summary"
say "   KB answer lines compared: $compared, met exactly: $matched"
verdict
ok=$?
say "   actions and oracles that failed: $bad"
[ "$ok" = 0 ] && [ "$bad" = 0 ]
