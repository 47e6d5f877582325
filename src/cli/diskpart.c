/*
 * diskpart.c - the DISKPART> console: a table of commands, unique-prefix
 * matching, the focus model (disk, partition, volume) and Windows' words.
 *
 * On a terminal it reads lines with libedit. Commands on standard input are
 * echoed after the prompt, so a run reads as a transcript; /s FILE runs a
 * script silently as Windows does. In both script forms the first error
 * stops the run with a non-zero exit, unless the command says noerr.
 */
#include <ctype.h>
#include <editline/readline.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/boot.h"
#include "../engine/fatfs.h"
#include "../engine/ldm.h"
#include "../engine/ldm_dev.h"
#include "../engine/ldm_write.h"
#include "../engine/machine.h"
#include "../engine/nvram.h"
#include "../fmt/fsprobe.h"
#include "cli.h"
#include "out.h"

/* Exit codes of diskpart.exe. */
enum {
	DP_OK = 0,
	DP_FATAL = 1,
	DP_ARGS = 2,
	DP_NOFILE = 3,
	DP_SERVICE = 4,
	DP_SYNTAX = 5,
};

#define MAX_TOK 32
#define MAX_VOLS 256

struct tok {
	char *key; /* lowercased word, or the part before '=' */
	char *val; /* after '=', or NULL */
	char *raw; /* as typed */
};

struct dp {
	struct machine *m;
	int disk;          /* selected slot, -1 none */
	long part;         /* selected position in parts[], -1 none */
	int vol_slot;      /* selected volume: disk slot and partition key */
	char vol_key[64];
	bool has_vol;
	int ldm_sel;       /* focused dynamic volume (flat index), -1 none */
	int missing;       /* focused missing disk M<n>, -1 none */
	struct ldm_view *ldm; /* the dynamic disks, read at start and rescan */
	bool quit;
};

struct cmd {
	const char *name;
	const char *brief;
	int (*fn)(struct dp *, int, struct tok *);
	const char *help;
};

void cli_disk_warnings(FILE *f, const struct disk *d, const char *prefix);

