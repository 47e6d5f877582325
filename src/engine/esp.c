/*
 * esp.c - ESPs that must stay alike: which entries load from each, which
 * ESPs serve one OS, how their files differ, and esp sync.
 */
#include "esp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fmt/crc32.h"
#include "../fmt/efi.h"
#include "boot.h"
#include "fatfs.h"
#include "ldm.h"
#include "machine.h"
#include "nvram.h"

#define FILE_MAX (256u << 20) /* an ESP file larger than this is not compared */
#define ATTR_MASK (FAT_ATTR_RO | FAT_ATTR_HIDDEN | FAT_ATTR_SYSTEM)

/* --- an ESP's files ------------------------------------------------------- */

struct node {
	char path[512]; /* \EFI\BOOT\BOOTX64.EFI; directories too */
	bool dir;
	struct fat_entry e;
};

struct tree {
	struct node *v;
	size_t n, cap;
};

struct open_esp {
	struct blkdev *dev;
	struct fatfs *fs;
};

static int esp_open(struct machine *m, const struct esp *e, struct open_esp *o,
		    struct gm_err *err)
{
	struct disk *d = machine_disk(m, e->slot);
	char where[320];

	memset(o, 0, sizeof(*o));
	/* A mounted ESP belongs to the kernel: its files are not read (the
	 * page cache may be ahead of the disk) nor written behind its back. */
	if (d && blk_part_mounted(d->dev, e->part, where, sizeof(where)))
		return gm_fail(err, GM_E_IO, "%s: gptmirror does not read or write a mounted "
			       "ESP behind the kernel's back (unmount it first)", where);
	if (machine_open_part(m, e->slot, e->pos, &o->dev, err) < 0)
		return -1;
	if (fatfs_open(o->dev, &o->fs, err) < 0) {
		blk_close(o->dev);
		o->dev = NULL;
		return -1;
	}
	return 0;
}

static int esp_close(struct open_esp *o, bool sync, struct gm_err *err)
{
	int rc = 0;

	if (o->fs && sync)
		rc = fatfs_sync(o->fs, err);
	fatfs_close(o->fs);
	blk_close(o->dev);
	memset(o, 0, sizeof(*o));
	return rc;
}

struct collect_ctx {
	struct fat_entry *v;
	size_t n, cap;
};

static int collect_one(void *ctx, const struct fat_entry *e)
{
	struct collect_ctx *c = ctx;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct fat_entry *nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = *e;
	return 0;
}

static int tree_add(struct tree *t, const char *path, const struct fat_entry *e)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct node *nv = realloc(t->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		t->v = nv;
		t->cap = cap;
	}
	struct node *n = &t->v[t->n++];
	snprintf(n->path, sizeof(n->path), "%s", path);
	n->dir = fat_entry_is_dir(e);
	n->e = *e;
	return 0;
}

/* Every name under directory dir (path prefix), depth first. */
static int walk(struct fatfs *fs, uint32_t dir, const char *prefix, uint32_t *anc, size_t nanc,
		struct tree *t, struct gm_err *err)
{
	struct collect_ctx c = {0};
	int rc = fatfs_list(fs, dir, collect_one, &c, err);

