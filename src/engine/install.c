/*
 * install.c - what Windows Setup leaves on a disk, as the machine's stand-in
 * for an installed server: an EFI system partition with the loader at the
 * profile's path (and on the modern profile at the removable-media path
 * \EFI\BOOT\BOOTX64.EFI, as Windows 8 and later write it), an MSR, the boot volume C: (NTFS as Setup makes it, or FAT32 on request,
 * with \WINDOWS) and its NVRAM entry.
 *
 * The loader is gptmirror's own EFI application; the other files the seed
 * lists on a 2003 ESP (fpswa.efi, the MSUtil tools) are small stand-ins.
 */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fmt/efi.h"
#include "../fmt/gpt.h"
#include "fatfs.h"
#include "ldm.h"
#include "machine.h"
#include "ntfsvol.h"
#include "nvram.h"
#include "rng.h"

static int read_host_file(const char *path, uint8_t **out, size_t *len, struct gm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return gm_fail(err, GM_E_ARGS, "cannot read the EFI loader %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > (64 << 20)) {
		close(fd);
		return gm_fail(err, GM_E_ARGS, "%s is not an EFI application file", path);
	}
	uint8_t *b = malloc((size_t)st.st_size);
	size_t got = 0;
	while (b && got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!b || got != (size_t)st.st_size) {
		free(b);
		return gm_fail(err, GM_E_IO, "reading %s failed", path);
	}
	*out = b;
	*len = got;
	return 0;
}

static const char winini[] = "; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n";

static int standin_text(const char *dirpath, const char *name, char *buf, size_t cap)
{
	return snprintf(buf, cap, "gptmirror stand-in for %s\\%s: the file a Windows "
			"installation keeps here.\r\n", dirpath, name);
}

/* Creates the directories of path (separated by '\') under the root. */
static int mkdirs(struct machine *m, struct fatfs *fs, const char *path, uint32_t *dir,
		  struct gm_err *err)
{
	char buf[256], *save = NULL;
	struct fat_entry e;

	snprintf(buf, sizeof(buf), "%s", path);
	*dir = fatfs_root(fs);
	for (char *t = strtok_r(buf, "\\", &save); t; t = strtok_r(NULL, "\\", &save)) {
		int rc = fatfs_find(fs, *dir, t, &e, err);
		if (rc < 0)
			return rc;
		if (rc == 0 && fatfs_mkdir(fs, *dir, t, (int64_t)rng_time(&m->rng), &e, err) < 0)
			return -1;
		*dir = e.d.first_clus;
	}
	return 0;
}

static int put_file(struct machine *m, struct fatfs *fs, const char *dirpath, const char *name,
		    const uint8_t *data, size_t len, struct gm_err *err)
{
	uint32_t dir;
	struct fat_mem_src b = {data, len, 0};

	if (mkdirs(m, fs, dirpath, &dir, err) < 0)
		return -1;
	return fatfs_write_file(fs, dir, name, 0x20, (int64_t)rng_time(&m->rng), len, fat_mem_read,
				&b, NULL, err);
}

/* A small stand-in for a file the seed lists but gptmirror does not ship. */
static int put_standin(struct machine *m, struct fatfs *fs, const char *dirpath,
		       const char *name, struct gm_err *err)
{
	char text[4096];
	int n = standin_text(dirpath, name, text, sizeof(text));
	return put_file(m, fs, dirpath, name, (const uint8_t *)text, (size_t)n, err);
}

/* Formats partition pos of disk d and opens its file system. */
static int format_open(struct machine *m, struct disk *d, size_t pos, enum fat_type kind,
		       const char *label, struct blkdev **dev, struct fatfs **fs,
		       struct gm_err *err)
{
	struct fat_bpb plan;
	int rc;

	if ((rc = machine_open_part(m, d->slot, pos, dev, err)) < 0)
		return rc;
	if ((rc = fat_format_plan((*dev)->size, d->ss, kind, 0, (uint32_t)d->parts[pos].first_lba,
				  &plan, err)) < 0 ||
	    (rc = fat_format(*dev, &plan, label, rng_u32(&m->rng), (int64_t)rng_time(&m->rng),
			     true, NULL, NULL, err)) < 0 ||
	    (rc = fatfs_open(*dev, fs, err)) < 0) {
		blk_close(*dev);
		return rc;
	}
	return 0;
}

