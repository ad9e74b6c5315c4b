#include "support/harness.h"
#include "smartwire/failmem.h"
#include "support/guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/format.h"

int sw_t_emit_bytes(sw_buf *trace, const char *event, const void *p, size_t n)
{
	int rv = sw_buf_append_str(trace, event);
	if (rv == 0)
		rv = sw_buf_append_byte(trace, ' ');
	if (rv == 0)
		rv = sw_format_bytes(trace, p, n);
	if (rv == 0)
		rv = sw_buf_append_byte(trace, '\n');
	return rv;
}

int sw_t_emit_tuple(sw_buf *trace, const char *event, const sw_slice *items, size_t n)
{
	int rv = sw_buf_append_str(trace, event);
	if (rv == 0)
		rv = sw_buf_append_byte(trace, ' ');
	if (rv == 0)
		rv = sw_format_tuple(trace, items, n);
	if (rv == 0)
		rv = sw_buf_append_byte(trace, '\n');
	return rv;
}

int sw_t_stop_event(void *ud)
{
	return ++*(int *)ud;
}

int sw_t_stop_u64(void *ud, uint64_t v)
{
	(void)v;
	return ++*(int *)ud;
}

int sw_t_stop_data(void *ud, const uint8_t *p, size_t n)
{
	(void)p, (void)n;
	return ++*(int *)ud;
}

int sw_t_stop_slices(void *ud, const sw_slice *items, size_t n)
{
	(void)items, (void)n;
	return ++*(int *)ud;
}

static void append_nrs(sw_buf *nrs, const sw_t_codec *c, void *dec)
{
	if (!nrs || !c->next_read_size)
		return;
	if (nrs->len)
		sw_buf_append_byte(nrs, ' ');
	sw_buf_append_u64(nrs, c->next_read_size(dec));
}

char *sw_t_run(const sw_t_codec *c, const void *arg, const uint8_t *in, size_t len,
               const size_t *cuts, size_t ncuts, const sw_mem *mem, sw_buf *nrs)
{
	sw_buf trace;
	sw_buf_init(&trace, NULL);
	int rv = 0;
	void *dec = c->create(mem, &trace, arg);
	if (!dec) {
		rv = SW_ERR_NOMEM;
	} else {
		append_nrs(nrs, c, dec);
		size_t at = 0;
		for (size_t i = 0; i <= ncuts && rv == 0; i++) {
			size_t end = i < ncuts ? cuts[i] : len;
			if (end < at)
				end = at;
			/* An empty feed with a NULL pointer first: legal in every
			 * state, and it must not change the outcome. */
			rv = c->feed(dec, NULL, 0);
			if (rv < 0)
				break;
			sw_guard g;
			const uint8_t *piece = sw_guard_copy(&g, in + at, end - at);
			rv = c->feed(dec, piece, end - at);
			sw_guard_free(&g);
			append_nrs(nrs, c, dec);
			at = end;
		}
		if (rv == 0)
			rv = c->finish(dec);
		c->destroy(dec);
	}
	if (rv < 0) {
		sw_buf_append_str(&trace, "error ");
		sw_buf_append_str(&trace, sw_errname(rv));
		sw_buf_append_byte(&trace, '\n');
	}
	char *s = malloc(trace.len + 1);
	assert_non_null(s);
	if (trace.len)
		memcpy(s, trace.data, trace.len);
	s[trace.len] = '\0';
	sw_buf_fini(&trace);
	return s;
}

bool sw_t_trace_equal(const char *expected, const char *actual)
{
	for (;;) {
		const char *e_end = strchr(expected, '\n');
		const char *a_end = strchr(actual, '\n');
		size_t el = e_end ? (size_t)(e_end - expected) : strlen(expected);
		size_t al = a_end ? (size_t)(a_end - actual) : strlen(actual);
		bool same = el == al && memcmp(expected, actual, el) == 0;
		if (!same && el == 5 && memcmp(expected, "error", 5) == 0 && al > 6 &&
		    memcmp(actual, "error ", 6) == 0)
			same = true;
		if (!same)
			return false;
		if (!e_end || !a_end)
			return !e_end && !a_end;
		expected = e_end + 1;
		actual = a_end + 1;
		if (!*expected || !*actual)
			return !*expected && !*actual;
	}
}

