/*
 * err.h - engine results. The engine returns a code and a factual detail;
 * the front ends turn codes into the words Windows uses.
 *
 * Conventions, per layer:
 * - src/fmt (codecs): 0 or a positive length on success, -1 on bad input
 *   (with a static "why" string where the caller needs one); no errno, no
 *   printing, no allocation the caller does not free.
 * - src/io (block devices): 0 or a negative errno (-EIO, -ERANGE ...).
 * - src/engine: 0 (or a count) on success, else -(int)code with err filled
 *   in by gm_fail(); err may be NULL. A front end decides on err->code,
 *   never on the text of err->detail, which is for people.
 * - src/cli: an applet returns its process exit status.
 * Cleanup: a function that acquires more than one resource releases them
 * in one place, at a label `out:` (or `fail:` for the error path only),
 * reached by goto; a function with one resource returns directly.
 */
#ifndef GM_ERR_H
#define GM_ERR_H

enum gm_code {
	GM_OK = 0,
	GM_E_IO,             /* read/write failed */
	GM_E_NOMEM,
	GM_E_ARGS,           /* bad or missing arguments */
	GM_E_MACHINE,        /* machine directory or machine.conf problem */
	GM_E_NO_DISK,        /* no such disk / slot empty */
	GM_E_NO_PART,        /* no such partition */
	GM_E_NO_VOLUME,      /* no such volume */
	GM_E_NO_SPACE,       /* not enough usable space */
	GM_E_NOT_CONVERTIBLE,/* convert on a disk that cannot be */
	GM_E_NOT_EMPTY,      /* disk has partitions */
	GM_E_PROTECTED,      /* protected partition without override */
	GM_E_LETTER_IN_USE,
	GM_E_NO_LETTER,      /* no free letter / none assigned */
	GM_E_UNREADABLE,     /* both GPT copies bad, or not a disk at all */
	GM_E_NOT_INIT,       /* raw disk, no partition table */
	GM_E_NOT_GPT,        /* GPT-only operation on another style */
	GM_E_NOT_SUPPORTED,  /* operation not valid on this object */
	GM_E_TOO_SMALL,      /* disk too small for the operation */
	GM_E_TABLE_FULL,     /* no free partition table entry */
	GM_E_CORRUPT,        /* on-disk structure inconsistent */
	GM_E_NOT_MIRROR,     /* break on a volume that is not a mirror */
	GM_E_PLEX_LAST,      /* removing the last up-to-date plex */
	GM_E_NOT_MISSING,    /* delete disk on a disk that is present */
	GM_E_DISK_HAS_VOLUMES, /* delete disk while volumes use it */
	GM_E_NOT_DYNAMIC,    /* dynamic-only operation on a basic disk */
	GM_E_RUNNING_PLEX,   /* break of the plex the running system booted from */
	GM_E_CRITICAL,       /* delete, format, clean or convert of the running
			      * system's boot volume or system partition */
	GM_E_ALREADY_DYNAMIC, /* convert dynamic of a dynamic disk */
	GM_E_ALREADY_BASIC,  /* convert basic of a basic disk */
	GM_E_NOT_ESP,        /* an EFI system partition was needed */
	GM_E_NO_ENTRY,       /* no boot entry matched */
	GM_E_TOO_LONG,       /* a name or description does not fit */
	GM_E_NOT_READY,      /* a drive with no media (the empty CD-ROM drive) */
	GM_E_AGAIN,          /* the layout changed under a background copy: read
			      * the disks again and go on */
};

struct gm_err {
	enum gm_code code;
	char detail[256];
};

/* Sets err (if non-NULL) and returns -(int)code, so callers can write
 * `return gm_fail(err, GM_E_ARGS, "...")`. */
int gm_fail(struct gm_err *err, enum gm_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void gm_err_clear(struct gm_err *err);

#endif
