/*
 * nvram_cmd.c - gptmirror nvram: the machine's UEFI variables for a Linux
 * admin. list (as efibootmgr -v shows them), export to a directory in the
 * efivarfs format (a backup, and what efibootmgr reads with EFIVARFS_PATH),
 * create (efibootmgr -c on the machine's disks), delete.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/machine.h"
#include "../engine/nvram.h"
#include "../fmt/bytes.h"
#include "cli.h"
#include "out.h"

static int nv_usage(void)
{
	fprintf(stderr,
		"usage: gptmirror nvram list [-v | --json]\n"
		"       gptmirror nvram repair   (a damaged store keeps what parses)\n"
		"       gptmirror nvram export DIR\n"
		"       gptmirror nvram create -L LABEL -d DISK -p PART -l LOADER\n"
		"                 [--os-disk DISK --os-part PART [--os-dir \\\\WINDOWS]]\n"
		"                 [--options TEXT]\n"
		"       gptmirror nvram create -L LABEL --vendor GUID\n"
		"       gptmirror nvram delete NUM   (hex, as in Boot####)\n");
	return 2;
}

struct export_ctx {
	int dirfd;
	int count;
	int failed;
};

static int export_one(void *ctx, const char *name, const struct guid *g,
		      uint32_t attrs, const uint8_t *data, size_t len)
{
	struct export_ctx *c = ctx;
	char fname[256], gs[GUID_STR_LEN + 1];
	uint8_t a[4];

	guid_to_str(g, gs);
	if (pathf(fname, sizeof(fname), "%s-%s", name, gs) < 0 || strchr(name, '/')) {
		c->failed++;
		return 0;
	}
	int fd = openat(c->dirfd, fname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	put_le32(a, attrs);
	if (fd < 0 || write(fd, a, 4) != 4 || (len && write(fd, data, len) != (ssize_t)len)) {
		c->failed++;
	} else {
		c->count++;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* nvram list --json: BootNext, Timeout, BootOrder and every Boot#### with
 * its device path as efibootmgr -v prints it. */
