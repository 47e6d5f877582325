/*
 * boot.c - the firmware's boot manager, emulated over the machine's present
 * disks and NVRAM: BootNext, then BootOrder (or one entry chosen from the
 * menu); an entry loads when its Hard Drive node names a partition present
 * on some disk (by partition GUID, as OVMF matches a short-form path) and
 * its File node names a file on that partition's FAT file system. When no
 * entry loads, the removable-media path \EFI\BOOT\BOOTX64.EFI of each
 * disk's ESP is tried, in slot order, as OVMF does with the options it
 * makes for each disk.
 */
#include "boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fmt/bytes.h"
#include "../fmt/fsprobe.h"
#include "../fmt/ntfsfind.h"
#include "fatfs.h"
#include "machine.h"
#include "nvram.h"

/* 1: the file exists on partition pos of disk d; 0: not; <0 error. */
static int file_on(struct machine *m, struct disk *d, size_t pos, const char *path)
{
	struct blkdev *dev;
	struct fatfs *fs;
	struct fat_entry e;
	struct gm_err err;
	int rc = 0;

	if (machine_open_part(m, d->slot, pos, &dev, &err) < 0)
		return 0;
	if (fatfs_open(dev, &fs, &err) == 0) {
		rc = fatfs_lookup(fs, path[0] == '\\' ? path + 1 : path, &e, &err) == 0 &&
		     !fat_entry_is_dir(&e);
		fatfs_close(fs);
	}
	blk_close(dev);
	return rc;
}

static int dev_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	return blk_read(ctx, off, buf, len) == 0 ? 0 : -1;
}

/* What the loader of a Windows entry finds where its OsFilePath leads, read
 * as a loader reads it: the partition its HD() node names, on a present
 * disk, and on it <OS directory>\system32\ntoskrnl.exe (NTFS through the
 * reader the test loader carries too, FAT through gptmirror's). */
static enum boot_os os_check(struct machine *m, const struct boot_entry *be)
{
	struct efi_hd hd;
	char dir[512], path[600];
	int slot, rc = -1;
	size_t pos;
	struct blkdev *dev;
	struct gm_err err;

	if (!be->windows || !be->win.os_dp)
		return BOOT_OS_UNCHECKED;
	if (!efi_dp_get_hd(be->win.os_dp, be->win.os_dp_len, &hd) || hd.sig_type != 2 ||
	    !boot_find_gpt_part(m, &hd.sig, &slot, &pos) ||
	    machine_open_part(m, slot, pos, &dev, &err) < 0)
		return BOOT_OS_NO_DISK;
	if (!efi_dp_get_file(be->win.os_dp, be->win.os_dp_len, dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), "\\WINDOWS");
	snprintf(path, sizeof(path), "%s\\system32\\ntoskrnl.exe", dir);
	uint8_t sec[512];
	struct fs_probe fp;
	if (blk_read(dev, 0, sec, sizeof(sec)) == 0) {
		fs_probe(sec, sizeof(sec), &fp);
		if (fp.kind == FS_NTFS) {
			struct ntfs_find *f = malloc(sizeof(*f));
			if (f && ntfs_find_open(f, dev_read, dev, dev->size) == 0)
				rc = ntfs_find_path(f, path) == NTFS_FIND_FILE;
			free(f);
		} else if (fp.kind != FS_RAW) {
			struct fatfs *fs;
			struct fat_entry e;
			if (fatfs_open(dev, &fs, &err) == 0) {
				rc = fatfs_lookup(fs, path + 1, &e, &err) == 0 && !fat_entry_is_dir(&e);
				fatfs_close(fs);
			}
		}
	}
	blk_close(dev);
	return rc < 0 ? BOOT_OS_NO_DISK : rc ? BOOT_OS_FOUND : BOOT_OS_MISSING;
}

