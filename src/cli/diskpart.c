/*
 * diskpart.c - the DISKPART> console: a table of commands, unique-prefix
 * matching, the focus model (disk, partition, volume) and Windows' words
 * for the engine's errors. The commands are in dp_show.c and dp_change.c.
 *
 * On a terminal it reads lines with libedit. Commands on standard input are
 * echoed after the prompt, so a run reads as a transcript; /s FILE runs a
 * script silently as Windows does. In both script forms the first error
 * stops the run with a non-zero exit, unless the command says noerr.
 */
#include <editline/readline.h>

#include "diskpart.h"

/* --- output ------------------------------------------------------------- */

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	putchar('\n');
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

/* Prints a row with trailing blanks cut. */
void row(const char *fmt, ...)
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

void dsize(const struct dp *dp, uint64_t bytes, char *buf, size_t cap)
{
	fmt_size_rule(bytes, dp->m->profile == PROFILE_2003 ? SIZE_2003
							   : SIZE_MODERN,
		      buf, cap);
}

int bad_args(const char *topic)
{
	say("The arguments specified for this command are not valid.\n"
	    "For more information on the command type: HELP %s", topic);
	return DP_ARGS;
}

int no_focus_vol(const struct dp *dp)
{
	if (dp->cdrom_sel) {
		say("Virtual Disk Service error:\nThe device is not ready.");
		return DP_SERVICE;
	}
	return no_focus("volume");
}

int no_focus(const char *what)
{
	say("There is no %s selected.\nPlease select a %s and try again.", what,
	    what);
	return DP_SYNTAX;
}

int service_error(const char *text, const struct gm_err *err)
{
	if (err && err->detail[0])
		say("Virtual Disk Service error:\n%s\n\n%s", text, err->detail);
	else
		say("Virtual Disk Service error:\n%s", text);
	return DP_SERVICE;
}

int engine_error(const struct gm_err *err)
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
	case GM_E_CRITICAL:
		say("%s", err->detail);
		return DP_SERVICE;
	default:
		say("DiskPart has encountered an error: %s",
		    err->detail[0] ? err->detail : "the operation failed.");
		return DP_SERVICE;
	}
}

/* --- matching ----------------------------------------------------------- */

/* Index of word in list by exact match or unique prefix; -1 none, -2 ambiguous. */
int match_kw(const char *word, const char *const *list)
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

bool parse_num(const char *s, uint64_t *out)
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


int parse_params(int n, struct tok *t, struct param *ps)
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

struct disk *sel_disk(struct dp *dp)
{
	return dp->disk >= 0 ? machine_disk(dp->m, dp->disk) : NULL;
}

struct part *sel_part(struct dp *dp)
{
	struct disk *d = sel_disk(dp);

	if (!d || dp->part < 0 || (size_t)dp->part >= d->nparts)
		return NULL;
	return &d->parts[dp->part];
}

int volumes(struct dp *dp, struct volume *v)
{
	return machine_volumes(dp->m, v, MAX_VOLS);
}

void vol_key_of(struct dp *dp, const struct volume *v, char *key,
		       size_t cap)
{
	struct disk *d = machine_disk(dp->m, v->slot);
	part_key(d, &d->parts[v->part], key, cap);
}

/* The focused volume's entry in vols[], or -1. */
int sel_vol(struct dp *dp, struct volume *vols, int n)
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

void focus_volume_of_part(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v);

	dp->has_vol = false;
	dp->cdrom_sel = false;
	for (int i = 0; i < n; i++) {
		if (v[i].slot == dp->disk && (long)v[i].part == dp->part) {
			dp->has_vol = true;
			dp->vol_slot = v[i].slot;
			vol_key_of(dp, &v[i], dp->vol_key, sizeof(dp->vol_key));
		}
	}
}

/* Dynamic volumes, flattened over the disk groups. */
size_t ldm_count(const struct dp *dp)
{
	return ldm_volume_count(dpv(dp));
}

const struct ldm_volume *ldm_at(const struct dp *dp, size_t i)
{
	return ldm_volume_at(dpv(dp), i);
}

static int vol_num(struct dp *dp, const char *key)
{
	for (int i = 0; i < dp->nvnums; i++)
		if (strcmp(dp->vnums[i].key, key) == 0)
			return dp->vnums[i].num;
	int next = dp->nvnums ? dp->vnums[dp->nvnums - 1].num + 1 : 0;
	if (dp->nvnums == MAX_VOLS)
		return next; /* more volumes than a session numbers: not kept */
	snprintf(dp->vnums[dp->nvnums].key, sizeof(dp->vnums[0].key), "%s", key);
	dp->vnums[dp->nvnums].num = next;
	dp->nvnums++;
	return next;
}