/* --- output ------------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	putchar('\n');
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* Prints a row with trailing blanks cut. */
static void row(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void row(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	puts(buf);
}

static void dsize(const struct dp *dp, uint64_t bytes, char *buf, size_t cap)
{
	fmt_size_rule(bytes, dp->m->profile == PROFILE_2003 ? SIZE_2003
							   : SIZE_MODERN,
		      buf, cap);
}

static int bad_args(const char *topic)
{
	say("The arguments specified for this command are not valid.\n"
	    "For more information on the command type: HELP %s", topic);
	return DP_ARGS;
}

static int no_focus(const char *what)
{
	say("There is no %s selected.\nPlease select a %s and try again.", what,
	    what);
	return DP_SYNTAX;
}

static int service_error(const char *text, const struct gm_err *err)
{
	if (err && err->detail[0])
		say("Virtual Disk Service error:\n%s\n\n%s", text, err->detail);
	else
		say("Virtual Disk Service error:\n%s", text);
	return DP_SERVICE;
}

static int engine_error(const struct gm_err *err)
{
	switch (err->code) {
	case GM_E_NO_SPACE:
		return service_error("There is not enough usable space for this "
				     "operation.", err);
	case GM_E_NOT_CONVERTIBLE:
		return service_error("The specified disk is not convertible. "
				     "CDROMs and DVDs are examples of disks that "
				     "are not convertible.", err);
	case GM_E_TOO_SMALL:
		return service_error("The specified disk is not convertible "
				     "because the size is less than the minimum "
				     "size required for GPT disks.", err);
	case GM_E_PROTECTED:
		return service_error("Cannot delete a protected partition without "
				     "the force protected parameter set.", err);
	case GM_E_LETTER_IN_USE:
		return service_error("The specified drive letter is not free to "
				     "be assigned.", err);
	case GM_E_NOT_INIT:
		return service_error("The disk is not initialized.", err);
	case GM_E_NOT_GPT:
		return service_error("The specified partition type is not valid "
				     "for this disk.", err);
	case GM_E_TABLE_FULL:
		return service_error("The partition table is full.", err);
	case GM_E_NOT_SUPPORTED:
		return service_error("The operation is not supported on this "
				     "object.", err);
	case GM_E_NOT_MIRROR:
		return service_error("The volume is not a mirror.", err);
	case GM_E_PLEX_LAST:
		return service_error("The plex is the last up-to-date plex of the "
				     "volume and cannot be removed.", err);
	case GM_E_NOT_MISSING:
		return service_error("The disk is not missing.", err);
	case GM_E_DISK_HAS_VOLUMES:
		return service_error("This operation is not allowed on disks with "
				     "volumes.", err);
	case GM_E_NOT_EMPTY:
		return service_error("The disk is not empty.", err);
	case GM_E_NOT_DYNAMIC:
		return service_error("The disk is not a dynamic disk.", err);
	case GM_E_RUNNING_PLEX:
		say("Virtual Disk Service error:\n%s", err->detail);
		return DP_SERVICE;
	default:
		say("DiskPart has encountered an error: %s",
		    err->detail[0] ? err->detail : "the operation failed.");
		return DP_SERVICE;
	}
}

/* --- matching ----------------------------------------------------------- */

/* Index of word in list by exact match or unique prefix; -1 none, -2 ambiguous. */
static int match_kw(const char *word, const char *const *list)
{
	int hit = -1, n = 0;
	size_t len = strlen(word);

	if (len == 0)
		return -1;
	for (int i = 0; list[i]; i++) {
		if (strcasecmp(word, list[i]) == 0)
			return i;
		if (strncasecmp(word, list[i], len) == 0) {
			hit = i;
			n++;
		}
	}
	return n == 1 ? hit : (n ? -2 : -1);
}

static bool parse_num(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/*
 * Generic parameters: name=value (or name value) and flags. Unknown words
 * are an argument error. Names match by unique prefix.
 */
struct param {
	const char *name;
	bool takes_value;
	bool present;
	const char *value;
};

static int parse_params(int n, struct tok *t, struct param *ps)
{
	const char *names[16];
	int np = 0;

	for (; ps[np].name; np++)
		names[np] = ps[np].name;
	names[np] = NULL;
	for (int i = 0; i < n; i++) {
		int k = match_kw(t[i].key, names);
		if (k < 0)
			return -1;
		struct param *p = &ps[k];
		if (p->present)
			return -1;
		p->present = true;
		if (p->takes_value) {
			if (t[i].val)
				p->value = t[i].val;
			else if (i + 1 < n && !t[i + 1].val)
				p->value = t[++i].raw;
			else
				return -1;
			if (!*p->value)
				return -1;
		} else if (t[i].val) {
			return -1;
		}
	}
	return 0;
}

/* --- model access ------------------------------------------------------- */

static struct disk *sel_disk(struct dp *dp)
{
	return dp->disk >= 0 ? machine_disk(dp->m, dp->disk) : NULL;
}

static struct part *sel_part(struct dp *dp)
{
	struct disk *d = sel_disk(dp);

	if (!d || dp->part < 0 || (size_t)dp->part >= d->nparts)
		return NULL;
	return &d->parts[dp->part];
}

static int volumes(struct dp *dp, struct volume *v)
{
	return machine_volumes(dp->m, v, MAX_VOLS);
}

static void vol_key_of(struct dp *dp, const struct volume *v, char *key,
		       size_t cap)
{
	struct disk *d = machine_disk(dp->m, v->slot);
	part_key(d, &d->parts[v->part], key, cap);
}

/* The focused volume's entry in vols[], or -1. */
static int sel_vol(struct dp *dp, struct volume *vols, int n)
{
	if (!dp->has_vol)
		return -1;
	for (int i = 0; i < n; i++) {
		char k[64];
		if (vols[i].slot != dp->vol_slot)
			continue;
		vol_key_of(dp, &vols[i], k, sizeof(k));
		if (strcmp(k, dp->vol_key) == 0)
			return i;
	}
	return -1;
}

static void focus_volume_of_part(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v);

	dp->has_vol = false;
	for (int i = 0; i < n; i++) {
		if (v[i].slot == dp->disk && (long)v[i].part == dp->part) {
			dp->has_vol = true;
			dp->vol_slot = v[i].slot;
			vol_key_of(dp, &v[i], dp->vol_key, sizeof(dp->vol_key));
		}
	}
}

/* Dynamic volumes, flattened over the disk groups. */
static size_t ldm_count(const struct dp *dp)
{
	size_t n = 0;

	for (size_t g = 0; dp->ldm && g < dp->ldm->ngroups; g++)
		n += dp->ldm->groups[g].nvols;
	return n;
}

static const struct ldm_volume *ldm_at(const struct dp *dp, size_t i)
{
	for (size_t g = 0; dp->ldm && g < dp->ldm->ngroups; g++) {
		if (i < dp->ldm->groups[g].nvols)
			return &dp->ldm->groups[g].vols[i];
		i -= dp->ldm->groups[g].nvols;
	}
	return NULL;
}

static char ldm_letter(const struct ldm_volume *v)
{
	const char *h = v->rec->u.vol.hint;
	return h[0] && h[1] == ':' ? (char)toupper((unsigned char)h[0]) : 0;
}

static void ldm_rescan(struct dp *dp)
{
	struct gm_err err;

	ldm_view_free(dp->ldm);
	dp->ldm = NULL;
	dp->ldm_sel = -1;
	if (ldm_scan(dp->m, &dp->ldm, &err) < 0) {
		printf("\nWARNING: %s\n", err.detail);
		dp->ldm = NULL;
	}
}

static const char *part_type_word(const struct part *p)
{
	switch (p->kind) {
	case PK_ESP:
		return "System";
	case PK_MSR:
		return "Reserved";
	case PK_BASIC:
	case PK_MBR_PRIMARY:
		return "Primary";
	case PK_LDM_META:
		return "Dynamic Reserved";
	case PK_LDM_DATA:
		return "Dynamic Data";
	case PK_RECOVERY:
		return "Recovery";
	case PK_MBR_EXTENDED:
		return "Extended";
	case PK_OTHER:
		break;
	}
	return "Unknown";
}

static const char *disk_status(const struct disk *d)
{
	switch (d->style) {
	case DS_UNREADABLE:
		return "Unreadable";
	case DS_INVALID:
		return "Invalid";
	default:
		return d->raw_has_data ? "Not Initialized" : "Online";
	}
}

/* --- listings ----------------------------------------------------------- */

static void disk_header(void)
{
	row("  Disk ###  Status         Size     Free     Dyn  Gpt");
	row("  --------  -------------  -------  -------  ---  ---");
}

static void disk_row(struct dp *dp, const struct disk *d)
{
	char name[32], sz[16], fr[16];

	snprintf(name, sizeof(name), "Disk %d", d->slot);
	dsize(dp, d->dev->size, sz, sizeof(sz));
	dsize(dp, d->style == DS_GPT || d->style == DS_MBR || d->style == DS_RAW
			  ? disk_free_bytes(d)
			  : 0,
	      fr, sizeof(fr));
	bool dyn = dp->ldm && d->slot < 16 && dp->ldm->slot_group[d->slot] >= 0;
	if (dyn) {
		/* Free space of a dynamic disk: its public region less extents. */
		const struct ldm_group *g = &dp->ldm->groups[dp->ldm->slot_group[d->slot]];
		for (size_t i = 0; i < g->ndisks; i++)
			if (g->disks[i].slot == d->slot) {
				uint64_t pub = g->disks[i].ph.public_size, used = g->disks[i].used;
				dsize(dp, (pub > used ? pub - used : 0) * 512, fr, sizeof(fr));
			}
	}
	row("%c %-8s  %-13s  %7s  %7s  %3s  %3s", dp->disk == d->slot ? '*' : ' ',
	    name, disk_status(d), sz, fr, dyn ? " * " : "", d->style == DS_GPT ? " * " : "");
}

/* Missing disk M<k>: known from the databases, not in any slot. */
static const struct ldm_gdisk *missing_at(const struct dp *dp, int k)
{
	for (size_t g = 0; dp->ldm && g < dp->ldm->ngroups; g++)
		for (size_t i = 0; i < dp->ldm->groups[g].ndisks; i++) {
			const struct ldm_gdisk *x = &dp->ldm->groups[g].disks[i];
			if (x->slot < 0 && k-- == 0)
				return x;
		}
	return NULL;
}

/* Dynamic disks the databases know but that are not here: M0, M1, ... */
static void missing_rows(struct dp *dp)
{
	int k = 0;

	for (size_t g = 0; dp->ldm && g < dp->ldm->ngroups; g++)
		for (size_t i = 0; i < dp->ldm->groups[g].ndisks; i++) {
			const struct ldm_gdisk *x = &dp->ldm->groups[g].disks[i];
			char name[32], sz[16], fr[16];
			if (x->slot >= 0)
				continue;
			bool star = dp->missing == k;
			snprintf(name, sizeof(name), "Disk M%d", k++);
			dsize(dp, x->used * 512, sz, sizeof(sz));
			dsize(dp, 0, fr, sizeof(fr));
			row("%c %-8s  %-13s  %7s  %7s  %3s", star ? '*' : ' ', name, "Missing", sz,
			    fr, " * ");
		}
}

static void vol_header(void)
{
	row("  Volume ###  Ltr  Label        Fs     Type        Size     Status     Info");
	row("  ----------  ---  -----------  -----  ----------  -------  ---------  --------");
}

/* Volumes are numbered as Windows lists them: dynamic volumes first, then
 * the basic partitions that are volumes. */
static void vol_row(struct dp *dp, const struct volume *v, int num, bool star)
{
	struct disk *d = machine_disk(dp->m, v->slot);
	const struct part *p = &d->parts[v->part];
	uint8_t sec[4096];
	struct fs_probe fs = {0};
	char name[16], ltr[4], sz[16];

	if (blk_read(d->dev, part_offset(d, p), sec, d->ss) == 0)
		fs_probe(sec, d->ss, &fs);
	snprintf(name, sizeof(name), "Volume %d", num);
	snprintf(ltr, sizeof(ltr), " %c ", v->letter ? v->letter : ' ');
	dsize(dp, v->size, sz, sizeof(sz));
	row("%c %-10s  %-3s  %-11.11s  %-5s  %-10s  %7s  %-9s  %-8s",
	    star ? '*' : ' ', name, ltr, fs.label, fs_kind_str(fs.kind),
	    "Partition", sz, "Healthy", v->system ? "System" : v->letter == 'C' ? "Boot" : "");
}

static int list_disk(struct dp *dp)
{
	putchar('\n');
	disk_header();
	for (int i = 0; i < dp->m->nslots; i++) {
		struct disk *d = machine_disk(dp->m, i);
		if (d)
			disk_row(dp, d);
	}
	missing_rows(dp);
	return DP_OK;
}

static int list_partition(struct dp *dp)
{
	struct disk *d = sel_disk(dp);

	if (!d)
		return no_focus("disk");
	if (d->style == DS_UNREADABLE || d->style == DS_INVALID) {
		struct gm_err err;
		disk_check_writable(d, &err);
		return engine_error(&err);
	}
	if ((d->style != DS_GPT && d->style != DS_MBR) || d->nparts == 0) {
		say("There are no partitions on this disk to show.");
		return DP_OK;
	}
	putchar('\n');
	row("  Partition ###  Type              Size     Offset");
	row("  -------------  ----------------  -------  -------");
	for (size_t i = 0; i < d->nparts; i++) {
		char name[32], sz[16], off[16];
		snprintf(name, sizeof(name), "Partition %zu", i + 1);
		dsize(dp, part_bytes(d, &d->parts[i]), sz, sizeof(sz));
		dsize(dp, part_offset(d, &d->parts[i]), off, sizeof(off));
		row("%c %-13s  %-16s  %7s  %7s", dp->part == (long)i ? '*' : ' ',
		    name, part_type_word(&d->parts[i]), sz, off);
	}
	return DP_OK;
}

static void ldm_row(struct dp *dp, const struct ldm_volume *v, int num, bool star)
{
	uint8_t sec[512];
	struct fs_probe fs = {0};
	struct gm_err err;
	char name[16], ltr[4], sz[16];
	char l = ldm_letter(v);

	if (v->health != LH_FAILED && ldm_vol_read(dp->m, v, 0, 1, sec, &err) == 0)
		fs_probe(sec, sizeof(sec), &fs);
	snprintf(name, sizeof(name), "Volume %d", num);
	snprintf(ltr, sizeof(ltr), " %c ", l ? l : ' ');
	dsize(dp, v->sectors * 512, sz, sizeof(sz));
	const char *status = ldm_health_str(v->health);
	for (size_t p = 0; p < v->nplex && v->health == LH_HEALTHY; p++)
		if (v->nplex > 1 && ldm_plex_rebuilding(&v->plex[p]))
			status = "Rebuild";
	row("%c %-10s  %-3s  %-11.11s  %-5s  %-10s  %7s  %-9s  %-8s", star ? '*' : ' ', name,
	    ltr, fs.label, fs_kind_str(fs.kind), ldm_kind_str(v->kind), sz, status,
	    l == 'C' ? "Boot" : "");
}

static int list_volume(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), cur = dp->ldm_sel >= 0 ? -1 : sel_vol(dp, v, n);
	size_t nl = ldm_count(dp);

	if (n == 0 && nl == 0) {
		say("There are no volumes.");
		return DP_OK;
	}
	putchar('\n');
	vol_header();
	for (size_t i = 0; i < nl; i++)
		ldm_row(dp, ldm_at(dp, i), (int)i, dp->ldm_sel == (int)i);
	for (int i = 0; i < n; i++)
		vol_row(dp, &v[i], (int)nl + i, i == cur);
	return DP_OK;
}