/* Where an entry's device path leads: 1 loadable, 0 Not Found. */
static int resolve(struct machine *m, const struct efi_loadopt *lo, struct boot_result *r)
{
	struct efi_hd hd;
	char file[512];

	if (!efi_dp_get_hd(lo->dp, lo->dp_len, &hd) || hd.sig_type != 2 ||
	    !efi_dp_get_file(lo->dp, lo->dp_len, file, sizeof(file)))
		return 0;
	for (int s = 0; s < m->nslots; s++) {
		struct disk *d = machine_disk(m, s);
		if (!d || d->style != DS_GPT)
			continue;
		for (size_t i = 0; i < d->nparts; i++) {
			if (!guid_eq(&d->parts[i].ent.uniq, &hd.sig))
				continue;
			if (file_on(m, d, i, file) != 1)
				return 0;
			r->slot = s;
			r->part = d->parts[i].index + 1;
			r->part_guid = hd.sig;
			snprintf(r->file, sizeof(r->file), "%s", file);
			return 1;
		}
	}
	return 0;
}

static struct boot_attempt *attempt(struct boot_result *r, const char *desc, int disk)
{
	static struct boot_attempt spare;
	struct boot_attempt *a = r->ntries < 64 ? &r->tries[r->ntries++] : &spare;

	snprintf(a->desc, sizeof(a->desc), "%s", desc);
	a->removable_disk = disk;
	a->loaded = false;
	a->os = BOOT_OS_UNCHECKED;
	return a;
}

int boot_emulate(struct machine *m, int entry, struct boot_result *r, struct gm_err *err)
{
	struct nvram *nv;
	struct boot_entry *e = NULL;
	size_t n = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	r->slot = -1;
	if ((rc = machine_nvram_open(m, &nv, err)) < 0)
		return rc;
	if (nvram_boot_entries(nv, &e, &n) < 0) {
		nvram_close(nv);
		return gm_fail(err, GM_E_IO, "cannot read the boot entries");
	}
	/* The order of attempts. */
	int next = -1;
	uint8_t *bn;
	size_t bnl;
	if (entry < 0 && nv->ops->get(nv, "BootNext", &EFI_GLOBAL_GUID, NULL, &bn, &bnl) == 1) {
		if (bnl >= 2)
			next = get_le16(bn);
		free(bn);
		/* The firmware consumes BootNext before it tries it. */
		if (nv->ops->del(nv, "BootNext", &EFI_GLOBAL_GUID, err) < 0) {
			rc = -1;
			goto out;
		}
		nv->dirty = true;
		if ((rc = nvram_commit(nv, err)) < 0)
			goto out;
	}
	int tries[260], nt = 0;
	if (entry >= 0) {
		tries[nt++] = entry;
	} else {
		if (next >= 0)
			tries[nt++] = next;
		for (size_t i = 0; i < n && nt < 256; i++)
			tries[nt++] = e[i].num;
	}
	for (int t = 0; t < nt && !r->booted; t++) {
		const struct boot_entry *be = NULL;
		for (size_t i = 0; i < n; i++)
			if (e[i].num == tries[t])
				be = &e[i];
		if (!be && entry >= 0) {
			/* A menu choice of an entry BootOrder does not list. */
			rc = gm_fail(err, GM_E_ARGS, "there is no boot entry Boot%04X", entry);
			goto out;
		}
		if (!be || !be->valid || !(be->lo.attrs & EFI_LOAD_OPTION_ACTIVE))
			continue;
		struct boot_attempt *a = attempt(r, be->lo.desc, -1);
		if (resolve(m, &be->lo, r) == 1 &&
		    (a->os = os_check(m, be)) != BOOT_OS_NO_DISK && a->os != BOOT_OS_MISSING) {
			a->loaded = true;
			r->booted = true;
			r->entry = be->num;
			snprintf(r->desc, sizeof(r->desc), "%s", be->lo.desc);
		} else if (entry >= 0) {
			r->paused = true;
			goto done;
		}
	}
	/* Nothing in BootOrder loaded: each disk's removable-media path. */
	for (int s = 0; s < m->nslots && !r->booted && entry < 0; s++) {
		struct disk *d = machine_disk(m, s);
		for (size_t i = 0; d && d->style == DS_GPT && i < d->nparts && !r->booted; i++) {
			if (d->parts[i].kind != PK_ESP ||
			    file_on(m, d, i, "\\EFI\\BOOT\\BOOTX64.EFI") != 1)
				continue;
			attempt(r, "", s)->loaded = true;
			r->booted = true;
			r->removable = true;
			r->slot = s;
			r->part = d->parts[i].index + 1;
			r->part_guid = d->parts[i].ent.uniq;
			snprintf(r->file, sizeof(r->file), "\\EFI\\BOOT\\BOOTX64.EFI");
			snprintf(r->desc, sizeof(r->desc), "removable media, disk %d", s);
		}
	}
done:
	rc = machine_set_bootcurrent(m, r->booted && !r->removable ? r->entry : -1, err);
out:
	nvram_boot_entries_free(e, n);
	nvram_close(nv);
	return rc;
}

