/* nvram.c - the OVMF varstore backend and the boot-entry helpers. */
#include "nvram.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fmt/bytes.h"
#include "disk.h"

#define NV_ATTRS (EFI_VAR_NV | EFI_VAR_BS | EFI_VAR_RT)

/* --- OVMF file backend --------------------------------------------------- */

struct ovmf {
	char *path;
	uint8_t *buf;
	size_t len;
	struct efi_vs vs;
};

static int ovmf_get(struct nvram *nv, const char *name, const struct guid *g,
		    uint32_t *attrs, uint8_t **data, size_t *len)
{
	struct ovmf *o = nv->priv;
	struct efi_var v;

	if (!efi_vs_get(&o->vs, name, g, &v))
		return 0;
	*data = malloc(v.data_len ? v.data_len : 1);
	if (!*data)
		return -1;
	memcpy(*data, v.data, v.data_len);
	*len = v.data_len;
	if (attrs)
		*attrs = v.attrs;
	return 1;
}

static int ovmf_set(struct nvram *nv, const char *name, const struct guid *g,
		    uint32_t attrs, const uint8_t *data, size_t len,
		    struct gm_err *err)
{
	struct ovmf *o = nv->priv;
	const char *why;

	if (efi_vs_set(&o->vs, name, g, attrs, data, len, &why) < 0)
		return gm_fail(err, GM_E_NO_SPACE, "cannot store %s: %s", name, why);
	nv->dirty = true;
	return 0;
}

static int ovmf_del(struct nvram *nv, const char *name, const struct guid *g,
		    struct gm_err *err)
{
	(void)err;
	struct ovmf *o = nv->priv;

	if (!efi_vs_delete(&o->vs, name, g))
		return 0;
	nv->dirty = true;
	return 1;
}

struct list_ctx {
	const struct efi_vs *vs;
	nvram_var_fn fn;
	void *ctx;
};

static int list_one(void *ctx, const struct efi_var *v)
{
	struct list_ctx *c = ctx;
	struct efi_var best;

	/* Report each variable once, as the copy a reader would get. */
	if (!efi_vs_get(c->vs, v->name, &v->vendor, &best) || best.off != v->off)
		return 0;
	return c->fn(c->ctx, v->name, &v->vendor, v->attrs, v->data, v->data_len);
}

static int ovmf_list(struct nvram *nv, nvram_var_fn fn, void *ctx)
{
	struct ovmf *o = nv->priv;
	struct list_ctx c = {&o->vs, fn, ctx};

	return efi_vs_walk(&o->vs, list_one, &c);
}

/* The whole file is replaced (file_replace): a crash leaves the old store
 * or the new one, never a mix. */
static int write_atomic(const char *path, const uint8_t *buf, size_t len,
			struct gm_err *err)
{
	int rc = file_replace(path, buf, len);

	if (rc < 0)
		return gm_fail(err, GM_E_IO, "cannot replace %s: %s", path, strerror(-rc));
	return 0;
}

static int ovmf_commit(struct nvram *nv, struct gm_err *err)
{
	struct ovmf *o = nv->priv;
	int rc;

	if (!nv->dirty)
		return 0;
	if (nv->damaged[0])
		return gm_fail(err, GM_E_CORRUPT, "%s. Nothing was written.", nv->damaged);
	if ((rc = write_atomic(o->path, o->buf, o->len, err)) < 0)
		return rc;
	nv->dirty = false;
	return 0;
}

static void ovmf_close(struct nvram *nv)
{
	struct ovmf *o = nv->priv;

	free(o->path);
	free(o->buf);
	free(o);
	free(nv);
}

/* The live records that parse are kept, packed; the area after them,
 * the damage included, is erased. */
static int ovmf_repair(struct nvram *nv, struct gm_err *err)
{
	struct ovmf *o = nv->priv;
	const char *why;

	if (efi_vs_reclaim(&o->vs, &why) < 0)
		return gm_fail(err, GM_E_NOMEM, "%s", why);
	if (efi_vs_damaged_at(&o->vs))
		return gm_fail(err, GM_E_CORRUPT, "%s is still damaged after the repair; "
			       "nothing was written", o->path);
	nv->damaged[0] = '\0';
	nv->dirty = true;
	return 0;
}