static const char *const objects[] = {"disk", "partition", "volume", NULL};

static int cmd_list(struct dp *dp, int n, struct tok *t)
{
	int k = n == 1 ? match_kw(t[0].key, objects) : -1;

	if (k < 0 || t[0].val)
		return bad_args("LIST");
	switch (k) {
	case 0:
		return list_disk(dp);
	case 1:
		return list_partition(dp);
	default:
		return list_volume(dp);
	}
}

/* --- select ------------------------------------------------------------- */

static int select_disk(struct dp *dp, const char *arg)
{
	uint64_t n;

	if (arg && (arg[0] == 'm' || arg[0] == 'M') && parse_num(arg + 1, &n)) {
		if (n > 64 || !missing_at(dp, (int)n)) {
			say("The disk you specified is not valid.\n\n"
			    "There is no disk selected.");
			return DP_ARGS;
		}
		dp->missing = (int)n;
		dp->disk = -1;
		dp->part = -1;
		dp->has_vol = false;
		say("Disk M%d is now the selected disk.", dp->missing);
		return DP_OK;
	}
	if (!arg) {
		if (dp->missing >= 0)
			say("Disk M%d is now the selected disk.", dp->missing);
		else if (dp->disk < 0)
			say("There is no disk selected.");
		else
			say("Disk %d is now the selected disk.", dp->disk);
		return DP_OK;
	}
	if (!parse_num(arg, &n) || n >= (uint64_t)dp->m->nslots ||
	    !machine_disk(dp->m, (int)n)) {
		say("The disk you specified is not valid.\n\n"
		    "There is no disk selected.");
		return DP_ARGS;
	}
	dp->disk = (int)n;
	dp->missing = -1;
	dp->part = -1;
	if (dp->has_vol && dp->vol_slot != dp->disk)
		dp->has_vol = false;
	say("Disk %d is now the selected disk.", dp->disk);
	return DP_OK;
}

static int select_partition(struct dp *dp, const char *arg)
{
	struct disk *d = sel_disk(dp);
	uint64_t n;

	if (!d)
		return no_focus("disk");
	if (!arg) {
		if (dp->part < 0)
			say("There is no partition selected.");
		else
			say("Partition %ld is now the selected partition.",
			    dp->part + 1);
		return DP_OK;
	}
	if (!parse_num(arg, &n) || n < 1 || n > d->nparts) {
		say("The partition you specified is not valid.\n"
		    "Please select a valid partition.\n\n"
		    "There is no partition selected.");
		dp->part = -1;
		return DP_ARGS;
	}
	dp->part = (long)n - 1;
	focus_volume_of_part(dp);
	say("Partition %" PRIu64 " is now the selected partition.", n);
	return DP_OK;
}

static int select_volume(struct dp *dp, const char *arg)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), hit = -1;
	uint64_t num;

	if (!arg) {
		int cur = sel_vol(dp, v, n);
		if (dp->ldm_sel >= 0)
			say("Volume %d is the selected volume.", dp->ldm_sel);
		else if (cur < 0)
			say("There is no volume selected.");
		else
			say("Volume %d is the selected volume.", (int)ldm_count(dp) + cur);
		return DP_OK;
	}
	size_t nl = ldm_count(dp);
	int found = -1;
	bool is_letter = isalpha((unsigned char)arg[0]) &&
			 (arg[1] == '\0' || (arg[1] == ':' && arg[2] == '\0'));
	if (parse_num(arg, &num)) {
		if (num < (uint64_t)nl)
			found = (int)num;
		else if (num - nl < (uint64_t)n)
			hit = (int)(num - nl);
	} else if (is_letter) {
		char l = (char)toupper((unsigned char)arg[0]);
		for (size_t i = 0; i < nl; i++)
			if (ldm_letter(ldm_at(dp, i)) == l)
				found = (int)i;
		for (int i = 0; i < n && found < 0; i++)
			if (v[i].letter == l)
				hit = i;
	}
	if (hit < 0) {
		if (found >= 0) {
			const struct ldm_volume *lv = ldm_at(dp, (size_t)found);
			dp->has_vol = false;
			dp->ldm_sel = found;
			dp->part = -1;
			/* The disk of its first extent takes the disk focus. */
			for (size_t p = 0; lv && p < lv->nplex; p++)
				if (lv->plex[p].n && lv->plex[p].ext[0].slot >= 0) {
					dp->disk = lv->plex[p].ext[0].slot;
					dp->missing = -1;
					break;
				}
			say("Volume %d is the selected volume.", found);
			return DP_OK;
		}
		say("The volume you specified is not valid.\n\n"
		    "There is no volume selected.");
		dp->has_vol = false;
		dp->ldm_sel = -1;
		return DP_ARGS;
	}
	dp->ldm_sel = -1;
	dp->has_vol = true;
	dp->vol_slot = v[hit].slot;
	vol_key_of(dp, &v[hit], dp->vol_key, sizeof(dp->vol_key));
	/* A volume on one partition of one disk focuses those too. */
	dp->disk = v[hit].slot;
	dp->part = (long)v[hit].part;
	say("Volume %d is the selected volume.", (int)nl + hit);
	return DP_OK;
}

static int cmd_select(struct dp *dp, int n, struct tok *t)
{
	int k = n >= 1 ? match_kw(t[0].key, objects) : -1;
	const char *arg = NULL;

	if (k < 0 || n > 2 || (n == 2 && t[0].val))
		return bad_args("SELECT");
	if (t[0].val)
		arg = t[0].val;
	else if (n == 2)
		arg = t[1].raw;
	switch (k) {
	case 0:
		return select_disk(dp, arg);
	case 1:
		return select_partition(dp, arg);
	default:
		return select_volume(dp, arg);
	}
}

/* --- detail ------------------------------------------------------------- */

static void volumes_on(struct dp *dp, int slot, long part)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), shown = 0, cur = sel_vol(dp, v, n);

	for (int i = 0; i < n; i++) {
		if (v[i].slot != slot || (part >= 0 && (long)v[i].part != part))
			continue;
		if (!shown++) {
			putchar('\n');
			vol_header();
		}
		vol_row(dp, &v[i], (int)ldm_count(dp) + i, i == cur);
	}
	/* Dynamic volumes with an extent on this disk (or this partition). */
	struct disk *d = machine_disk(dp->m, slot);
	for (size_t i = 0; d && i < ldm_count(dp); i++) {
		const struct ldm_volume *lv = ldm_at(dp, i);
		bool on = false;
		for (size_t p = 0; p < lv->nplex; p++)
			for (size_t e = 0; e < lv->plex[p].n; e++) {
				const struct ldm_extent *x = &lv->plex[p].ext[e];
				if (x->slot != slot)
					continue;
				if (part < 0)
					on = true;
				else if (x->abs_start >= d->parts[part].first_lba &&
					 x->abs_start <= d->parts[part].last_lba)
					on = true;
			}
		if (!on)
			continue;
		if (!shown++) {
			putchar('\n');
			vol_header();
		}
		ldm_row(dp, lv, (int)i, dp->ldm_sel == (int)i);
	}
	if (!shown)
		printf("\nThere %s.\n", part >= 0
			   ? "is no volume associated with this partition"
			   : "are no volumes");
}

