/* cli.h - applet entry points. */
#ifndef GM_CLI_H
#define GM_CLI_H

#include <stdio.h>

int diskpart_main(const char *mdir, int argc, char **argv);
int bootcfg_main(const char *mdir, int argc, char **argv);
int machine_main(const char *mdir, int argc, char **argv);
int format_main(const char *mdir, int argc, char **argv);
int xcopy_main(const char *mdir, int argc, char **argv);
int dir_main(const char *mdir, int argc, char **argv);
int chkdsk_main(const char *mdir, int argc, char **argv);
int esp_main(const char *mdir, int argc, char **argv);
/* Warnings when the ESPs of one OS differ or an entry's loader is missing. */
struct machine;
void cli_esp_warnings(FILE *f, struct machine *m, const char *prefix);
int nvram_main(const char *mdir, int argc, char **argv);
int volume_main(const char *mdir, int argc, char **argv);
int machine_boot_main(const char *mdir, int argc, char **argv);
int setup_main(const char *mdir, int argc, char **argv);
struct machine;
/* Boots the machine (emulated; entry < 0: BootNext/BootOrder). 0: booted. */
int cli_boot(struct machine *m, int entry);
/* Says what a reboot or resync healed and resynchronised. */
struct reboot_result;
void cli_say_resync(const struct reboot_result *r);
/* Renders a firmware boot: 0 if it booted. */
struct boot_result;
int cli_boot_result(const struct boot_result *r);
/* Prints an engine error for the non-diskpart applets. */
struct gm_err;
void cli_print_err(const char *prog, const struct gm_err *err);

/* The process environment, read once by main() (gm_env_read) before any
 * applet runs; the applets hand it to the engine. */
struct gm_env;
extern const struct gm_env *cli_env;

/* machine map [--width N] [--svg FILE]: the disks as a picture. */
struct machine;
int map_main(struct machine *m, int argc, char **argv);
/* Opens the machine of -m DIR (NULL: $GPTMIRROR_MACHINE or "."). */
struct machine;
int cli_machine_open(const char *mdir, struct machine **m, struct gm_err *err);

#define GM_VERSION "0.1.0"

#endif
