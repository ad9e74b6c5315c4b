/*
 * Tests of the security oracle (testbench/oracle/oracle.h): the world it
 * makes, the scan of a peer's bytes (content windows, names, escaped
 * views, the client's own words, the host's /etc), and the tree checks
 * (outside changes, inside changes of read-only servers, nothing else).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "oracle/oracle.h"
#include "smartwire/error.h"

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *b = calloc(4096, 1);
	*n = fread(b, 1, 4095, f);
	fclose(f);
	return b;
}

static void write_at(const char *dir, const char *rel, const char *data)
{
	char p[8192];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static sw_oracle *make(void)
{
	sw_oracle *o = NULL;
	sw_errinfo ei;
	if (sw_oracle_new(&o, NULL, &ei) < 0)
		fail_msg("sw_oracle_new: %s", ei.text);
	return o;
}

static void test_world(void **state)
{
	(void)state;
	sw_oracle *o = make();
	char p[8192];
	struct stat st;
	assert_int_equal(stat(sw_oracle_root(o), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* The root is empty; the outside tree is where the matrix expects it. */
	DIR *d = opendir(sw_oracle_root(o));
	int entries = 0;
	for (struct dirent *de; (de = readdir(d));)
		entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	assert_int_equal(entries, 0);
	snprintf(p, sizeof p, "%s/srv/outside", sw_oracle_world(o));
	assert_string_equal(p, sw_oracle_outside(o));
	static const char *const fixed[] = {"sentinel-above.txt", "srv/sentinel-beside.txt",
	                                    "srv/outside/sentinel-secret.txt",
	                                    "srv/outside/sentinel-sub/sentinel-inner.txt"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", sw_oracle_world(o), fixed[i]);
		size_t n;
		char *b = read_all(p, &n);
		assert_int_equal(n, 33); /* 32 hex digits and a newline */
		free(b);
	}
	/* Two worlds never share a secret. */
	sw_oracle *o2 = make();
	char p2[8192];
	snprintf(p, sizeof p, "%s/srv/sentinel-beside.txt", sw_oracle_world(o));
	snprintf(p2, sizeof p2, "%s/srv/sentinel-beside.txt", sw_oracle_world(o2));
	size_t n1, n2;
	char *a = read_all(p, &n1), *b = read_all(p2, &n2);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	char w[4096];
	snprintf(w, sizeof w, "%s", sw_oracle_world(o));
	sw_oracle_del(o, false);
	sw_oracle_del(o2, false);
	assert_int_not_equal(stat(w, &st), 0); /* removed */
	sw_oracle_del(NULL, false);

	/* A world a server left with a directory nobody may read and one
	 * nobody may write, each holding a file, is removed all the same. */
	o = make();
	snprintf(w, sizeof w, "%s", sw_oracle_world(o));
	static const char *const locked[] = {"srv/root/noread", "srv/root/nowrite"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", w, locked[i]);
		assert_int_equal(mkdir(p, 0755), 0);
		write_at(p, "f", "x");
		assert_int_equal(chmod(p, i ? 0500 : 0000), 0);
	}
	sw_oracle_del(o, false);
	assert_int_not_equal(lstat(w, &st), 0);
}

/* The content of a secret file of the world, without its newline. */
static char *secret(const sw_oracle *o, const char *rel)
{
	char p[8192];
	snprintf(p, sizeof p, "%s/%s", sw_oracle_world(o), rel);
	size_t n;
	char *b = read_all(p, &n);
	b[strcspn(b, "\n")] = 0;
	return b;
}

/* The random name of the secret beside the root ("swname-...-beside"). */
static char *beside_name(const sw_oracle *o)
{
	char p[8192];
	snprintf(p, sizeof p, "%s/srv", sw_oracle_world(o));
	DIR *d = opendir(p);
	char *name = NULL;
	for (struct dirent *de; (de = readdir(d));)
		if (strncmp(de->d_name, "swname-", 7) == 0)
			name = strdup(de->d_name);
	closedir(d);
	assert_non_null(name);
	return name;
}

static int scan(const sw_oracle *o, const char *recv, const char *sent, sw_oracle_report *rep)
{
	return sw_oracle_scan(o, (const uint8_t *)recv, strlen(recv), (const uint8_t *)sent,
	                      strlen(sent), rep);
}