static int detail_disk(struct dp *dp)
{
	struct disk *d = sel_disk(dp);
	char id[40];

	if (!d)
		return no_focus("disk");
	if (d->style == DS_GPT) {
		char g[GUID_STR_LEN + 1];
		guid_to_str_upper(&d->hdr.disk_guid, g);
		snprintf(id, sizeof(id), "{%s}", g);
	} else if (d->style == DS_MBR) {
		snprintf(id, sizeof(id), "%08" PRIX32, d->mbr.disk_sig);
	} else {
		snprintf(id, sizeof(id), "00000000");
	}
	printf("\ngptmirror Virtual Disk (%s)\n", dp->m->slots[d->slot].image);
	printf("Disk ID: %s\n", id);
	printf("Type   : File Backed Virtual\n");
	printf("Status : %s\n", disk_status(d));
	printf("Path   : 0\nTarget : %d\nLUN ID : 0\n", d->slot);
	printf("Location Path : SLOT(%d)#IMAGE(%s)\n", d->slot,
	       dp->m->slots[d->slot].image);
	printf("Current Read-only State : %s\n", d->dev->writable ? "No" : "Yes");
	printf("Read-only  : %s\n", d->dev->writable ? "No" : "Yes");
	printf("Boot Disk  : No\nPagefile Disk  : No\n"
	       "Hibernation File Disk  : No\nCrashdump Disk  : No\n"
	       "Clustered Disk  : No\n");
	volumes_on(dp, d->slot, -1);
	return DP_OK;
}

static int detail_partition(struct dp *dp)
{
	struct disk *d = sel_disk(dp);
	struct part *p = sel_part(dp);

	if (!d)
		return no_focus("disk");
	if (!p)
		return no_focus("partition");
	printf("\nPartition %ld\n", dp->part + 1);
	if (d->style == DS_GPT) {
		char g[GUID_STR_LEN + 1];
		guid_to_str(&p->ent.type, g);
		printf("Type    : %s\n", g);
		printf("Hidden  : %s\n", p->kind == PK_BASIC ? "No" : "Yes");
		printf("Required: %s\n", (p->ent.attrs & 1) ? "Yes" : "No");
		printf("Attrib  : 0X%016" PRIX64 "\n", p->ent.attrs);
	} else {
		printf("Type  : %02X\n", p->mbr_type);
		printf("Hidden: No\n");
		printf("Active: %s\n", (p->mbr_status & 0x80) ? "Yes" : "No");
	}
	printf("Offset in Bytes: %" PRIu64 "\n", part_offset(d, p));
	volumes_on(dp, d->slot, dp->part);
	return DP_OK;
}

static int detail_ldm_volume(struct dp *dp, const struct ldm_volume *v)
{
	char cap[16];
	int shown[16] = {0}, k = 0;

	putchar('\n');
	disk_header();
	for (size_t p = 0; p < v->nplex; p++)
		for (size_t e = 0; e < v->plex[p].n; e++) {
			int s = v->plex[p].ext[e].slot;
			if (s >= 0 && s < 16 && !shown[s] && machine_disk(dp->m, s)) {
				shown[s] = 1;
				disk_row(dp, machine_disk(dp->m, s));
			}
		}
	/* The missing disks this volume has extents on. */
	for (size_t g = 0; dp->ldm && g < dp->ldm->ngroups; g++)
		for (size_t i = 0; i < dp->ldm->groups[g].ndisks; i++) {
			const struct ldm_gdisk *x = &dp->ldm->groups[g].disks[i];
			if (x->slot >= 0)
				continue;
			bool mine = false;
			for (size_t p = 0; p < v->nplex; p++)
				for (size_t e = 0; e < v->plex[p].n; e++)
					mine |= v->plex[p].ext[e].rec->u.part.disk == x->rec->id;
			char name[32], sz[16];
			snprintf(name, sizeof(name), "Disk M%d", k);
			k++;
			if (!mine)
				continue;
			dsize(dp, x->used * 512, sz, sizeof(sz));
			row("  %-8s  %-13s  %7s  %7s  %3s", name, "Missing", sz, "0 B", " * ");
		}
	dsize(dp, v->sectors * 512, cap, sizeof(cap));
	printf("\nRead-only              : No\n"
	       "Hidden                 : No\n"
	       "No Default Drive Letter: No\n"
	       "Shadow Copies          : No\n"
	       "Offline                : No\n"
	       "BitLocker Encrypted    : No\n"
	       "Installable            : No\n\n"
	       "Volume Capacity        : %7s\n", cap);
	return DP_OK;
}

static int detail_volume(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), cur = sel_vol(dp, v, n);
	char cap[16];

	if (dp->ldm_sel >= 0 && ldm_at(dp, (size_t)dp->ldm_sel))
		return detail_ldm_volume(dp, ldm_at(dp, (size_t)dp->ldm_sel));

	if (cur < 0)
		return no_focus("volume");
	struct disk *d = machine_disk(dp->m, v[cur].slot);
	putchar('\n');
	disk_header();
	disk_row(dp, d);
	dsize(dp, v[cur].size, cap, sizeof(cap));
	printf("\nRead-only              : No\n"
	       "Hidden                 : No\n"
	       "No Default Drive Letter: %s\n"
	       "Shadow Copies          : No\n"
	       "Offline                : No\n"
	       "BitLocker Encrypted    : No\n"
	       "Installable            : No\n\n"
	       "Volume Capacity        : %7s\n",
	       v[cur].system ? "Yes" : "No", cap);
	return DP_OK;
}

static int cmd_detail(struct dp *dp, int n, struct tok *t)
{
	int k = n == 1 ? match_kw(t[0].key, objects) : -1;

	if (k < 0 || t[0].val)
		return bad_args("DETAIL");
	switch (k) {
	case 0:
		return detail_disk(dp);
	case 1:
		return detail_partition(dp);
	default:
		return detail_volume(dp);
	}
}

/* --- changes ------------------------------------------------------------ */

static int save_conf(struct dp *dp)
{
	struct gm_err err;

	if (machine_save(dp->m, &err) < 0)
		return engine_error(&err);
	return DP_OK;
}

/* The letter keys of a disk's partitions, taken before a change that
 * removes them all (convert, clean), and dropped once it succeeded. */
struct keylist {
	char (*k)[64];
	size_t n;
};

static int keys_of_disk(const struct disk *d, struct keylist *kl)
{
	kl->n = 0;
	kl->k = d->nparts ? calloc(d->nparts, sizeof(*kl->k)) : NULL;
	if (d->nparts && !kl->k)
		return -1;
	for (size_t i = 0; i < d->nparts; i++)
		part_key(d, &d->parts[i], kl->k[kl->n++], sizeof(kl->k[0]));
	return 0;
}

static void drop_keys(struct dp *dp, struct keylist *kl)
{
	for (size_t i = 0; i < kl->n; i++)
		machine_drop_letter_key(dp->m, kl->k[i]);
	free(kl->k);
	kl->k = NULL;
}

static int cmd_convert(struct dp *dp, int n, struct tok *t)
{
	static const char *const kinds[] = {"gpt", "mbr", "dynamic", "basic", NULL};
	int k = n == 1 ? match_kw(t[0].key, kinds) : -1;
	struct disk *d = sel_disk(dp);
	struct gm_err err;
	int rc;

	if (k < 0 || t[0].val)
		return bad_args("CONVERT");
	if (!d)
		return no_focus("disk");
	if (k == 3) {
		if (!(dp->ldm && d->slot < 16 && dp->ldm->slot_group[d->slot] >= 0)) {
			say("Virtual Disk Service error:\nThe disk is already basic.");
			return DP_SERVICE;
		}
		if (ldm_convert_basic(dp->m, dp->ldm, d->slot, &err) < 0)
			return engine_error(&err);
		machine_rescan(dp->m, &err);
		ldm_rescan(dp);
		dp->part = -1;
		say("DiskPart successfully converted the selected disk to basic format.");
		return save_conf(dp);
	}
	if (k == 2) {
		/* Server 2003 converts the disk of the running boot volume (C:)
		 * at the next boot. */
		if (dp->m->profile == PROFILE_2003 && d->style == DS_GPT &&
		    !(dp->ldm && d->slot < 16 && dp->ldm->slot_group[d->slot] >= 0)) {
			for (size_t i = 0; i < d->nparts; i++) {
				char key[64];
				part_key(d, &d->parts[i], key, sizeof(key));
				if (machine_letter_of(dp->m, key) == 'C') {
					if (machine_add_pending(dp->m, "convert-dynamic", d->slot,
								&err) < 0)
						return engine_error(&err);
					say("You must reboot your computer to complete this "
					    "operation.");
					return DP_OK;
				}
			}
		}
		if (ldm_convert_dynamic(dp->m, dp->ldm, d->slot, &err) < 0) {
			if (err.code == GM_E_NOT_CONVERTIBLE && strstr(err.detail, "already dynamic")) {
				say("Virtual Disk Service error:\nThe disk is already dynamic.");
				return DP_SERVICE;
			}
			return engine_error(&err);
		}
		machine_rescan(dp->m, &err);
		ldm_rescan(dp);
		dp->part = -1;
		say("DiskPart successfully converted the selected disk to dynamic format.");
		return save_conf(dp);
	}
	struct keylist kl;
	if (keys_of_disk(d, &kl) < 0)
		return DP_FATAL;
	if (k == 0)
		rc = disk_convert_gpt(d, &dp->m->rng, dp->m->profile, &err);
	else
		rc = disk_convert_mbr(d, &dp->m->rng, &err);
	if (rc < 0) {
		free(kl.k);
		return engine_error(&err);
	}
	drop_keys(dp, &kl);
	dp->part = -1;
	dp->has_vol = false;
	say("DiskPart successfully converted the selected disk to %s format.",
	    k == 0 ? "GPT" : "MBR");
	return save_conf(dp);
}