void boot_running(struct machine *m, struct boot_running *r)
{
	const char *bc = machine_extra_get(m, "bootcurrent");
	struct nvram *nv;
	struct boot_entry *e;
	size_t n;

	uint16_t cur = bc ? (uint16_t)strtoul(bc, NULL, 16) : 0;
	uint8_t *d;
	size_t len;

	r->sys_slot = r->os_slot = -1;
	r->sys_pos = r->os_pos = 0;
	if ((!bc && !machine_is_real(m)) || machine_nvram_open(m, &nv, NULL) < 0)
		return;
	/* On a real computer the firmware says what it booted (the running
	 * system is whatever it loaded, Linux included); machine.conf's record
	 * is the emulation's. */
	if (machine_is_real(m)) {
		bool have = nv->ops->get(nv, "BootCurrent", &EFI_GLOBAL_GUID, NULL, &d, &len) == 1;
		if (have && len >= 2)
			cur = (uint16_t)(d[0] | d[1] << 8);
		if (have)
			free(d);
		if (!have || len < 2) {
			nvram_close(nv);
			return;
		}
	}
	if (nvram_boot_entries(nv, &e, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct efi_hd hd;
			if (e[i].num != cur || !e[i].valid)
				continue;
			if (efi_dp_get_hd(e[i].lo.dp, e[i].lo.dp_len, &hd))
				boot_find_gpt_part(m, &hd.sig, &r->sys_slot, &r->sys_pos);
			if (e[i].windows && efi_dp_get_hd(e[i].win.os_dp, e[i].win.os_dp_len, &hd))
				boot_find_gpt_part(m, &hd.sig, &r->os_slot, &r->os_pos);
		}
		nvram_boot_entries_free(e, n);
	}
	nvram_close(nv);
}

int boot_running_disk(struct machine *m)
{
	struct boot_running r;

	boot_running(m, &r);
	return r.os_slot;
}

int boot_add_plex_entry(struct machine *m, int slot, const struct guid *plex,
			struct gm_err *err)
{
	struct disk *d = machine_disk(m, slot);
	struct nvram *nv;
	int rc;

	if ((rc = machine_nvram_open(m, &nv, err)) < 0)
		return rc;
	/* The entry takes the place of a stale one, as Windows does when the
	 * boot volume is mirrored back onto a disk Setup used: the first
	 * Windows entry in BootOrder that loads from the same ESP as the
	 * first Windows entry (whose loader the new entry uses) and whose
	 * OsFilePath names a partition that is gone. Otherwise it goes last. */
	int replace = -1;
	struct boot_entry *e;
	size_t n;
	if (nvram_boot_entries(nv, &e, &n) == 0) {
		const struct boot_entry *w = NULL;
		struct efi_hd wh, h, os;
		int s;
		size_t p;
		for (size_t i = 0; i < n && !w; i++)
			if (e[i].windows)
				w = &e[i];
		bool have = w && efi_dp_get_hd(w->lo.dp, w->lo.dp_len, &wh);
		for (size_t i = 0; have && replace < 0 && i < n; i++)
			if (e[i].windows && efi_dp_get_hd(e[i].lo.dp, e[i].lo.dp_len, &h) &&
			    guid_eq(&h.sig, &wh.sig) &&
			    efi_dp_get_hd(e[i].win.os_dp, e[i].win.os_dp_len, &os) &&
			    !boot_find_gpt_part(m, &os.sig, &s, &p))
				replace = e[i].num;
		nvram_boot_entries_free(e, n);
	}
	rc = gm_fail(err, GM_E_NO_PART, "the new plex has no GPT entry");
	for (size_t i = 0; d && i < d->nparts; i++)
		if (guid_eq(&d->parts[i].ent.uniq, plex)) {
			rc = nvram_add_mirror_entry(nv, d, i, "Boot Mirror C: - secondary plex",
						    replace, err);
			if (rc == 0)
				rc = nvram_commit(nv, err);
		}
	nvram_close(nv);
	return rc;
}

