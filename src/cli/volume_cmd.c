/*
 * volume_cmd.c - gptmirror volume list | export VOL FILE: Windows dynamic
 * volumes read through any healthy plex, for data recovery without
 * device-mapper.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../engine/ldm.h"
#include "../engine/ldm_write.h"
#include "../engine/machine.h"
#include "../engine/rebuild.h"
#include "../engine/verbs.h"
#include "cli.h"
#include "out.h"

/* A dynamic volume as a user names it: its LDM name (Volume3), the number
 * diskpart's list volume gives it (dynamic volumes come first there), or
 * its drive letter (C or C:). */
static const struct ldm_volume *find_vol(struct ldm_view *v, const char *name,
					 const struct ldm_group **gout)
{
	const struct ldm_volume *hit = NULL;
	size_t n = ldm_volume_count(v), len = strlen(name);
	char *end;

	for (size_t i = 0; i < n && !hit; i++)
		if (strcasecmp(ldm_volume_at(v, i)->rec->name, name) == 0)
			hit = ldm_volume_at(v, i);
	if (!hit && len > 0 && isdigit((unsigned char)name[0])) {
		unsigned long k = strtoul(name, &end, 10);
		if (!*end && k < n)
			hit = ldm_volume_at(v, k);
	}
	if (!hit && isalpha((unsigned char)name[0]) && (len == 1 || (len == 2 && name[1] == ':')))
		for (size_t i = 0; i < n && !hit; i++)
			if (toupper((unsigned char)ldm_volume_letter(ldm_volume_at(v, i))) ==
			    toupper((unsigned char)name[0]))
				hit = ldm_volume_at(v, i);
	for (size_t g = 0; hit && g < v->ngroups; g++)
		if (hit >= v->groups[g].vols && hit < v->groups[g].vols + v->groups[g].nvols)
			*gout = &v->groups[g];
	return hit;
}

