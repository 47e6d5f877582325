/*
 * map_cmd.c - gptmirror machine map: the disks as Disk Management's
 * graphical view draws them. One row per disk (number, Basic/Dynamic, size,
 * status), then its partitions and volumes as boxes whose widths follow
 * their sizes, each labelled with letter and label, size and file system,
 * and status, in the colour of its type; unallocated space and missing
 * disks shown. On a terminal in colour (not when piped, nor with NO_COLOR),
 * or as SVG (--svg FILE) for reports.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../engine/ldm.h"
#include "../engine/ldm_dev.h"
#include "../engine/ldm_write.h"
#include "../engine/machine.h"
#include "../engine/verbs.h"
#include "../fmt/fsprobe.h"
#include "cli.h"
#include "out.h"

/* Disk Management's legend: each type's colour (SVG) and the nearest
 * terminal background (ANSI SGR). */
enum seg_type { T_UNALLOC, T_PRIMARY, T_SIMPLE, T_SPANNED, T_STRIPED, T_MIRROR, T_RAID5, NTYPES };
static const struct {
	const char *word, *legend, *rgb, *sgr;
} types[NTYPES] = {
	[T_UNALLOC] = {"unallocated", "Unallocated", "#000000", "40;97"},
	[T_PRIMARY] = {"primary", "Primary partition", "#1f3f9f", "44;97"},
	[T_SIMPLE] = {"simple", "Simple volume", "#808000", "43;30"},
	[T_SPANNED] = {"spanned", "Spanned volume", "#800080", "45;97"},
	[T_STRIPED] = {"striped", "Striped volume", "#008080", "46;30"},
	[T_MIRROR] = {"mirror", "Mirrored volume", "#a0281e", "41;97"},
	[T_RAID5] = {"raid5", "RAID-5 volume", "#00c0c0", "106;30"},
};

#define MAX_SEGS 64
#define MAX_ROWS 24

struct seg {
	uint64_t start, len; /* bytes from the disk's start */
	enum seg_type type;
	char title[48], size[48], status[48];
};

struct drow {
	char head[4][24]; /* Disk N, Basic/Dynamic, size, status */
	bool missing;
	struct seg segs[MAX_SEGS];
	int n;
};

/* Disk Management's sizes: "100 MB", "1.94 GB", "2.00 TB". */
static void dm_size(uint64_t b, char *buf, size_t cap)
{
	double mb = (double)b / 1048576.0;

	if (mb < 1024.0)
		snprintf(buf, cap, "%.0f MB", mb);
	else if (mb < 1048576.0)
		snprintf(buf, cap, "%.2f GB", mb / 1024.0);
	else
		snprintf(buf, cap, "%.2f TB", mb / 1048576.0);
}

static enum seg_type ldm_type(enum ldm_kind k)
{
	switch (k) {
	case LK_MIRROR:
		return T_MIRROR;
	case LK_SPANNED:
		return T_SPANNED;
	case LK_STRIPE:
		return T_STRIPED;
	case LK_RAID5:
		return T_RAID5;
	default:
		return T_SIMPLE;
	}
}

static struct seg *add_seg(struct drow *r, uint64_t start, uint64_t len, enum seg_type t)
{
	if (r->n >= MAX_SEGS)
		return NULL;
	struct seg *s = &r->segs[r->n++];
	memset(s, 0, sizeof(*s));
	s->start = start;
	s->len = len;
	s->type = t;
	dm_size(len, s->size, sizeof(s->size));
	return s;
}

static void title_of(char *buf, size_t cap, const char *label, char letter)
{
	if (letter)
		snprintf(buf, cap, "%s%s(%c:)", label, *label ? " " : "", letter);
	else
		snprintf(buf, cap, "%s", label);
}

/* A dynamic volume's box: its file system, and its status as Disk
 * Management words it (Rebuild with the percent done). */
