/* SHA-256 against the FIPS 180-2 examples and sha256sum of a long input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/sha256.h"

static void expect(const char *in, size_t n, size_t step, const char *want)
{
	sw_sha256 s;
	char hex[65];
	sw_sha256_init(&s);
	for (size_t at = 0; at < n; at += step)
		sw_sha256_update(&s, in + at, n - at < step ? n - at : step);
	sw_sha256_hex(&s, hex);
	assert_string_equal(hex, want);
}

static void test_fips_vectors(void **state)
{
	(void)state;
	static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char two[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
	static const char empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	const char *msg2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect("", 0, 1, empty);
	for (size_t step = 1; step <= 64; step++) {
		expect("abc", 3, step, abc);
		expect(msg2, strlen(msg2), step, two);
	}
}

static void test_million_a(void **state)
{
	(void)state;
	static char a[1000000];
	memset(a, 'a', sizeof a);
	expect(a, sizeof a, 4093, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* The body of the captured `get /testfile` (sha256sum of the 17 bytes). */
	expect("contents\nof\nfile\n", 17, 5,
	       "f6df0558ca36b4d1267c7ebb57552da0e221f4737175088d496b3797efc292d2");
}

/* Lengths around the padding boundary: up to 55 bytes the length fits in
 * the last block, from 56 it takes one more.  Input byte i is i % 251;
 * the digests are Python's hashlib.sha256 of the same bytes.  An empty
 * update with a NULL pointer changes nothing. */
static void test_padding_boundaries(void **state)
{
	(void)state;
	static const struct {
		size_t n;
		const char *hex;
	} cases[] = {
		{55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
		{56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
		{63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
		{64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
		{119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
		{120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
	};
	char in[120];
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (char)(i % 251);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (size_t step = 1; step <= 65; step++)
			expect(in, cases[c].n, step, cases[c].hex);
	sw_sha256 s;
	char hex[65];
	sw_sha256_init(&s);
	sw_sha256_update(&s, in, 3);
	sw_sha256_update(&s, NULL, 0);
	sw_sha256_update(&s, in + 3, 52);
	sw_sha256_hex(&s, hex);
	assert_string_equal(hex, cases[0].hex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
