/*
 * smartwire conform: the files it reads and writes besides the cases (the
 * texts read whole, the report files) and the two modes that only read and
 * write files, --merge and --expand.  See conform_files.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "conform_files.h"
#include "smartwire/error.h"

int sw__conform_read_text(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	size_t got;
	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
			} else
				b = nb;
		}
	}
	fclose(f);
	if (!b)
		return -1;
	*out = b;
	*len = n;
	return 0;
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "smartwire conform: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

int sw__conform_merge_html(const char *html, char **files, int n)
{
	sw_cf_column **cols = calloc((size_t)n + 1, sizeof *cols);
	if (!cols)
		return SW_EXIT_FAILURE;
	int rc = SW_EXIT_OK;
	for (int i = 0; i < n && rc == SW_EXIT_OK; i++) {
		sw_errinfo ei;
		if (sw_cf_column_load(&cols[i], files[i], &ei) < 0) {
			fprintf(stderr, "smartwire conform: %s\n", ei.text);
			rc = SW_EXIT_FAILURE;
		}
	}
	FILE *f = rc == SW_EXIT_OK ? open_out(html) : NULL;
	if (f) {
		if (sw_cf_write_html(f, cols, (size_t)n) < 0)
			rc = SW_EXIT_FAILURE;
		if (fclose(f) != 0)
			rc = SW_EXIT_FAILURE;
	} else
		rc = SW_EXIT_FAILURE;
	for (int i = 0; i < n; i++)
		sw_cf_column_del(cols[i]);
	free(cols);
	return rc;
}

int sw__conform_expand_matrix(const char *path)
{
	char *text;
	size_t len;
	if (sw__conform_read_text(path, &text, &len) < 0) {
		fprintf(stderr, "smartwire conform: cannot read %s: %s\n", path, strerror(errno));
		return SW_EXIT_USAGE;
	}
	sw_cf_diag d;
	memset(&d, 0, sizeof d);
	int rc = sw_cf_write_matrix(stdout, text, len, path, &d);
	free(text);
	if (rc == SW_ERR_INVALID_ARGUMENT) {
		fprintf(stderr, "smartwire conform: %s:%d: %s\n", d.file, d.line, d.msg);
		return SW_EXIT_USAGE;
	}
	return rc < 0 ? SW_EXIT_FAILURE : SW_EXIT_OK;
}

int sw__conform_coverage(const sw__conform_cli *C, const sw_cf_suite *suite)
{
	static char vbuf[4096];
	const char *path =
	    C->verbs ? C->verbs
	             : sw_cf_beside_cases(C->cases, "verbs/breezy-3.3.2.txt", vbuf, sizeof vbuf);
	char *text = NULL;
	size_t len = 0;
	if (path && sw__conform_read_text(path, &text, &len) < 0) {
		fprintf(stderr, "smartwire conform: cannot read %s: %s\n", path, strerror(errno));
		return SW_EXIT_USAGE;
	}
	int rc = sw_cf_coverage(stdout, suite, text, len);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "smartwire conform: %s\n", sw_strerror(rc));
		return SW_EXIT_FAILURE;
	}
	return rc > 0 ? SW_EXIT_FAILURE : SW_EXIT_OK;
}

int sw__conform_write_reports(const sw__conform_cli *C, const sw_cf_report *rep)
{
	int status = 0;
	if (C->tap)
		sw_cf_write_tap(stdout, rep);
	else
		sw_cf_write_summary(stdout, rep, C->verbose);
	const char *paths[3] = {C->junit, C->json, C->html};
	for (int k = 0; k < 3; k++) {
		if (!paths[k])
			continue;
		FILE *f = open_out(paths[k]);
		if (!f) {
			status = -1;
			continue;
		}
		int rc = 0;
		if (k == 0) {
			rc = sw_cf_write_junit(f, rep);
		} else if (k == 1) {
			rc = sw_cf_write_json(f, rep);
		} else {
			sw_cf_column *col = NULL;
			rc = sw_cf_column_from_report(&col, rep);
			if (rc == 0)
				rc = sw_cf_write_html(f, &col, 1);
			sw_cf_column_del(col);
		}
		if (fclose(f) != 0 || rc < 0) {
			fprintf(stderr, "smartwire conform: error writing %s\n", paths[k]);
			status = -1;
		}
	}
	return status;
}
