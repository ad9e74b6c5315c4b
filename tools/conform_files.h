/*
 * Shared by `smartwire conform` (cmd_conform.c) and the files it reads and
 * writes besides the cases (conform_files.c): what the command line asked
 * for, reading a text file whole, the report files, and the two modes that
 * only read and write files (--merge, --expand) or print (--coverage).
 */
#ifndef SW_TOOLS_CONFORM_FILES_H
#define SW_TOOLS_CONFORM_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "conform/conform.h"

/* What the command line asked for (the run options are in
 * cmd_conform.c's job.opts). */
typedef struct sw__conform_cli {
	const char *cases, *junit, *json, *html, *name, *expect_file, *expand, *verbs;
	const char *excludes[64];
	size_t nexcl;
	char **operands; /* id globs, or JSON reports after --merge */
	size_t noperands;
	long jobs;
	bool tap, list, verbose, merge, no_calibrate, coverage;
} sw__conform_cli;

/* Reads the file at `path` whole into *out (malloc'd, not NUL-terminated;
 * the caller frees it) and its length into *len.  Returns 0, or -1 with
 * errno saying why. */
int sw__conform_read_text(const char *path, char **out, size_t *len);

/* --merge: one HTML matrix in `html` from the n JSON reports in files[].
 * Returns the exit status (messages on stderr). */
int sw__conform_merge_html(const char *html, char **files, int n);

/* --expand: the case text of the matrix at `path` on stdout.  Returns the
 * exit status (messages on stderr). */
int sw__conform_expand_matrix(const char *path);

/* --coverage: prints which verbs of the verb list (C->verbs, or the one
 * beside C->cases) have cases in `suite` (no run).  Returns the exit
 * status. */
int sw__conform_coverage(const sw__conform_cli *C, const sw_cf_suite *suite);

/* The summary or TAP on stdout, then the report files C names.  Returns 0
 * or -1 (a file could not be written; said on stderr). */
int sw__conform_write_reports(const sw__conform_cli *C, const sw_cf_report *rep);

#endif
