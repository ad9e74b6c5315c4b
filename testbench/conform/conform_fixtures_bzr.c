/*
 * Conformance runner: the control-directory fixtures ("fixture bzr-NAME",
 * conformance/fixtures/README.md).
 *
 * A fixture is a tree Breezy made (branches, a shared repository, a
 * lightweight checkout, ...), committed under conformance/fixtures/NAME/
 * with three lists beside it: REVISIONS (revision ids by name, which cases
 * use as {rev:NAME}), TEMPLATED (files holding "@FIXTURE_DIR@", the
 * absolute path the tree was made in, to be replaced by the directory the
 * run serves) and EMPTYDIRS (directories Breezy needs that git cannot keep).
 *
 * Each tree is read from disk once per process and kept in memory (the
 * 2a tree is some 140 files, 600 KiB); every run then writes its own copy.
 * The cache is shared by the runner's threads under one mutex and freed by
 * sw_cf_release().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conform_parse_impl.h" /* sw__cf_push_str */
#include "smartwire/error.h"

#define TEMPLATE_MARK "@FIXTURE_DIR@"

typedef struct tree {
	char *key;        /* fixtures_dir "/" name */
	sw__cf_snap snap; /* every entry but the three lists, sorted by path */
	bool *templated;  /* per entry of snap: "@FIXTURE_DIR@" to replace */
	char **emptydirs;
	size_t nempty;
	sw_cf_vars revs; /* "rev:NAME" -> id */
	struct tree *next;
} tree;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static tree *cache;

static void tree_free(tree *t)
{
	if (!t)
		return;
	free(t->key);
	sw__cf_snap_free(&t->snap);
	free(t->templated);
	for (size_t i = 0; i < t->nempty; i++)
		free(t->emptydirs[i]);
	free(t->emptydirs);
	sw__cf_vars_free(&t->revs);
	free(t);
}

void sw_cf_release(void)
{
	pthread_mutex_lock(&cache_lock);
	while (cache) {
		tree *t = cache;
		cache = t->next;
		tree_free(t);
	}
	pthread_mutex_unlock(&cache_lock);
}

static bool is_list(const char *path)
{
	return !strcmp(path, "REVISIONS") || !strcmp(path, "TEMPLATED") ||
	       !strcmp(path, "EMPTYDIRS");
}

static const sw__cf_node *find(const sw__cf_snap *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].path, path) == 0)
			return &s->v[i];
	return NULL;
}

/* Calls fn for each non-empty, non-comment line of a list file. */
static int each_line(const sw__cf_node *nd, int (*fn)(tree *, const char *, size_t), tree *t)
{
	if (!nd)
		return 0;
	size_t s = 0;
	for (size_t i = 0; i <= nd->n; i++)
		if (i == nd->n || nd->data[i] == '\n') {
			size_t l = i - s;
			const char *p = (const char *)nd->data + s;
			while (l && (p[l - 1] == '\r' || p[l - 1] == ' '))
				l--;
			if (l && p[0] != '#') {
				int rc = fn(t, p, l);
				if (rc < 0)
					return rc;
			}
			s = i + 1;
		}
	return 0;
}

static int add_rev(tree *t, const char *p, size_t l)
{
	const char *sp = memchr(p, ' ', l);
	if (!sp)
		return SW_ERR_INVALID_ARGUMENT;
	char name[80];
	size_t nl = (size_t)(sp - p);
	if (nl + 4 >= sizeof name)
		return SW_ERR_INVALID_ARGUMENT;
	memcpy(name, "rev:", 4);
	memcpy(name + 4, p, nl);
	const char *v = sp + 1;
	size_t vl = l - nl - 1;
	while (vl && *v == ' ')
		v++, vl--;
	return sw__cf_vars_set(&t->revs, name, nl + 4, v, vl);
}

static int add_templated(tree *t, const char *p, size_t l)
{
	for (size_t i = 0; i < t->snap.n; i++)
		if (strlen(t->snap.v[i].path) == l && memcmp(t->snap.v[i].path, p, l) == 0) {
			t->templated[i] = true;
			return 0;
		}
	return SW_ERR_INVALID_ARGUMENT; /* a list naming a file the tree lacks */
}

static int add_emptydir(tree *t, const char *p, size_t l)
{
	return sw__cf_push_str(&t->emptydirs, &t->nempty, sw__cf_strndup(p, l));
}

