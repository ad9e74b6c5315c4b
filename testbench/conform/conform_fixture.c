/*
 * Conformance runner: fixture directories (the served root of each run).
 * Snapshots of them and the after-checks of the case files are
 * conform_snap.c.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conform_impl.h"
#include "smartwire/error.h"

/* The reference tree of protocol-reference.md (without the branch). */
static const struct {
	const char *path;
	const char *data; /* NULL: a directory */
} default_tree[] = {
	{"testfile", "contents\nof\nfile\n"},
	{"readvfile", "0123456789abcdefghij"},
	{"dir", NULL},
	{"dir/a", "aaa"},
	{"emptydir", NULL},
};

static int mkparents(const char *root, const char *rel)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= sizeof path)
		return -1;
	for (char *p = path + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return 0;
}

static int write_file(const char *root, const char *rel, const uint8_t *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	if (mkparents(root, rel) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	/* Modes do not depend on the runner's umask: stat cases compare them. */
	if (fchmod(fd, 0644) < 0) {
		close(fd);
		return -1;
	}
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd);
}

int sw__cf_fixture_make(const sw_cf_case *c, const sw_cf_opts *o, char *dir, size_t cap,
                        sw_cf_vars *vs, sw_errinfo *ei)
{
	const char *workdir = o->workdir;
	char t[128];
	const char *base = workdir ? workdir : sw_oracle_default_base();
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/sw-conform-XXXXXX", base);
	if (!mkdtemp(tmpl)) {
		int e = errno;
		return sw_errinfo_set(ei, SW_ERR_IO, e, "cannot create a fixture under %s: %s",
		                      base, sw_sys_strerror(e, t, sizeof t));
	}
	/* The served path as the server will print it. */
	char real[4096];
	if (!realpath(tmpl, real))
		snprintf(real, sizeof real, "%s", tmpl);
	snprintf(dir, cap, "%s", real);
	int rc = sw__cf_fixture_fill(c, o, dir, vs, ei);
	if (rc < 0)
		sw__cf_rmtree(dir);
	return rc;
}

int sw__cf_fixture_fill(const sw_cf_case *c, const sw_cf_opts *o, const char *dir,
                        sw_cf_vars *vs, sw_errinfo *ei)
{
	char t[128];
	/* Fixtures are created with a plain umask so that modes are predictable. */
	if (!c->fixture_empty)
		for (size_t i = 0; i < sizeof default_tree / sizeof default_tree[0]; i++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", dir, default_tree[i].path);
			int rc = default_tree[i].data
			             ? write_file(dir, default_tree[i].path, (const uint8_t *)default_tree[i].data,
			                          strlen(default_tree[i].data))
			             : (mkdir(path, 0755) < 0 ? -1 : chmod(path, 0755));
			if (rc < 0)
				goto ioerr;
		}
	if (c->fixture_bzr) {
		int rc = sw__cf_bzr_fixture_lay(o->fixtures_dir, c->fixture_bzr, dir, vs, ei);
		if (rc < 0)
			return rc;
	}
	sw_cf_ctx ctx = {.root = dir, .vars = vs};
	for (size_t i = 0; i < c->nentries; i++) {
		const sw_cf_entry *e = &c->entries[i];
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->path);
		int rc = 0;
		switch (e->kind) {
		case SW_CF_FILE: {
			sw_buf b;
			sw_buf_init(&b, NULL);
			/* The parser evaluated it once: only memory, or a {rev:NAME}
			 * the fixture lacks, can fail here. */
			if (sw_cf_eval(e->expr, &ctx, &b, NULL) < 0) {
				rc = -1;
				errno = EINVAL;
			}
			if (rc == 0)
				rc = write_file(dir, e->path, b.data, b.len);
			sw_buf_fini(&b);
			break;
		}
		case SW_CF_DIR:
			rc = mkparents(dir, e->path);
			if (rc == 0 && mkdir(path, 0755) < 0 && errno != EEXIST)
				rc = -1;
			if (rc == 0)
				rc = chmod(path, 0755);
			break;
		case SW_CF_SYMLINK: {
			/* The target may name the world: {root}, {outside}. */
			sw_buf tg;
			sw_buf_init(&tg, NULL);
			rc = mkparents(dir, e->path);
			if (rc == 0 && (sw_cf_eval_arg(e->expr, &ctx, &tg, NULL) < 0 ||
			                sw_buf_append_byte(&tg, 0) < 0)) {
				rc = -1;
				errno = ENOMEM;
			}
			if (rc == 0)
				rc = symlink((const char *)tg.data, path);
			sw_buf_fini(&tg);
			break;
		}
		case SW_CF_CHMOD:
			rc = chmod(path, e->mode);
			break;
		case SW_CF_REMOVE: {
			struct stat st;
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
				sw__cf_rmtree(path);
			else
				rc = unlink(path);
			break;
		}
		}
		if (rc < 0) {
			int e2 = errno;
			return sw_errinfo_set(ei, SW_ERR_IO, e2, "fixture line %d (%s): %s",
			                      e->line, e->path, sw_sys_strerror(e2, t, sizeof t));
		}
	}
	return 0;
ioerr : {
	int e2 = errno;
	return sw_errinfo_set(ei, SW_ERR_IO, e2, "cannot fill the fixture %s: %s", dir,
	                      sw_sys_strerror(e2, t, sizeof t));
}
}

void sw__cf_rmtree(const char *dir)
{
	sw_oracle_rmtree(dir);
}