static void list(struct ldm_view *v)
{
	for (size_t g = 0; g < v->ngroups; g++) {
		const struct ldm_group *G = &v->groups[g];
		printf("Disk group %s (%s)\n", G->name, G->guid);
		for (size_t d = 0; d < G->ndisks; d++) {
			char sz[16];
			fmt_size(G->disks[d].used * 512, sz, sizeof(sz));
			if (G->disks[d].slot >= 0)
				printf("  %-10s disk %d, used %s\n", G->disks[d].rec->name,
				       G->disks[d].slot, sz);
			else
				printf("  %-10s missing, used %s\n", G->disks[d].rec->name, sz);
		}
		for (size_t i = 0; i < G->nvols; i++) {
			const struct ldm_volume *V = &G->vols[i];
			char sz[16];
			fmt_size(V->sectors * 512, sz, sizeof(sz));
			printf("  %-10s %-8s %7s  %-9s", V->rec->name, ldm_kind_str(V->kind), sz,
			       ldm_status_str(V));
			for (size_t p = 0; p < V->nplex; p++)
				for (size_t e = 0; e < V->plex[p].n; e++)
					printf(" %s%s", V->plex[p].ext[e].rec->name,
					       V->plex[p].ext[e].slot < 0 ? "(missing)" : "");
			printf("\n");
			if (V->bad[0])
				printf("  %-10s refused: its %s\n", "", V->bad);
		}
	}
	if (v->ngroups == 0)
		printf("There are no dynamic disks on this machine.\n");
	for (int s = 0; s < 16; s++)
		if (v->slot_damaged[s])
			printf("Warning: disk %d's copy of the database is damaged (%s); the group "
			       "was read from the other disks. gptmirror volume resync rewrites it.\n",
			       s, v->slot_why[s]);
	for (size_t g = 0; g < v->ngroups; g++)
		for (size_t d = 0; d < v->groups[g].ndisks; d++) {
			const struct ldm_gdisk *x = &v->groups[g].disks[d];
			if (x->slot >= 0 && x->stale && !v->slot_damaged[x->slot])
				printf("Warning: disk %d's copy of the database is out of date "
				       "(transaction %llu, the group's is %llu). gptmirror volume "
				       "resync rewrites it.\n", x->slot, (unsigned long long)x->tx,
				       (unsigned long long)v->groups[g].vmdb.committed_tx);
		}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int export(struct machine *m, const struct ldm_volume *V, const char *file)
{
	struct gm_err err;
	uint32_t chunk = 2048; /* 1 MiB */
	uint8_t *buf = malloc((size_t)chunk * 512);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (!buf || fd < 0) {
		fprintf(stderr, "volume: cannot create %s: %s\n", file, strerror(errno));
		free(buf);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (ftruncate(fd, (off_t)(V->sectors * 512)) < 0)
		rc = 1;
	for (uint64_t s = 0; s < V->sectors && rc == 0; s += chunk) {
		uint32_t n = V->sectors - s < chunk ? (uint32_t)(V->sectors - s) : chunk;
		if (ldm_vol_read(m, V, s, n, buf, &err) < 0) {
			fprintf(stderr, "volume: %s\n", err.detail);
			rc = 1;
			break;
		}
		/* Zero chunks stay holes. */
		if (!all_zero(buf, (size_t)n * 512) &&
		    pwrite(fd, buf, (size_t)n * 512, (off_t)(s * 512)) != (ssize_t)n * 512)
			rc = 1;
	}
	if (close(fd) < 0)
		rc = 1;
	free(buf);
	if (rc) {
		unlink(file);
		return 1;
	}
	char sz[32];
	fmt_commas(V->sectors * 512, sz, sizeof(sz));
	printf("%s (%s, %s): %s bytes written to %s\n", V->rec->name, ldm_kind_str(V->kind),
	       ldm_status_str(V), sz, file);
	return 0;
}

void cli_say_resync(const struct reboot_result *r)
{
	for (int i = 0; i < r->nhealed; i++)
		printf("Disk %d: its copy of the dynamic disk database was damaged or out of "
		       "date; it was rewritten.\n", r->healed[i]);
	if (r->resynced > 0)
		printf("%d mirror plex%s resynchronised.\n", r->resynced,
		       r->resynced == 1 ? "" : "es");
}

/* volume list --json: one document, every group, disk and volume, sizes in
 * sectors (512 bytes, as LDM counts) and bytes, extents at their absolute
 * start on their disk. */
static void list_json(struct ldm_view *v)
{
	printf("{\"groups\": [");
	for (size_t g = 0; g < v->ngroups; g++) {
		const struct ldm_group *G = &v->groups[g];
		printf("%s{\"name\": ", g ? ", " : "");
		json_str(G->name);
		printf(", \"guid\": \"%s\", \"disks\": [", G->guid);
		for (size_t d = 0; d < G->ndisks; d++) {
			printf("%s{\"name\": ", d ? ", " : "");
			json_str(G->disks[d].rec->name);
			if (G->disks[d].slot >= 0)
				printf(", \"slot\": %d", G->disks[d].slot);
			else
				printf(", \"slot\": null");
			printf(", \"missing\": %s, \"used_sectors\": %" PRIu64 ", \"database\": \"%s\"}",
			       G->disks[d].slot < 0 ? "true" : "false", G->disks[d].used,
			       G->disks[d].slot < 0 ? "missing" : G->disks[d].stale ? "stale" : "current");
		}
		printf("], \"volumes\": [");
		for (size_t i = 0; i < G->nvols; i++) {
			const struct ldm_volume *V = &G->vols[i];
			const char *st = ldm_status_str(V);
			char state[32], l = ldm_volume_letter(V);
			state_word(st, state, sizeof(state));
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(V->rec->name);
			printf(", \"type\": \"%s\", \"status\": \"%s\", \"state\": \"%s\", "
			       "\"size_sectors\": %" PRIu64 ", \"size_bytes\": %" PRIu64 ", \"letter\": ",
			       ldm_kind_str(V->kind), st, state, V->sectors, V->sectors * 512);
			if (l)
				printf("\"%c\"", l);
			else
				printf("null");
			printf(", \"refused\": ");
			json_str(V->bad);
			printf(", \"plexes\": [");
			for (size_t p = 0; p < V->nplex; p++) {
				printf("%s{\"name\": ", p ? ", " : "");
				json_str(V->plex[p].rec->name);
				printf(", \"complete\": %s, \"failed\": %s, \"rebuilding\": %s, \"extents\": [",
				       V->plex[p].complete ? "true" : "false",
				       V->plex[p].failed ? "true" : "false",
				       ldm_plex_rebuilding(&V->plex[p]) ? "true" : "false");
				for (size_t e = 0; e < V->plex[p].n; e++) {
					const struct ldm_extent *x = &V->plex[p].ext[e];
					printf("%s{\"name\": ", e ? ", " : "");
					json_str(x->rec->name);
					if (x->slot >= 0)
						printf(", \"slot\": %d, \"start_lba\": %" PRIu64, x->slot,
						       x->abs_start);
					else
						printf(", \"slot\": null, \"start_lba\": null");
					printf(", \"sectors\": %" PRIu64 ", \"volume_offset\": %" PRIu64 "}",
					       x->rec->u.part.size, x->rec->u.part.vol_offset);
				}
				printf("]}");
			}
			printf("]}");
		}
		printf("]}");
	}
	printf("]}\n");
}

/* volume resync --background: the plexes being rebuilt are copied by a
 * background process; says which, and how far each is. */
static int background(struct machine *m, struct gm_err *err)
{
	struct ldm_view *v = machine_ldm(m);
	struct rebuild_state st;
	int n = 0;

	if (!v) {
		*err = m->ldm_err;
		return -1;
	}
	for (size_t i = 0; i < ldm_volume_count(v); i++) {
		const struct ldm_volume *V = ldm_volume_at(v, i);
		int pct = ldm_rebuild_percent(m, V);
		if (pct < 0)
			continue;
		printf("%s: Rebuild, %d %% copied.\n", V->rec->name, pct);
		n++;
	}
	if (n == 0) {
		printf("0 mirror plexes to resynchronise.\n");
		return 0;
	}
	if (machine_is_real(m))
		return gm_fail(err, GM_E_NOT_SUPPORTED, "a machine of block devices copies in the "
			       "foreground (its devices are opened exclusively): gptmirror volume "
			       "resync");
	int rc = rebuild_spawn(m, err);
	if (rc < 0)
		return rc;
	rebuild_get(m, &st);
	if (st.running)
		printf("The copy goes on in the background (process %ld); volume list and "
		       "diskpart's list volume show how far it is.\n", st.pid);
	else
		printf("The copy is done.\n");
	return 0;
}

int volume_main(const char *mdir, int argc, char **argv)
{
	struct machine *m;
	struct ldm_view *v;
	struct gm_err err;
	int rc;

	/* The background copy itself (rebuild.h), started by add disk or by
	 * resync --background: no lock, no recovery of its own. */
	if (argc == 2 && strcmp(argv[0], "resync") == 0 && strcmp(argv[1], "--worker") == 0) {
		if (rebuild_worker(machine_dir_default(mdir, cli_env), cli_env, &err) < 0) {
			cli_print_err("volume", &err);
			return 1;
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "resync") == 0 && strcmp(argv[1], "--background") == 0) {
		if (cli_machine_open(mdir, &m, &err) < 0) {
			cli_print_err("volume", &err);
			return 1;
		}
		rc = background(m, &err);
		if (rc < 0)
			cli_print_err("volume", &err);
		machine_close(m);
		return rc < 0 ? 1 : 0;
	}
	if (argc == 1 && strcmp(argv[0], "resync") == 0) {
		struct reboot_result r = {0};
		if (cli_machine_open(mdir, &m, &err) < 0) {
			cli_print_err("volume", &err);
			return 1;
		}
		rc = machine_resync(m, isatty(STDERR_FILENO) ? cli_progress : NULL, NULL, &r, &err);
		cli_say_resync(&r);
		if (rc < 0)
			cli_print_err("volume", &err);
		else if (r.resynced == 0)
			printf("0 mirror plexes resynchronised.\n");
		machine_close(m);
		return rc < 0 ? 1 : 0;
	}
	bool json = argc == 2 && strcmp(argv[0], "list") == 0 && strcmp(argv[1], "--json") == 0;
	if (argc < 1 || (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "export") != 0) ||
	    (strcmp(argv[0], "export") == 0 && argc != 3) ||
	    (strcmp(argv[0], "list") == 0 && argc != 1 && !json)) {
		fprintf(stderr, "usage: gptmirror volume list [--json]\n"
				"       gptmirror volume export VOLUME FILE\n"
				"       gptmirror volume resync [--background]\n");
		return 2;
	}
	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("volume", &err);
		return 1;
	}
	if (!(v = machine_ldm(m))) {
		cli_print_err("volume", &m->ldm_err);
		machine_close(m);
		return 1;
	}
	if (strcmp(argv[0], "list") == 0) {
		if (json)
			list_json(v);
		else
			list(v);
		rc = 0;
	} else {
		const struct ldm_group *g;
		const struct ldm_volume *V = find_vol(v, argv[1], &g);
		if (!V) {
			fprintf(stderr, "volume: there is no dynamic volume %s (name it as volume list "
				"does, by its number in diskpart's list volume, or by its letter)\n",
				argv[1]);
			rc = 1;
		} else {
			rc = export(m, V, argv[2]);
		}
	}
	machine_close(m);
	return rc;
}
