#!/usr/bin/env bash
# The runner itself: a scratch copy of tests/run.sh over probe items proves
# that a script dying half-way, a unit binary killed by a signal, a script
# that prints no PASS and a sanitizer report each fail the run, by name, in
# its final line and in its exit status; and that an all-good run passes.
source "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# scratch NAME: a tree with the runner and one good scenario.
scratch() {
	S=$T/$1
	mkdir -p "$S/tests/scenarios" "$S/tests/interop"
	cp "$ROOT/tests/run.sh" "$S/tests/"
	printf '%s\n' 'echo "PASS: probe/good"' >"$S/tests/scenarios/good.sh"
}
# runs RUNNER-ENV...: runs the scratch runner; output in $T/run.out, rc in RC.
runs() {
	(cd "$S" && env -u UNIT_TESTS -u FUZZ_REPLAYS -u TESTS -u GOLDEN_UPDATE GPTMIRROR_BIN=/bin/true "$@" bash tests/run.sh) >"$T/run.out" 2>&1
	RC=$?
}
# expect NAME PASSED FAILED WHO: the last line, the exit status and the
# FAIL line naming WHO.
expect() {
	local last ok=1
	last=$(tail -1 "$T/run.out")
	[ "$last" = "$2 passed, $3 failed" ] || ok=0
	if [ "$3" = 0 ]; then [ "$RC" = 0 ] || ok=0; else [ "$RC" != 0 ] || ok=0; fi
	[ -z "$4" ] || grep -qF "FAIL: $4" "$T/run.out" || ok=0
	if [ "$ok" = 1 ]; then
		pass "$1"
	else
		fail "$1" "rc $RC, last line '$last'" "$(tail -12 "$T/run.out")"
	fi
}

scratch good
runs
expect all-good-passes 1 0 ""

scratch die
printf '%s\n' 'set -u' 'echo "PASS: probe/first"' 'echo "$nosuchvariable"' 'echo "PASS: probe/never"' \
	>"$S/tests/scenarios/dying.sh"
runs
expect dying-script-fails 2 1 "scenarios/dying (exited with status 1)"

scratch sete
printf '%s\n' 'set -e' 'echo "PASS: probe/first"' 'false' 'echo "PASS: probe/never"' >"$S/tests/interop/sete.sh"
runs
expect set-e-exit-fails 2 1 "interop/sete (exited with status 1)"

scratch nopass
printf '%s\n' 'echo "checking things"' >"$S/tests/scenarios/quiet.sh"
runs
expect script-without-pass-fails 1 1 "scenarios/quiet (printed no PASS)"

scratch unit
printf '%s\n' '#!/bin/sh' 'echo "PASS: unit/one"' 'kill -SEGV $$' >"$S/unit"
chmod +x "$S/unit"
runs UNIT_TESTS="$S/unit"
expect crashing-unit-binary-fails 2 1 "unit (killed by signal 11)"

scratch unitexit
printf '%s\n' '#!/bin/sh' 'echo "PASS: unit/one"' 'exit 3' >"$S/unit"
chmod +x "$S/unit"
runs UNIT_TESTS="$S/unit"
expect failing-unit-binary-fails 2 1 "unit (exited with status 3)"

scratch san
printf '%s\n' 'echo "PASS: probe/looks-fine"' \
	'f=${ASAN_OPTIONS##*log_path=}; echo "ERROR: AddressSanitizer: heap-use-after-free" >"${f%%:*}.4242"' \
	>"$S/tests/scenarios/asan.sh"
runs
expect sanitizer-report-fails 2 1 "scenarios/asan (left a sanitizer report)"


scratch failexit
printf '%s\n' 'echo "PASS: probe/one"' 'echo "FAIL: probe/two"' 'exit 1' >"$S/tests/scenarios/own.sh"
runs
expect own-fail-counted-once 2 1 "probe/two"

# Items run side by side (TEST_JOBS): one dying among them is still named,
# and every other one is counted once.
scratch par
for i in 1 2 3; do printf '%s\n' "sleep 0.$i" "echo \"PASS: probe/slow$i\"" >"$S/tests/scenarios/slow$i.sh"; done
printf '%s\n' 'echo "PASS: probe/before"' 'kill -KILL $$' >"$S/tests/scenarios/killed.sh"
runs TEST_JOBS=3
expect parallel-items-each-counted 5 1 "scenarios/killed (killed by signal 9)"