static int cmd_clean(struct dp *dp, int n, struct tok *t)
{
	struct disk *d = sel_disk(dp);
	struct gm_err err;

	(void)t;
	if (n != 0)
		return bad_args("CLEAN");
	if (!d)
		return no_focus("disk");
	struct keylist kl;
	if (keys_of_disk(d, &kl) < 0)
		return DP_FATAL;
	if (disk_clean(d, &err) < 0) {
		free(kl.k);
		return engine_error(&err);
	}
	drop_keys(dp, &kl);
	dp->part = -1;
	if (dp->has_vol && dp->vol_slot == d->slot)
		dp->has_vol = false;
	say("DiskPart succeeded in cleaning the disk.");
	return save_conf(dp);
}

static int cmd_create(struct dp *dp, int n, struct tok *t)
{
	static const char *const what[] = {"partition", "volume", NULL};
	static const char *const kinds[] = {"efi", "msr", "primary", "extended",
					    "logical", NULL};
	struct param ps[] = {{"size", true, false, NULL},
			     {"offset", true, false, NULL},
			     {"id", true, false, NULL},
			     {"align", true, false, NULL},
			     {NULL, false, false, NULL}};
	struct create_req req = {0};
	struct disk *d = sel_disk(dp);
	struct gm_err err;
	size_t pos;
	int k;

	if (n < 1 || match_kw(t[0].key, what) != 0) {
		say("\nPARTITION   - Create a partition.");
		return bad_args("CREATE");
	}
	k = n >= 2 ? match_kw(t[1].key, kinds) : -1;
	const char *topic = k == 0   ? "CREATE PARTITION EFI"
			    : k == 1 ? "CREATE PARTITION MSR"
			    : k == 2 ? "CREATE PARTITION PRIMARY"
				     : "CREATE PARTITION";
	if (k < 0 || t[1].val || parse_params(n - 2, t + 2, ps) < 0)
		return bad_args(topic);
	if (k >= 3) {
		say("DiskPart has encountered an error: extended and logical "
		    "partitions are not supported by gptmirror.");
		return DP_SERVICE;
	}
	req.kind = k == 0 ? PK_ESP : k == 1 ? PK_MSR : PK_BASIC;
	if (ps[0].present && (!parse_num(ps[0].value, &req.size_mb) ||
			      req.size_mb == 0))
		return bad_args(topic);
	if (ps[1].present) {
		if (!parse_num(ps[1].value, &req.offset_kb))
			return bad_args(topic);
		req.has_offset = true;
	}
	if (ps[2].present) {
		if (k != 2)
			return bad_args(topic);
		req.has_type = true;
		if (guid_from_str(ps[2].value, &req.type) < 0) {
			char *end;
			unsigned long b = strtoul(ps[2].value, &end, 16);
			if (*end || b == 0 || b > 0xff || (d && d->style == DS_GPT))
				return bad_args(topic);
			req.mbr_type = (uint8_t)b;
		} else if (d && d->style == DS_MBR) {
			return bad_args(topic);
		}
	}
	if (ps[3].present) {
		uint64_t a;
		if (!parse_num(ps[3].value, &a))
			return bad_args(topic);
	}
	if (!d)
		return no_focus("disk");
	if (disk_create_part(d, &dp->m->rng, dp->m->profile, &req, &pos, &err) < 0)
		return engine_error(&err);
	dp->part = (long)pos;
	focus_volume_of_part(dp);
	say("DiskPart succeeded in creating the specified partition.");
	return save_conf(dp);
}

static int cmd_delete(struct dp *dp, int n, struct tok *t)
{
	static const char *const what[] = {"partition", "disk", "volume", NULL};
	struct param ps[] = {{"override", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct disk *d = sel_disk(dp);
	struct part *p = sel_part(dp);
	struct gm_err err;
	char key[64];
	int k = n >= 1 ? match_kw(t[0].key, what) : -1;

	if (k < 0 || t[0].val || parse_params(n - 1, t + 1, ps) < 0)
		return bad_args("DELETE");
	if (k == 1) {
		/* delete disk: only a missing dynamic disk. */
		if (dp->missing < 0) {
			if (!d)
				return no_focus("disk");
			say("Virtual Disk Service error:\nThe disk is not missing.");
			return DP_SERVICE;
		}
		const struct ldm_gdisk *x = missing_at(dp, dp->missing);
		if (!x)
			return no_focus("disk");
		if (ldm_delete_missing_disk(dp->m, dp->ldm, x->rec->id, ps[0].present, &err) < 0)
			return engine_error(&err);
		ldm_rescan(dp);
		dp->missing = -1;
		say("DiskPart successfully deleted the missing disk.");
		return save_conf(dp);
	}
	if (k == 2) {
		say("DiskPart has encountered an error: delete volume is not "
		    "supported by this version of gptmirror.");
		return DP_SERVICE;
	}
	if (!d)
		return no_focus("disk");
	if (!p)
		return no_focus("partition");
	part_key(d, p, key, sizeof(key));
	if (disk_delete_part(d, (size_t)dp->part, ps[0].present, &err) < 0)
		return engine_error(&err);
	machine_drop_letter_key(dp->m, key);
	dp->part = -1;
	if (dp->has_vol && strcmp(dp->vol_key, key) == 0)
		dp->has_vol = false;
	say("DiskPart successfully deleted the selected partition.");
	return save_conf(dp);
}

/* The partition assign/remove act on: the focused partition, or else the
 * focused volume's. */
static int target_part(struct dp *dp, struct disk **dout, struct part **pout)
{
	struct volume v[MAX_VOLS];

	if (sel_part(dp)) {
		*dout = sel_disk(dp);
		*pout = sel_part(dp);
		return 0;
	}
	int n = volumes(dp, v), cur = sel_vol(dp, v, n);
	if (cur < 0)
		return -1;
	*dout = machine_disk(dp->m, v[cur].slot);
	*pout = &(*dout)->parts[v[cur].part];
	return 0;
}

static bool letter_arg(const char *s, char *out)
{
	if (!s || !isalpha((unsigned char)s[0]) ||
	    !(s[1] == '\0' || (s[1] == ':' && s[2] == '\0')))
		return false;
	*out = (char)toupper((unsigned char)s[0]);
	return *out >= 'C';
}

static int cmd_assign(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"letter", true, false, NULL},
			     {"mount", true, false, NULL},
			     {NULL, false, false, NULL}};
	struct disk *d;
	struct part *p;
	struct gm_err err;
	char key[64], l = 0;

	if (parse_params(n, t, ps) < 0 ||
	    (ps[0].present && !letter_arg(ps[0].value, &l)))
		return bad_args("ASSIGN");
	if (ps[1].present) {
		say("DiskPart has encountered an error: mount points are not "
		    "supported on machine images.");
		return DP_SERVICE;
	}
	if (target_part(dp, &d, &p) < 0)
		return no_focus("volume");
	if (!(p->kind == PK_BASIC || p->kind == PK_ESP ||
	      p->kind == PK_MBR_PRIMARY || p->kind == PK_RECOVERY)) {
		say("Virtual Disk Service error:\nThe operation is not supported "
		    "on %s partitions.", p->kind == PK_MSR ? "MSR" : "these");
		return DP_SERVICE;
	}
	if (!l) {
		for (char c = 'C'; c <= 'Z' && !l; c++)
			if (!machine_letter_key(dp->m, c))
				l = c;
		if (!l) {
			say("Virtual Disk Service error:\nThere are no drive "
			    "letters left to assign.");
			return DP_SERVICE;
		}
	}
	part_key(d, p, key, sizeof(key));
	if (machine_set_letter(dp->m, l, key, &err) < 0)
		return engine_error(&err);
	if (dp->part >= 0 && dp->disk == d->slot)
		focus_volume_of_part(dp);
	say("DiskPart successfully assigned the drive letter or mount point.");
	return save_conf(dp);
}

