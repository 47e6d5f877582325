#!/usr/bin/env bash
# Metadata work does not depend on disk size: on a 2 TiB sparse image,
# convert gpt, create partition and list partition move exactly as many bytes
# through the I/O layer as on a 1 GiB image, and the image stays sparse.
# Counted by the I/O layer itself (GPTMIRROR_IOSTATS), not timed.
. "$(dirname "$0")/../lib.sh"
need sgdisk
export GPTMIRROR_SEED=2

io_of() { # SIZE STEP-COMMANDS... -> "read written" bytes of each step
	local m=$T/m$1 c
	shift
	rm -rf "$m"
	"$GM" machine create "$m" --disk "$SIZE" --profile modern >/dev/null
	for c in "$@"; do
		printf 'select disk 0\n%s\n' "${c//|/$'\n'}" | GPTMIRROR_IOSTATS=1 "$GM" -m "$m" diskpart 2>&1 >/dev/null |
			sed -n 's/.*io: read \([0-9]*\) bytes.*wrote \([0-9]*\) bytes.*/\1 \2/p'
	done
	sgdisk_clean "$m/disk0.img" || echo "sgdisk-not-clean"
	du -k "$m/disk0.img" | cut -f1 >"$T/du"
}
STEPS=("convert gpt" "select partition 1|delete partition override" "create partition efi size=204"
	"create partition primary size=1048576" "create partition msr size=32" "list partition" "detail disk")
SIZE=1G
small=$(io_of a "${STEPS[@]/primary size=1048576/primary size=500}")
SIZE=2T
big=$(io_of b "${STEPS[@]}")
big_du=$(cat "$T/du")
echo "NOTE: $GROUP: bytes read/written per step, 1 GiB: $(echo $small | tr '\n' ' ')"
echo "NOTE: $GROUP: bytes read/written per step, 2 TiB: $(echo $big | tr '\n' ' ')"
if [ -n "$big" ] && ! grep -q sgdisk-not-clean <<<"$big$small" && [ "$(wc -l <<<"$big")" = 7 ]; then
	pass "2TiB-steps-succeed-and-pass-sgdisk"
else
	fail "2TiB-steps-succeed-and-pass-sgdisk" "$big"
fi
if [ "$small" = "$big" ]; then pass "io-independent-of-disk-size"; else fail "io-independent-of-disk-size" "1G: $small" "2T: $big"; fi
max=$(awk '{ if ($1 + $2 > m) m = $1 + $2 } END { print m }' <<<"$big")
if [ "$max" -lt 262144 ]; then pass "io-per-step-under-256KiB"; else fail "io-per-step-under-256KiB" "max $max bytes"; fi
if [ "$big_du" -lt 1024 ]; then pass "2TiB-image-stays-sparse"; else fail "2TiB-image-stays-sparse" "$big_du KiB allocated"; fi
dp_out=$(printf 'list disk\n' | "$GM" -m "$T/mb" diskpart)
if grep -q "Disk 0    Online         2048 GB  1023 GB        \*" <<<"$dp_out"; then pass "2TiB-listed"; else fail "2TiB-listed" "$dp_out"; fi