static void test_scan(void **state)
{
	(void)state;
	sw_oracle *o = make();
	char *s = secret(o, "srv/outside/sentinel-secret.txt");
	char buf[512];
	sw_oracle_report rep;

	/* Nothing secret: nothing found. */
	sw_oracle_report_init(&rep);
	assert_int_equal(scan(o, "ok\ncontents\nof\nfile\n", "get\x01/testfile\n", &rep), 0);
	assert_int_equal(rep.n, 0);

	/* Any 12 digits of the content, raw: a content leak at its offset. */
	snprintf(buf, sizeof buf, "readv\n12\n%.12sdone\n", s + 7);
	assert_int_equal(scan(o, buf, "", &rep), 1);
	assert_int_equal(rep.v[0].kind, SW_ORACLE_CONTENT);
	assert_int_equal(rep.v[0].offset, 9);
	assert_string_equal(rep.v[0].secret, "srv/outside/sentinel-secret.txt");
	assert_non_null(strstr(rep.v[0].text, "content"));
	sw_oracle_report_fini(&rep);
	/* Eleven digits are not enough. */
	sw_oracle_report_init(&rep);
	snprintf(buf, sizeof buf, "x%.11sy", s);
	assert_int_equal(scan(o, buf, "", &rep), 0);

	/* %-escaped and repr-escaped content is found too. */
	char esc[256] = "", rep_esc[256] = "";
	for (int i = 0; i < 14; i++) {
		char t[8];
		snprintf(t, sizeof t, "%%%02x", (unsigned char)s[i]);
		strcat(esc, t);
		snprintf(t, sizeof t, "\\x%02x", (unsigned char)s[i]);
		strcat(rep_esc, t);
	}
	assert_int_equal(scan(o, esc, "", &rep), 1);
	assert_non_null(strstr(rep.v[0].text, "%-escaped"));
	sw_oracle_report_fini(&rep);
	sw_oracle_report_init(&rep);
	assert_int_equal(scan(o, rep_esc, "", &rep), 1);
	assert_non_null(strstr(rep.v[0].text, "repr-escaped"));
	sw_oracle_report_fini(&rep);

	/* A secret name leaks unless the client sent it itself. */
	char *name = beside_name(o);
	sw_oracle_report_init(&rep);
	snprintf(buf, sizeof buf, "names\x01%s\x01root\n", name);
	assert_int_equal(scan(o, buf, "list_dir\x01/dotdotlink\n", &rep), 1);
	assert_int_equal(rep.v[0].kind, SW_ORACLE_NAME);
	sw_oracle_report_fini(&rep);
	sw_oracle_report_init(&rep);
	char sent[256];
	snprintf(sent, sizeof sent, "get\x01/%s\n", name);
	snprintf(buf, sizeof buf, "NoSuchFile\x01/%s\n", name);
	assert_int_equal(scan(o, buf, sent, &rep), 0);
	/* ... escaped in the request counts as sent too. */
	snprintf(sent, sizeof sent, "get\x01/%%73%s\n", name + 1);
	assert_int_equal(scan(o, buf, sent, &rep), 0);
	sw_oracle_report_fini(&rep);

	/* The host's /etc/passwd and a listing of /etc. */
	size_t pn;
	char *pw = read_all("/etc/passwd", &pn);
	pw[strcspn(pw, "\n")] = 0;
	if (strlen(pw) >= 16) {
		sw_oracle_report_init(&rep);
		snprintf(buf, sizeof buf, "ok\n%.20s", pw);
		assert_int_equal(scan(o, buf, "", &rep), 1);
		assert_string_equal(rep.v[0].secret, "/etc/passwd");
		sw_oracle_report_fini(&rep);
	}
	free(pw);
	DIR *d = opendir("/etc");
	char listing[2048] = "names";
	int k = 0;
	for (struct dirent *de; k < 4 && (de = readdir(d));)
		if (strlen(de->d_name) >= 6 && strlen(de->d_name) < 64) {
			strcat(listing, "\x01");
			strcat(listing, de->d_name);
			k++;
		}
	closedir(d);
	if (k >= 3) {
		sw_oracle_report_init(&rep);
		assert_int_equal(scan(o, listing, "list_dir\x01/etc\n", &rep), 1);
		assert_string_equal(rep.v[0].secret, "/etc");
		sw_oracle_report_fini(&rep);
		/* The client's own words are not a listing. */
		sw_oracle_report_init(&rep);
		assert_int_equal(scan(o, listing, listing, &rep), 0);
		sw_oracle_report_fini(&rep);
	}
	free(name);
	free(s);
	sw_oracle_del(o, false);
}