static void ldm_seg(struct machine *m, struct seg *s, const struct ldm_volume *v)
{
	uint8_t sec[512];
	struct fs_probe fs = {0};
	struct gm_err err;
	char l = ldm_volume_letter(v), fsz[24];
	const char *st = ldm_status_str(v);
	int pct = ldm_rebuild_percent(m, v);

	if (v->health != LH_FAILED && ldm_vol_read(m, v, 0, 1, sec, &err) == 0)
		fs_probe(sec, sizeof(sec), &fs);
	vol_ntfs_label(m, -1, 0, v, &fs);
	title_of(s->title, sizeof(s->title), fs.label, l);
	dm_size(v->sectors * 512, fsz, sizeof(fsz));
	snprintf(s->size, sizeof(s->size), "%s %s", fsz, fs_kind_str(fs.kind));
	if (pct >= 0)
		snprintf(s->status, sizeof(s->status), "Rebuild %d %%", pct);
	else if (strcmp(st, "Healthy") == 0 && l == 'C')
		snprintf(s->status, sizeof(s->status), "Healthy (Boot)");
	else
		snprintf(s->status, sizeof(s->status), "%s", st);
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* A present disk: its partitions (the MSR and the LDM database hidden, as
 * Disk Management hides them), the extents of dynamic volumes in place of
 * the LDM data partition, and unallocated space over 1 MiB. */
static void present_row(struct machine *m, const struct disk *d, struct drow *r)
{
	struct ldm_view *lv = machine_ldm(m);
	bool dyn = lv && d->slot < 16 && lv->slot_group[d->slot] >= 0;
	struct volume vols[256];
	int nv = machine_volumes(m, vols, 256);
	uint64_t cover[MAX_SEGS * 2][2];
	size_t nc = 0;

	snprintf(r->head[0], sizeof(r->head[0]), "Disk %d", d->slot);
	snprintf(r->head[1], sizeof(r->head[1]), "%s", dyn ? "Dynamic" : "Basic");
	dm_size(d->dev->size, r->head[2], sizeof(r->head[2]));
	snprintf(r->head[3], sizeof(r->head[3]), "%s",
		 d->style == DS_UNREADABLE ? "Unreadable"
		 : d->style == DS_INVALID  ? "Invalid"
		 : d->raw_has_data         ? "Not Initialized"
					   : "Online");
	for (size_t i = 0; i < d->nparts; i++) {
		const struct part *p = &d->parts[i];
		uint64_t st = part_offset(d, p), len = part_bytes(d, p);
		if (p->kind != PK_LDM_DATA && nc < MAX_SEGS * 2) {
			cover[nc][0] = st;
			cover[nc++][1] = st + len;
		}
		if (p->kind == PK_MSR || p->kind == PK_LDM_META || p->kind == PK_LDM_DATA)
			continue;
		struct seg *s = add_seg(r, st, len, T_PRIMARY);
		if (!s)
			break;
		uint8_t sec[4096];
		struct fs_probe fs = {0};
		char letter = 0, fsz[24];
		if (blk_read(d->dev, st, sec, d->ss) == 0)
			fs_probe(sec, d->ss, &fs);
		vol_ntfs_label(m, d->slot, i, NULL, &fs);
		for (int k = 0; k < nv; k++)
			if (vols[k].slot == d->slot && vols[k].part == i)
				letter = vols[k].letter;
		title_of(s->title, sizeof(s->title), fs.label, letter);
		dm_size(len, fsz, sizeof(fsz));
		snprintf(s->size, sizeof(s->size), "%s %s", fsz, fs_kind_str(fs.kind));
		snprintf(s->status, sizeof(s->status), "Healthy%s",
			 p->kind == PK_ESP ? " (System)" : letter == 'C' ? " (Boot)" : "");
	}
	size_t nl = lv ? ldm_volume_count(lv) : 0;
	for (size_t i = 0; dyn && i < nl; i++) {
		const struct ldm_volume *v = ldm_volume_at(lv, i);
		for (size_t p = 0; p < v->nplex; p++)
			for (size_t e = 0; e < v->plex[p].n; e++) {
				const struct ldm_extent *x = &v->plex[p].ext[e];
				if (x->slot != d->slot)
					continue;
				uint64_t st = x->abs_start * 512, len = x->rec->u.part.size * 512;
				struct seg *s = add_seg(r, st, len, ldm_type(v->kind));
				if (s)
					ldm_seg(m, s, v);
				if (nc < MAX_SEGS * 2) {
					cover[nc][0] = st;
					cover[nc++][1] = st + len;
				}
			}
	}
	/* Unallocated: the usable area less everything covered. */
	uint64_t lo = d->style == DS_GPT ? d->hdr.first_usable * d->ss : d->ss;
	uint64_t hi = d->style == DS_GPT ? (d->hdr.last_usable + 1) * d->ss : d->dev->size;
	if (d->style != DS_GPT && d->style != DS_MBR)
		lo = 0;
	for (uint64_t at = lo; at < hi;) {
		uint64_t next = hi;
		bool in = false;
		for (size_t c = 0; c < nc; c++) {
			if (cover[c][0] <= at && cover[c][1] > at) {
				at = cover[c][1];
				in = true;
				break;
			}
			if (cover[c][0] > at && cover[c][0] < next)
				next = cover[c][0];
		}
		if (in)
			continue;
		if (next - at > 1048576) {
			struct seg *s = add_seg(r, at, next - at, T_UNALLOC);
			if (s)
				snprintf(s->status, sizeof(s->status), "Unallocated");
		}
		at = next;
	}
	qsort(r->segs, (size_t)r->n, sizeof(r->segs[0]), cmp_seg);
}

/* A dynamic disk the database knows but that is not here: its extents. */
static void missing_row(struct machine *m, const struct ldm_group *g, const struct ldm_gdisk *x,
			int k, struct drow *r)
{
	r->missing = true;
	snprintf(r->head[0], sizeof(r->head[0]), "Disk M%d", k);
	snprintf(r->head[1], sizeof(r->head[1]), "Dynamic");
	dm_size(x->used * 512, r->head[2], sizeof(r->head[2]));
	snprintf(r->head[3], sizeof(r->head[3]), "Missing");
	for (size_t i = 0; i < g->nvols; i++) {
		const struct ldm_volume *v = &g->vols[i];
		for (size_t p = 0; p < v->nplex; p++)
			for (size_t e = 0; e < v->plex[p].n; e++) {
				const struct ldm_rec *pr = v->plex[p].ext[e].rec;
				if (pr->u.part.disk != x->rec->id)
					continue;
				struct seg *s = add_seg(r, pr->u.part.start * 512, pr->u.part.size * 512,
							ldm_type(v->kind));
				if (s)
					ldm_seg(m, s, v);
			}
	}
	qsort(r->segs, (size_t)r->n, sizeof(r->segs[0]), cmp_seg);
}

static int gather(struct machine *m, struct drow *rows)
{
	int n = 0, k = 0;
	struct ldm_view *lv = machine_ldm(m);

	for (int i = 0; i < m->nslots && n < MAX_ROWS; i++) {
		struct disk *d = machine_disk(m, i);
		if (d) {
			memset(&rows[n], 0, sizeof(rows[n]));
			present_row(m, d, &rows[n++]);
		}
	}
	for (size_t g = 0; lv && g < lv->ngroups; g++)
		for (size_t i = 0; i < lv->groups[g].ndisks && n < MAX_ROWS; i++) {
			const struct ldm_gdisk *x = &lv->groups[g].disks[i];
			if (x->slot >= 0)
				continue;
			memset(&rows[n], 0, sizeof(rows[n]));
			missing_row(m, &lv->groups[g], x, k++, &rows[n++]);
		}
	return n;
}

/* Box widths: each box gets the minimum, and the rest of the row is shared
 * out in proportion to the sizes. */
static void widths(const struct drow *r, int avail, int min, int *w)
{
	uint64_t total = 0;
	int extra = avail - r->n * min, used = 0;

	for (int i = 0; i < r->n; i++)
		total += r->segs[i].len;
	if (extra < 0)
		extra = 0;
	for (int i = 0; i < r->n; i++) {
		w[i] = min + (total ? (int)((double)extra * (double)r->segs[i].len / (double)total) : 0);
		used += w[i];
	}
	/* Rounding leftovers to the largest box, so rows end flush. */
	if (r->n && used < avail && extra > 0) {
		int big = 0;
		for (int i = 1; i < r->n; i++)
			if (r->segs[i].len > r->segs[big].len)
				big = i;
		w[big] += avail - used;
	}
}

/* --- terminal ------------------------------------------------------------- */

#define HEAD_W 12
#define MIN_W 19

static void cell(const char *s, int w)
{
	printf("%-*.*s", w, w, s);
}

static void term_map(const struct drow *rows, int n, int width, bool colour)
{
	bool seen[NTYPES] = {false};

	for (int i = 0; i < n; i++) {
		const struct drow *r = &rows[i];
		int w[MAX_SEGS];
		widths(r, width - HEAD_W - 2, MIN_W, w);
		if (i)
			putchar('\n');
		/* The top edge: each box's type, as Disk Management's colour bar. */
		printf("+");
		for (int c = 0; c < HEAD_W; c++)
			putchar('-');
		for (int s = 0; s < r->n; s++) {
			const char *word = types[r->segs[s].type].legend;
			seen[r->segs[s].type] = true;
			putchar('+');
			if (colour)
				printf("\033[%sm", types[r->segs[s].type].sgr);
			char bar[256];
			int bw = w[s] - 1 < (int)sizeof(bar) - 1 ? w[s] - 1 : (int)sizeof(bar) - 1;
			memset(bar, colour ? ' ' : '-', (size_t)bw);
			bar[bw] = '\0';
			size_t wl = strlen(word);
			if ((int)wl + 2 <= bw)
				memcpy(bar + 1, word, wl);
			else if (bw > 2)
				memcpy(bar + 1, word, (size_t)bw - 2);
			fputs(bar, stdout);
			if (colour)
				fputs("\033[0m", stdout);
		}
		printf("+\n");
		for (int line = 0; line < 4; line++) {
			putchar('|');
			cell(r->head[line], HEAD_W);
			for (int s = 0; s < r->n; s++) {
				const struct seg *g = &r->segs[s];
				const char *t = line == 0 ? g->title : line == 1 ? g->size
					      : line == 2 ? g->status : "";
				putchar('|');
				putchar(' ');
				cell(t, w[s] - 2);
			}
			printf("|\n");
		}
		printf("+");
		for (int c = 0; c < HEAD_W; c++)
			putchar('-');
		for (int s = 0; s < r->n; s++) {
			putchar('+');
			for (int c = 1; c < w[s]; c++)
				putchar('-');
		}
		printf("+\n");
	}
	/* The legend, as Disk Management's status bar shows it. */
	bool first = true;
	if (n)
		putchar('\n');
	for (int t = 0; t < NTYPES; t++) {
		if (!seen[t])
			continue;
		printf("%s", first ? "" : "  ");
		first = false;
		if (colour)
			printf("\033[%sm  \033[0m %s", types[t].sgr, types[t].legend);
		else
			printf("[%s]", types[t].legend);
	}
	if (!first)
		printf("\n");
}

/* --- SVG ------------------------------------------------------------------ */

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
}