static int close_fs(struct blkdev *dev, struct fatfs *fs, int rc, struct gm_err *err)
{
	struct gm_err e2;

	if (fatfs_sync(fs, rc < 0 ? &e2 : err) < 0 && rc == 0)
		rc = -1;
	fatfs_close(fs);
	if (blk_flush(dev) < 0 && rc == 0)
		rc = gm_fail(err, GM_E_IO, "flush failed");
	blk_close(dev);
	return rc;
}

/* Where an install's NTFS change waits to be applied: a crash before the
 * install ends is undone by its rerun, so nothing replays it. */
static void install_journal(struct machine *m, int slot, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/ntfs-journal.install%d", m->dir, slot);
}

static int ntfs_put(struct machine *m, struct ntfsvol *v, const char *dir, const char *name,
		    const char *data, size_t len, struct gm_err *err)
{
	struct ntfs_out *o;
	int64_t now = (int64_t)rng_time(&m->rng);

	if (ntfsvol_create_file(v, dir, name, now, &o, err) < 0)
		return -1;
	int rc = ntfsvol_out_write(o, data, len) < 0 ? -1 : 0;
	if (ntfsvol_out_close(o, 0x20, now, err) < 0 || rc < 0)
		return rc < 0 ? gm_fail(err, GM_E_IO, "cannot write %s\\%s", dir, name) : -1;
	return 0;
}

/* C: as Setup makes it: NTFS with \WINDOWS (win.ini, system32\ntoskrnl.exe). */
static int install_ntfs(struct machine *m, struct disk *d, size_t os, const char *label,
			struct gm_err *err)
{
	struct blkdev *dev;
	struct ntfsvol *v = NULL;
	uint32_t unit;
	char j[4096], text[512];
	int rc;

	if ((rc = machine_open_part(m, d->slot, os, &dev, err)) < 0)
		return rc;
	uint64_t hi = rng_u32(&m->rng);
	struct ntfs_format_req nr = {.hidden = d->parts[os].first_lba, .label = label,
				     .quick = true, .serial = hi << 32 | rng_u32(&m->rng),
				     .fixed_time = m->rng.seeded};
	install_journal(m, d->slot, j, sizeof(j));
	int64_t now = (int64_t)rng_time(&m->rng);
	if ((rc = ntfs_format(dev, m->dir, &nr, &unit, err)) < 0 ||
	    (rc = ntfsvol_open_rw(dev, &v, err)) < 0)
		goto out;
	int n = standin_text("WINDOWS\\system32", "ntoskrnl.exe", text, sizeof(text));
	if ((rc = ntfsvol_mkdir(v, "", "WINDOWS", now, err)) < 0 ||
	    (rc = ntfs_put(m, v, "\\WINDOWS", "win.ini", winini, sizeof(winini) - 1, err)) < 0 ||
	    (rc = ntfsvol_mkdir(v, "\\WINDOWS", "system32", now, err)) < 0 ||
	    (rc = ntfs_put(m, v, "\\WINDOWS\\system32", "ntoskrnl.exe", text, (size_t)n,
			   err)) < 0) {
		ntfsvol_close(v);
		goto out;
	}
	rc = ntfsvol_commit(v, j, "install", err);
out:
	if (rc == 0 && blk_flush(dev) < 0)
		rc = gm_fail(err, GM_E_IO, "flush failed");
	blk_close(dev);
	return rc;
}

static int create(struct machine *m, struct disk *d, enum part_kind kind, uint64_t mb,
		  bool has_off, uint64_t off_kb, size_t *pos, struct gm_err *err)
{
	struct create_req req = {.kind = kind, .size_mb = mb, .has_offset = has_off,
				 .offset_kb = off_kb};

	return disk_create_part(d, &m->rng, m->profile, &req, pos, err);
}

