#!/usr/bin/env bash
# The main job: KB 814070 on a fresh machine, with the seed's own commands,
# as far as gptmirror implements it today. Each step is printed, every image
# is checked by sgdisk -v after every step, and the run ends with a pass/fail
# summary (non-zero exit on any failure).
#
#   scripts/demo.sh [GPTMIRROR-BINARY]      (make demo)
#   DEMO_DIR=dir keeps the machine there instead of a temporary directory.
set -u
GM=${1:-$(dirname "$0")/../bin/gptmirror}
if [ -n "${DEMO_DIR:-}" ]; then
	rm -rf "$DEMO_DIR"
	mkdir -p "$DEMO_DIR"
	WORK=$DEMO_DIR
else
	WORK=$(mktemp -d /tmp/gptmirror-demo.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
fi
M=$WORK/server
passed=0 failed=0 results=()
bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
verdict() { # NAME OK?
	if [ "$2" = 0 ]; then passed=$((passed + 1)); results+=("PASS  $1"); else failed=$((failed + 1)); results+=("FAIL  $1"); fi
}
sgdisk_clean() {
	local out
	out=$(sgdisk -v "$1" 2>&1)
	grep -q '^No problems found' <<<"$out" && ! grep -qiE 'caution|warning|error|corrupt|invalid' <<<"$out"
}
# step TITLE diskpart-commands... : one diskpart session, shown as a transcript.
step() {
	local title=$1 img ok=0
	shift
	bold "$title"
	printf '%s\n' "$@" | "$GM" -m "$M" diskpart | sed -n '/^DISKPART>/,$p'
	[ "${PIPESTATUS[1]}" = 0 ] || ok=1
	for img in "$M"/disk*.img; do
		if sgdisk_clean "$img"; then echo "   sgdisk -v $(basename "$img"): No problems found"; else echo "   sgdisk -v $(basename "$img"): PROBLEMS"; sgdisk -v "$img"; ok=1; fi
	done
	verdict "$title" "$ok"
}

bold "A fresh machine: two 10 GB disks, Server 2003 habits"
"$GM" machine create "$M" --disk 10G --disk 10G --profile 2003
verdict "machine create" $?

step "Disk 0 as Windows Setup leaves it (stand-in until 'machine create --install' exists)" \
	"select disk 0" "convert gpt" "select partition 1" "delete partition override" \
	"create partition efi size=204" "create partition primary size=4996" \
	"create partition msr size=32 offset=9437184" "select partition 2" "assign letter=C" "exit"
step "Step 2: select the shadow drive and convert it to GPT" \
	"Select disk 1" "Convert GPT" "List partition" "exit"
step "Step 3: delete the MSR that convert made (override)" \
	"Select disk 1" "Select partition 1" "Delete partition override" "exit"
step "Step 4: list disk 0, then make ESP and MSR of the same sizes on disk 1" \
	"Select disk 0" "List partition" "select disk 1" "create partition efi size=204" \
	"create partition msr size=32" "list partition" "exit"
step "Step 5: assign S to the shadow EFI partition" \
	"Select disk 1" "Select partition 1" "Assign letter=S" "exit"
bold "Steps 6 and 8: format S: and xcopy P:\\ to S: -- not yet implemented (FAT issue)"
step "Step 7: assign P to the primary EFI partition" \
	"Select disk 0" "Select partition 1" "Assign letter=P" "list volume" "exit"
step "Step 9: remove both letters" \
	"Select volume P" "Remove" "Select volume S" "Remove" "list volume" "exit"

bold "The shadow ESP is where the primary one is, with the same size"
p0=$(sgdisk -i 1 "$M/disk0.img" | grep -E '^(First|Last) sector')
p1=$(sgdisk -i 1 "$M/disk1.img" | grep -E '^(First|Last) sector')
echo "disk 0: $(echo $p0)"
echo "disk 1: $(echo $p1)"
[ -n "$p0" ] && [ "$p0" = "$p1" ]
verdict "ESPs match (sgdisk -i)" $?
"$GM" -m "$M" machine status

bold "Not yet implemented (later issues): convert dynamic, add disk=1, bootcfg, booting the shadow disk in QEMU, recovery"
bold "Summary"
printf '  %s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
