#!/usr/bin/env bash
# Benchmarks, each against a peer measured in the same run.
#
# 1. Partition-table work on a 2 TiB sparse image: add a partition and list
#    the table, N times, with gptmirror diskpart and with sgdisk (the peer).
#    Reports wall time per operation and the bytes gptmirror's I/O layer
#    moved (the peer's are not counted).
set -eu
GM=${1:?usage: bench/run.sh path/to/gptmirror}
N=${BENCH_N:-40}
W=$(mktemp -d /tmp/gptmirror-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
now() { date +%s%N; }

"$GM" machine create "$W/m" --disk 2T --profile modern >/dev/null
printf 'select disk 0\nconvert gpt\n' | "$GM" -m "$W/m" diskpart >/dev/null
cp --sparse=always "$W/m/disk0.img" "$W/peer.img"

t0=$(now)
for i in $(seq 1 "$N"); do
	printf 'select disk 0\ncreate partition primary size=1\nlist partition\n' |
		GPTMIRROR_IOSTATS=1 "$GM" -m "$W/m" diskpart >/dev/null 2>>"$W/io"
done
t1=$(now)
for i in $(seq 1 "$N"); do
	sgdisk -n 0:0:+1M "$W/peer.img" >/dev/null
	sgdisk -p "$W/peer.img" >/dev/null
done
t2=$(now)
ours=$(((t1 - t0) / N / 1000))
peer=$(((t2 - t1) / N / 1000))
bytes=$(tail -1 "$W/io" | sed -n 's/.*read \([0-9]*\) bytes.*wrote \([0-9]*\) bytes.*/\1 + \2/p')
echo "gpt-metadata, 2 TiB sparse image, $N x (add a partition + list the table):"
echo "  gptmirror diskpart: ${ours} us/op  (I/O layer: $((bytes)) bytes per op)"
echo "  sgdisk (peer):      ${peer} us/op  (two runs: -n, then -p)"
awk -v a="$ours" -v b="$peer" 'BEGIN { printf "  ratio peer/ours: %.2f (above 1: gptmirror is faster)\n", b / a }'
echo "  (sgdisk syncs and waits about a second after every write it makes, so"
echo "   this ratio mostly measures that wait; the read-only figure below does not)"

t0=$(now)
for i in $(seq 1 "$N"); do
	printf 'select disk 0\nlist partition\n' | "$GM" -m "$W/m" diskpart >/dev/null
done
t1=$(now)
for i in $(seq 1 "$N"); do
	sgdisk -p "$W/peer.img" >/dev/null
done
t2=$(now)
ours=$(((t1 - t0) / N / 1000))
peer=$(((t2 - t1) / N / 1000))
echo "gpt-read, the same image, $N x list the table:"
echo "  gptmirror diskpart list partition: ${ours} us/op"
echo "  sgdisk -p (peer):                  ${peer} us/op"
awk -v a="$ours" -v b="$peer" 'BEGIN { printf "  ratio peer/ours: %.2f\n", b / a }'
if sgdisk -v "$W/m/disk0.img" | grep -q '^No problems found'; then echo "  result checked by sgdisk -v: No problems found"; else echo "  sgdisk -v FAILED"; exit 1; fi