/* Server 2003 Setup laid GPT disks out on the old geometry's cylinders
 * (255 heads of 63 sectors): the ESP from the second track (LBA 63, "32
 * KB") to the end of the last whole cylinder of its size, and in Setup's
 * own layout the MSR whole cylinders after it; so the KB lists the ESP as
 * "204 MB" at "32 KB" (213,825,024 bytes at 32,256), and after Setup's
 * install on a new disk "102 MB" at "32 KB", "31 MB" at "102 MB" and C:
 * at "133 MB". */
#define TRACK 63u
#define CYL (255u * TRACK)

static uint64_t whole_cylinders(uint64_t mb)
{
	return (mb << 20) / 512 / CYL * CYL;
}

static int create_at(struct machine *m, struct disk *d, enum part_kind kind, uint64_t at,
		     uint64_t sectors, size_t *pos, struct gm_err *err)
{
	struct create_req req = {.kind = kind, .has_offset = true, .at_lba = at, .sectors = sectors};

	return disk_create_part(d, &m->rng, m->profile, &req, pos, err);
}

/* Setup's 2003 layout (see TRACK): ESP, then (Setup) MSR and C:, or
 * (the first install) C: and the MSR at 9 GB. */
static int layout_2003(struct machine *m, struct disk *d, const struct install_spec *s,
		       uint64_t esp_mb, uint64_t msr_mb, uint64_t os_mb, size_t *pos,
		       struct gm_err *err)
{
	uint64_t esp_end = whole_cylinders(esp_mb), at;
	int rc;

	if (esp_end <= TRACK)
		esp_end = TRACK + (esp_mb << 20) / 512;
	if ((rc = create_at(m, d, PK_ESP, TRACK, esp_end - TRACK, pos, err)) < 0)
		return rc;
	at = esp_end;
	if (s->setup) {
		uint64_t msr = whole_cylinders(msr_mb);
		if (msr == 0)
			msr = (msr_mb << 20) / 512;
		if ((rc = create_at(m, d, PK_MSR, at, msr, pos, err)) < 0)
			return rc;
		return create_at(m, d, PK_BASIC, at + msr, (os_mb << 20) / 512, pos, err);
	}
	if ((rc = create_at(m, d, PK_BASIC, at, (os_mb << 20) / 512, pos, err)) < 0)
		return rc;
	uint64_t at_kb = 9437184;
	bool far = (d->dev->size >> 10) >= at_kb + (msr_mb << 10) + 1024;
	return create(m, d, PK_MSR, msr_mb, far, at_kb, pos, err);
}

static size_t find_kind(const struct disk *d, enum part_kind k)
{
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].kind == k)
			return i;
	return (size_t)-1;
}

static bool letter_c_taken(struct machine *m)
{
	int s;
	size_t p;
	struct ldm_view *v;

	if (machine_find_letter(m, 'C', &s, &p, NULL) == 0)
		return true;
	if (ldm_scan(m, &v, NULL) < 0)
		return false;
	bool hit = false;
	for (size_t g = 0; g < v->ngroups; g++)
		for (size_t i = 0; i < v->groups[g].nvols; i++) {
			const char *h = v->groups[g].vols[i].rec->u.vol.hint;
			hit |= (h[0] == 'C' || h[0] == 'c') && h[1] == ':';
		}
	ldm_view_free(v);
	return hit;
}

/* Setup's ESP: FAT, with the loader where the profile's Windows has it;
 * on 2003 the seed's other files and nothing else (the KB's xcopy copies 7
 * files: Server 2003 Setup wrote no removable-media loader), on the modern
 * profile the removable-media copy. */
static int fill_esp(struct machine *m, struct disk *d, size_t esp, const char *ldir,
		    const char *lname, const uint8_t *loader, size_t loader_len,
		    struct gm_err *err)
{
	bool y2003 = m->profile == PROFILE_2003;
	struct blkdev *dev;
	struct fatfs *fs;
	int rc;