	if (rc < 0 || (c.n && !c.v)) {
		free(c.v);
		return rc < 0 ? rc : gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	if ((rc = fatfs_names_unique(fs, dir, err)) < 0) {
		free(c.v);
		return rc;
	}
	for (size_t i = 0; i < c.n && rc == 0; i++) {
		char path[512];
		if ((size_t)snprintf(path, sizeof(path), "%s\\%s", prefix, c.v[i].name) >=
		    sizeof(path)) {
			rc = gm_fail(err, GM_E_ARGS, "a path on the ESP is too long: %s\\%.40s...",
				     prefix, c.v[i].name);
			break;
		}
		if (tree_add(t, path, &c.v[i]) < 0) {
			rc = gm_fail(err, GM_E_NOMEM, "out of memory");
			break;
		}
		if (!fat_entry_is_dir(&c.v[i]))
			continue;
		if ((rc = fatfs_descend_ok(fs, anc, nanc, dir, c.v[i].d.first_clus, c.v[i].name,
					   err)) < 0)
			break;
		anc[nanc] = dir;
		rc = walk(fs, c.v[i].d.first_clus, path, anc, nanc + 1, t, err);
	}
	free(c.v);
	return rc;
}

static int cmp_node(const void *a, const void *b)
{
	return strcasecmp(((const struct node *)a)->path, ((const struct node *)b)->path);
}

static int tree_read(struct fatfs *fs, struct tree *t, struct gm_err *err)
{
	uint32_t anc[FATFS_MAX_DEPTH + 1];
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = walk(fs, fatfs_root(fs), "", anc, 0, t, err)) < 0) {
		free(t->v);
		memset(t, 0, sizeof(*t));
		return rc;
	}
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_node);
	return 0;
}

struct membuf {
	uint8_t *p;
	size_t len, cap;
};

static int to_mem(void *ctx, const void *buf, size_t len)
{
	struct membuf *b = ctx;

	if (b->len + len > b->cap)
		return -1;
	memcpy(b->p + b->len, buf, len);
	b->len += len;
	return 0;
}

/* A file's bytes, malloc'd (*out NULL for an empty file). */
static int read_all(struct fatfs *fs, const struct fat_entry *e, uint8_t **out,
		    struct gm_err *err)
{
	struct membuf b = {NULL, 0, e->d.size};

	*out = NULL;
	if (e->d.size > FILE_MAX)
		return gm_fail(err, GM_E_NOT_SUPPORTED, "%s is larger than %u MB", e->name,
			       FILE_MAX >> 20);
	if (!e->d.size)
		return 0;
	if (!(b.p = malloc(e->d.size)))
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	int rc = fatfs_read_file(fs, e, to_mem, &b, err);
	if (rc < 0 || b.len != e->d.size) {
		free(b.p);
		return rc < 0 ? rc : gm_fail(err, GM_E_CORRUPT, "%s is shorter than its size",
					     e->name);
	}
	*out = b.p;
	return 0;
}

/* --- the report ----------------------------------------------------------- */

const char *esp_diff_kind_str(enum esp_diff_kind k)
{
	switch (k) {
	case ED_ONLY_FIRST:
		return "only on the first";
	case ED_ONLY_SECOND:
		return "only on the second";
	case ED_KIND:
		return "a file on one, a directory on the other";
	case ED_SIZE:
		return "size differs";
	case ED_CONTENT:
		return "content differs";
	default:
		return "attributes differ";
	}
}

static int add_diff(struct esp_pair *p, const struct node *a, const struct node *b,
		    enum esp_diff_kind k, uint32_t crc_a, uint32_t crc_b)
{
	struct esp_diff *nd = realloc(p->d, (p->nd + 1) * sizeof(*nd));

	if (!nd)
		return -1;
	p->d = nd;
	struct esp_diff *d = &p->d[p->nd++];
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", a ? a->path : b->path);
	d->kind = k;
	d->dir = a ? a->dir : b->dir;
	if (a) {
		d->size[0] = a->e.d.size;
		d->attr[0] = a->e.d.attr & ATTR_MASK;
	}
	if (b) {
		d->size[1] = b->e.d.size;
		d->attr[1] = b->e.d.attr & ATTR_MASK;
	}
	d->crc[0] = crc_a;
	d->crc[1] = crc_b;
	return 0;
}

