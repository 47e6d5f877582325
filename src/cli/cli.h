/* cli.h - applet entry points. */
#ifndef GM_CLI_H
#define GM_CLI_H

int diskpart_main(const char *mdir, int argc, char **argv);
int bootcfg_main(const char *mdir, int argc, char **argv);
int machine_main(const char *mdir, int argc, char **argv);
int format_main(const char *mdir, int argc, char **argv);
int xcopy_main(const char *mdir, int argc, char **argv);
int dir_main(const char *mdir, int argc, char **argv);
int nvram_main(const char *mdir, int argc, char **argv);
int volume_main(const char *mdir, int argc, char **argv);
int machine_boot_main(const char *mdir, int argc, char **argv);
int setup_main(const char *mdir, int argc, char **argv);
/* Prints an engine error for the non-diskpart applets. */
struct gm_err;
void cli_print_err(const char *prog, const struct gm_err *err);

#define GM_VERSION "0.1.0"

#endif