/* Reads fixtures_dir/name into a new tree. */
static int load(const char *fixtures_dir, const char *name, tree **out, sw_errinfo *ei)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", fixtures_dir, name);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return sw_errinfo_set(ei, SW_ERR_IO, errno,
		                      "fixture bzr-%s: no directory %s (see --fixtures)", name,
		                      path);
	tree *t = calloc(1, sizeof *t);
	if (!t)
		return sw_errinfo_set(ei, SW_ERR_NOMEM, 0, NULL);
	int rc = sw__cf_snap_take(path, &t->snap);
	if (rc == 0 && !(t->templated = calloc(t->snap.n + 1, sizeof *t->templated)))
		rc = SW_ERR_NOMEM;
	if (rc == 0)
		rc = each_line(find(&t->snap, "REVISIONS"), add_rev, t);
	if (rc == 0)
		rc = each_line(find(&t->snap, "TEMPLATED"), add_templated, t);
	if (rc == 0)
		rc = each_line(find(&t->snap, "EMPTYDIRS"), add_emptydir, t);
	if (rc == 0 && !(t->key = sw__cf_strf("%s/%s", fixtures_dir, name)))
		rc = SW_ERR_NOMEM;
	if (rc < 0) {
		tree_free(t);
		return sw_errinfo_set(ei, rc, 0,
		                      rc == SW_ERR_NOMEM ? "out of memory reading fixture bzr-%s"
		                                         : "fixture bzr-%s: a malformed REVISIONS, "
		                                           "TEMPLATED or EMPTYDIRS in %s",
		                      name, path);
	}
	*out = t;
	return 0;
}

static int write_all(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return fchmod(fd, 0644) < 0 ? (close(fd), -1) : close(fd);
}

/* Writes one entry of the tree under dir. */
static int lay_node(const tree *t, size_t i, const char *dir)
{
	const sw__cf_node *nd = &t->snap.v[i];
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, nd->path) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (nd->type == 'd')
		return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : chmod(path, 0755);
	if (nd->type == 'l')
		return symlink((const char *)nd->data, path);
	if (!t->templated[i])
		return write_all(path, nd->data, nd->n);
	sw_buf b;
	sw_buf_init(&b, NULL);
	size_t ml = strlen(TEMPLATE_MARK), k = 0;
	int rc = 0;
	while (rc == 0 && k < nd->n) {
		if (nd->n - k >= ml && memcmp(nd->data + k, TEMPLATE_MARK, ml) == 0) {
			rc = sw_buf_append_str(&b, dir);
			k += ml;
		} else
			rc = sw_buf_append_byte(&b, nd->data[k++]);
	}
	if (rc == 0)
		rc = write_all(path, b.data ? b.data : (const uint8_t *)"", b.len);
	else
		errno = ENOMEM;
	sw_buf_fini(&b);
	return rc;
}

static int mkdirs(const char *dir, const char *rel)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* The parents exist but for odd trees: one call in the common case. */
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	for (char *p = path + strlen(dir) + 1;; p++)
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return -1;
			if (!c)
				return 0;
			*p = c;
		}
}

int sw__cf_bzr_fixture_lay(const char *fixtures_dir, const char *name, const char *dir,
                           sw_cf_vars *vs, sw_errinfo *ei)
{
	if (!fixtures_dir)
		return sw_errinfo_set(ei, SW_ERR_IO, 0,
		                      "fixture bzr-%s: no fixtures directory (--fixtures DIR)",
		                      name);
	char key[4096];
	snprintf(key, sizeof key, "%s/%s", fixtures_dir, name);
	pthread_mutex_lock(&cache_lock);
	tree *t = cache;
	while (t && strcmp(t->key, key) != 0)
		t = t->next;
	int rc = 0;
	if (!t && (rc = load(fixtures_dir, name, &t, ei)) == 0) {
		t->next = cache;
		cache = t;
	}
	/* Trees are never removed while cases run: the pointer stays valid
	 * outside the lock. */
	pthread_mutex_unlock(&cache_lock);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < t->snap.n; i++) {
		if (is_list(t->snap.v[i].path))
			continue;
		if (lay_node(t, i, dir) < 0) {
			int e = errno;
			char tmp[128];
			return sw_errinfo_set(
			    ei, SW_ERR_IO, e, "fixture bzr-%s: cannot write %s: %s", name,
			    t->snap.v[i].path, sw_sys_strerror(e, tmp, sizeof tmp));
		}
	}
	for (size_t i = 0; i < t->nempty; i++)
		if (mkdirs(dir, t->emptydirs[i]) < 0) {
			int e = errno;
			char tmp[128];
			return sw_errinfo_set(ei, SW_ERR_IO, e,
			                      "fixture bzr-%s: cannot make %s: %s", name,
			                      t->emptydirs[i], sw_sys_strerror(e, tmp, sizeof tmp));
		}
	for (size_t i = 0; i < t->revs.n; i++)
		if (sw__cf_vars_set(vs, t->revs.v[i].name, strlen(t->revs.v[i].name),
		                    t->revs.v[i].p, t->revs.v[i].n) < 0)
			return sw_errinfo_set(ei, SW_ERR_NOMEM, 0, NULL);
	return 0;
}