/* What differs between two trees; fa, fb read the contents. */
static int diff_trees(struct fatfs *fa, const struct tree *ta, struct fatfs *fb,
		      const struct tree *tb, struct esp_pair *p, struct gm_err *err)
{
	size_t i = 0, j = 0;

	while (i < ta->n || j < tb->n) {
		int c = i == ta->n ? 1 : j == tb->n ? -1 : strcasecmp(ta->v[i].path, tb->v[j].path);
		const struct node *a = c <= 0 ? &ta->v[i] : NULL, *b = c >= 0 ? &tb->v[j] : NULL;
		int rc = 0;
		if (!b)
			rc = add_diff(p, a, NULL, ED_ONLY_FIRST, 0, 0);
		else if (!a)
			rc = add_diff(p, NULL, b, ED_ONLY_SECOND, 0, 0);
		else if (a->dir != b->dir)
			rc = add_diff(p, a, b, ED_KIND, 0, 0);
		else if (!a->dir && a->e.d.size != b->e.d.size)
			rc = add_diff(p, a, b, ED_SIZE, 0, 0);
		else if (!a->dir) {
			uint8_t *x, *y;
			if (read_all(fa, &a->e, &x, err) < 0)
				return -1;
			if (read_all(fb, &b->e, &y, err) < 0) {
				free(x);
				return -1;
			}
			size_t n = a->e.d.size;
			if (n && memcmp(x, y, n) != 0)
				rc = add_diff(p, a, b, ED_CONTENT, gm_crc32(x, n), gm_crc32(y, n));
			else if ((a->e.d.attr & ATTR_MASK) != (b->e.d.attr & ATTR_MASK))
				rc = add_diff(p, a, b, ED_ATTR, 0, 0);
			free(x);
			free(y);
		} else if ((a->e.d.attr & ATTR_MASK) != (b->e.d.attr & ATTR_MASK)) {
			rc = add_diff(p, a, b, ED_ATTR, 0, 0);
		}
		if (rc < 0)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		i += c <= 0;
		j += c >= 0;
	}
	return 0;
}

/* The system volume an entry's OsFilePath names: a dynamic volume by name
 * (its plexes are one volume), else the partition GUID. */
static void os_volume(struct machine *m, const struct guid *g, char *out, size_t cap)
{
	int slot;
	size_t pos;
	char gs[40];

	guid_to_str(g, gs);
	snprintf(out, cap, "part:%s", gs);
	if (!boot_find_gpt_part(m, g, &slot, &pos))
		return;
	struct disk *d = machine_disk(m, slot);
	struct ldm_view *v = machine_ldm(m);
	if (!d || !v || d->parts[pos].kind != PK_LDM_DATA)
		return;
	uint64_t a = d->parts[pos].first_lba * d->ss, b = (d->parts[pos].last_lba + 1) * d->ss;
	for (size_t gi = 0; gi < v->ngroups; gi++)
		for (size_t i = 0; i < v->groups[gi].nvols; i++) {
			const struct ldm_volume *vol = &v->groups[gi].vols[i];
			for (size_t p = 0; p < vol->nplex; p++)
				for (size_t e = 0; e < vol->plex[p].n; e++) {
					const struct ldm_extent *x = &vol->plex[p].ext[e];
					if (x->slot == slot && x->abs_start * 512 >= a &&
					    x->abs_start * 512 < b) {
						snprintf(out, cap, "ldm:%s", vol->rec->name);
						return;
					}
				}
		}
}

static int find_root(int *parent, int i)
{
	while (parent[i] != i)
		i = parent[i] = parent[parent[i]];
	return i;
}

