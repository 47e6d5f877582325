/* out.h - text helpers shared by the front ends. */
#ifndef GM_OUT_H
#define GM_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * diskpart's size display. Current Windows (SIZE_MODERN): the largest of
 * B/KB/MB/GB/TB that keeps the number below 10240, floored ("1024 KB",
 * "15 MB" for a 16 MiB-minus-17 KiB MSR). Server 2003 (SIZE_2003), as the
 * KB 814070 listings show it: rounded to the nearest unit and switching
 * unit at 8192 (31.5 KB -> "32 KB", 203.95 MB -> "204 MB", 8729 MB ->
 * "9 GB", while 4996 MB stays in MB).
 */
enum size_rule { SIZE_MODERN, SIZE_2003 };
void fmt_size_rule(uint64_t bytes, enum size_rule r, char *buf, size_t cap);
static inline void fmt_size(uint64_t bytes, char *buf, size_t cap)
{
	fmt_size_rule(bytes, SIZE_MODERN, buf, cap);
}
/* 213909504 -> "213,909,504" */
void fmt_commas(uint64_t v, char *buf, size_t cap);

/* snprintf that says when it had to cut: 0, or -1 if the result is
 * truncated (paths: a cut path must never be used). */
int pathf(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A progress callback for long work (resync): "  NN percent completed" on
 * stderr, rewritten in place; callers pass it only when stderr is a
 * terminal. */
void cli_progress(void *ctx, uint64_t done, uint64_t total);

/* s as a JSON string, quotes included, on stdout or f. */
void json_str(const char *s);
void json_fstr(FILE *f, const char *s);
/* A status word as Windows prints it ("Failed Rd") as the stable machine
 * word of the JSON documents ("failed_rd"). */
void state_word(const char *status, char *buf, size_t cap);

#endif