static int cmd_remove(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"letter", true, false, NULL},
			     {"mount", true, false, NULL},
			     {"all", false, false, NULL},
			     {"dismount", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct disk *d;
	struct part *p;
	char key[64], l = 0, have;

	if (parse_params(n, t, ps) < 0 ||
	    (ps[0].present && !letter_arg(ps[0].value, &l)) || ps[1].present)
		return bad_args("REMOVE");
	if (target_part(dp, &d, &p) < 0)
		return no_focus("volume");
	part_key(d, p, key, sizeof(key));
	have = machine_letter_of(dp->m, key);
	if (!have || (l && l != have)) {
		say("Virtual Disk Service error:\nThe drive letter or mount point "
		    "is not assigned to the selected volume.");
		return DP_SERVICE;
	}
	machine_drop_letter_key(dp->m, key);
	/* A 2003 ESP stops being a volume when its letter goes. */
	if (dp->part >= 0)
		focus_volume_of_part(dp);
	say("DiskPart successfully removed the drive letter or mount point.");
	return save_conf(dp);
}

int cli_format(struct machine *m, int slot, size_t pos, enum fat_type kind,
	       uint32_t unit, const char *label, bool quick, bool windows_text,
	       struct gm_err *err);
int cli_format_dev(struct machine *m, struct blkdev *vol, uint32_t ss, uint64_t hidden,
		   enum fat_type kind, uint32_t unit, const char *label, bool quick,
		   bool windows_text, struct gm_err *err);

static int cmd_format(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"fs", true, false, NULL},
			     {"label", true, false, NULL},
			     {"unit", true, false, NULL},
			     {"quick", false, false, NULL},
			     {"override", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct volume v[MAX_VOLS];
	struct gm_err err;
	enum fat_type kind = FAT32;
	uint64_t unit = 0;
	char label[12] = "";

	if (parse_params(n, t, ps) < 0)
		return bad_args("FORMAT");
	if (ps[0].present) {
		if (strcasecmp(ps[0].value, "fat") == 0)
			kind = FAT16;
		else if (strcasecmp(ps[0].value, "fat32") == 0)
			kind = FAT32;
		else {
			say("Virtual Disk Service error:\nThe file system is not "
			    "supported: gptmirror formats FAT and FAT32.");
			return DP_SERVICE;
		}
	}
	if (ps[1].present) {
		size_t len = strlen(ps[1].value);
		if (len > 11)
			return bad_args("FORMAT");
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)toupper((unsigned char)ps[1].value[i]);
			if (c < 0x20 || c > 0x7e || strchr("\"*+,./:;<=>?[\\]|", c))
				return bad_args("FORMAT");
			label[i] = (char)c;
		}
	}
	if (ps[2].present && (parse_size(ps[2].value, &unit) < 0 || unit > 65536))
		return bad_args("FORMAT");
	if (dp->ldm_sel >= 0 && ldm_at(dp, (size_t)dp->ldm_sel)) {
		/* A dynamic volume: through the mirror, every plex written. */
		const struct ldm_volume *lv = ldm_at(dp, (size_t)dp->ldm_sel);
		struct blkdev *dev;
		uint64_t hidden = 0;
		if (ldm_vol_open_dev(dp->m, lv, &dev, &err) < 0)
			return engine_error(&err);
		for (size_t p = 0; p < lv->nplex && !hidden; p++)
			if (lv->plex[p].n && lv->plex[p].ext[0].slot >= 0)
				hidden = lv->plex[p].ext[0].abs_start;
		int rc = cli_format_dev(dp->m, dev, 512, hidden, kind, (uint32_t)unit, label,
					ps[3].present, false, &err);
		uint32_t failed = ldm_vol_dev_failed(dev);
		blk_close(dev);
		struct gm_err e2;
		if (failed)
			ldm_mark_failed(dp->m, dp->ldm, lv, failed, &e2);
		int keep = dp->ldm_sel;
		ldm_rescan(dp);
		dp->ldm_sel = keep;
		if (rc < 0)
			return err.code == GM_E_ARGS ? service_error("The volume size is not valid "
								     "for the file system.", &err)
						     : engine_error(&err);
		say("  100 percent completed\n\nDiskPart successfully formatted the volume.");
		return save_conf(dp);
	}
	int nv = volumes(dp, v), cur = sel_vol(dp, v, nv);
	if (cur < 0)
		return no_focus("volume");
	if (cli_format(dp->m, v[cur].slot, v[cur].part, kind, (uint32_t)unit, label,
		       ps[3].present, false, &err) < 0) {
		if (err.code == GM_E_ARGS)
			return service_error("The volume size is not valid for the "
					     "file system.", &err);
		return engine_error(&err);
	}
	say("  100 percent completed\n\nDiskPart successfully formatted the volume.");
	return save_conf(dp);
}

static int cmd_add(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"disk", true, false, NULL},
			     {"align", true, false, NULL},
			     {"wait", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct gm_err err;
	uint64_t target;

	if (parse_params(n, t, ps) < 0 || !ps[0].present || !parse_num(ps[0].value, &target) ||
	    target >= GM_MAX_SLOTS)
		return bad_args("ADD");
	if (dp->ldm_sel < 0) {
		if (dp->has_vol) {
			say("Virtual Disk Service error:\nThe volume is not a simple dynamic "
			    "volume: convert its disk to dynamic first.");
			return DP_SERVICE;
		}
		return no_focus("volume");
	}
	struct ldm_volume *v = (struct ldm_volume *)ldm_at(dp, (size_t)dp->ldm_sel);
	if (!v)
		return no_focus("volume");
	struct guid plex;
	char hint = ldm_letter(v);
	if (ldm_add_mirror(dp->m, dp->ldm, v, (int)target, &plex,
			   isatty(STDERR_FILENO) ? cli_progress : NULL, NULL, &err) < 0) {
		machine_rescan(dp->m, NULL);
		int keep = dp->ldm_sel;
		ldm_rescan(dp);
		dp->ldm_sel = keep;
		if (err.code == GM_E_NOT_SUPPORTED)
			return service_error("The volume is not a simple volume.", &err);
		return engine_error(&err);
	}
	int keep = dp->ldm_sel;
	machine_rescan(dp->m, &err);
	ldm_rescan(dp);
	dp->ldm_sel = keep;
	/* The boot volume's new plex gets its boot entry, as Windows adds
	 * "Boot Mirror C: - secondary plex". */
	if (hint == 'C' && boot_add_plex_entry(dp->m, (int)target, &plex, &err) < 0)
		say("The service did not update the boot file.");
	say("DiskPart succeeded in adding a mirror to the volume.");
	return save_conf(dp);
}

