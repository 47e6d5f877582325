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

# 2. Format a 4 GiB FAT32 volume: gptmirror format vs mkfs.fat (the peer),
#    same size and the same 4 KiB clusters, both checked by fsck.fat.
R=${BENCH_FORMAT_RUNS:-5}
"$GM" machine create "$W/f" --disk 5G --profile modern >/dev/null
printf 'select disk 0\nconvert gpt\ncreate partition primary size=4096\nassign letter=F\n' |
	"$GM" -m "$W/f" diskpart >/dev/null
first=$(sgdisk -i 2 "$W/f/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
t0=$(now)
for i in $(seq 1 "$R"); do "$GM" -m "$W/f" format f: /fs:fat32 /q /y >/dev/null; done
t1=$(now)
for i in $(seq 1 "$R"); do
	rm -f "$W/peer.fat"
	truncate -s 4G "$W/peer.fat"
	mkfs.fat -F 32 -s 8 -S 512 "$W/peer.fat" >/dev/null
done
t2=$(now)
ours=$(((t1 - t0) / R / 1000))
peer=$(((t2 - t1) / R / 1000))
echo "format, 4 GiB FAT32 (4 KiB clusters), $R runs:"
echo "  gptmirror format /fs:fat32 /q: ${ours} us"
echo "  mkfs.fat -F 32 (peer):         ${peer} us"
awk -v a="$ours" -v b="$peer" 'BEGIN { printf "  ratio peer/ours: %.2f (1 or more: at least as fast)\n", b / a }'
dd if="$W/f/disk0.img" of="$W/vol.fat" bs=1M skip=$((first / 2048)) count=4096 conv=sparse status=none
fsck.fat -n "$W/vol.fat" >/dev/null && fsck.fat -n "$W/peer.fat" >/dev/null &&
	echo "  both checked by fsck.fat -n: clean" || { echo "  fsck.fat FAILED"; exit 1; }
rm -f "$W/vol.fat" "$W/peer.fat"

# 2b. Format a 4 GiB volume as NTFS: gptmirror format /fs:ntfs /q (mkntfs
#    on a scratch file, then written onto the volume holes and all) vs
#    mkntfs -Q on a 4 GiB file (the peer), both 4 KiB clusters, both
#    checked by ntfsfix -n.
MKNTFS=$(command -v mkntfs || echo /usr/sbin/mkntfs)
t0=$(now)
for i in $(seq 1 "$R"); do "$GM" -m "$W/f" format f: /fs:ntfs /q /y >/dev/null; done
t1=$(now)
for i in $(seq 1 "$R"); do
	rm -f "$W/peer.ntfs"
	truncate -s 4G "$W/peer.ntfs"
	"$MKNTFS" -Q -F -q -c 4096 "$W/peer.ntfs" >/dev/null 2>&1
done
t2=$(now)
ours=$(((t1 - t0) / R / 1000))
peer=$(((t2 - t1) / R / 1000))
echo "format, 4 GiB NTFS (4 KiB clusters), $R runs:"
echo "  gptmirror format /fs:ntfs /q:   ${ours} us"
echo "  mkntfs -Q (peer):              ${peer} us"
awk -v a="$ours" -v b="$peer" 'BEGIN { printf "  ratio peer/ours: %.2f (1 or more: at least as fast)\n", b / a }'
dd if="$W/f/disk0.img" of="$W/vol.ntfs" bs=1M skip=$((first / 2048)) count=4096 conv=sparse status=none
ntfsfix -n "$W/vol.ntfs" >/dev/null 2>&1 && ntfsfix -n "$W/peer.ntfs" >/dev/null 2>&1 &&
	echo "  both checked by ntfsfix -n: clean" || { echo "  ntfsfix FAILED"; exit 1; }
rm -f "$W/vol.ntfs" "$W/peer.ntfs"

# 3. Copy 2,000 small files and one 200 MiB file from the host into a
#    1 GiB FAT32 volume: gptmirror xcopy vs mcopy (the peer), each onto a
#    freshly formatted volume; the results are compared file by file.
mkdir -p "$W/src/small"
for i in $(seq 1 2000); do head -c $((i * 7 % 5000 + 1)) /dev/urandom >"$W/src/small/file$i.txt"; done
head -c $((200 * 1048576)) /dev/urandom >"$W/src/big.bin"
"$GM" machine create "$W/c" --disk 2G --profile modern >/dev/null
printf 'select disk 0\nconvert gpt\ncreate partition primary size=1024\nassign letter=C\n' |
	"$GM" -m "$W/c" diskpart >/dev/null
first=$(sgdisk -i 2 "$W/c/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
median() { sort -n | sed -n 2p; }
: >"$W/t.ours"
: >"$W/t.peer"
: >"$W/t.peers"
for r in 1 2 3; do
	"$GM" -m "$W/c" format c: /fs:fat32 /q /y >/dev/null
	sync
	t0=$(now)
	"$GM" -m "$W/c" xcopy "$W/src" 'C:\' /s /y >/dev/null
	t1=$(now)
	echo $(((t1 - t0) / 1000)) >>"$W/t.ours"
	"$GM" -m "$W/c" format c: /fs:fat32 /q /y >/dev/null
	sync
	t2=$(now)
	MTOOLS_SKIP_CHECK=1 mcopy -s -i "$W/c/disk0.img@@$((first * 512))" "$W/src/"* ::/
	t3=$(now)
	sync "$W/c/disk0.img"
	t4=$(now)
	echo $(((t3 - t2) / 1000)) >>"$W/t.peer"
	echo $(((t4 - t2) / 1000)) >>"$W/t.peers"
done
ours=$(median <"$W/t.ours")
peer=$(median <"$W/t.peer")
peers=$(median <"$W/t.peers")
echo "copy in, 2,000 small files + one 200 MiB file, host -> 1 GiB FAT32 volume (median of 3, alternating):"
echo "  gptmirror xcopy /s (data on disk when it returns): ${ours} us"
echo "  mcopy -s + sync FILE (peer, data on disk):         ${peers} us"
echo "  mcopy -s alone (peer, data left in the page cache): ${peer} us"
awk -v a="$ours" -v b="$peers" 'BEGIN { printf "  ratio peer/ours, both durable: %.2f (above 1: gptmirror is faster)\n", b / a }'
awk -v a="$ours" -v b="$peer" 'BEGIN { printf "  ratio peer/ours, mcopy not flushed: %.2f\n", b / a }'
"$GM" -m "$W/c" format c: /fs:fat32 /q /y >/dev/null
"$GM" -m "$W/c" xcopy "$W/src" 'C:\' /s /y >/dev/null
rm -rf "$W/back" && mkdir -p "$W/back"
MTOOLS_SKIP_CHECK=1 mcopy -s -n -i "$W/c/disk0.img@@$((first * 512))" '::/*' "$W/back/" &&
	diff -r "$W/src" "$W/back" >/dev/null && echo "  our copy read back by mcopy: identical" ||
	{ echo "  our copy DIFFERS"; exit 1; }

# 3b. The same files onto a 1 GiB NTFS volume: gptmirror xcopy (libntfs-3g
#     on gptmirror's block layer, journalled) vs ntfscp (the peer: ntfs-3g's
#     own copier, one run per file, onto a 1 GiB file mkntfs made). ntfscp
#     cannot make directories, so both copy the 2,001 files into the root.
#     Both are durable when they return (libntfs-3g fsyncs at unmount).
NTFSCP=$(command -v ntfscp || echo /usr/bin/ntfscp)
mkdir -p "$W/flat"
ln "$W/src/small/"* "$W/src/big.bin" "$W/flat/"
mkdir -p "$W/one"
ln "$W/src/big.bin" "$W/one/"
: >"$W/t.ours"
: >"$W/t.peer"
for r in 1 2 3; do
	"$GM" -m "$W/c" format c: /fs:ntfs /q /y >/dev/null
	sync
	t0=$(now)
	"$GM" -m "$W/c" xcopy "$W/flat" 'C:\' /y >/dev/null
	t1=$(now)
	echo $(((t1 - t0) / 1000)) >>"$W/t.ours"
	rm -f "$W/peer.ntfs"
	truncate -s 1G "$W/peer.ntfs"
	"$MKNTFS" -Q -F -q -c 4096 "$W/peer.ntfs" >/dev/null 2>&1
	sync
	t2=$(now)
	for f in "$W/flat/"*; do "$NTFSCP" -q "$W/peer.ntfs" "$f" "${f##*/}" || exit 1; done
	t3=$(now)
	echo $(((t3 - t2) / 1000)) >>"$W/t.peer"
done
ours=$(median <"$W/t.ours")
peer=$(median <"$W/t.peer")
echo "copy in, the same 2,001 files, host -> 1 GiB NTFS volume (median of 3, alternating):"
echo "  gptmirror xcopy (one mount, journalled, durable): ${ours} us"
echo "  ntfscp, one run per file (peer, durable):         ${peer} us"
awk -v a="$ours" -v b="$peer" 'BEGIN { printf "  ratio peer/ours: %.2f (above 1: gptmirror is faster)\n", b / a }'
# (A sync before each: ext4's fsync also waits for other files' data.)
sync
t0=$(now)
"$NTFSCP" -q "$W/peer.ntfs" "$W/src/big.bin" big2.bin || exit 1
t1=$(now)
sync
t2=$(now)
"$GM" -m "$W/c" xcopy "$W/one" 'C:\sub' /y >/dev/null
t3=$(now)
echo "  the 200 MiB file alone: gptmirror $(((t3 - t2) / 1000)) us, ntfscp $(((t1 - t0) / 1000)) us"
dd if="$W/c/disk0.img" of="$W/vol.ntfs" bs=1M skip=$((first / 2048)) count=1024 conv=sparse status=none
ntfsfix -n "$W/vol.ntfs" >/dev/null 2>&1 && ntfsfix -n "$W/peer.ntfs" >/dev/null 2>&1 &&
	ntfscat "$W/vol.ntfs" /big.bin | cmp -s - "$W/src/big.bin" &&
	ntfscat "$W/vol.ntfs" /file1999.txt | cmp -s - "$W/src/small/file1999.txt" &&
	echo "  both checked by ntfsfix -n, our files read back by ntfscat: clean" ||
	{ echo "  NTFS check FAILED"; exit 1; }
rm -f "$W/vol.ntfs" "$W/peer.ntfs"

# 4. Resync of a mirror: add disk=1 on a 4 GiB simple volume full of data
#    vs dd bs=4M copying the same bytes (the peer), then an 8 GiB volume that
#    is 90 % holes vs dd, and the peak memory of each resync.
maxrss() { # CMD... : runs it, prints its max RSS in KiB on fd 3
	python3 -c '
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(r)' "$@" 2>&3
}
resync_case() { # NAME SIZE-MB DISK-SIZE FILL
	local name=$1 mb=$2 dsz=$3 fill=$4 m=$W/r-$1
	"$GM" machine create "$m" --disk "$dsz" --disk "$dsz" --profile modern >/dev/null
	printf 'select disk 0\nconvert gpt\ncreate partition primary size=%s\nassign letter=E\nselect disk 1\nconvert gpt\n' "$mb" |
		"$GM" -m "$m" diskpart >/dev/null
	local first
	first=$(sgdisk -i 2 "$m/disk0.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
	head -c $((64 << 20)) /dev/urandom >"$W/rand64"
	if [ "$fill" = full ]; then
		for i in $(seq 0 $((mb / 64 - 1))); do cat "$W/rand64"; done |
			dd of="$m/disk0.img" bs=4M seek=$((first * 512)) oflag=seek_bytes conv=notrunc status=none
	else
		# 10 % data: 64 MiB of every 640 MiB.
		for i in $(seq 0 $((mb / 640 - 1))); do
			dd if="$W/rand64" of="$m/disk0.img" bs=4M seek=$((first * 512 + i * (640 << 20))) \
				oflag=seek_bytes conv=notrunc status=none
		done
	fi
	printf 'select disk 0\nconvert dynamic\nselect disk 1\nconvert dynamic\n' | "$GM" -m "$m" diskpart >/dev/null
	sync
	cp --sparse=always "$m/disk1.img" "$W/d1.pristine"
	cp "$m/machine.conf" "$W/conf.pristine"
	# Disk 0's copy of the database changes too: keep its 1 MiB.
	local meta
	meta=$(sgdisk -p "$m/disk0.img" | grep 'LDM metadata' | awk '{ print $2 }')
	dd if="$m/disk0.img" of="$W/db0.pristine" bs=512 skip="$meta" count=2048 status=none
	local t0 t1 t2 t3 rss r
	: >"$W/t.o"; : >"$W/t.p"; : >"$W/t.f"
	# Three alternating runs each, onto fresh sparse targets; medians.
	for r in 1 2 3; do
		cp --sparse=always "$W/d1.pristine" "$m/disk1.img"
		cp "$W/conf.pristine" "$m/machine.conf"
		dd if="$W/db0.pristine" of="$m/disk0.img" bs=512 seek="$meta" conv=notrunc status=none
		rm -f "$W/peer.img"
		truncate -s "$dsz" "$W/peer.img"
		sync
		t0=$(now)
		rss=$( { printf 'select volume e\nadd disk=1 wait\n' | maxrss "$GM" -m "$m" diskpart; } 3>&1 >/dev/null)
		t1=$(now)
		sync
		t2=$(now)
		dd if="$m/disk0.img" of="$W/peer.img" bs=4M skip=$((first * 512)) seek=$((first * 512)) \
			count=$((mb << 20)) iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc status=none
		t3=$(now)
		echo $(((t1 - t0) / 1000)) >>"$W/t.o"
		echo $(((t3 - t2) / 1000)) >>"$W/t.p"
		rm -f "$W/peer.img"
		truncate -s "$dsz" "$W/peer.img"
		sync
		t2=$(now)
		dd if="$m/disk0.img" of="$W/peer.img" bs=4M skip=$((first * 512)) seek=$((first * 512)) \
			count=$((mb << 20)) iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc,fsync status=none
		t3=$(now)
		echo $(((t3 - t2) / 1000)) >>"$W/t.f"
	done
	local ours peer peerf
	ours=$(median <"$W/t.o")
	peer=$(median <"$W/t.p")
	peerf=$(median <"$W/t.f")
	echo "resync, $name ($mb MiB volume):"
	echo "  gptmirror add disk=1 (resync, flushed): ${ours} us, $(awk -v b=$((mb << 20)) -v t="$ours" 'BEGIN { printf "%.0f", b / t }') MB/s, max RSS $((rss / 1024)) MiB"
	echo "  dd bs=4M (peer, left in the page cache): ${peer} us"
	echo "  dd bs=4M conv=fsync (peer, flushed):     ${peerf} us"
	awk -v a="$ours" -v b="$peerf" 'BEGIN { printf "  throughput ours/dd, both flushed: %.2f (target: 0.9 or more on full volumes)\n", b / a }'
	awk -v a="$ours" -v b="$peer" 'BEGIN { printf "  throughput ours/dd not flushed: %.2f\n", b / a }'
	local second
	second=$(sgdisk -p "$m/disk1.img" | grep 'LDM data' | tail -1 | awk '{ print $2 }')
	local alloc_ours alloc_peer
	alloc_ours=$(du -k "$m/disk1.img" | cut -f1)
	alloc_peer=$(du -k "$W/peer.img" | cut -f1)
	echo "  allocated on the target image: gptmirror $((alloc_ours / 1024)) MiB, dd $((alloc_peer / 1024)) MiB"
	if [ -n "$second" ] && cmp -s <(dd if="$m/disk0.img" bs=4M skip=$((first * 512)) count=$((mb << 20)) iflag=skip_bytes,count_bytes status=none) \
		<(dd if="$m/disk1.img" bs=4M skip=$((second * 512)) count=$((mb << 20)) iflag=skip_bytes,count_bytes status=none); then
		echo "  the new plex equals the volume, byte for byte"
	else
		echo "  the new plex DIFFERS (second plex at '$second')"
		exit 1
	fi
	rm -rf "$m" "$W/peer.img" "$W/d1.pristine"
}
resync_case "full of data" 4096 5G full
resync_case "90 % holes" 8192 9G sparse

# 5. Resync between block devices (loop devices over two images, with
#    direct I/O through to the images as on a real disk): add disk=1 on a
#    2 GiB volume full of data vs dd bs=4M iflag=direct oflag=direct of the
#    same bytes between the same devices (and the same with conv=fsync,
#    flushed as the resync is), medians of 3 alternating runs, and the peak
#    memory of the resync. Needs root (losetup); said so, and not measured,
#    when no loop device can be attached.
loop_round() { # prints: ours-us peer-us peer-fsync-us rss-KiB, or fails
	local mb=2048 m=$W/loopm l0 l1
	rm -rf "$m" "$W/ld0.img" "$W/ld1.img" "$W/loop.fd"
	truncate -s 3G "$W/ld0.img" "$W/ld1.img"
	l0=$(losetup --direct-io=on -f --show "$W/ld0.img" 2>/dev/null) || return 1
	if ! l1=$(losetup --direct-io=on -f --show "$W/ld1.img" 2>/dev/null); then
		losetup -d "$l0"
		return 1
	fi
	"$GM" machine create "$m" --device "$l0" --device "$l1" --nvram "$W/loop.fd" --profile modern >/dev/null
	printf 'select disk 0\nconvert gpt\ncreate partition primary size=%s\nassign letter=E\nselect disk 1\nconvert gpt\n' "$mb" |
		"$GM" -m "$m" diskpart >/dev/null
	local first second t0 t1 t2 t3 t4 rss
	first=$(sgdisk -i 2 "$l0" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
	[ -s "$W/rand64" ] || head -c $((64 << 20)) /dev/urandom >"$W/rand64"
	for i in $(seq 0 $((mb / 64 - 1))); do cat "$W/rand64"; done |
		dd of="$l0" bs=4M seek=$((first * 512)) oflag=seek_bytes,direct conv=notrunc status=none
	printf 'select disk 0\nconvert dynamic\nselect disk 1\nconvert dynamic\n' | "$GM" -m "$m" diskpart >/dev/null
	sync
	t0=$(now)
	rss=$( { printf 'select volume e\nadd disk=1 wait\n' | maxrss "$GM" -m "$m" diskpart; } 3>&1 >/dev/null)
	t1=$(now)
	second=$(sgdisk -p "$l1" | grep 'LDM data' | tail -1 | awk '{ print $2 }')
	cmp -s <(dd if="$l0" bs=4M skip=$((first * 512)) count=$((mb << 20)) iflag=skip_bytes,count_bytes status=none) \
		<(dd if="$l1" bs=4M skip=$((second * 512)) count=$((mb << 20)) iflag=skip_bytes,count_bytes status=none) ||
		{ echo "the new plex DIFFERS" >&2; exit 1; }
	t2=$(now)
	dd if="$l0" of="$l1" bs=4M skip=$((first * 512)) seek=$((second * 512)) count=$((mb << 20)) \
		iflag=skip_bytes,count_bytes,direct oflag=seek_bytes,direct conv=notrunc status=none
	t3=$(now)
	dd if="$l0" of="$l1" bs=4M skip=$((first * 512)) seek=$((second * 512)) count=$((mb << 20)) \
		iflag=skip_bytes,count_bytes,direct oflag=seek_bytes,direct conv=notrunc,fsync status=none
	t4=$(now)
	partx -d "$l0" 2>/dev/null; partx -d "$l1" 2>/dev/null
	losetup -d "$l0" "$l1"
	echo "$(((t1 - t0) / 1000)) $(((t3 - t2) / 1000)) $(((t4 - t3) / 1000)) $rss"
}
loop_case() {
	local r out ours=() peer=() peerf=() rss=0
	for r in 1 2 3; do
		if ! out=$(loop_round); then
			echo "resync between loop devices: no loop device could be attached here (needs root); not measured"
			return
		fi
		read -r a b c d <<<"$out"
		ours+=("$a"); peer+=("$b"); peerf+=("$c")
		[ "$d" -gt "$rss" ] && rss=$d
	done
	local o p f
	o=$(printf '%s\n' "${ours[@]}" | median)
	p=$(printf '%s\n' "${peer[@]}" | median)
	f=$(printf '%s\n' "${peerf[@]}" | median)
	echo "resync between loop devices (2048 MiB volume full of data, medians of 3):"
	echo "  gptmirror add disk=1 (resync, flushed): ${o} us, $(awk -v b=$((2048 << 20)) -v t="$o" 'BEGIN { printf "%.0f", b / t }') MB/s, max RSS $((rss / 1024)) MiB"
	echo "  dd bs=4M iflag=direct oflag=direct (peer): ${p} us"
	echo "  the same with conv=fsync (flushed):        ${f} us"
	awk -v a="$o" -v b="$p" 'BEGIN { printf "  throughput ours/dd: %.2f (target: 0.9 or more; peak RSS under 64 MiB)\n", b / a }'
	awk -v a="$o" -v b="$f" 'BEGIN { printf "  throughput ours/dd, both flushed: %.2f\n", b / a }'
	echo "  the new plex equals the volume, byte for byte"
}
loop_case
