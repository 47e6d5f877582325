/*
 * ldm.h - Windows dynamic disks on a machine: each disk's LDM database read,
 * disks grouped by disk-group GUID, volumes with their kind (simple,
 * spanned, stripe, mirror, RAID-5) and health, missing disks, and reading
 * a volume's bytes through any healthy plex (degraded ones included).
 */
#ifndef GM_LDM_ENGINE_H
#define GM_LDM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "../fmt/ldm.h"
#include "disk.h"
#include "err.h"

struct machine;

enum ldm_kind { LK_SIMPLE, LK_SPANNED, LK_STRIPE, LK_MIRROR, LK_RAID5 };
enum ldm_health { LH_HEALTHY, LH_FAILED_RD, LH_FAILED };

struct ldm_extent {
	const struct ldm_rec *rec; /* the partition record */
	int slot;                  /* disk slot, -1 when the disk is missing */
	uint64_t abs_start;        /* absolute LBA on that disk */
};

struct ldm_plex {
	const struct ldm_rec *rec; /* component */
	struct ldm_extent *ext;    /* by volume offset, or by column */
	size_t n;
	bool complete;
	bool failed; /* an I/O error was seen on it ("failed.<extent>" in
		      * machine.conf); it takes no I/O until resynced */
};

struct ldm_volume {
	const struct ldm_rec *rec;
	enum ldm_kind kind;
	enum ldm_health health;
	struct ldm_plex *plex;
	size_t nplex;
	uint64_t sectors;
	char bad[160]; /* an extent that reaches outside its disk's LDM data
			* area (a damaged or crafted record): the volume is
			* Failed, and takes no I/O */
	bool dirty; /* a write was under way ("dirty.<volume>" in machine.conf):
		     * its plexes may differ until ldm_heal_dirty copies the
		     * dirty regions from the first healthy plex */
};

struct ldm_gdisk {
	const struct ldm_rec *rec; /* disk record */
	int slot;                  /* -1: missing */
	struct ldm_privhead ph;    /* when present */
	uint64_t used;             /* sectors of extents on it */
	uint64_t tx;               /* its copy's committed transaction (0: damaged) */
	bool stale;                /* its copy is damaged or older than the group's */
};

struct ldm_group {
	char guid[LDM_GUID_STR + 1];
	char name[32];
	struct ldm_vmdb vmdb;
	struct ldm_rec *recs;
	size_t nrecs;
	struct ldm_gdisk *disks;
	size_t ndisks;
	struct ldm_volume *vols;
	size_t nvols;
};

struct ldm_view {
	struct ldm_group *groups;
	size_t ngroups;
	/* Per slot: the group it belongs to, or -1 (basic disk). */
	int slot_group[16];
	char slot_why[16][160]; /* why a disk that looks dynamic was not read,
				 * or why its copy of the database was not used */
	bool slot_damaged[16];  /* a member whose database copy is damaged: the
				 * group is read from the other disks */
};
/* True when some member's copy of the database is damaged or older than
 * the group's: ldm_heal rewrites them. */
bool ldm_needs_heal(const struct ldm_view *v);

/* Reads the LDM databases of every present disk. */
int ldm_scan(struct machine *m, struct ldm_view **out, struct gm_err *err);
void ldm_view_free(struct ldm_view *v);
const char *ldm_kind_str(enum ldm_kind k);     /* diskpart's Type column */
const char *ldm_health_str(enum ldm_health h); /* diskpart's Status column */
/* True when a plex is still being copied (an extent marked recover). */
bool ldm_plex_rebuilding(const struct ldm_plex *p);
/* The plex of v that lies wholly on the disk in slot (not failed), or -1:
 * how `add disk=N` knows the volume is already mirrored there. */
int ldm_plex_on_slot(const struct ldm_volume *v, int slot);
/* Parses a disk's config region (VMDB, then VBLK records in 128-byte
 * slots, fragments joined by group): the records, counted against the VMDB.
 * -1 with why filled when it is damaged. recs is malloc'd. */
int ldm_config_parse(const uint8_t *cfg, size_t clen, struct ldm_vmdb *vmdb,
		     struct ldm_rec **recs, size_t *nrecs, char *why, size_t cap);
/* The machine.conf key that marks an extent's plex failed. */
void ldm_failed_key(const struct ldm_rec *part, char *buf, size_t cap);
/*
 * The dirty regions of a mirror: before the first write to a region of a
 * volume that more than one plex takes writes for, the region is recorded
 * in machine.conf ("dirty.<volume> = <sectors per region>:<hex map>",
 * replaced whole and flushed); the record goes once every plex has the data
 * and is flushed. machine.conf rather than the LDM database: the database
 * is shared with Windows, which keeps no such record and would reject an
 * unknown one, and machine.conf is already written atomically under the
 * machine lock.
 */
#define LDM_DIRTY_REGIONS 512
struct ldm_dirty {
	uint64_t region; /* sectors per region */
	uint8_t map[LDM_DIRTY_REGIONS / 8];
};
/* An empty map for v (regions of at least 1 MiB, at most 512 of them). */
void ldm_dirty_init(const struct ldm_volume *v, struct ldm_dirty *d);
/* v's recorded map: 1 when v is marked dirty, 0 when not. */
int ldm_dirty_get(struct machine *m, const struct ldm_volume *v, struct ldm_dirty *d);
/* Records d (NULL: removes the record). */
int ldm_dirty_set(struct machine *m, const struct ldm_volume *v, const struct ldm_dirty *d,
		  struct gm_err *err);
/* Marks the regions of sectors [lba, lba + n); true when one was new. */
bool ldm_dirty_add(struct ldm_dirty *d, uint64_t lba, uint64_t n);
bool ldm_dirty_any(const struct ldm_dirty *d);
/* diskpart's Status of v: Healthy, Rebuild, Resynching, Failed Rd, Failed. */
const char *ldm_status_str(const struct ldm_volume *v);
/* Reads sectors [lba, lba + n) of a volume into buf. */
int ldm_vol_read(struct machine *m, const struct ldm_volume *v, uint64_t lba,
		 uint32_t n, uint8_t *buf, struct gm_err *err);

#endif
