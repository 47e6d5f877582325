/* out.c - number formatting as Windows shows it. */
#include "out.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

void fmt_size_rule(uint64_t bytes, enum size_rule r, char *buf, size_t cap)
{
	static const char *const unit[] = {"B", "KB", "MB", "GB", "TB", "PB"};
	uint64_t limit = r == SIZE_2003 ? 8192 : 10240;
	uint64_t div = 1;
	int u = 0;

	/* Pick the unit on the value as shown (rounded for 2003). */
	for (;;) {
		uint64_t shown = r == SIZE_2003 ? (bytes + div / 2) / div
						 : bytes / div;
		if (shown < limit || u == 5)
			break;
		div *= 1024;
		u++;
	}
	uint64_t v = r == SIZE_2003 ? (bytes + div / 2) / div : bytes / div;
	snprintf(buf, cap, "%" PRIu64 " %s", v, unit[u]);
}

void fmt_commas(uint64_t v, char *buf, size_t cap)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v), o = 0;

	for (int i = 0; i < n && (size_t)o + 1 < cap; i++) {
		if (i > 0 && (n - i) % 3 == 0 && (size_t)o + 2 < cap)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}

int pathf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void cli_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	fprintf(stderr, "\r  %3u percent completed", total ? (unsigned)(done * 100 / total) : 100);
	if (done >= total)
		fputc('\n', stderr);
}

void json_fstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void json_str(const char *s)
{
	json_fstr(stdout, s);
}

void state_word(const char *status, char *buf, size_t cap)
{
	size_t k = 0;

	for (const char *c = status; *c && k + 1 < cap; c++)
		buf[k++] = *c == ' ' || *c == '-' ? '_' : (char)tolower((unsigned char)*c);
	if (cap)
		buf[k] = '\0';
}
