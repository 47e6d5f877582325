/*
 * esp_cmd.c - gptmirror esp status [--json] | esp sync --from A --to B |
 * esp sync --all: ESPs that must stay alike.
 *
 * Exit status of esp status: 0 the ESPs of each OS agree and every entry's
 * loader is there; 1 they differ or a loader is missing; 3 an ESP could not
 * be read; 2 usage.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/esp.h"
#include "../engine/machine.h"
#include "cli.h"
#include "out.h"

static int usage(void)
{
	fprintf(stderr, "usage: gptmirror esp status [--json]\n"
			"       gptmirror esp sync --from X:|DISK --to Y:|DISK\n"
			"       gptmirror esp sync --all\n");
	return 2;
}

static void say_esp(const struct esp *e)
{
	char g[40];

	guid_to_str(&e->guid, g);
	printf("ESP on disk %d, partition %" PRIu32 " {%s}: %s\n", e->slot, e->part, g,
	       e->fs[0] ? e->fs : "unreadable");
	if (e->why[0])
		printf("  cannot be read: %s\n", e->why);
	if (!e->nent)
		printf("  no boot entry loads from it\n");
	for (size_t i = 0; i < e->nent; i++)
		printf("  Boot%04X %s: %s%s\n", e->ent[i].num, e->ent[i].desc, e->ent[i].loader,
		       e->ent[i].loader_missing ? "  (MISSING: Load of it would fail: Not Found)" : "");
}

static void say_diff(const struct esp_diff *d)
{
	switch (d->kind) {
	case ED_ONLY_FIRST:
	case ED_ONLY_SECOND:
		printf("  %-12s %s%s\n", d->kind == ED_ONLY_FIRST ? "only first" : "only second",
		       d->path, d->dir ? "\\" : "");
		break;
	case ED_KIND:
		printf("  %-12s %s\n", "kind", d->path);
		break;
	case ED_SIZE:
		printf("  %-12s %s (%" PRIu32 " / %" PRIu32 " bytes)\n", "size", d->path, d->size[0],
		       d->size[1]);
		break;
	case ED_CONTENT:
		printf("  %-12s %s (CRC-32 %08" PRIx32 " / %08" PRIx32 ")\n", "content", d->path,
		       d->crc[0], d->crc[1]);
		break;
	default:
		printf("  %-12s %s (0x%02x / 0x%02x)\n", "attributes", d->path, d->attr[0], d->attr[1]);
	}
}

static void json_report(const struct esp_report *r)
{
	char g[40];

	printf("{\"esps\": [");
	for (size_t k = 0; k < r->n; k++) {
		const struct esp *e = &r->esp[k];
		guid_to_str(&e->guid, g);
		printf("%s{\"disk\": %d, \"partition\": %" PRIu32 ", \"guid\": \"%s\", \"fs\": ",
		       k ? ", " : "", e->slot, e->part, g);
		json_str(e->fs);
		printf(", \"error\": ");
		json_str(e->why);
		printf(", \"group\": %d, \"entries\": [", e->group);
		for (size_t i = 0; i < e->nent; i++) {
			printf("%s{\"boot\": \"%04X\", \"description\": ", i ? ", " : "", e->ent[i].num);
			json_str(e->ent[i].desc);
			printf(", \"loader\": ");
			json_str(e->ent[i].loader);
			printf(", \"loader_missing\": %s}", e->ent[i].loader_missing ? "true" : "false");
		}
		printf("]}");
	}
	printf("], \"pairs\": [");
	for (size_t p = 0; p < r->npairs; p++) {
		const struct esp_pair *q = &r->pair[p];
		printf("%s{\"first_disk\": %d, \"second_disk\": %d, \"differences\": [", p ? ", " : "",
		       r->esp[q->a].slot, r->esp[q->b].slot);
		for (size_t i = 0; i < q->nd; i++) {
			const struct esp_diff *d = &q->d[i];
			static const char *const kind[] = {"only_first", "only_second", "kind", "size",
							   "content", "attributes"};
			printf("%s{\"path\": ", i ? ", " : "");
			json_str(d->path);
			printf(", \"kind\": \"%s\", \"directory\": %s, \"size\": [%" PRIu32 ", %" PRIu32
			       "], \"crc32\": [\"%08" PRIx32 "\", \"%08" PRIx32 "\"], \"attributes\": [%u, %u]}",
			       kind[d->kind], d->dir ? "true" : "false", d->size[0], d->size[1], d->crc[0],
			       d->crc[1], d->attr[0], d->attr[1]);
		}
		printf("]}");
	}
	printf("], \"missing_loaders\": %zu, \"unreadable\": %zu, \"clean\": %s}\n",
	       r->missing_loaders, r->unreadable, esp_report_clean(r) ? "true" : "false");
}

static int status(struct machine *m, bool json)
{
	struct esp_report *r = malloc(sizeof(*r));
	struct gm_err err;

	if (!r || esp_scan(m, r, &err) < 0) {
		if (r)
			cli_print_err("esp", &err);
		free(r);
		return 3;
	}
	if (json) {
		json_report(r);
	} else {
		if (!r->n)
			printf("There is no EFI system partition on the machine's disks.\n");
		for (size_t k = 0; k < r->n; k++)
			say_esp(&r->esp[k]);
		for (size_t p = 0; p < r->npairs; p++) {
			const struct esp_pair *q = &r->pair[p];
			printf("\nDisk %d and disk %d (one OS): %s\n", r->esp[q->a].slot,
			       r->esp[q->b].slot, q->nd ? "they differ" : "the same files");
			for (size_t i = 0; i < q->nd; i++)
				say_diff(&q->d[i]);
		}
	}
	int rc = r->unreadable ? 3 : esp_report_clean(r) ? 0 : 1;
	esp_report_free(r);
	free(r);
	return rc;
}

/* An ESP by letter (X:) or disk number. */
static int pick(struct machine *m, const struct esp_report *r, const char *s, struct gm_err *err)
{
	if (isalpha((unsigned char)s[0]) && s[1] == ':' && !s[2]) {
		int slot;
		size_t pos;
		if (machine_find_letter(m, (char)toupper((unsigned char)s[0]), &slot, &pos, err) < 0)
			return -1;
		for (size_t k = 0; k < r->n; k++)
			if (r->esp[k].slot == slot && r->esp[k].pos == pos)
				return (int)k;
		gm_fail(err, GM_E_NOT_ESP, "%s is not an EFI system partition", s);
		return -1;
	}
	char *end;
	long n = strtol(s, &end, 10);
	int k = *s && !*end && n >= 0 && n < GM_MAX_SLOTS ? esp_of_slot(r, (int)n) : -1;
	if (k < 0)
		gm_fail(err, GM_E_NOT_ESP, "disk %s holds no EFI system partition", s);
	return k;
}