	if ((rc = format_open(m, d, esp, y2003 ? FAT16 : FAT32, NULL, &dev, &fs, err)) < 0)
		return rc;
	if (y2003) {
		static const char boot3[] = "Boot0003\r\n";
		rc = put_file(m, fs, ldir, "Boot0003", (const uint8_t *)boot3, sizeof(boot3) - 1, err);
		if (rc == 0)
			rc = put_file(m, fs, ldir, lname, loader, loader_len, err);
		if (rc == 0)
			rc = put_standin(m, fs, "EFI\\Microsoft\\EFIDrivers", "fpswa.efi", err);
		static const char *const tools[] = {"diskpart.efi", "fdisk.efi", "format.efi",
						    "nvrboot.efi"};
		for (size_t i = 0; rc == 0 && i < 4; i++)
			rc = put_standin(m, fs, "MSUtil", tools[i], err);
	} else {
		rc = put_file(m, fs, ldir, lname, loader, loader_len, err);
		if (rc == 0)
			rc = put_file(m, fs, "EFI\\BOOT", "BOOTX64.EFI", loader, loader_len, err);
	}
	return close_fs(dev, fs, rc, err);
}

/* Setup's NVRAM: the loader's entry (first in BootOrder for a recovery
 * Setup), and on a 2003 install the firmware's own entries and timeout. */
static int add_boot_entries(struct machine *m, struct disk *d, size_t esp, size_t os,
			    const struct install_spec *s, const char *ldir, const char *lname,
			    uint16_t *entry, struct gm_err *err)
{
	bool y2003 = m->profile == PROFILE_2003;
	struct nvram *nv;
	char loader_path[128];
	int rc;

	if ((rc = machine_nvram_open(m, &nv, err)) < 0)
		return rc;
	snprintf(loader_path, sizeof(loader_path), "\\%s\\%s", ldir, lname);
	const char *desc = !y2003       ? "Windows Boot Manager"
			   : s->setup ? "Microsoft Windows Server 2003, Enterprise Edition"
				      : "Windows 2003 Server, Enterprise";
	struct loader_entry le = {.desc = desc, .esp_d = d, .esp_pos = esp, .loader = loader_path,
				  .os_d = y2003 ? d : NULL, .os_pos = os, .first = s->setup};
	rc = nvram_add_loader_entry(nv, &le, entry, err);
	if (rc == 0 && y2003 && !s->setup) {
		/* The firmware's own entries the seed lists after it. */
		static const struct {
			const char *name, *guid;
		} fw[] = {{"LS120", "0c95a93f-a006-11d4-bcfa-0080c73c8881"},
			  {"CDROM", "0c95a92f-a006-11d4-bcfa-0080c73c8881"},
			  {"EFI Shell", "c57ad6b7-0515-40a8-9d21-551652854e37"}};
		for (size_t i = 0; rc == 0 && i < 3; i++) {
			struct guid g;
			guid_from_str(fw[i].guid, &g);
			rc = nvram_add_vendor_entry(nv, fw[i].name, &g, NULL, err);
		}
	}
	if (rc == 0 && y2003)
		rc = nvram_set_timeout(nv, s->setup ? 5 : 30, err);
	if (rc == 0)
		rc = nvram_commit(nv, err);
	nvram_close(nv);
	return rc;
}

uint64_t install_min_mb(enum profile prof, const struct install_spec *s)
{
	bool y2003 = prof == PROFILE_2003;
	uint64_t esp_mb = s->esp_mb ? s->esp_mb : y2003 ? (s->setup ? 102 : 204) : 100;

	/* ESP, MSR, a 64 MB C: and the GPT's own 2 MB. */
	return esp_mb + (y2003 ? 32 : 16) + 64 + 2 + (s->os_mb ? s->os_mb - 64 : 0);
}

void install_pending_key(int slot, char *buf, size_t cap)
{
	snprintf(buf, cap, "install.disk%d", slot);
}

/* A retry of an install a crash cut off: what it left on the disk goes,
 * with the letters of its partitions and the boot entries that name them. */
