/*
 * The `smartwire` program's subcommands.  Each lives in tools/cmd_<name>.c
 * and is a thin main() over the library: argument parsing, output, exit
 * codes.  Exit codes shared by all subcommands are below.
 *
 * Options are parsed with getopt_long: a static `struct option` table, the
 * short options prefixed with "+" (parsing stops at the first operand, so
 * that operands may start with '-' after "--" and no command permutes its
 * arguments), and a --help text per command.  main() has parsed its own
 * options first: a command sets optind = 1 before its loop.
 */
#ifndef SW_TOOLS_CMDS_H
#define SW_TOOLS_CMDS_H

enum {
	SW_EXIT_OK = 0,
	SW_EXIT_FAILURE = 1,      /* the job ran and found a failure (bad input, failed cases) */
	SW_EXIT_USAGE = 2,        /* bad command line */
	SW_EXIT_ERROR_RESPONSE = 3, /* the server answered with an error tuple */
	SW_EXIT_PROTOCOL = 4,     /* the peer violated the protocol */
	SW_EXIT_CONNECTION = 5,   /* could not connect, or the connection broke */
};

struct sw_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is "smartwire NAME" */
};

int sw_cmd_dissect(int argc, char **argv);
int sw_cmd_conform(int argc, char **argv);
int sw_cmd_fuzz(int argc, char **argv);
int sw_cmd_record(int argc, char **argv);
int sw_cmd_serve(int argc, char **argv);
int sw_cmd_forkrun(int argc, char **argv);
/* cmd_call.c and call_verbs.c (the client: call and its convenience verbs) */
int sw_cmd_call(int argc, char **argv);
int sw_cmd_cat(int argc, char **argv);
int sw_cmd_ls(int argc, char **argv);
int sw_cmd_stat(int argc, char **argv);
int sw_cmd_put(int argc, char **argv);
int sw_cmd_readv(int argc, char **argv);
int sw_cmd_mkdir(int argc, char **argv);
int sw_cmd_rm(int argc, char **argv);
int sw_cmd_rmdir(int argc, char **argv);
int sw_cmd_mv(int argc, char **argv);
int sw_cmd_hello(int argc, char **argv);

#endif