int esp_scan(struct machine *m, struct esp_report *r, struct gm_err *err)
{
	char keys[ESP_MAX][ESP_MAX_ENTRIES][360];
	int parent[ESP_MAX];
	struct open_esp o[ESP_MAX];
	struct tree t[ESP_MAX];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	memset(o, 0, sizeof(o));
	memset(t, 0, sizeof(t));
	for (int s = 0; s < m->nslots; s++) {
		struct disk *d = machine_disk(m, s);
		for (size_t i = 0; d && d->style == DS_GPT && i < d->nparts && r->n < ESP_MAX; i++) {
			if (d->parts[i].kind != PK_ESP)
				continue;
			struct esp *e = &r->esp[r->n++];
			e->slot = s;
			e->pos = i;
			e->part = d->parts[i].index + 1;
			e->guid = d->parts[i].ent.uniq;
			e->group = -1;
		}
	}
	/* The file systems. */
	for (size_t k = 0; k < r->n; k++) {
		struct gm_err e2;
		if (esp_open(m, &r->esp[k], &o[k], &e2) < 0 || tree_read(o[k].fs, &t[k], &e2) < 0) {
			snprintf(r->esp[k].why, sizeof(r->esp[k].why), "%.159s", e2.detail);
			r->unreadable++;
			esp_close(&o[k], false, NULL);
			continue;
		}
		const struct fat_bpb *b = fatfs_bpb(o[k].fs);
		snprintf(r->esp[k].fs, sizeof(r->esp[k].fs), "%s",
			 b->type == FAT12 ? "FAT12" : b->type == FAT16 ? "FAT16" : "FAT32");
	}
	/* The entries that load from each. */
	struct nvram *nv;
	if (machine_nvram_open(m, &nv, NULL) == 0) {
		struct boot_entry *v;
		size_t n;
		if (nvram_boot_entries(nv, &v, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				struct efi_hd hd;
				char file[256];
				if (!v[i].valid || !efi_dp_get_hd(v[i].lo.dp, v[i].lo.dp_len, &hd) ||
				    !efi_dp_get_file(v[i].lo.dp, v[i].lo.dp_len, file, sizeof(file)))
					continue;
				for (size_t k = 0; k < r->n; k++) {
					struct esp *e = &r->esp[k];
					if (!guid_eq(&e->guid, &hd.sig) || e->nent >= ESP_MAX_ENTRIES)
						continue;
					struct esp_entry *x = &e->ent[e->nent];
					x->num = v[i].num;
					snprintf(x->desc, sizeof(x->desc), "%.127s", v[i].lo.desc);
					snprintf(x->loader, sizeof(x->loader), "%s", file);
					struct fat_entry fe;
					x->loader_missing = !o[k].fs ||
							    fatfs_lookup(o[k].fs, file[0] == '\\' ? file + 1 : file,
									 &fe, NULL) < 0 ||
							    fat_entry_is_dir(&fe);
					r->missing_loaders += x->loader_missing;
					/* What makes two entries the same OS's. */
					char vol[96] = "";
					struct efi_hd os;
					if (v[i].windows && efi_dp_get_hd(v[i].win.os_dp, v[i].win.os_dp_len, &os))
						os_volume(m, &os.sig, vol, sizeof(vol));
					snprintf(keys[k][e->nent], sizeof(keys[k][0]), "%s|%s", file, vol);
					for (char *p = keys[k][e->nent]; *p && *p != '|'; p++)
						if (*p >= 'A' && *p <= 'Z')
							*p = (char)(*p + 32);
					e->nent++;
				}
			}
			nvram_boot_entries_free(v, n);
		}
		nvram_close(nv);
	}
	/* ESPs of one OS: some entry of each loads the same loader for the
	 * same system volume. */
	for (size_t k = 0; k < r->n; k++)
		parent[k] = (int)k;
	for (size_t a = 0; a < r->n; a++)
		for (size_t b = a + 1; b < r->n; b++)
			for (size_t i = 0; i < r->esp[a].nent; i++)
				for (size_t j = 0; j < r->esp[b].nent; j++)
					if (strcmp(keys[a][i], keys[b][j]) == 0)
						parent[find_root(parent, (int)a)] = find_root(parent, (int)b);
	for (size_t k = 0; k < r->n; k++)
		if (r->esp[k].nent)
			r->esp[k].group = find_root(parent, (int)k);
	/* Each pair of one OS whose file systems could be read. */
	for (size_t a = 0; a < r->n && rc == 0; a++)
		for (size_t b = a + 1; b < r->n && rc == 0; b++) {
			if (r->esp[a].group < 0 || r->esp[a].group != r->esp[b].group || !o[a].fs ||
			    !o[b].fs)
				continue;
			struct esp_pair *p = &r->pair[r->npairs++];
			p->a = a;
			p->b = b;
			rc = diff_trees(o[a].fs, &t[a], o[b].fs, &t[b], p, err);
		}
	for (size_t k = 0; k < r->n; k++) {
		free(t[k].v);
		esp_close(&o[k], false, NULL);
	}
	if (rc < 0)
		esp_report_free(r);
	return rc;
}