static const struct nvram_ops ovmf_ops = {
	.get = ovmf_get,
	.set = ovmf_set,
	.del = ovmf_del,
	.list = ovmf_list,
	.commit = ovmf_commit,
	.repair = ovmf_repair,
	.close = ovmf_close,
};

static int read_file(const char *path, uint8_t **buf, size_t *len, struct gm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return gm_fail(err, GM_E_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		close(fd);
		return gm_fail(err, GM_E_UNREADABLE, "%s is not a variable store file", path);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	size_t done = 0;
	while (done < *len) {
		ssize_t n = read(fd, *buf + done, *len - done);
		if (n <= 0) {
			close(fd);
			free(*buf);
			return gm_fail(err, GM_E_IO, "cannot read %s", path);
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

int nvram_open_ovmf(const char *path, struct nvram **out, struct gm_err *err)
{
	struct ovmf *o = calloc(1, sizeof(*o));
	struct nvram *nv = calloc(1, sizeof(*nv));
	const char *why;
	int rc;

	if (!o || !nv) {
		free(o);
		free(nv);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	if ((rc = read_file(path, &o->buf, &o->len, err)) < 0) {
		free(o);
		free(nv);
		return rc;
	}
	if (efi_vs_open(o->buf, o->len, &o->vs, &why) < 0) {
		free(o->buf);
		free(o);
		free(nv);
		return gm_fail(err, GM_E_UNREADABLE, "%s is not a variable store "
			       "gptmirror can change: %s. Nothing was written.", path, why);
	}
	size_t bad = efi_vs_damaged_at(&o->vs);
	if (bad)
		snprintf(nv->damaged, sizeof(nv->damaged), "%s is damaged: the variable header "
			 "at offset 0x%zx does not parse, and the store is read only as far as "
			 "that", path, bad);
	o->path = strdup(path);
	nv->ops = &ovmf_ops;
	nv->priv = o;
	*out = nv;
	return 0;
}

const char *nvram_default_template(const struct gm_env *env)
{
	return env->ovmf_vars ? env->ovmf_vars : "/usr/share/OVMF/OVMF_VARS_4M.fd";
}

int nvram_create_ovmf(const char *path, const char *tpl, struct gm_err *err)
{
	uint8_t *buf;
	size_t len;
	struct efi_vs vs;
	const char *why;
	int rc;

	if ((rc = read_file(tpl, &buf, &len, err)) < 0)
		return rc;
	if (efi_vs_open(buf, len, &vs, &why) < 0) {
		free(buf);
		return gm_fail(err, GM_E_UNREADABLE, "the template %s: %s", tpl, why);
	}
	rc = write_atomic(path, buf, len, err);
	free(buf);
	return rc;
}

int nvram_commit(struct nvram *nv, struct gm_err *err)
{
	return nv->ops->commit(nv, err);
}

static int count_var(void *ctx, const char *name, const struct guid *vendor, uint32_t attrs,
		     const uint8_t *data, size_t len)
{
	(void)name, (void)vendor, (void)attrs, (void)data, (void)len;
	++*(size_t *)ctx;
	return 0;
}

int nvram_repair(struct nvram *nv, size_t *kept, struct gm_err *err)
{
	int rc;

	*kept = 0;
	if (!nv->damaged[0]) {
		nv->ops->list(nv, count_var, kept);
		return 0;
	}
	if (!nv->ops->repair)
		return gm_fail(err, GM_E_NOT_SUPPORTED, "this NVRAM cannot be repaired");
	if ((rc = nv->ops->repair(nv, err)) < 0 || (rc = nvram_commit(nv, err)) < 0)
		return rc;
	nv->ops->list(nv, count_var, kept);
	return 1;
}

void nvram_close(struct nvram *nv)
{
	if (nv)
		nv->ops->close(nv);
}

/* --- boot entries -------------------------------------------------------- */

static void boot_name(uint16_t num, char *out)
{
	snprintf(out, 9, "Boot%04X", num);
}

int nvram_boot_order(struct nvram *nv, uint16_t **order, size_t *n)
{
	uint8_t *d;
	size_t len;
	int rc = nv->ops->get(nv, "BootOrder", &EFI_GLOBAL_GUID, NULL, &d, &len);

	*order = NULL;
	*n = 0;
	if (rc <= 0)
		return rc;
	*order = malloc((len / 2 + 1) * sizeof(**order));
	if (!*order) {
		free(d);
		return -1;
	}
	for (size_t i = 0; i + 1 < len; i += 2)
		(*order)[(*n)++] = get_le16(d + i);
	free(d);
	return 0;
}

int nvram_set_boot_order(struct nvram *nv, const uint16_t *order, size_t n,
			 struct gm_err *err)
{
	uint8_t *d = malloc(2 * n + 1);
	int rc;

	if (!d)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		put_le16(d + 2 * i, order[i]);
	rc = nv->ops->set(nv, "BootOrder", &EFI_GLOBAL_GUID, NV_ATTRS, d, 2 * n, err);
	free(d);
	return rc;
}

int nvram_boot_entries(struct nvram *nv, struct boot_entry **out, size_t *n)
{
	uint16_t *order;
	size_t no;

	*out = NULL;
	*n = 0;
	if (nvram_boot_order(nv, &order, &no) < 0)
		return -1;
	struct boot_entry *v = calloc(no ? no : 1, sizeof(*v));
	if (!v) {
		free(order);
		return -1;
	}
	for (size_t i = 0; i < no; i++) {
		char name[16];
		struct boot_entry *e = &v[*n];
		boot_name(order[i], name);
		if (nv->ops->get(nv, name, &EFI_GLOBAL_GUID, NULL, &e->raw, &e->raw_len) != 1)
			continue;
		e->num = order[i];
		e->valid = efi_loadopt_decode(e->raw, e->raw_len, &e->lo) == 0;
		if (e->valid && efi_winopts_is(e->lo.opt, e->lo.opt_len))
			e->windows = efi_winopts_decode(e->lo.opt, e->lo.opt_len, &e->win) == 0;
		(*n)++;
	}
	free(order);
	*out = v;
	return 0;
}

void nvram_boot_entries_free(struct boot_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].raw);
	free(v);
}

struct nums_ctx {
	uint16_t *v;
	size_t n, cap;
	bool oom;
};

static int collect_num(void *ctx, const char *name, const struct guid *vendor, uint32_t attrs,
		       const uint8_t *data, size_t len)
{
	struct nums_ctx *c = ctx;
	unsigned num;
	char end;

	(void)attrs, (void)data, (void)len;
	if (!guid_eq(vendor, &EFI_GLOBAL_GUID) || strlen(name) != 8 ||
	    sscanf(name, "Boot%4X%c", &num, &end) != 1 || !isxdigit((unsigned char)name[4]))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		uint16_t *nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv) {
			c->oom = true;
			return 1;
		}
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = (uint16_t)num;
	return 0;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int nvram_boot_nums(struct nvram *nv, uint16_t **nums, size_t *n)
{
	struct nums_ctx c = {0};

	nv->ops->list(nv, collect_num, &c);
	if (c.oom) {
		free(c.v);
		return -1;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_u16);
	*nums = c.v;
	*n = c.n;
	return 0;
}

int nvram_add_boot(struct nvram *nv, const uint8_t *opt, size_t len,
		   uint16_t *num, struct gm_err *err)
{
	uint16_t *order;
	size_t n;
	int rc;

	for (uint32_t k = 0; k <= 0xffff; k++) {
		char name[16];
		uint8_t *d;
		size_t l;
		boot_name((uint16_t)k, name);
		rc = nv->ops->get(nv, name, &EFI_GLOBAL_GUID, NULL, &d, &l);
		if (rc == 1) {
			free(d);
			continue;
		}
		if ((rc = nv->ops->set(nv, name, &EFI_GLOBAL_GUID, NV_ATTRS, opt, len, err)) < 0)
			return rc;
		*num = (uint16_t)k;
		if (nvram_boot_order(nv, &order, &n) < 0)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		uint16_t *no = realloc(order, (n + 1) * sizeof(*no));
		if (!no) {
			free(order);
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		}
		no[n++] = (uint16_t)k;
		rc = nvram_set_boot_order(nv, no, n, err);
		free(no);
		/* BootOrder refused: the new entry goes too, so that nothing
		 * is left changed. */
		if (rc < 0)
			nv->ops->del(nv, name, &EFI_GLOBAL_GUID, NULL);
		return rc;
	}
	return gm_fail(err, GM_E_NO_SPACE, "no free Boot#### number");
}

int nvram_delete_boot(struct nvram *nv, uint16_t num, struct gm_err *err)
{
	uint16_t *order;
	size_t n, k = 0;
	char name[16];
	int rc;

	if (nvram_boot_order(nv, &order, &n) < 0)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (order[i] != num)
			order[k++] = order[i];
	/* BootOrder first: a crash between leaves an unlisted entry, never a
	 * BootOrder naming a missing one. (The store file is replaced whole
	 * anyway.) */
	rc = nvram_set_boot_order(nv, order, k, err);
	free(order);
	if (rc < 0)
		return rc;
	boot_name(num, name);
	return nv->ops->del(nv, name, &EFI_GLOBAL_GUID, err) < 0 ? -1 : 0;
}

uint16_t nvram_timeout(struct nvram *nv)
{
	uint8_t *d;
	size_t len;
	uint16_t t = 0xffff;

	if (nv->ops->get(nv, "Timeout", &EFI_GLOBAL_GUID, NULL, &d, &len) == 1) {
		if (len >= 2)
			t = get_le16(d);
		free(d);
	}
	return t;
}

int nvram_set_timeout(struct nvram *nv, uint16_t t, struct gm_err *err)
{
	uint8_t d[2];

	put_le16(d, t);
	return nv->ops->set(nv, "Timeout", &EFI_GLOBAL_GUID, NV_ATTRS, d, 2, err);
}

static int hd_of(const struct disk *d, size_t pos, uint8_t *dp, size_t cap)
{
	const struct part *p = &d->parts[pos];
	struct efi_hd hd = {p->index + 1, p->first_lba, p->last_lba - p->first_lba + 1,
			    p->ent.uniq, 2, 2};
	return efi_dp_add_hd(dp, 0, cap, &hd);
}

/* WINDOWS_OS_OPTIONS naming os_dir on partition pos of d; its length or -1. */
static int os_options(const struct disk *d, size_t pos, const char *os_dir,
		      const char *options, uint8_t *opt, size_t cap)
{
	uint8_t osdp[1024];
	int k = hd_of(d, pos, osdp, sizeof(osdp));

	k = k < 0 ? -1 : efi_dp_add_file(osdp, (size_t)k, sizeof(osdp),
					 os_dir ? os_dir : "\\WINDOWS");
	k = k < 0 ? -1 : efi_dp_add_end(osdp, (size_t)k, sizeof(osdp));
	return k < 0 ? -1 : efi_winopts_encode(options ? options : "", osdp, (size_t)k, opt, cap);
}

/* Encodes an active load option and adds it as a new Boot####. */
static int add_option(struct nvram *nv, const char *desc, const uint8_t *dp, int dp_len,
		      const uint8_t *opt, int opt_len, int replace, uint16_t *num,
		      struct gm_err *err)
{
	uint8_t out[8192];
	struct efi_loadopt lo = {.attrs = EFI_LOAD_OPTION_ACTIVE};
	int dl = snprintf(lo.desc, sizeof(lo.desc), "%s", desc);
	uint16_t k;
	int rc;

	if (dp_len < 0 || opt_len < 0 || dl < 0 || (size_t)dl >= sizeof(lo.desc))
		return gm_fail(err, GM_E_ARGS, "the boot entry does not fit");
	lo.dp = dp;
	lo.dp_len = (size_t)dp_len;
	lo.opt = opt;
	lo.opt_len = (size_t)opt_len;
	int len = efi_loadopt_encode(&lo, out, sizeof(out));
	if (len < 0)
		return gm_fail(err, GM_E_ARGS, "the boot entry does not fit");
	if (replace >= 0) {
		char name[16];
		k = (uint16_t)replace;
		boot_name(k, name);
		rc = nv->ops->set(nv, name, &EFI_GLOBAL_GUID, NV_ATTRS, out, (size_t)len, err);
	} else {
		rc = nvram_add_boot(nv, out, (size_t)len, &k, err);
	}
	if (rc == 0 && num)
		*num = k;
	return rc;
}

int nvram_add_mirror_entry(struct nvram *nv, const struct disk *d, size_t pos,
			   const char *desc, int replace, struct gm_err *err)
{
	struct boot_entry *e;
	size_t n;
	uint8_t opt[2048];
	int rc;

	if (nvram_boot_entries(nv, &e, &n) < 0)
		return gm_fail(err, GM_E_IO, "cannot read the boot entries");
	const struct boot_entry *w = NULL;
	for (size_t i = 0; i < n && !w; i++)
		if (e[i].windows)
			w = &e[i];
	if (!w) {
		nvram_boot_entries_free(e, n);
		return gm_fail(err, GM_E_NO_PART, "There is no Windows boot entry whose "
			       "loader the mirror entry can use.");
	}
	rc = add_option(nv, desc, w->lo.dp, (int)w->lo.dp_len, opt,
			os_options(d, pos, NULL, NULL, opt, sizeof(opt)), replace, NULL, err);
	nvram_boot_entries_free(e, n);
	return rc;
}

int nvram_add_loader_entry(struct nvram *nv, const struct loader_entry *e, uint16_t *num,
			   struct gm_err *err)
{
	uint8_t dp[2048], opt[2048];
	int n = hd_of(e->esp_d, e->esp_pos, dp, sizeof(dp)), on = 0;
	uint16_t k;
	int rc;

	n = n < 0 ? -1 : efi_dp_add_file(dp, (size_t)n, sizeof(dp), e->loader);
	n = n < 0 ? -1 : efi_dp_add_end(dp, (size_t)n, sizeof(dp));
	if (e->os_d)
		on = os_options(e->os_d, e->os_pos, e->os_dir, e->options, opt, sizeof(opt));
	if ((rc = add_option(nv, e->desc, dp, n, opt, on, -1, &k, err)) < 0)
		return rc;
	if (num)
		*num = k;
	if (e->first) {
		uint16_t *order;
		size_t cnt;
		if (nvram_boot_order(nv, &order, &cnt) < 0)
			return gm_fail(err, GM_E_IO, "cannot read BootOrder");
		size_t w = 1;
		uint16_t *o2 = malloc((cnt + 1) * sizeof(*o2));
		if (!o2) {
			free(order);
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		}
		o2[0] = k;
		for (size_t i = 0; i < cnt; i++)
			if (order[i] != k)
				o2[w++] = order[i];
		rc = nvram_set_boot_order(nv, o2, w, err);
		free(o2);
		free(order);
	}
	return rc;
}

int nvram_add_vendor_entry(struct nvram *nv, const char *desc, const struct guid *vendor,
			   uint16_t *num, struct gm_err *err)
{
	uint8_t dp[64];

	/* A vendor-defined media node, as the firmware's own entries carry. */
	dp[0] = 4;
	dp[1] = 3;
	put_le16(dp + 2, 20);
	memcpy(dp + 4, vendor->b, 16);
	return add_option(nv, desc, dp, efi_dp_add_end(dp, 20, sizeof(dp)), NULL, 0, -1, num, err);
}