static int undo_partial(struct machine *m, struct disk *d, struct gm_err *err)
{
	struct guid gone[GPT_MAX_ENTRIES];
	size_t ngone = 0;
	int rc;

	for (size_t i = 0; i < d->nparts && ngone < GPT_MAX_ENTRIES; i++) {
		char key[64];
		part_key(d, &d->parts[i], key, sizeof(key));
		machine_drop_letter_key(m, key);
		if (d->style == DS_GPT)
			gone[ngone++] = d->parts[i].ent.uniq;
	}
	struct nvram *nv;
	if (ngone && machine_nvram_open(m, &nv, NULL) == 0) {
		struct boot_entry *v;
		size_t n;
		bool changed = false;
		if (nvram_boot_entries(nv, &v, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				struct efi_hd hd;
				if (!v[i].valid || !efi_dp_get_hd(v[i].lo.dp, v[i].lo.dp_len, &hd))
					continue;
				for (size_t k = 0; k < ngone; k++)
					if (guid_eq(&hd.sig, &gone[k]) &&
					    nvram_delete_boot(nv, v[i].num, NULL) == 0)
						changed = true;
			}
			nvram_boot_entries_free(v, n);
		}
		if (changed && (rc = nvram_commit(nv, err)) < 0) {
			nvram_close(nv);
			return rc;
		}
		nvram_close(nv);
	}
	m->conf_dirty = true;
	if (d->style == DS_GPT)
		return disk_clean(d, err);
	return 0;
}