static int list_json(struct nvram *nv)
{
	uint16_t *order;
	size_t n;
	uint8_t *d;
	size_t len;

	printf("{\"boot_next\": ");
	if (nv->ops->get(nv, "BootNext", &EFI_GLOBAL_GUID, NULL, &d, &len) == 1) {
		if (len >= 2)
			printf("\"%04X\"", get_le16(d));
		else
			printf("null");
		free(d);
	} else {
		printf("null");
	}
	uint16_t t = nvram_timeout(nv);
	if (t != 0xffff)
		printf(", \"timeout\": %u", t);
	else
		printf(", \"timeout\": null");
	printf(", \"boot_order\": [");
	if (nvram_boot_order(nv, &order, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			printf("%s\"%04X\"", i ? ", " : "", order[i]);
		free(order);
	}
	printf("], \"entries\": [");
	uint16_t *nums = NULL;
	size_t nn = 0;
	nvram_boot_nums(nv, &nums, &nn);
	int first = 1;
	for (size_t i = 0; i < nn; i++) {
		char name[16];
		snprintf(name, sizeof(name), "Boot%04X", nums[i]);
		if (nv->ops->get(nv, name, &EFI_GLOBAL_GUID, NULL, &d, &len) != 1)
			continue;
		struct efi_loadopt lo;
		printf("%s{\"boot\": \"%04X\"", first ? "" : ", ", nums[i]);
		first = 0;
		if (efi_loadopt_decode(d, len, &lo) < 0) {
			printf(", \"valid\": false}");
		} else {
			char t2[4096];
			efi_dp_to_text(lo.dp, lo.dp_len, t2, sizeof(t2));
			printf(", \"valid\": true, \"active\": %s, \"description\": ",
			       (lo.attrs & EFI_LOAD_OPTION_ACTIVE) ? "true" : "false");
			json_str(lo.desc);
			printf(", \"device_path\": ");
			json_str(t2);
			printf("}");
		}
		free(d);
	}
	free(nums);
	printf("], \"damaged\": ");
	json_str(nv->damaged);
	printf("}\n");
	return 0;
}

static int list_vars(struct nvram *nv, bool verbose)
{
	uint16_t *order;
	size_t n;
	uint8_t *d;
	size_t len;

	if (nv->ops->get(nv, "BootNext", &EFI_GLOBAL_GUID, NULL, &d, &len) == 1) {
		if (len >= 2)
			printf("BootNext: %04X\n", get_le16(d));
		free(d);
	}
	uint16_t t = nvram_timeout(nv);
	if (t != 0xffff)
		printf("Timeout: %u seconds\n", t);
	if (nvram_boot_order(nv, &order, &n) == 0) {
		printf("BootOrder: ");
		for (size_t i = 0; i < n; i++)
			printf("%s%04X", i ? "," : "", order[i]);
		printf("\n");
	}
	/* Every Boot#### in number order, as efibootmgr does. */
	uint16_t *nums = NULL;
	size_t nn = 0;
	nvram_boot_nums(nv, &nums, &nn);
	for (size_t i = 0; i < nn; i++) {
		char name[16];
		snprintf(name, sizeof(name), "Boot%04X", nums[i]);
		if (nv->ops->get(nv, name, &EFI_GLOBAL_GUID, NULL, &d, &len) != 1)
			continue;
		struct efi_loadopt lo;
		if (efi_loadopt_decode(d, len, &lo) < 0) {
			printf("%s: not a valid load option\n", name);
		} else {
			printf("%s%c %s", name, (lo.attrs & EFI_LOAD_OPTION_ACTIVE) ? '*' : ' ',
			       lo.desc);
			if (verbose) {
				char t2[4096];
				efi_dp_to_text(lo.dp, lo.dp_len, t2, sizeof(t2));
				printf("\t%s", t2);
			}
			printf("\n");
		}
		free(d);
	}
	free(nums);
	free(order);
	return 0;
}

static bool part_of(struct machine *m, const char *disk, const char *part,
		    struct disk **d, size_t *pos)
{
	char *e1, *e2;
	long dn = strtol(disk, &e1, 10), pn = strtol(part, &e2, 10);

	if (*e1 || *e2 || dn < 0 || dn >= GM_MAX_SLOTS || pn < 1)
		return false;
	*d = machine_disk(m, (int)dn);
	if (!*d || (*d)->style != DS_GPT)
		return false;
	for (size_t i = 0; i < (*d)->nparts; i++)
		if ((*d)->parts[i].index + 1 == (uint32_t)pn) {
			*pos = i;
			return true;
		}
	return false;
}

static int create(struct machine *m, struct nvram *nv, int argc, char **argv)
{
	const char *label = NULL, *disk = NULL, *part = NULL, *loader = NULL,
		   *osdisk = NULL, *ospart = NULL, *osdir = "\\WINDOWS", *opts = "",
		   *vendor = NULL;
	struct gm_err err;

	for (int i = 0; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return nv_usage();
		if (strcmp(argv[i], "-L") == 0)
			label = v;
		else if (strcmp(argv[i], "-d") == 0)
			disk = v;
		else if (strcmp(argv[i], "-p") == 0)
			part = v;
		else if (strcmp(argv[i], "-l") == 0)
			loader = v;
		else if (strcmp(argv[i], "--os-disk") == 0)
			osdisk = v;
		else if (strcmp(argv[i], "--os-part") == 0)
			ospart = v;
		else if (strcmp(argv[i], "--os-dir") == 0)
			osdir = v;
		else if (strcmp(argv[i], "--options") == 0)
			opts = v;
		else if (strcmp(argv[i], "--vendor") == 0)
			vendor = v;
		else
			return nv_usage();
	}
	struct disk *d, *od = NULL;
	size_t pos, opos = 0;
	uint16_t num;
	int rc;
	if (!label || (!vendor && (!disk || !part || !loader)) ||
	    (vendor && (disk || part || loader || osdisk || ospart)))
		return nv_usage();
	if (vendor) {
		/* A vendor-defined media node, as firmware's own entries carry. */
		struct guid g;
		if (guid_from_str(vendor, &g) < 0)
			return nv_usage();
		rc = nvram_add_vendor_entry(nv, label, &g, &num, &err);
	} else {
		if (!part_of(m, disk, part, &d, &pos)) {
			fprintf(stderr, "gptmirror: disk %s has no GPT partition %s\n", disk, part);
			return 1;
		}
		if ((osdisk || ospart) &&
		    (!osdisk || !ospart || !part_of(m, osdisk, ospart, &od, &opos))) {
			fprintf(stderr, "gptmirror: no such OS partition\n");
			return 1;
		}
		struct loader_entry le = {.desc = label, .esp_d = d, .esp_pos = pos, .loader = loader,
					  .os_d = od, .os_pos = opos, .os_dir = osdir, .options = opts};
		rc = nvram_add_loader_entry(nv, &le, &num, &err);
	}
	if (rc < 0 || nvram_commit(nv, &err) < 0) {
		fprintf(stderr, "gptmirror: %s\n", err.detail);
		return 1;
	}
	printf("Boot%04X* %s\n", num, label);
	return 0;
}

int nvram_main(const char *mdir, int argc, char **argv)
{
	struct machine *m;
	struct nvram *nv;
	struct gm_err err;
	int rc = 0;

	if (argc < 1)
		return nv_usage();
	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("nvram", &err);
		return 1;
	}
	if (machine_nvram_open(m, &nv, &err) < 0) {
		cli_print_err("nvram", &err);
		machine_close(m);
		return 1;
	}
	if (strcmp(argv[0], "list") == 0 && argc == 2 && strcmp(argv[1], "--json") == 0) {
		rc = list_json(nv);
		if (nv->damaged[0]) {
			fprintf(stderr, "gptmirror: warning: %s.\n", nv->damaged);
			rc = 1;
		}
	} else if (strcmp(argv[0], "list") == 0) {
		rc = list_vars(nv, argc > 1 && strcmp(argv[1], "-v") == 0);
		if (nv->damaged[0]) {
			fprintf(stderr, "gptmirror: warning: %s.\n", nv->damaged);
			rc = 1;
		}
	} else if (strcmp(argv[0], "export") == 0 && argc == 2) {
		if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "nvram: cannot create %s: %s\n", argv[1], strerror(errno));
			rc = 1;
		} else {
			struct export_ctx c = {open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, 0};
			if (c.dirfd < 0) {
				fprintf(stderr, "nvram: cannot open %s\n", argv[1]);
				rc = 1;
			} else {
				nv->ops->list(nv, export_one, &c);
				close(c.dirfd);
				printf("%d variables exported to %s\n", c.count, argv[1]);
				rc = c.failed ? 1 : 0;
			}
		}
	} else if (strcmp(argv[0], "repair") == 0 && argc == 1) {
		char why[sizeof(nv->damaged)];
		size_t kept;
		snprintf(why, sizeof(why), "%s", nv->damaged);
		int r = nvram_repair(nv, &kept, &err);
		if (r < 0) {
			cli_print_err("nvram", &err);
			rc = 1;
		} else if (r == 0) {
			printf("The NVRAM is not damaged; nothing was changed (%zu variables).\n", kept);
		} else {
			printf("Repaired: %s.\nThe %zu variables that parsed were kept; what followed "
			       "the damage was erased.\n", why, kept);
		}
	} else if (strcmp(argv[0], "create") == 0) {
		rc = create(m, nv, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "delete") == 0 && argc == 2) {
		char *end;
		unsigned long k = strtoul(argv[1], &end, 16);
		if (*end || k > 0xffff) {
			rc = nv_usage();
		} else if (nvram_delete_boot(nv, (uint16_t)k, &err) < 0 ||
			   nvram_commit(nv, &err) < 0) {
			cli_print_err("nvram", &err);
			rc = 1;
		}
	} else {
		rc = nv_usage();
	}
	nvram_close(nv);
	machine_close(m);
	return rc;
}
