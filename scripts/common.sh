# shellcheck shell=bash
# common.sh - what the KB scripts (demo.sh, kb-replay.sh) share; sourced.

# workdir PREFIX: the run's directory in W: $DEMO_DIR (made afresh and
# kept) when set, else a temporary one removed at exit.
workdir() {
	if [ -n "${DEMO_DIR:-}" ]; then
		rm -rf "$DEMO_DIR"
		mkdir -p "$DEMO_DIR"
		W=$DEMO_DIR
	else
		W=$(mktemp -d "/tmp/$1.XXXXXX")
		trap 'rm -rf "$W"' EXIT
	fi
}

# sgdisk_clean IMAGE: sgdisk -v finds no problem. It says "No problems
# found" even after it silently rebuilt a damaged copy in memory, so its
# cautions and warnings count as problems too.
sgdisk_clean() {
	local out
	out=$(sgdisk -v "$1" 2>&1)
	grep -q '^No problems found' <<<"$out" && ! grep -qiE 'caution|warning|error|corrupt|invalid' <<<"$out"
}