int install_windows(struct machine *m, int slot, const struct install_spec *s,
		    struct install_result *r, struct gm_err *err)
{
	struct disk *d = machine_disk(m, slot);
	bool y2003 = m->profile == PROFILE_2003;
	uint8_t *loader = NULL;
	size_t loader_len = 0, pos;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!d)
		return gm_fail(err, GM_E_NO_DISK, "there is no disk %d", slot);
	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	char pending[32];
	install_pending_key(slot, pending, sizeof(pending));
	bool retry = machine_extra_get(m, pending) != NULL;
	if (!retry && !(d->style == DS_RAW && !d->raw_has_data) &&
	    !(d->style == DS_GPT && d->nparts == 0))
		return gm_fail(err, GM_E_NOT_EMPTY, "Setup installs on an empty disk; disk %d "
			       "holds partitions or data (clean it first)", slot);
	/* Everything that can refuse does so before the first write. */
	uint64_t need = install_min_mb(m->profile, s);
	if ((d->dev->size >> 20) < need)
		return gm_fail(err, GM_E_NO_SPACE, "disk %d is too small for Windows (%llu MB; "
			       "Setup needs %llu MB)", slot,
			       (unsigned long long)(d->dev->size >> 20), (unsigned long long)need);
	if ((rc = read_host_file(s->loader, &loader, &loader_len, err)) < 0)
		return rc;
	/* Recorded before the first write, dropped after the last: a crash
	 * in between leaves a disk the next run of the same command takes
	 * over again. */
	if ((rc = machine_extra_set(m, pending, "1", err)) < 0)
		goto out;
	if (retry && (rc = undo_partial(m, d, err)) < 0)
		goto out;
	char journal[4096];
	install_journal(m, slot, journal, sizeof(journal));
	unlink(journal);
	/* A machine create --install cut off before its NVRAM was made. */
	if (retry && (rc = machine_nvram_ensure(m, err)) < 0)
		goto out;

	/* The partitions. Convert makes an MSR; Setup lays the disk out itself. */
	if (d->style == DS_RAW) {
		if ((rc = disk_convert_gpt(d, &m->rng, m->profile, err)) < 0)
			goto out;
	}
	while (d->nparts > 0)
		if ((rc = disk_delete_part(d, 0, true, err)) < 0)
			goto out;
	uint64_t esp_mb = s->esp_mb ? s->esp_mb : y2003 ? (s->setup ? 102 : 204) : 100;
	uint64_t msr_mb = y2003 ? 32 : 16;
	uint64_t free_mb = disk_free_bytes(d) >> 20;
	if (free_mb < esp_mb + msr_mb + 64) {
		rc = gm_fail(err, GM_E_NO_SPACE, "disk %d is too small for Windows (%llu MB)",
			     slot, (unsigned long long)free_mb);
		goto out;
	}
	uint64_t room = free_mb - esp_mb - msr_mb - 2;
	uint64_t os_mb = s->os_mb ? s->os_mb : y2003 ? (s->setup ? 2996 : 4996) : room;
	if (os_mb > room) {
		if (s->os_mb) {
			rc = gm_fail(err, GM_E_NO_SPACE, "a %llu MB Windows partition does not fit "
				     "on disk %d (%llu MB free)", (unsigned long long)os_mb, slot,
				     (unsigned long long)room);
			goto out;
		}
		os_mb = room;
	}
	if (y2003 && d->ss == 512) {
		/* Server 2003 Setup's own layout, on cylinders. */
		if ((rc = layout_2003(m, d, s, esp_mb, msr_mb, os_mb, &pos, err)) < 0)
			goto out;
	} else if ((rc = create(m, d, PK_ESP, esp_mb, false, 0, &pos, err)) < 0) {
		goto out;
	} else if (y2003 && !s->setup) {
		/* A Server 2003 install: ESP, C:, and the MSR at 9 GB as in
		 * the KB's listing of disk 0 (after C: when the disk is small). */
		if ((rc = create(m, d, PK_BASIC, os_mb, false, 0, &pos, err)) < 0)
			goto out;
		uint64_t at_kb = 9437184;
		bool far = (d->dev->size >> 10) >= at_kb + (msr_mb << 10) + 1024;
		if ((rc = create(m, d, PK_MSR, msr_mb, far, at_kb, &pos, err)) < 0)
			goto out;
	} else {
		if ((rc = create(m, d, PK_MSR, msr_mb, false, 0, &pos, err)) < 0 ||
		    (rc = create(m, d, PK_BASIC, os_mb, false, 0, &pos, err)) < 0)
			goto out;
	}
	size_t esp = find_kind(d, PK_ESP), os = find_kind(d, PK_BASIC);

	/* The EFI system partition: FAT, as Setup formats it. */
	const char *ldir = y2003 ? "EFI\\Microsoft\\WINNT50" : "EFI\\Microsoft\\Boot";
	const char *lname = y2003 ? "ia64ldr.efi" : "bootmgfw.efi";
	if ((rc = fill_esp(m, d, esp, ldir, lname, loader, loader_len, err)) < 0)
		goto out;
	struct blkdev *dev;
	struct fatfs *fs;

	/* C: with \WINDOWS. */
	const char *label = s->setup ? NULL : "PRIMARY";
	if (!s->fat32) {
		if ((rc = install_ntfs(m, d, os, label, err)) < 0)
			goto out;
	} else {
		if ((rc = format_open(m, d, os, FAT32, label, &dev, &fs, err)) < 0)
			goto out;
		rc = put_file(m, fs, "WINDOWS", "win.ini", (const uint8_t *)winini,
			      sizeof(winini) - 1, err);
		if (rc == 0)
			rc = put_standin(m, fs, "WINDOWS\\system32", "ntoskrnl.exe", err);
		if ((rc = close_fs(dev, fs, rc, err)) < 0)
			goto out;
	}
	if (!letter_c_taken(m)) {
		char key[64], stale[64];
		/* A C: whose partition is on no disk of the machine now (a
		 * pulled disk's) is free: the new system takes it. */
		const char *owner = machine_letter_key(m, 'C');
		if (owner) {
			snprintf(stale, sizeof(stale), "%s", owner);
			machine_drop_letter_key(m, stale);
		}
		part_key(d, &d->parts[os], key, sizeof(key));
		if ((rc = machine_set_letter(m, 'C', key, err)) < 0)
			goto out;
		r->letter_c = true;
	}

	/* The boot entries. */
	rc = add_boot_entries(m, d, esp, os, s, ldir, lname, &r->entry, err);
	if (rc == 0) {
		r->esp_pos = esp;
		r->os_pos = os;
		/* The installed system is the one running now. */
		rc = machine_set_bootcurrent(m, r->entry, err);
	}
	if (rc == 0)
		rc = machine_extra_set(m, pending, NULL, err);
out:
	free(loader);
	return rc;
}

const char *install_default_loader(const struct gm_env *env)
{
	static char path[4096];
	char exe[4096];
	ssize_t n;

	if (env->loader)
		return env->loader;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = {"/gptmirror-loader.efi",
							  "/../share/gptmirror/gptmirror-loader.efi",
							  "/../../../bin/gptmirror-loader.efi"};
			for (size_t i = 0; i < 3; i++) {
				snprintf(path, sizeof(path), "%s%s", exe, rel[i]);
				if (access(path, R_OK) == 0)
					return path;
			}
		}
	}
	return "gptmirror-loader.efi";
}