static int cmd_break(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"disk", true, false, NULL},
			     {"nokeep", false, false, NULL},
			     {"noerr", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct gm_err err;
	uint64_t num;
	uint32_t disk_id = 0;

	if (parse_params(n, t, ps) < 0 || !ps[0].present)
		return bad_args("BREAK");
	if (dp->ldm_sel < 0)
		return no_focus("volume");
	const struct ldm_volume *v = ldm_at(dp, (size_t)dp->ldm_sel);
	const char *a = ps[0].value;
	if ((a[0] == 'm' || a[0] == 'M') && parse_num(a + 1, &num)) {
		const struct ldm_gdisk *x = num <= 64 ? missing_at(dp, (int)num) : NULL;
		if (!x)
			return bad_args("BREAK");
		disk_id = x->rec->id;
	} else if (parse_num(a, &num) && num < 16 && dp->ldm &&
		   dp->ldm->slot_group[num] >= 0) {
		const struct ldm_group *g = &dp->ldm->groups[dp->ldm->slot_group[num]];
		for (size_t i = 0; i < g->ndisks; i++)
			if (g->disks[i].slot == (int)num)
				disk_id = g->disks[i].rec->id;
	}
	if (!v || !disk_id) {
		say("The disk you specified is not valid.");
		return DP_ARGS;
	}
	char hint = ldm_letter(v), newv[64] = "";
	bool keep = !ps[1].present;
	if (ldm_break_mirror(dp->m, dp->ldm, v, disk_id, keep, newv, sizeof(newv), &err) < 0)
		return engine_error(&err);
	machine_rescan(dp->m, &err);
	int was = dp->ldm_sel;
	ldm_rescan(dp);
	dp->ldm_sel = was;
	if (keep)
		for (size_t i = 0; i < ldm_count(dp); i++)
			if (strcmp(ldm_at(dp, i)->rec->name, newv) == 0)
				dp->ldm_sel = (int)i; /* the new simple volume has focus */
	/* Windows tries to retarget the boot entries of the boot volume's
	 * plexes and says when it did not. */
	if (hint == 'C')
		say("The service did not update the boot file.");
	say("DiskPart successfully broke the mirror volume.");
	return save_conf(dp);
}

static int cmd_rescan(struct dp *dp, int n, struct tok *t)
{
	struct gm_err err;

	(void)t;
	if (n != 0)
		return bad_args("RESCAN");
	say("Please wait while DiskPart scans your configuration...");
	machine_rescan(dp->m, &err);
	ldm_rescan(dp);
	if (dp->disk >= 0 && !machine_disk(dp->m, dp->disk))
		dp->disk = -1;
	dp->part = -1;
	say("DiskPart has finished scanning your configuration.");
	return DP_OK;
}

static int cmd_rem(struct dp *dp, int n, struct tok *t)
{
	(void)dp;
	(void)n;
	(void)t;
	return DP_OK;
}

static int cmd_exit(struct dp *dp, int n, struct tok *t)
{
	(void)n;
	(void)t;
	say("Leaving DiskPart...");
	dp->quit = true;
	return DP_OK;
}

static int cmd_help(struct dp *dp, int n, struct tok *t);

/* --- the table ---------------------------------------------------------- */

static const struct cmd cmds[] = {
	{"ADD", "Add a mirror to a simple volume.", cmd_add,
	 "    Mirrors the simple dynamic volume in focus onto disk N: a second\n"
	 "    plex on N's free space, the database updated on every disk, and\n"
	 "    the volume copied onto the new plex (progress on a terminal). An\n"
	 "    interrupted copy resumes from its checkpoint (gptmirror volume\n"
	 "    resync, or machine reboot).\n\n"
	 "Syntax:  ADD DISK=<N> [WAIT] [NOERR]\n"},
	{"ASSIGN", "Assign a drive letter or mount point to the selected volume.",
	 cmd_assign,
	 "    Assigns a drive letter to the volume in focus. With no letter,\n"
	 "    the next free one (from C) is used. On a GPT disk a basic data\n"
	 "    partition or, selected by partition, an EFI system partition\n"
	 "    can take a letter. Letters live in the machine's machine.conf.\n\n"
	 "Syntax:  ASSIGN [LETTER=<D>] [NOERR]\n\n"
	 "    LETTER=<D>  The drive letter to assign (C to Z).\n"
	 "    NOERR       For scripting only: errors do not stop the script.\n\n"
	 "    Example:\n\n        assign letter=s\n"},
	{"BREAK", "Break a mirror set.", cmd_break,
	 "    Breaks the mirror volume in focus into two parts. The plex on\n"
	 "    disk N (M0, M1, ... for a missing disk) becomes a simple volume of\n"
	 "    its own with no drive letter, and gets the focus; with NOKEEP it\n"
	 "    is deleted and the volume becomes simple.\n\n"
	 "Syntax:  BREAK DISK=<N> [NOKEEP] [NOERR]\n\n"
	 "    Example:\n\n        break disk=m0 nokeep\n"},
	{"CLEAN", "Clear the configuration information, or all information, off "
		  "the disk.",
	 cmd_clean,
	 "    Removes all partition formatting from the disk in focus: the\n"
	 "    first and last MiB are zeroed (MBR, both GPT copies). This is\n"
	 "    how a disk whose GPT copies are both damaged is reused.\n\n"
	 "Syntax:  CLEAN [NOERR]\n"},
	{"CONVERT", "Convert between different disk formats.", cmd_convert,
	 "    Converts an empty disk between partition styles.\n\n"
	 "Syntax:  CONVERT GPT [NOERR]\n"
	 "         CONVERT MBR [NOERR]\n\n"
	 "    GPT   Makes the empty basic disk in focus a GPT disk, with a\n"
	 "          Microsoft Reserved partition as Windows creates it (32 MB,\n"
	 "          or 128 MB on disks of 16 GB and more, at 17 KB on the\n"
	 "          2003 profile; ending at 16 MiB on the modern profile).\n"
	 "    MBR   Makes the empty disk in focus an MBR disk.\n\n"
	 "    The disk must hold no partitions (an MSR alone is allowed for\n"
	 "    CONVERT MBR). Use CLEAN first otherwise.\n\n"
	 "Syntax:  CONVERT DYNAMIC [NOERR]\n"
	 "         CONVERT BASIC [NOERR]\n\n"
	 "    DYNAMIC  Makes the GPT disk in focus a dynamic disk: 1 MB of the\n"
	 "             MSR holds the disk group's database, and each basic data\n"
	 "             partition becomes a simple volume in place, its letter\n"
	 "             kept. On the 2003 profile the disk of C: converts at the\n"
	 "             next machine reboot.\n"
	 "    BASIC    Makes an empty dynamic disk basic again.\n"},
	{"CREATE", "Create a volume, partition or virtual disk.", cmd_create,
	 "    Creates a partition on the disk in focus; the new partition\n"
	 "    gets the focus.\n\n"
	 "Syntax:  CREATE PARTITION EFI [SIZE=<N>] [OFFSET=<N>] [NOERR]\n"
	 "         CREATE PARTITION MSR [SIZE=<N>] [OFFSET=<N>] [NOERR]\n"
	 "         CREATE PARTITION PRIMARY [SIZE=<N>] [OFFSET=<N>]\n"
	 "                                  [ID={<GUID> | <BYTE>}] [NOERR]\n\n"
	 "    SIZE=<N>    The size in megabytes (MiB). Without it, EFI and MSR\n"
	 "                fill the first free region and PRIMARY the largest.\n"
	 "    OFFSET=<N>  The byte offset in kilobytes (KiB) where the\n"
	 "                partition starts, rounded up to a sector.\n"
	 "    ID=         A GPT type GUID, or an MBR type byte in hex.\n\n"
	 "    EFI and MSR partitions exist on GPT disks only. On the modern\n"
	 "    profile a start without OFFSET is aligned to 1 MiB; the 2003\n"
	 "    profile uses the first free sector, as Server 2003 did.\n\n"
	 "    Example:\n\n        create partition efi size=204\n"},
	{"DELETE", "Delete an object.", cmd_delete,
	 "    Deletes the partition in focus. EFI system, Microsoft Reserved,\n"
	 "    LDM and other non-data partitions are protected and need\n"
	 "    OVERRIDE.\n\n"
	 "Syntax:  DELETE PARTITION [NOERR] [OVERRIDE]\n"
	 "         DELETE DISK [NOERR] [OVERRIDE]\n\n"
	 "    DELETE DISK removes the missing dynamic disk in focus (SELECT\n"
	 "    DISK M0) from the disk group. Volumes still on it must be broken\n"
	 "    or deleted first; OVERRIDE deletes them with it.\n"},
	{"DETAIL", "Provide details about an object.", cmd_detail,
	 "    Shows the properties of the disk, partition or volume in focus.\n\n"
	 "Syntax:  DETAIL DISK\n"
	 "         DETAIL PARTITION\n"
	 "         DETAIL VOLUME\n"},
	{"EXIT", "Exit DiskPart.", cmd_exit,
	 "    Leaves the DiskPart console.\n\nSyntax:  EXIT\n"},
	{"FORMAT", "Format the volume or partition.", cmd_format,
	 "    Formats the volume in focus with FAT or FAT32, with Windows'\n"
	 "    default allocation unit for its size.\n\n"
	 "Syntax:  FORMAT [FS=<FS>] [LABEL=<\"label\">] [UNIT=<N>] [QUICK] [NOERR]\n\n"
	 "    FS=<FS>     FAT or FAT32 (the default).\n"
	 "    LABEL=      The volume label, at most 11 characters.\n"
	 "    UNIT=<N>    The allocation unit size in bytes.\n"
	 "    QUICK       Quick format: the data area is not zeroed.\n\n"
	 "    Example:\n\n        format fs=fat32 label=\"System\" quick\n"},
	{"HELP", "Display a list of commands.", cmd_help,
	 "    Lists the commands, or explains one.\n\n"
	 "Syntax:  HELP [<COMMAND>]\n\n    Example:\n\n        help create\n"},
	{"LIST", "Display a list of objects.", cmd_list,
	 "    Lists disks, the partitions of the disk in focus, or volumes.\n"
	 "    The object in focus is marked with an asterisk (*).\n\n"
	 "Syntax:  LIST DISK\n"
	 "         LIST PARTITION\n"
	 "         LIST VOLUME\n"},
	{"REM", "Does nothing. This is used to comment scripts.", cmd_rem,
	 "    Marks a comment in a script.\n\nSyntax:  REM [<TEXT>]\n"},
	{"REMOVE", "Remove a drive letter or mount point assignment.", cmd_remove,
	 "    Removes the drive letter of the volume in focus (or of the\n"
	 "    partition in focus).\n\n"
	 "Syntax:  REMOVE [LETTER=<D>] [ALL] [DISMOUNT] [NOERR]\n"},
	{"RESCAN", "Rescan the computer looking for disks and volumes.",
	 cmd_rescan,
	 "    Reads every disk of the machine again.\n\nSyntax:  RESCAN\n"},
	{"SELECT", "Shift the focus to an object.", cmd_select,
	 "    Moves the focus to a disk, partition or volume. With no number,\n"
	 "    shows the object in focus.\n\n"
	 "Syntax:  SELECT DISK=<N>\n"
	 "         SELECT PARTITION=<N>\n"
	 "         SELECT VOLUME={<N> | <D>}\n\n"
	 "    Example:\n\n        select disk 1\n        sel vol c\n"},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const char *cmd_names[NCMDS + 1];

static void print_command_list(void)
{
	putchar('\n');
	for (size_t i = 0; i < NCMDS; i++)
		printf("%-11s - %s\n", cmds[i].name, cmds[i].brief);
}

static int cmd_help(struct dp *dp, int n, struct tok *t)
{
	(void)dp;
	if (n == 0) {
		print_command_list();
		return DP_OK;
	}
	int k = match_kw(t[0].key, cmd_names);
	if (k < 0) {
		print_command_list();
		return DP_OK;
	}
	printf("\n%s", cmds[k].help);
	return DP_OK;
}

/* --- the loop ----------------------------------------------------------- */

static int tokenize(char *line, struct tok *t, int max)
{
	int n = 0;
	char *p = line;

	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (n >= max)
			return -1;
		char *start = p, *o = p;
		bool q = false;
		while (*p && (q || !isspace((unsigned char)*p))) {
			if (*p == '"') {
				q = !q;
				p++;
				continue;
			}
			*o++ = *p++;
		}
		if (*p)
			p++;
		*o = '\0';
		t[n].raw = start;
		t[n].key = start;
		t[n].val = NULL;
		char *eq = strchr(start, '=');
		if (eq) {
			*eq = '\0';
			t[n].val = eq + 1;
			if (!*t[n].key) /* "= value" forms are not ours */
				return -1;
		}
		n++;
	}
	return n;
}