void esp_report_free(struct esp_report *r)
{
	for (size_t i = 0; i < r->npairs; i++)
		free(r->pair[i].d);
	r->npairs = 0;
}

bool esp_report_clean(const struct esp_report *r)
{
	for (size_t i = 0; i < r->npairs; i++)
		if (r->pair[i].nd)
			return false;
	return r->missing_loaders == 0;
}

int esp_of_slot(const struct esp_report *r, int slot)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->esp[k].slot == slot)
			return (int)k;
	return -1;
}

int esp_current(struct machine *m, const struct esp_report *r)
{
	const char *bc = machine_extra_get(m, "bootcurrent");
	unsigned long cur;
	char *end;

	if (!bc)
		return -1;
	cur = strtoul(bc, &end, 16);
	for (size_t k = 0; k < r->n; k++)
		for (size_t i = 0; i < r->esp[k].nent; i++)
			if (r->esp[k].ent[i].num == cur)
				return (int)k;
	return -1;
}

/* --- esp sync ------------------------------------------------------------- */

/* The directory cluster of path's parent on fs (the root for a top name). */
static int parent_dir(struct fatfs *fs, const char *path, uint32_t *dir, const char **name,
		      struct gm_err *err)
{
	const char *slash = strrchr(path, '\\');
	char parent[512];
	struct fat_entry e;

	*name = slash ? slash + 1 : path;
	if (!slash || slash == path) {
		*dir = fatfs_root(fs);
		return 0;
	}
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path - 1), path + 1);
	if (fatfs_lookup(fs, parent, &e, err) < 0)
		return -1;
	if (!fat_entry_is_dir(&e))
		return gm_fail(err, GM_E_CORRUPT, "%s is not a directory", parent);
	*dir = e.d.first_clus;
	return 0;
}

/* The node of t with path (any case), or NULL. */
static const struct node *tree_find(const struct tree *t, const char *path)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcasecmp(t->v[mid].path, path);
		if (c == 0)
			return &t->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The entry at path on fs now (entries move as the sync writes). */
static int entry_now(struct fatfs *fs, const char *path, struct fat_entry *e, struct gm_err *err)
{
	return fatfs_lookup(fs, path[0] == '\\' ? path + 1 : path, e, err);
}

int esp_sync(struct machine *m, const struct esp_report *r, size_t from, size_t to,
	     struct esp_sync_result *res, struct gm_err *err)
{
	struct open_esp src, dst;
	struct tree ts = {0}, td = {0};
	int rc;