static void test_tree(void **state)
{
	(void)state;
	sw_oracle_report rep;
	/* Read-write: inside changes are the server's business. */
	sw_oracle *o = make();
	write_at(sw_oracle_root(o), "testfile", "contents");
	assert_int_equal(sw_oracle_check_tree(o, &(sw_oracle_report){0}), SW_ERR_STATE);
	assert_false(sw_oracle_tree_changed(o));
	assert_int_equal(sw_oracle_arm(o, false), 0);
	write_at(sw_oracle_root(o), "new", "x");
	assert_false(sw_oracle_tree_changed(o));
	sw_oracle_report_init(&rep);
	assert_int_equal(sw_oracle_check_tree(o, &rep), 0);
	/* Outside: created, changed (contents, mode), removed. */
	char p[8192];
	write_at(sw_oracle_world(o), "srv/escaped", "pwned");
	assert_true(sw_oracle_tree_changed(o));
	snprintf(p, sizeof p, "%s/srv/outside/sentinel-secret.txt", sw_oracle_world(o));
	assert_int_equal(chmod(p, 0600), 0);
	snprintf(p, sizeof p, "%s/sentinel-above.txt", sw_oracle_world(o));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(sw_oracle_check_tree(o, &rep), 3);
	for (size_t i = 0; i < rep.n; i++)
		assert_int_equal(rep.v[i].kind, SW_ORACLE_OUTSIDE);
	assert_string_equal(rep.v[0].secret, "sentinel-above.txt");
	assert_non_null(strstr(rep.v[0].text, "was removed"));
	assert_non_null(strstr(rep.v[1].text, "was created"));
	assert_non_null(strstr(rep.v[1].text, "\"pwned\""));
	assert_non_null(strstr(rep.v[2].text, "was changed"));
	sw_oracle_report_fini(&rep);
	sw_oracle_del(o, false);

	/* Read-only: any change inside is a finding; a tree deeper than the
	 * walk goes is still walked safely. */
	o = make();
	write_at(sw_oracle_root(o), "testfile", "contents");
	assert_int_equal(sw_oracle_arm(o, true), 0);
	write_at(sw_oracle_root(o), "testfile", "changed!");
	char deep[8192];
	snprintf(deep, sizeof deep, "%s", sw_oracle_root(o));
	for (int i = 0; i < 200 && strlen(deep) < 3000; i++) {
		strcat(deep, "/z");
		assert_int_equal(mkdir(deep, 0755), 0);
	}
	sw_oracle_report_init(&rep);
	int n = sw_oracle_check_tree(o, &rep);
	assert_true(n >= 2);
	assert_int_equal(rep.v[0].kind, SW_ORACLE_INSIDE);
	assert_string_equal(rep.v[0].secret, "srv/root/testfile");
	bool saw_testfile = false;
	for (size_t i = 0; i < rep.n; i++)
		saw_testfile |= strcmp(rep.v[i].secret, "srv/root/testfile") == 0;
	assert_true(saw_testfile);
	sw_oracle_report_fini(&rep);
	char w[4096];
	snprintf(w, sizeof w, "%s", sw_oracle_world(o));
	sw_oracle_del(o, true); /* kept */
	struct stat st;
	assert_int_equal(stat(w, &st), 0);
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", w);
	assert_int_equal(system(cmd), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(sw_oracle_kind_name(SW_ORACLE_CONTENT), "content leak");
	assert_string_equal(sw_oracle_kind_name(SW_ORACLE_NAME), "name leak");
	assert_string_equal(sw_oracle_kind_name(SW_ORACLE_OUTSIDE), "outside change");
	assert_string_equal(sw_oracle_kind_name(SW_ORACLE_INSIDE), "inside change");
	assert_string_equal(sw_oracle_kind_name((sw_oracle_kind)99), "?");
	/* A world where none can be made: an error with a sentence. */
	sw_oracle *o = (sw_oracle *)1;
	sw_errinfo ei;
	assert_int_equal(sw_oracle_new(&o, "/nonexistent/dir", &ei), SW_ERR_IO);
	assert_null(o);
	assert_non_null(strstr(ei.text, "/nonexistent/dir"));
}

/* Where worlds go by default: $TMPDIR when set (the user's word), else a
 * writable tmpfs at /dev/shm, else /tmp; a world made without a workdir
 * is made there (the path as realpath() gives it). */
static void test_default_base(void **state)
{
	(void)state;
	const char *b = sw_oracle_default_base();
	assert_non_null(b);
	assert_ptr_equal(sw_oracle_default_base(), b); /* decided once */
	const char *t = getenv("TMPDIR");
	struct statfs sf;
	if (t && *t)
		assert_string_equal(b, t);
	else if (statfs("/dev/shm", &sf) == 0 && sf.f_type == 0x01021994 &&
	         access("/dev/shm", W_OK | X_OK) == 0)
		assert_string_equal(b, "/dev/shm");
	else
		assert_string_equal(b, "/tmp");
	char real[4096];
	assert_non_null(realpath(b, real));
	sw_oracle *o = make();
	size_t n = strlen(real);
	assert_int_equal(strncmp(sw_oracle_world(o), real, n), 0);
	assert_non_null(strstr(sw_oracle_world(o) + n, "/sw-conform-"));
	sw_oracle_del(o, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_world),        cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_tree),         cmocka_unit_test(test_names),
	    cmocka_unit_test(test_default_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
