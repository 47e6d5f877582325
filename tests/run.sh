#!/usr/bin/env bash
# Runs every test of gptmirror and ends with the line "N passed, N failed".
#   GPTMIRROR_BIN  the binary under test (make check: the ASan/UBSan build)
#   UNIT_TESTS     the unit-test binary
#   FUZZ_REPLAYS   "name:replay-binary ..." (corpus in tests/fuzz/corpus-name)
#   TESTS          optional filter: only shell tests whose path contains it
#
# Each item (the unit binary, a fuzz replay, a shell script) counts its own
# PASS and FAIL lines, and on top of them one FAIL named after the item when
# it is killed by a signal, exits non-zero without a FAIL line of its own,
# prints no PASS at all, or leaves a sanitizer report behind (every process writes its AddressSanitizer and
# UBSan reports to a directory the runner checks after each item). So a
# script that dies half-way can never end the run green.
set -u
cd "$(dirname "$0")/.."
: "${GPTMIRROR_BIN:?set GPTMIRROR_BIN (run make check)}"
export GPTMIRROR_BIN

# The tests must not depend on the caller's locale, time zone or umask.
unset LANG LANGUAGE LC_CTYPE LC_MESSAGES LC_COLLATE LC_NUMERIC LC_TIME
export LC_ALL=C.UTF-8 TZ=UTC
umask 022
# sgdisk, fsck.fat, losetup and friends live in sbin, which a bare
# environment (env -i PATH=/usr/bin:/bin) leaves out.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

work=$(mktemp -d /tmp/gptmirror-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
log=$work/log
: >"$log"
# Items run TEST_JOBS at a time (default: one per CPU), each with its own
# output and sanitizer directory; each item's output is shown and logged
# whole when it ends.
jobs_max=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
ASAN_BASE=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_BASE=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Every process an item starts writes its AddressSanitizer and UBSan
# reports under the item's own directory.
run_item() { # DIR CMD...
	local dir=$1
	shift
	mkdir -p "$dir/san"
	ASAN_OPTIONS=$ASAN_BASE:log_path=$dir/san/asan UBSAN_OPTIONS=$UBSAN_BASE:log_path=$dir/san/ubsan \
		"$@" </dev/null >"$dir/out" 2>&1
	echo $? >"$dir/rc"
}

# An item that failed a check of its own and exits non-zero has said so
# already; one that exits non-zero without a FAIL line, is killed, or
# passes nothing gets a FAIL of its own.
finish_item() { # NAME DIR
	local name=$1 dir=$2 rc why=
	rc=$(cat "$dir/rc" 2>/dev/null || echo 255)
	tee -a "$log" <"$dir/out"
	if [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif grep -q '^FAIL: ' "$dir/out"; then
		:
	elif [ "$rc" -ne 0 ]; then
		why="exited with status $rc"
	elif ! grep -q '^PASS: ' "$dir/out"; then
		why="printed no PASS"
	fi
	if compgen -G "$dir/san/*" >/dev/null; then
		why="${why:+$why; }left a sanitizer report"
		head -30 "$dir"/san/* | sed 's/^/    /'
	fi
	[ -z "$why" ] || echo "FAIL: $name ($why)" | tee -a "$log"
	rm -rf "$dir"
}

declare -A running=() # pid -> item number
names=()
reap() { # waits for one item to end and reports it
	local pid
	wait -n -p pid
	finish_item "${names[${running[$pid]}]}" "$work/item${running[$pid]}"
	unset "running[$pid]"
}
# item NAME CMD...: starts one test item (waiting for a free slot first).
item() {
	local name=$1 k=${#names[@]}
	shift
	while [ "${#running[@]}" -ge "$jobs_max" ]; do reap; done
	names+=("$name")
	run_item "$work/item$k" "$@" &
	running[$!]=$k
}

replay() {
	local out
	if out=$("$2" "tests/fuzz/corpus-$1" 2>&1); then
		echo "PASS: fuzz/replay-$1 ($out)"
	else
		echo "FAIL: fuzz/replay-$1"
		echo "$out" | tail -20
		return 1
	fi
}

if [ -n "${UNIT_TESTS:-}" ] && [ -z "${TESTS:-}" ]; then
	item unit "$UNIT_TESTS"
fi
if [ -z "${TESTS:-}" ]; then
	for fr in ${FUZZ_REPLAYS:-}; do
		item "fuzz/replay-${fr%%:*}" replay "${fr%%:*}" "${fr#*:}"
	done
fi
for t in tests/meta/*.sh tests/scenarios/*.sh tests/interop/*.sh; do
	[ -e "$t" ] || continue
	case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
	n=${t#tests/}
	item "${n%.sh}" bash "$t"
done
while [ "${#running[@]}" -gt 0 ]; do reap; done
passed=$(grep -c '^PASS: ' "$log")
failed=$(grep -c '^FAIL: ' "$log")
if [ "$failed" -gt 0 ]; then
	echo
	echo "Failed:"
	grep '^FAIL: ' "$log" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