	memset(res, 0, sizeof(*res));
	if (from >= r->n || to >= r->n || from == to)
		return gm_fail(err, GM_E_ARGS, "esp sync needs two different ESPs");
	for (size_t i = 0; i < r->esp[from].nent; i++)
		if (r->esp[from].ent[i].loader_missing)
			return gm_fail(err, GM_E_NOT_SUPPORTED, "the source ESP (disk %d) is itself "
				       "missing %s, which its entry Boot%04X (%s) loads; nothing "
				       "was written", r->esp[from].slot, r->esp[from].ent[i].loader,
				       r->esp[from].ent[i].num, r->esp[from].ent[i].desc);
	if (esp_open(m, &r->esp[from], &src, err) < 0)
		return -1;
	if (esp_open(m, &r->esp[to], &dst, err) < 0) {
		esp_close(&src, false, NULL);
		return -1;
	}
	if (!dst.dev->writable) {
		struct disk *d = machine_disk(m, r->esp[to].slot);
		rc = gm_fail(err, GM_E_IO, "disk %d is not written: %s", r->esp[to].slot,
			     d && d->ro_why[0] ? d->ro_why : "it is read-only");
		goto out;
	}
	/* A target a crash left dirty is repaired first, even when nothing
	 * else needs writing. */
	if ((rc = fatfs_autocheck(dst.fs, err)) < 0)
		goto out;
	if ((rc = tree_read(src.fs, &ts, err)) < 0 || (rc = tree_read(dst.fs, &td, err)) < 0)
		goto out;
	/* 1. What the source does not have (or has as the other kind) goes,
	 * deepest first. */
	for (size_t k = td.n; k-- > 0 && rc == 0;) {
		const struct node *s = tree_find(&ts, td.v[k].path);
		if (s && s->dir == td.v[k].dir)
			continue;
		struct fat_entry e;
		if ((rc = entry_now(dst.fs, td.v[k].path, &e, err)) < 0)
			break;
		if (td.v[k].dir) {
			if ((rc = fatfs_rmdir(dst.fs, &e, err)) == 0)
				res->dirs_removed++;
		} else if ((rc = fatfs_unlink(dst.fs, &e, err)) == 0) {
			res->deleted++;
		}
	}
	/* 2. Then the source's tree, parents first: directories made, files
	 * that are missing or differ written, attributes set. */
	for (size_t k = 0; k < ts.n && rc == 0; k++) {
		const struct node *s = &ts.v[k];
		const struct node *d = tree_find(&td, s->path);
		bool have = d && d->dir == s->dir;
		uint32_t dir;
		const char *name;
		struct fat_entry e;
		if (s->dir) {
			if (!have) {
				if ((rc = parent_dir(dst.fs, s->path, &dir, &name, err)) < 0 ||
				    (rc = fatfs_mkdir(dst.fs, dir, name,
						      fat_time_decode(s->e.d.wrt_date, s->e.d.wrt_time),
						      &e, err)) < 0)
					break;
				res->dirs_made++;
			} else if ((rc = entry_now(dst.fs, s->path, &e, err)) < 0) {
				break;
			}
			if ((e.d.attr & ATTR_MASK) != (s->e.d.attr & ATTR_MASK)) {
				if ((rc = fatfs_set_attr(dst.fs, &e, s->e.d.attr, err)) < 0)
					break;
				res->attrs++;
			}
			continue;
		}
		uint8_t *x = NULL, *y = NULL;
		if ((rc = read_all(src.fs, &s->e, &x, err)) < 0)
			break;
		bool same = false;
		if (have && d->e.d.size == s->e.d.size) {
			if ((rc = read_all(dst.fs, &d->e, &y, err)) < 0) {
				free(x);
				break;
			}
			same = !s->e.d.size || memcmp(x, y, s->e.d.size) == 0;
			free(y);
		}
		if (!same) {
			struct fat_mem_src in = {x, s->e.d.size, 0};
			rc = parent_dir(dst.fs, s->path, &dir, &name, err);
			if (rc == 0)
				rc = fatfs_write_file(dst.fs, dir, name, s->e.d.attr & 0x27,
						      fat_time_decode(s->e.d.wrt_date, s->e.d.wrt_time),
						      s->e.d.size, fat_mem_read, &in, NULL, err);
			if (rc == 0) {
				*(have ? &res->replaced : &res->added) += 1;
				res->bytes += s->e.d.size;
			}
		} else if ((d->e.d.attr & ATTR_MASK) != (s->e.d.attr & ATTR_MASK)) {
			if ((rc = entry_now(dst.fs, s->path, &e, err)) == 0 &&
			    (rc = fatfs_set_attr(dst.fs, &e, s->e.d.attr, err)) == 0)
				res->attrs++;
		}
		free(x);
	}
out:
	free(ts.v);
	free(td.v);
	esp_close(&src, false, NULL);
	{
		struct gm_err e2;
		int rc2 = esp_close(&dst, true, rc < 0 ? &e2 : err);
		if (rc == 0 && rc2 < 0)
			rc = rc2;
	}
	return rc;
}
