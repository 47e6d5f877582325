/* bootcfg.c - placeholder until the NVRAM work (issue 5) lands. */
#include <stdio.h>

#include "cli.h"

int bootcfg_main(const char *mdir, int argc, char **argv)
{
	(void)mdir;
	(void)argc;
	(void)argv;
	fprintf(stderr, "ERROR: bootcfg is not available in this version of "
			"gptmirror: NVRAM boot entries are not implemented yet.\n");
	return 1;
}
