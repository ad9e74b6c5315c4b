/* smartwire: one program, one subcommand per job.
 *
 * `smartwire --version` and `smartwire COMMAND --version` are answered here,
 * for every command alike; `--help` is each command's own.  The man page
 * (smartwire.1) is generated from these texts by tools/gen_manpage.py. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "smartwire/version.h"

static const struct sw_cmd cmds[] = {
    {"dissect", "print the messages of a packet capture, a recording or a byte stream",
     sw_cmd_dissect},
    {"conform", "run the conformance suite against a server or client", sw_cmd_conform},
    {"fuzz", "fuzz a live server or client with mutated sessions (black box)", sw_cmd_fuzz},
    {"record", "proxy to a server and record each connection's bytes", sw_cmd_record},
    {"serve", "serve a directory over the smart protocol (brz serve)", sw_cmd_serve},
    {"call", "send one request to a server and print the response", sw_cmd_call},
    {"cat", "print a remote file (get)", sw_cmd_cat},
    {"ls", "list a remote directory (list_dir)", sw_cmd_ls},
    {"stat", "print a remote file's size and mode (stat)", sw_cmd_stat},
    {"put", "write a remote file from stdin or --file (put)", sw_cmd_put},
    {"readv", "print byte ranges of a remote file (readv)", sw_cmd_readv},
    {"mkdir", "create a remote directory (mkdir)", sw_cmd_mkdir},
    {"rm", "delete a remote file (delete)", sw_cmd_rm},
    {"rmdir", "remove an empty remote directory (rmdir)", sw_cmd_rmdir},
    {"mv", "rename a remote file (rename)", sw_cmd_mv},
    {"hello", "ask a server which protocol it speaks (hello)", sw_cmd_hello},
    {"fork-run", "run a program in a fork server (a slow conformance target)",
     sw_cmd_forkrun},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: smartwire [--help | --version]\n"
	           "       smartwire COMMAND [--help | --version | ARGS...]\n\n"
	           "A reference implementation and test bench of the Bazaar smart protocol\n"
	           "(bzr://, bzr+ssh://, brz serve), versions 1, 2 and 3, both sides.\n\n"
	           "commands:\n");
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nRun 'smartwire COMMAND --help' for a command's options.\n");
}

static int version(const char *cmd)
{
	printf("smartwire%s%s %s\n"
	       "The Bazaar smart protocol, versions 1, 2 and 3, as Breezy 3.3.2 speaks it.\n",
	       cmd ? " " : "", cmd ? cmd : "", sw_version());
	return SW_EXIT_OK;
}

/* True if `--version` is among a command's arguments (before a "--"). */
static bool asks_version(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--version") == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	/* "+": stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'V')
			return version(NULL);
		if (c != 'h') {
			usage(stderr);
			return SW_EXIT_USAGE;
		}
		usage(stdout);
		return SW_EXIT_OK;
	}
	if (optind >= argc) {
		usage(stderr);
		return SW_EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(name, cmds[i].name) != 0)
			continue;
		if (asks_version(argc - optind, argv + optind))
			return version(name);
		/* The command sees itself as argv[0], named in full so that
		 * getopt_long's messages read "smartwire NAME: ...". */
		char full[64];
		snprintf(full, sizeof full, "smartwire %s", name);
		argv[optind] = full;
		return cmds[i].run(argc - optind, argv + optind);
	}
	fprintf(stderr, "smartwire: unknown command '%s'\n", name);
	usage(stderr);
	return SW_EXIT_USAGE;
}
