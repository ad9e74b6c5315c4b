/*
 * Tests of smartwire/url.h: client URLs and the URL-escaped wire paths of
 * VFS requests.  Expected parts come from Breezy 3.3.2's urlutils (generated
 * by tests/interop_call/gen_url_vectors.py); the rejections are smartwire's
 * own rules (documented in url.h), where Breezy either accepts nonsense
 * (port 0) or fails later with an exception.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/url.h"
#include "smartwire/failmem.h"

typedef struct url_vector {
	const char *url;
	const char *user; /* NULL: none */
	const char *host;
	unsigned port;
	const char *path;
} url_vector;

static const url_vector vectors[] = {
#include "interop_call/url_vectors.inc"
};

static sw_url_scheme scheme_of(const char *url)
{
	if (strncmp(url, "bzr+ssh://", 10) == 0)
		return SW_URL_BZR_SSH;
	if (strncmp(url, "pipe://", 7) == 0)
		return SW_URL_PIPE;
	return SW_URL_BZR;
}

static void test_breezy_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const url_vector *v = &vectors[i];
		sw_url u;
		int rc = sw_url_parse(&u, v->url, NULL);
		if (rc != 0)
			fail_msg("%s: %s", v->url, sw_errname(rc));
		assert_int_equal(u.scheme, scheme_of(v->url));
		if (v->user)
			assert_string_equal(u.user, v->user);
		else
			assert_null(u.user);
		assert_string_equal(u.host, v->host);
		assert_int_equal(u.port, v->port);
		if (strcmp(u.path, v->path) != 0)
			fail_msg("%s: path %s, Breezy %s", v->url, u.path, v->path);
		sw_url_fini(&u, NULL);
		assert_null(u.path);
	}
}

static void test_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"http://h/x",       /* unknown scheme */
		"bzr:/h/x",         /* no "//" */
		"BZR://h/x",        /* schemes are lower case, as Breezy's registry */
		"bzr:///x",         /* no host */
		"bzr+ssh:///x",     /* no host */
		"bzr://u@/x",       /* no host */
		"bzr://h:0/x",      /* port 0 */
		"bzr://h:65536/x",  /* port out of range */
		"bzr://h:123456/x", /* too many digits */
		"bzr://h:12a/x",    /* not a number */
		"bzr://h:-1/x",     /* not a number */
		"bzr://-oProxyCommand=x/y", /* Breezy: StrangeHostname */
		"bzr+ssh://u@-h/y",
		"bzr+ssh://%2Dh/y", /* also once decoded */
		"bzr://h%00x/y",    /* NUL in the host */
		"bzr+ssh://u%00@h/y", /* NUL in the user */
		"bzr://user@h/x",   /* user only for bzr+ssh */
		"pipe://host/x",    /* pipe takes no authority */
		"pipe://:12/x",
		"pipe://u@/x",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sw_url u;
		memset(&u, 0xa5, sizeof u);
		int rc = sw_url_parse(&u, bad[i], NULL);
		if (rc != SW_ERR_INVALID_ARGUMENT)
			fail_msg("%s: got %s", bad[i], sw_errname(rc));
		assert_null(u.user);
		assert_null(u.host);
		assert_null(u.path);
	}
	assert_int_equal(sw_url_parse(&(sw_url){0}, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_url_parse(NULL, "bzr://h/", NULL), SW_ERR_INVALID_ARGUMENT);
	sw_url_fini(NULL, NULL);
	sw_url z = {0};
	sw_url_fini(&z, NULL);
}

/* Bytes that are not UTF-8 cannot be given to Breezy's str-based
 * normalize_url; the same rule (escape every unsafe byte) applies. */
static void test_escape_raw_bytes(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{"\xff\xfe", 2, "/%FF%FE"},
		{"a\0b", 3, "/a%00b"},
		{"x/\x7f", 3, "/x/%7F"},
		{"", 0, "/"},
		{"..", 2, "/"},
		{"a/b/../../..", 12, "/"},
		{"rel/path", 8, "/rel/path"},
		{"%", 1, "/%"},
		{"%4", 2, "/%4"},
		{"%41", 3, "/A"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sw_buf b;
		sw_buf_init(&b, NULL);
		assert_int_equal(sw_buf_append_str(&b, "keep"), 0);
		assert_int_equal(sw_url_escape_path(&b, cases[i].in, cases[i].n), 0);
		assert_int_equal(b.len, 4 + strlen(cases[i].out));
		assert_memory_equal(b.data, "keep", 4);
		assert_memory_equal(b.data + 4, cases[i].out, strlen(cases[i].out));
		sw_buf_fini(&b);
	}
}

/* Every allocation failing, once and persistently: SW_ERR_NOMEM and no
 * leak, or success. */
static void test_failmem(void **state)
{
	(void)state;
	const char *url = "bzr+ssh://us%40er:pw@host:22/dir/caf\xc3\xa9 x/../y";
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	sw_url u;
	assert_int_equal(sw_url_parse(&u, url, &fm.mem), 0);
	sw_url_fini(&u, &fm.mem);
	assert_int_equal(fm.live, 0);
	size_t calls = fm.calls;
	assert_true(calls >= 3);
	for (int persistent = 0; persistent < 2; persistent++) {
		for (size_t n = 1; n <= calls; n++) {
			sw_failmem_init(&fm, n, persistent != 0);
			int rc = sw_url_parse(&u, url, &fm.mem);
			if (rc == 0) {
				assert_string_equal(u.path, "/dir/y");
				sw_url_fini(&u, &fm.mem);
			} else {
				assert_int_equal(rc, SW_ERR_NOMEM);
				assert_null(u.host);
			}
			assert_true(fm.failures > 0);
			assert_int_equal(fm.live, 0);
		}
	}
	/* The path escaper alone. */
	sw_failmem_init(&fm, 1, true);
	sw_buf b;
	sw_buf_init(&b, &fm.mem);
	assert_int_equal(sw_url_escape_path(&b, "a b", 3), SW_ERR_NOMEM);
	sw_buf_fini(&b);
	assert_int_equal(fm.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breezy_vectors),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_escape_raw_bytes),
		cmocka_unit_test(test_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