bool boot_find_gpt_part(struct machine *m, const struct guid *g, int *slot, size_t *pos)
{
	for (int s = 0; s < m->nslots; s++) {
		struct disk *d = machine_disk(m, s);
		if (!d || d->style != DS_GPT)
			continue;
		for (size_t p = 0; p < d->nparts; p++)
			if (guid_eq(&d->parts[p].ent.uniq, g)) {
				*slot = s;
				*pos = p;
				return true;
			}
	}
	return false;
}

static struct efi_hd hd_of(const struct disk *d, size_t pos)
{
	struct efi_hd hd;
	const struct part *p = &d->parts[pos];

	hd.part_num = p->index + 1;
	hd.start = p->first_lba;
	hd.size = p->last_lba - p->first_lba + 1;
	hd.sig = p->ent.uniq;
	hd.mbr_type = 2;
	hd.sig_type = 2;
	return hd;
}

/* One clone of entry e onto the ESP thd. */
/* 0 added, 1 an identical entry is there already (*same its number). */
static int clone_one(struct nvram *nv, const struct boot_entry *e, const struct efi_hd *thd,
		     const char *dplus, const char *dset, const struct boot_entry *all, size_t nall,
		     uint16_t *same, struct gm_err *err)
{
	uint8_t dp[4096], out[8192];
	struct efi_loadopt lo = e->lo;
	uint16_t num;
	int len;

	memcpy(dp, e->lo.dp, e->lo.dp_len);
	efi_dp_set_hd(dp, e->lo.dp_len, thd);
	lo.dp = dp;
	if (dset)
		len = snprintf(lo.desc, sizeof(lo.desc), "%s", dset);
	else if (dplus)
		len = snprintf(lo.desc, sizeof(lo.desc), "%s %s", e->lo.desc, dplus);
	else
		len = 0;
	if (len < 0 || (size_t)len >= sizeof(lo.desc))
		return gm_fail(err, GM_E_TOO_LONG, "The description is too long.");
	int n = efi_loadopt_encode(&lo, out, sizeof(out));
	if (n < 0)
		return gm_fail(err, GM_E_TOO_LONG, "the entry is too large");
	/* Asked again, /clone finds the clone it made and adds no second one. */
	for (size_t k = 0; k < nall; k++)
		if (all[k].raw_len == (size_t)n && memcmp(all[k].raw, out, (size_t)n) == 0) {
			*same = all[k].num;
			return 1;
		}
	return nvram_add_boot(nv, out, (size_t)n, &num, err);
}

int boot_clone_entries(struct machine *m, struct nvram *nv, const struct boot_entry *e,
		       size_t n, const struct guid *sg, const struct guid *tg, const char *dplus,
		       const char *dset, long only, struct clone_result *r, struct gm_err *err)
{
	int slot, rc;
	size_t pos;

	r->n = r->nsame = 0;
	if (!boot_find_gpt_part(m, tg, &slot, &pos))
		return gm_fail(err, GM_E_NO_PART, "No partition with the target GUID was found.");
	const struct disk *d = machine_disk(m, slot);
	if (d->parts[pos].kind != PK_ESP)
		return gm_fail(err, GM_E_NOT_ESP,
			       "The target partition is not an EFI system partition.");
	struct efi_hd thd = hd_of(d, pos);
	for (size_t i = 0; i < n; i++) {
		struct efi_hd hd;
		if (only >= 0 && (size_t)only != i)
			continue;
		if (!e[i].valid || !efi_dp_get_hd(e[i].lo.dp, e[i].lo.dp_len, &hd) ||
		    !guid_eq(&hd.sig, sg) || e[i].lo.dp_len > 4096)
			continue;
		uint16_t same = 0;
		if ((rc = clone_one(nv, &e[i], &thd, dplus, dset, e, n, &same, err)) < 0)
			return rc;
		if (rc == 1 && r->nsame < 64) {
			r->same_pos[r->nsame] = i;
			r->same_num[r->nsame++] = same;
		} else if (rc == 0 && r->n < sizeof(r->pos) / sizeof(r->pos[0])) {
			r->pos[r->n++] = i;
		}
	}
	if (!r->n && !r->nsame)
		return gm_fail(err, GM_E_NO_ENTRY, "No boot entry uses the source partition.");
	return 0;
}