static int run_line(struct dp *dp, char *line)
{
	struct tok t[MAX_TOK];
	char copy[1024];
	int n, k, rc;
	bool noerr = false;

	snprintf(copy, sizeof(copy), "%s", line);
	n = tokenize(copy, t, MAX_TOK);
	if (n == 0)
		return DP_OK;
	if (n < 0)
		return bad_args("");
	/* NOERR anywhere applies to the whole command. */
	for (int i = 1; i < n; i++) {
		if (!t[i].val && strcasecmp(t[i].key, "noerr") == 0) {
			noerr = true;
			memmove(&t[i], &t[i + 1], (size_t)(n - i - 1) * sizeof(t[0]));
			n--;
			i--;
		}
	}
	k = t[0].val ? -1 : match_kw(t[0].key, cmd_names);
	if (k < 0) {
		say("DiskPart does not know the command \"%s\".", t[0].raw);
		print_command_list();
		rc = DP_SYNTAX;
	} else {
		rc = cmds[k].fn(dp, n - 1, t + 1);
	}
	fflush(stdout);
	return noerr ? DP_OK : rc;
}

static void banner(struct dp *dp)
{
	char path[PATH_MAX], *name;

	if (!realpath(dp->m->dir, path))
		snprintf(path, sizeof(path), "%s", dp->m->dir);
	name = basename(path);
	printf("\ngptmirror DiskPart version %s (profile %s)\n\n"
	       "On computer: ",
	       GM_VERSION, profile_str(dp->m->profile));
	for (char *c = name; *c; c++)
		putchar(toupper((unsigned char)*c));
	putchar('\n');
	for (int i = 0; i < dp->m->nslots; i++) {
		struct slot *s = &dp->m->slots[i];
		if (s->disk)
			cli_disk_warnings(stdout, s->disk, "\nWARNING: ");
		else if (s->image)
			printf("\nWARNING: Disk %d (%s) cannot be opened: %s\n", i,
			       s->image, s->open_err.detail);
	}
}

static int loop_file(struct dp *dp, FILE *in, bool echo)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = DP_OK;

	while (!dp->quit) {
		if (echo) {
			fputs("\nDISKPART> ", stdout);
			fflush(stdout);
		}
		if ((len = getline(&line, &cap, in)) < 0) {
			if (echo)
				putchar('\n');
			break;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (echo)
			printf("%s\n", line);
		rc = run_line(dp, line);
		if (rc != DP_OK)
			break;
	}
	free(line);
	return rc;
}

static int loop_tty(struct dp *dp)
{
	char *line;

	for (;;) {
		if (dp->quit)
			break;
		/* libedit drops a newline at the start of a prompt. */
		putchar('\n');
		fflush(stdout);
		if (!(line = readline("DISKPART> ")))
			break;
		if (*line)
			add_history(line);
		run_line(dp, line);
		free(line);
	}
	if (!dp->quit)
		putchar('\n');
	return DP_OK;
}

int diskpart_main(const char *mdir, int argc, char **argv)
{
	struct dp dp = {.disk = -1, .part = -1, .ldm_sel = -1, .missing = -1};
	struct gm_err err;
	const char *script = NULL;
	FILE *in = NULL;
	int rc;

	for (size_t i = 0; i < NCMDS; i++)
		cmd_names[i] = cmds[i].name;
	for (int i = 0; i < argc; i++) {
		if ((strcasecmp(argv[i], "/s") == 0 || strcmp(argv[i], "-s") == 0) &&
		    i + 1 < argc) {
			script = argv[++i];
		} else if (strcmp(argv[i], "/?") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			printf("usage: diskpart [/s SCRIPT]\n");
			return DP_OK;
		} else {
			fprintf(stderr, "usage: diskpart [/s SCRIPT]\n");
			return DP_ARGS;
		}
	}
	if (script && !(in = fopen(script, "r"))) {
		fprintf(stderr, "DiskPart could not open the script file %s: %s\n",
			script, strerror(errno));
		return DP_NOFILE;
	}
	if (cli_machine_open(mdir, &dp.m, &err) < 0) {
		fprintf(stderr, "DiskPart has encountered an error: %s\n",
			err.detail);
		if (in)
			fclose(in);
		return DP_FATAL;
	}
	banner(&dp);
	ldm_rescan(&dp);
	if (in) {
		rc = loop_file(&dp, in, false);
		fclose(in);
	} else if (isatty(STDIN_FILENO)) {
		rc = loop_tty(&dp);
	} else {
		rc = loop_file(&dp, stdin, true);
	}
	if (machine_save(dp.m, &err) < 0 && rc == DP_OK) {
		fprintf(stderr, "DiskPart has encountered an error: %s\n",
			err.detail);
		rc = DP_FATAL;
	}
	ldm_view_free(dp.ldm);
	machine_close(dp.m);
	fflush(stdout);
	return rc;
}
