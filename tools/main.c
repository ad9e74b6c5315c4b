/* smartwire: one program, one subcommand per job. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"

static const struct sw_cmd cmds[] = {
	{"dissect", "print the messages in a captured byte stream", sw_cmd_dissect},
	{"conform", "run the conformance suite against a server or client", sw_cmd_conform},
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
};

static void usage(FILE *f)
{
	fprintf(f, "usage: smartwire COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nRun 'smartwire COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	/* "+": stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
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
