/*
 * diskpart.h - what the three parts of the DISKPART> applet share:
 *   diskpart.c   the console: tokenizer, keyword matching, the command
 *                table, the loop, Windows' messages for engine errors
 *   dp_show.c    list, select and detail (reads only)
 *   dp_change.c  the commands that change disks; each calls one engine
 *                verb (src/engine/verbs.h) and renders its result
 * Return convention: every command returns a diskpart.exe exit code (DP_*).
 */
#ifndef GM_DISKPART_H
#define GM_DISKPART_H

#include <ctype.h>
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
#include "../engine/rebuild.h"
#include "../engine/nvram.h"
#include "../engine/verbs.h"
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
	bool cdrom_sel;    /* the empty CD-ROM drive is the volume in focus */
	bool quit;
	FILE *json;        /* diskpart --json: listings go here as JSON */
	/* Volume numbers as Windows keeps them within a session: each volume
	 * gets the next one the first time it is seen, and keeps it (a
	 * deleted volume leaves a gap). */
	struct {
		char key[96];
		int num;
	} vnums[MAX_VOLS];
	int nvnums;
};

struct cmd {
	const char *name;
	const char *brief;
	int (*fn)(struct dp *, int, struct tok *);
	const char *help;
};

void cli_disk_warnings(FILE *f, const struct disk *d, const char *prefix);

/* The machine's dynamic disks, as the engine keeps them current. */
static inline struct ldm_view *dpv(const struct dp *dp)
{
	return machine_ldm(dp->m);
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
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void row(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dsize(const struct dp *dp, uint64_t bytes, char *buf, size_t cap);
int bad_args(const char *topic);
int no_focus(const char *what);
/* No volume to act on: none in focus, or the CD-ROM drive with no media. */
int no_focus_vol(const struct dp *dp);
int service_error(const char *text, const struct gm_err *err);
int engine_error(const struct gm_err *err);
int match_kw(const char *word, const char *const *list);
bool parse_num(const char *s, uint64_t *out);
int parse_params(int n, struct tok *t, struct param *ps);
struct disk *sel_disk(struct dp *dp);
struct part *sel_part(struct dp *dp);
int volumes(struct dp *dp, struct volume *v);
void vol_key_of(struct dp *dp, const struct volume *v, char *key, size_t cap);
int sel_vol(struct dp *dp, struct volume *vols, int n);
void focus_volume_of_part(struct dp *dp);
size_t ldm_count(const struct dp *dp);
int vol_num_ldm(struct dp *dp, size_t i);
int vol_num_cdrom(struct dp *dp);
int vol_num_basic(struct dp *dp, const struct volume *v);
void number_volumes(struct dp *dp);
const struct ldm_volume *ldm_at(const struct dp *dp, size_t i);
void ldm_rescan(struct dp *dp);
const struct ldm_gdisk *missing_at(const struct dp *dp, int k);
int cmd_list(struct dp *dp, int n, struct tok *t);
int cmd_select(struct dp *dp, int n, struct tok *t);
int cmd_detail(struct dp *dp, int n, struct tok *t);
int cmd_convert(struct dp *dp, int n, struct tok *t);
int cmd_clean(struct dp *dp, int n, struct tok *t);
int cmd_create(struct dp *dp, int n, struct tok *t);
int cmd_delete(struct dp *dp, int n, struct tok *t);
int cmd_assign(struct dp *dp, int n, struct tok *t);
int cmd_remove(struct dp *dp, int n, struct tok *t);
int cmd_format(struct dp *dp, int n, struct tok *t);
int cmd_add(struct dp *dp, int n, struct tok *t);
int cmd_break(struct dp *dp, int n, struct tok *t);
int cmd_rescan(struct dp *dp, int n, struct tok *t);
int cmd_rem(struct dp *dp, int n, struct tok *t);
int cmd_exit(struct dp *dp, int n, struct tok *t);

#endif
