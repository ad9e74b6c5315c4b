/* Tests for Breezy's registry of request verbs (smartwire/verbs.h) against
 * conformance/verbs/breezy-3.3.2.txt, both written from Breezy's
 * request_handlers by conformance/verbs/gen_registry.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/verbs.h"

static void test_registry_file(void **state)
{
	(void)state;
	const char *src = getenv("SW_SOURCE_DIR");
	assert_non_null(src);
	char path[4096];
	snprintf(path, sizeof path, "%s/conformance/verbs/breezy-3.3.2.txt", src);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	char line[512], verb[256], cls[32], body[32];
	size_t seen = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%255s %31s %31s", verb, cls, body), 3);
		const sw_verb_info *v = sw_verb_lookup(verb, strlen(verb));
		if (!v)
			fail_msg("%s is registered by Breezy but unknown to sw_verb_lookup", verb);
		assert_string_equal(v->name, verb);
		assert_string_equal(sw_verb_class_name(v->safety), cls);
		const char *want = v->body == SW_VERB_BODY_WHOLE    ? "whole"
		                   : v->body == SW_VERB_BODY_STREAM ? "stream"
		                                                    : "none";
		assert_string_equal(want, body);
		seen++;
	}
	fclose(f);
	size_t n;
	sw_verb_all(&n);
	assert_int_equal(seen, 93);
	assert_int_equal(n, seen);
}

static void test_sorted_and_unknown(void **state)
{
	(void)state;
	size_t n;
	const sw_verb_info *all = sw_verb_all(&n);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(all[i - 1].name, all[i].name) < 0);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(sw_verb_lookup(all[i].name, strlen(all[i].name)), &all[i]);
	/* Near misses and odd input are unknown. */
	const char *odd[] = {"",    "ge",   "gett",   "Get", "get ", "Branch.", "Branch.lock_writ",
	                     "zzz", "\xff", "hello\n"};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
		assert_null(sw_verb_lookup(odd[i], strlen(odd[i])));
	assert_null(sw_verb_lookup("get\0x", 5)); /* the length counts, not a NUL */
	assert_non_null(sw_verb_lookup("get\0x", 3));
	assert_null(sw_verb_lookup(NULL, 3));
	assert_null(sw_verb_lookup(NULL, 0));
}

static void test_classes(void **state)
{
	(void)state;
	/* Breezy's _is_safe_to_send_twice: read, idem and semi are resent. */
	assert_true(sw_verb_class_retries(SW_VERB_READ));
	assert_true(sw_verb_class_retries(SW_VERB_IDEM));
	assert_true(sw_verb_class_retries(SW_VERB_SEMI));
	assert_false(sw_verb_class_retries(SW_VERB_SEMIVFS));
	assert_false(sw_verb_class_retries(SW_VERB_MUTATE));
	assert_false(sw_verb_class_retries(SW_VERB_STREAM));
	const sw_verb_info *v = sw_verb_lookup("Repository.insert_stream_1.19", 29);
	assert_non_null(v);
	assert_int_equal(v->safety, SW_VERB_STREAM);
	assert_int_equal(v->body, SW_VERB_BODY_STREAM);
	v = sw_verb_lookup("readv", 5);
	assert_non_null(v);
	assert_int_equal(v->body, SW_VERB_BODY_WHOLE);
	assert_string_equal(sw_verb_class_name((sw_verb_class)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry_file),
	    cmocka_unit_test(test_sorted_and_unknown),
	    cmocka_unit_test(test_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