#define SVG_W 960
#define SVG_HEAD 130
#define SVG_ROW 96
#define SVG_BOX 84
#define SVG_MIN 90

/* Boxes are filled with their type's colour; the text keeps off their
 * centres, so the colour there is the type's alone. */
static int svg_map(const struct drow *rows, int n, const char *file)
{
	FILE *f = fopen(file, "w");
	int h = n * SVG_ROW + 40;

	if (!f) {
		fprintf(stderr, "gptmirror: %s: %s\n", file, strerror(errno));
		return 1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		   "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
		SVG_W, h, SVG_W, h, SVG_W, h);
	bool seen[NTYPES] = {false};
	for (int i = 0; i < n; i++) {
		const struct drow *r = &rows[i];
		int y = 8 + i * SVG_ROW, x = 8 + SVG_HEAD, w[MAX_SEGS];
		fprintf(f, "<g class=\"disk\" data-disk=\"");
		xml_text(f, r->head[0]);
		fprintf(f, "\">\n<rect x=\"8\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#e0e0e0\" "
			   "stroke=\"#606060\"/>\n",
			y, SVG_HEAD - 4, SVG_BOX);
		for (int line = 0; line < 4; line++) {
			fprintf(f, "<text x=\"14\" y=\"%d\"%s>", y + 18 + line * 18,
				line == 0 ? " font-weight=\"bold\"" : "");
			xml_text(f, r->head[line]);
			fprintf(f, "</text>\n");
		}
		widths(r, SVG_W - 16 - SVG_HEAD, SVG_MIN, w);
		for (int s = 0; s < r->n; s++) {
			const struct seg *g = &r->segs[s];
			const char *ink = g->type == T_SIMPLE || g->type == T_STRIPED ||
						  g->type == T_RAID5
					  ? "#000000"
					  : "#ffffff";
			seen[g->type] = true;
			fprintf(f, "<rect class=\"box\" data-type=\"%s\" data-bytes=\"%" PRIu64
				   "\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
				   "stroke=\"#ffffff\" stroke-width=\"2\"/>\n",
				types[g->type].word, g->len, x, y, w[s], SVG_BOX, types[g->type].rgb);
			const char *lines[3] = {g->title, g->size, g->status};
			const int at[3] = {16, 62, 77};
			for (int k = 0; k < 3; k++) {
				if (!*lines[k])
					continue;
				fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\"%s>", x + 6, y + at[k], ink,
					k == 0 ? " font-weight=\"bold\"" : "");
				xml_text(f, lines[k]);
				fprintf(f, "</text>\n");
			}
			x += w[s];
		}
		fprintf(f, "</g>\n");
	}
	int lx = 8, ly = n * SVG_ROW + 14;
	for (int t = 0; t < NTYPES; t++) {
		if (!seen[t])
			continue;
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>"
			   "<text x=\"%d\" y=\"%d\">%s</text>\n",
			lx, ly, types[t].rgb, lx + 20, ly + 12, types[t].legend);
		lx += 20 + 8 * (int)strlen(types[t].legend) + 16;
	}
	fprintf(f, "</svg>\n");
	if (fclose(f) != 0) {
		fprintf(stderr, "gptmirror: %s: %s\n", file, strerror(errno));
		return 1;
	}
	return 0;
}

int map_main(struct machine *m, int argc, char **argv)
{
	const char *svg = NULL;
	int width = 0;
	static struct drow rows[MAX_ROWS];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc) {
			svg = argv[++i];
		} else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 40 || v > 1000) {
				fprintf(stderr, "gptmirror: --width takes 40 to 1000 columns\n");
				return 2;
			}
			width = (int)v;
		} else {
			fprintf(stderr, "usage: gptmirror machine map [--width COLUMNS] [--svg FILE]\n");
			return 2;
		}
	}
	int n = gather(m, rows);
	if (svg)
		return svg_map(rows, n, svg);
	bool tty = isatty(STDOUT_FILENO);
	if (!width) {
		struct winsize ws;
		width = tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40
				? ws.ws_col
				: 100;
	}
	term_map(rows, n, width, tty && !cli_env->no_color);
	return 0;
}
