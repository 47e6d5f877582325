#!/usr/bin/env bash
# Runs every test of gptmirror and ends with the line "N passed, N failed".
#   GPTMIRROR_BIN  the binary under test (make check: the ASan/UBSan build)
#   UNIT_TESTS     the unit-test binary
#   FUZZ_REPLAYS   "name:replay-binary ..." (corpus in tests/fuzz/corpus-name)
#   TESTS          optional filter: only shell tests whose path contains it
set -u
cd "$(dirname "$0")/.."
: "${GPTMIRROR_BIN:?set GPTMIRROR_BIN (run make check)}"
export GPTMIRROR_BIN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ -n "${UNIT_TESTS:-}" ] && [ -z "${TESTS:-}" ]; then
	"$UNIT_TESTS" 2>&1 | tee -a "$log"
fi
if [ -z "${TESTS:-}" ]; then
	for fr in ${FUZZ_REPLAYS:-}; do
		name=${fr%%:*} bin=${fr#*:}
		if out=$("$bin" "tests/fuzz/corpus-$name" 2>&1); then
			echo "PASS: fuzz/replay-$name ($out)" | tee -a "$log"
		else
			echo "FAIL: fuzz/replay-$name" | tee -a "$log"
			echo "$out" | tail -20
		fi
	done
fi
for t in tests/scenarios/*.sh tests/interop/*.sh; do
	case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
	bash "$t" 2>&1 | tee -a "$log"
done
passed=$(grep -c '^PASS: ' "$log")
failed=$(grep -c '^FAIL: ' "$log")
if [ "$failed" -gt 0 ]; then
	echo
	echo "Failed:"
	grep '^FAIL: ' "$log" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