int vol_num_ldm(struct dp *dp, size_t i)
{
	const struct ldm_volume *v = ldm_at(dp, i);
	char key[96];

	snprintf(key, sizeof(key), "L%" PRIu32 ":%s", v->rec->id, v->rec->name);
	return vol_num(dp, key);
}

int vol_num_cdrom(struct dp *dp)
{
	return vol_num(dp, "CDROM");
}

int vol_num_basic(struct dp *dp, const struct volume *v)
{
	char key[96], pk[64];

	vol_key_of(dp, v, pk, sizeof(pk));
	snprintf(key, sizeof(key), "B%d:%s", v->slot, pk);
	return vol_num(dp, key);
}

/* At the start of a session: dynamic volumes first, then the CD-ROM drive,
 * then basic ones, the ESPs last, as the KB's list after Setup shows (C: 0,
 * CD-ROM 1, Setup's partition 2, its ESP 3). */
void number_volumes(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v);

	for (size_t i = 0; i < ldm_count(dp); i++)
		vol_num_ldm(dp, i);
	if (machine_has_cdrom(dp->m))
		vol_num_cdrom(dp);
	for (int esp = 0; esp < 2; esp++)
		for (int i = 0; i < n; i++)
			if (v[i].system == (esp == 1))
				vol_num_basic(dp, &v[i]);
}

/* Missing disk M<k>: known from the databases, not in any slot. */
const struct ldm_gdisk *missing_at(const struct dp *dp, int k)
{
	return ldm_missing_disk(dpv(dp), k);
}

/* After a change: the dynamic-volume focus is gone unless the command
 * sets it again, and a view that cannot be read is said. */
void ldm_rescan(struct dp *dp)
{
	dp->ldm_sel = -1;
	if (!dpv(dp))
		printf("\nWARNING: %s\n", dp->m->ldm_err.detail);
}

static int cmd_help(struct dp *dp, int n, struct tok *t);

/* --- the table ---------------------------------------------------------- */

static const struct cmd cmds[] = {
	{"ADD", "Add a mirror to a simple volume.", cmd_add,
	 "    Mirrors the simple dynamic volume in focus onto disk N: a second\n"
	 "    plex on N's free space and the database updated on every disk.\n"
	 "    The volume is copied onto the new plex by a background process,\n"
	 "    as Windows resynchronises: LIST VOLUME shows Rebuild until the\n"
	 "    copy is done, then Healthy. WAIT copies before returning, with\n"
	 "    progress on a terminal. An interrupted copy resumes from its\n"
	 "    checkpoint (the next command, gptmirror volume resync, or machine\n"
	 "    reboot).\n\n"
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
	 "         DELETE DISK [NOERR] [OVERRIDE]\n"
	 "         DELETE VOLUME [NOERR] [OVERRIDE]\n\n"
	 "    DELETE DISK removes the missing dynamic disk in focus (SELECT\n"
	 "    DISK M0) from the disk group. Volumes still on it must be broken\n"
	 "    or deleted first; OVERRIDE deletes them with it.\n\n"
	 "    DELETE VOLUME deletes the volume in focus: a dynamic volume with\n"
	 "    all its plexes, or a basic volume's partition.\n\n"
	 "    The current boot volume and system partition cannot be deleted,\n"
	 "    with or without OVERRIDE.\n"},
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
	 "    FS=<FS>     FAT, FAT32 (the default) or NTFS.\n"
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
	if (dp->json)
		fflush(dp->json);
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
	bool json = false;
	int rc;

	for (size_t i = 0; i < NCMDS; i++)
		cmd_names[i] = cmds[i].name;
	for (int i = 0; i < argc; i++) {
		if ((strcasecmp(argv[i], "/s") == 0 || strcmp(argv[i], "-s") == 0) &&
		    i + 1 < argc) {
			script = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "/?") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			printf("usage: diskpart [--json] [/s SCRIPT]\n");
			return DP_OK;
		} else {
			fprintf(stderr, "usage: diskpart [--json] [/s SCRIPT]\n");
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
	/* --json: each list and detail is one JSON document, one line, on
	 * stdout; everything else diskpart prints goes to stderr. */
	if (json) {
		int fd = dup(STDOUT_FILENO);
		fflush(stdout);
		if (fd < 0 || !(dp.json = fdopen(fd, "w")) || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			fprintf(stderr, "DiskPart has encountered an error: %s\n", strerror(errno));
			machine_close(dp.m);
			if (in)
				fclose(in);
			return DP_FATAL;
		}
	}
	banner(&dp);
	ldm_rescan(&dp);
	number_volumes(&dp);
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
	machine_close(dp.m);
	fflush(stdout);
	if (dp.json && fclose(dp.json) != 0 && rc == DP_OK)
		rc = DP_FATAL;
	return rc;
}