static void say_sync(const struct esp_report *r, size_t from, size_t to,
		     const struct esp_sync_result *s)
{
	char b[32];

	fmt_commas(s->bytes, b, sizeof(b));
	printf("ESP of disk %d -> ESP of disk %d: %zu added, %zu replaced, %zu deleted, "
	       "%zu attributes set, %zu directories made, %zu removed (%s bytes written).\n",
	       r->esp[from].slot, r->esp[to].slot, s->added, s->replaced, s->deleted, s->attrs,
	       s->dirs_made, s->dirs_removed, b);
}

static int sync_cmd(struct machine *m, int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	bool all = false;
	struct gm_err err;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--all") == 0)
			all = true;
		else
			return usage();
	}
	if (all == (from || to) || (!all && (!from || !to)))
		return usage();
	struct esp_report *r = malloc(sizeof(*r));
	if (!r || esp_scan(m, r, &err) < 0) {
		if (r)
			cli_print_err("esp", &err);
		free(r);
		return 1;
	}
	int rc = 0;
	if (!all) {
		int a = pick(m, r, from, &err), b = a < 0 ? -1 : pick(m, r, to, &err);
		struct esp_sync_result s;
		if (a < 0 || b < 0 || esp_sync(m, r, (size_t)a, (size_t)b, &s, &err) < 0) {
			cli_print_err("esp sync", &err);
			rc = 1;
		} else {
			say_sync(r, (size_t)a, (size_t)b, &s);
		}
	} else {
		int a = esp_current(m, r);
		if (a < 0) {
			fprintf(stderr, "esp sync: the ESP the current boot loaded from is not known "
					"(boot the machine first, or name it with --from)\n");
			rc = 1;
		} else if (r->esp[a].group < 0) {
			fprintf(stderr, "esp sync: no boot entry loads from disk %d's ESP\n",
				r->esp[a].slot);
			rc = 1;
		}
		size_t n = 0;
		for (size_t k = 0; rc == 0 && k < r->n; k++) {
			struct esp_sync_result s;
			if ((int)k == a || r->esp[k].group != r->esp[a].group)
				continue;
			if (esp_sync(m, r, (size_t)a, k, &s, &err) < 0) {
				cli_print_err("esp sync", &err);
				rc = 1;
				break;
			}
			say_sync(r, (size_t)a, k, &s);
			n++;
		}
		if (rc == 0 && n == 0)
			printf("No other ESP serves the OS of disk %d's ESP; nothing to do.\n",
			       r->esp[a].slot);
	}
	esp_report_free(r);
	free(r);
	return rc;
}

int esp_main(const char *mdir, int argc, char **argv)
{
	struct machine *m;
	struct gm_err err;
	int rc;

	if (argc < 1)
		return usage();
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	if (strcmp(argv[0], "status") == 0 && argc > 1 && !json)
		return usage();
	if (strcmp(argv[0], "status") != 0 && strcmp(argv[0], "sync") != 0)
		return usage();
	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("esp", &err);
		return 3;
	}
	rc = strcmp(argv[0], "status") == 0 ? status(m, json) : sync_cmd(m, argc - 1, argv + 1);
	machine_close(m);
	return rc;
}

void cli_esp_warnings(FILE *f, struct machine *m, const char *prefix)
{
	struct esp_report *r = malloc(sizeof(*r));
	struct gm_err err;

	if (!r || esp_scan(m, r, &err) < 0) {
		free(r);
		return;
	}
	for (size_t p = 0; p < r->npairs; p++)
		if (r->pair[p].nd)
			fprintf(f, "%sthe ESPs of disk %d and disk %d, which boot one OS, differ "
				"(%zu difference%s: gptmirror esp status; esp sync brings them in line).\n",
				prefix, r->esp[r->pair[p].a].slot, r->esp[r->pair[p].b].slot,
				r->pair[p].nd, r->pair[p].nd == 1 ? "" : "s");
	for (size_t k = 0; k < r->n; k++)
		for (size_t i = 0; i < r->esp[k].nent; i++)
			if (r->esp[k].ent[i].loader_missing)
				fprintf(f, "%sBoot%04X (%s) loads %s, which is not on disk %d's ESP.\n",
					prefix, r->esp[k].ent[i].num, r->esp[k].ent[i].desc,
					r->esp[k].ent[i].loader, r->esp[k].slot);
	esp_report_free(r);
	free(r);
}
