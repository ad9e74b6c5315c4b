/* smartwire: one program, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

static const struct sw_cmd cmds[] = {
	{"dissect", "print the messages in a captured byte stream", sw_cmd_dissect},
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
	if (argc < 2) {
		usage(stderr);
		return SW_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return SW_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "smartwire: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return SW_EXIT_USAGE;
}