static void expect_trace(const char *what, const char *expected, const char *actual)
{
	if (!sw_t_trace_equal(expected, actual))
		fail_msg("%s: trace differs\n--- expected\n%s--- actual\n%s", what, expected, actual);
}

void sw_t_check_vector(const sw_t_codec *c, const void *arg, const uint8_t *in,
                       size_t len, const char *expected)
{
	char what[128];
	char *whole = sw_t_run(c, arg, in, len, NULL, 0, NULL, NULL);
	snprintf(what, sizeof what, "%s whole", c->name);
	expect_trace(what, expected, whole);
	free(whole);

	size_t *cuts = malloc((len ? len : 1) * sizeof *cuts);
	assert_non_null(cuts);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	char *bytes = sw_t_run(c, arg, in, len, cuts, len ? len - 1 : 0, NULL, NULL);
	snprintf(what, sizeof what, "%s one byte at a time", c->name);
	expect_trace(what, expected, bytes);
	free(bytes);

	for (size_t at = 0; at <= len; at++) {
		size_t cut = at;
		char *split = sw_t_run(c, arg, in, len, &cut, 1, NULL, NULL);
		snprintf(what, sizeof what, "%s split at %zu", c->name, at);
		expect_trace(what, expected, split);
		free(split);
	}
	free(cuts);
}

size_t sw_t_check_failmem(const sw_t_codec *c, const void *arg, const uint8_t *in,
                          size_t len, const char *expected)
{
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	char *clean = sw_t_run(c, arg, in, len, NULL, 0, &fm.mem, NULL);
	expect_trace("failmem counting run", expected, clean);
	free(clean);
	assert_int_equal(fm.live, 0);
	size_t sites = fm.calls;
	for (size_t n = 1; n <= sites; n++) {
		for (int persistent = 0; persistent <= 1; persistent++) {
			sw_failmem_init(&fm, n, persistent);
			char *t = sw_t_run(c, arg, in, len, NULL, 0, &fm.mem, NULL);
			const char *err = sw_t_trace_error(t);
			if (!(err && strcmp(err, "SW_ERR_NOMEM") == 0) &&
			    !sw_t_trace_equal(expected, t))
				fail_msg("%s: allocation %zu failed (%s) but the run ended with:\n%s",
				         c->name, n, persistent ? "persistent" : "once", t);
			if (fm.live != 0)
				fail_msg("%s: allocation %zu failed (%s): %zu blocks leaked",
				         c->name, n, persistent ? "persistent" : "once", fm.live);
			free(t);
		}
	}
	return sites;
}

const char *sw_t_trace_error(const char *trace)
{
	static char name[64];
	size_t n = strlen(trace);
	if (n == 0)
		return NULL;
	/* Find the start of the last line. */
	size_t end = trace[n - 1] == '\n' ? n - 1 : n;
	size_t start = end;
	while (start > 0 && trace[start - 1] != '\n')
		start--;
	if (end - start > 6 && memcmp(trace + start, "error ", 6) == 0) {
		size_t l = end - start - 6;
		if (l >= sizeof name)
			l = sizeof name - 1;
		memcpy(name, trace + start + 6, l);
		name[l] = '\0';
		return name;
	}
	return NULL;
}

uint8_t *sw_t_read_file(const char *path, size_t *len)
{
	char full[4096];
	const char *dir = getenv("SW_SOURCE_DIR");
	if (path[0] != '/' && dir)
		snprintf(full, sizeof full, "%s/%s", dir, path);
	else
		snprintf(full, sizeof full, "%s", path);
	FILE *f = fopen(full, "rb");
	if (!f)
		fail_msg("cannot open %s (is SW_SOURCE_DIR set?)", full);
	sw_buf b;
	sw_buf_init(&b, NULL);
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		assert_int_equal(sw_buf_append(&b, tmp, n), 0);
	fclose(f);
	*len = b.len;
	if (!b.data)
		return calloc(1, 1);
	return b.data;
}
