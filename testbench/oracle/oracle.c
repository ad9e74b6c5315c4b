/*
 * The security oracle (oracle.h): the world of secrets around a served
 * directory, and the scan of what a peer sent.
 */
#define _GNU_SOURCE 1 /* memmem, nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "oracle_impl.h"
#include "smartwire/hex.h"
#include "smartwire/mem.h"

#define TOKEN 32      /* hex digits of a secret file's content */
#define NAME_TOKEN 16 /* hex digits of a secret name */
#define CONTENT_WINDOW 12
#define HOST_WINDOW 16
#define MAX_SECRETS 16
#define MAX_TREE_FINDINGS 16
/* A listing of the host's /etc: this many of its names (of HOST_NAME_MIN
 * bytes or more, the client never sent) in the peer's bytes. */
#define HOST_NAMES 96
#define HOST_NAME_MIN 6
#define HOST_NAMES_SEEN 3
#define SHM_DIR "/dev/shm"
#define TMPFS_MAGIC_ 0x01021994 /* linux/magic.h TMPFS_MAGIC */

typedef struct secret_file {
	char rel[128];             /* path relative to the world */
	char token[TOKEN + 1];     /* content digits ("" for none) */
	char name[NAME_TOKEN + 1]; /* random name digits ("" for a fixed name) */
} secret_file;

struct sw_oracle {
	char world[4096], root[4200], outside[4200];
	secret_file s[MAX_SECRETS];
	size_t ns;
	char host[64]; /* the host's /etc/passwd first line (may be "") */
	bool armed, read_only;
	sw__or_tree outside_before, inside_before;
};

/* ---- The world ------------------------------------------------------------ */

static void random_hex(char *out, size_t n)
{
	uint8_t b[TOKEN];
	size_t got = 0;
	while (got < n / 2 + 1 && got < sizeof b) {
		ssize_t r = getrandom(b + got, sizeof b - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = sw_hex_lower(i / 2 < got ? (unsigned)(b[i / 2] >> (i % 2 ? 0 : 4))
		                                  : (unsigned)i);
	out[n] = '\0';
}

static int put_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(data);
	int rc = fchmod(fd, 0644) == 0 && write(fd, data, n) == (ssize_t)n ? 0 : -1;
	return close(fd) == 0 ? rc : -1;
}

/* A secret file at world/rel; `random_name`: rel ends in "swname-" and the
 * random digits and `suffix` are added. */
static int add_secret(sw_oracle *o, const char *rel, bool random_name, const char *suffix)
{
	secret_file *s = &o->s[o->ns++];
	if (random_name) {
		char name[NAME_TOKEN + 1];
		random_hex(name, NAME_TOKEN);
		memcpy(s->name, name, sizeof name);
		snprintf(s->rel, sizeof s->rel, "%s%s%s", rel, name, suffix);
	} else {
		snprintf(s->rel, sizeof s->rel, "%s", rel);
	}
	random_hex(s->token, TOKEN);
	char path[4400], data[TOKEN + 2];
	snprintf(path, sizeof path, "%s/%s", o->world, s->rel);
	snprintf(data, sizeof data, "%s\n", s->token);
	return put_file(path, data);
}

static int add_dir(sw_oracle *o, const char *rel)
{
	char path[4400];
	snprintf(path, sizeof path, "%s/%s", o->world, rel);
	return mkdir(path, 0755) == 0 && chmod(path, 0755) == 0 ? 0 : -1;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int chmod_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	/* Only what a server made unreadable: a chmod per directory is a
	 * metadata write for nothing. */
	if ((flag == FTW_D || flag == FTW_DNR) && (st->st_mode & 0700) != 0700)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

void sw_oracle_rmtree(const char *path)
{
	struct stat st;
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	if (lstat(path, &st) < 0)
		return;
	nftw(path, chmod_cb, 16, FTW_PHYS);
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void host_secret(sw_oracle *o)
{
	o->host[0] = '\0';
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return;
	if (fgets(o->host, sizeof o->host, f)) {
		o->host[strcspn(o->host, "\n")] = '\0';
		if (strlen(o->host) < HOST_WINDOW)
			o->host[0] = '\0';
	}
	fclose(f);
}

static const char *default_base;
static pthread_once_t base_once = PTHREAD_ONCE_INIT;

static void choose_base(void)
{
	const char *t = getenv("TMPDIR");
	struct statfs sf;
	if (t && *t)
		default_base = t;
	else if (statfs(SHM_DIR, &sf) == 0 && (unsigned long)sf.f_type == TMPFS_MAGIC_ &&
	         access(SHM_DIR, W_OK | X_OK) == 0)
		default_base = SHM_DIR;
	else
		default_base = "/tmp";
}

const char *sw_oracle_default_base(void)
{
	pthread_once(&base_once, choose_base);
	return default_base;
}

int sw_oracle_new(sw_oracle **out, const char *workdir, sw_errinfo *ei)
{
	*out = NULL;
	sw_oracle *o = calloc(1, sizeof *o);
	if (!o)
		return sw_errinfo_set(ei, SW_ERR_NOMEM, 0, NULL);
	const char *base = workdir ? workdir : sw_oracle_default_base();
	char tmpl[4096], t[128];
	snprintf(tmpl, sizeof tmpl, "%s/sw-conform-XXXXXX", base);
	if (!mkdtemp(tmpl)) {
		int e = errno;
		free(o);
		return sw_errinfo_set(ei, SW_ERR_IO, e, "cannot create a directory under %s: %s",
		                      base, sw_sys_strerror(e, t, sizeof t));
	}
	/* Paths as a server prints them (no symlink in /tmp's place). */
	if (!realpath(tmpl, o->world))
		snprintf(o->world, sizeof o->world, "%s", tmpl);
	snprintf(o->root, sizeof o->root, "%s/srv/root", o->world);
	snprintf(o->outside, sizeof o->outside, "%s/srv/outside", o->world);
	int rc = chmod(o->world, 0755);
	if (rc == 0)
		rc = add_dir(o, "srv");
	if (rc == 0)
		rc = add_dir(o, "srv/outside");
	if (rc == 0)
		rc = add_dir(o, "srv/outside/sentinel-sub");
	if (rc == 0)
		rc = add_dir(o, "srv/root");
	if (rc == 0)
		rc = add_secret(o, "sentinel-above.txt", false, "");
	if (rc == 0)
		rc = add_secret(o, "swname-", true, "-above");
	if (rc == 0)
		rc = add_secret(o, "srv/sentinel-beside.txt", false, "");
	if (rc == 0)
		rc = add_secret(o, "srv/swname-", true, "-beside");
	if (rc == 0)
		rc = add_secret(o, "srv/outside/sentinel-secret.txt", false, "");
	if (rc == 0)
		rc = add_secret(o, "srv/outside/sentinel-sub/sentinel-inner.txt", false, "");
	if (rc == 0) {
		/* A random directory with a random file: two secret names. */
		secret_file *d = &o->s[o->ns++];
		char name[NAME_TOKEN + 1], prefix[160];
		random_hex(name, NAME_TOKEN);
		memcpy(d->name, name, sizeof name);
		snprintf(prefix, sizeof prefix, "srv/outside/swname-%s-tree", name);
		memcpy(d->rel, prefix,
		       sizeof d->rel < sizeof prefix ? sizeof d->rel : sizeof prefix);
		rc = add_dir(o, prefix);
		snprintf(prefix, sizeof prefix, "srv/outside/swname-%s-tree/swname-", name);
		if (rc == 0)
			rc = add_secret(o, prefix, true, "-leaf");
	}
	if (rc < 0) {
		int e = errno;
		sw_oracle_rmtree(o->world);
		free(o);
		return sw_errinfo_set(ei, SW_ERR_IO, e, "cannot fill the world %s: %s", tmpl,
		                      sw_sys_strerror(e, t, sizeof t));
	}
	host_secret(o);
	*out = o;
	return 0;
}

void sw_oracle_del(sw_oracle *o, bool keep)
{
	if (!o)
		return;
	if (!keep)
		sw_oracle_rmtree(o->world);
	sw__or_tree_free(&o->outside_before);
	sw__or_tree_free(&o->inside_before);
	free(o);
}

const char *sw_oracle_root(const sw_oracle *o)
{
	return o->root;
}

const char *sw_oracle_world(const sw_oracle *o)
{
	return o->world;
}

const char *sw_oracle_outside(const sw_oracle *o)
{
	return o->outside;
}

/* ---- Trees ------------------------------------------------------------------- */

int sw_oracle_arm(sw_oracle *o, bool read_only)
{
	sw__or_tree_free(&o->outside_before);
	sw__or_tree_free(&o->inside_before);
	o->armed = false;
	o->read_only = read_only;
	int rc = sw__or_tree_take(o->world, "srv/root", true, &o->outside_before);
	if (rc == 0 && read_only)
		rc = sw__or_tree_take(o->root, NULL, true, &o->inside_before);
	o->armed = rc == 0;
	return rc;
}

int sw_oracle_check_tree(const sw_oracle *o, sw_oracle_report *rep)
{
	if (!o->armed)
		return SW_ERR_STATE;
	sw__or_tree now;
	int rc = sw__or_tree_take(o->world, "srv/root", false, &now);
	if (rc < 0)
		return rc;
	size_t before = rep->n;
	char prefix[64];
	rc = sw__or_tree_diff(&o->outside_before, &now, o->world, "", SW_ORACLE_OUTSIDE,
	                      MAX_TREE_FINDINGS, rep);
	sw__or_tree_free(&now);
	if (rc >= 0 && o->read_only) {
		rc = sw__or_tree_take(o->root, NULL, false, &now);
		snprintf(prefix, sizeof prefix, "srv/root/");
		if (rc == 0)
			rc = sw__or_tree_diff(&o->inside_before, &now, o->root, prefix,
			                      SW_ORACLE_INSIDE, MAX_TREE_FINDINGS, rep);
		sw__or_tree_free(&now);
	}
	return rc < 0 ? rc : (int)(rep->n - before);
}

bool sw_oracle_tree_changed(const sw_oracle *o)
{
	if (!o->armed)
		return false;
	sw__or_tree now;
	if (sw__or_tree_take(o->world, "srv/root", false, &now) < 0)
		return false;
	int d = sw__or_tree_diff(&o->outside_before, &now, NULL, "", SW_ORACLE_OUTSIDE, 0, NULL);
	sw__or_tree_free(&now);
	if (d == 0 && o->read_only && sw__or_tree_take(o->root, NULL, false, &now) == 0) {
		d = sw__or_tree_diff(&o->inside_before, &now, NULL, "", SW_ORACLE_INSIDE, 0, NULL);
		sw__or_tree_free(&now);
	}
	return d != 0;
}

/* ---- The host's /etc, read once per process (read-only afterwards) ---------- */

static char host_names[HOST_NAMES][64];
static size_t nhost_names;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void read_host_names(void)
{
	DIR *d = opendir("/etc");
	if (!d)
		return;
	struct dirent *de;
	while (nhost_names < HOST_NAMES && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n >= HOST_NAME_MIN && n < sizeof host_names[0])
			memcpy(host_names[nhost_names++], de->d_name, n + 1);
	}
	closedir(d);
}

/* ---- Scanning ------------------------------------------------------------------ */

/* A view of the peer's bytes: raw, or with one kind of escape undone; map[i]
 * is the raw offset of view byte i (NULL for the raw view). */
typedef struct view {
	const uint8_t *p;
	size_t n;
	size_t *map;
	uint8_t *own;
} view;

static void view_free(view *v)
{
	free(v->map);
	free(v->own);
}

/* kind 1: %XX;  kind 2: Python repr escapes \xNN \n \r \t \\ \' \". */
static int unescape_view(const uint8_t *p, size_t n, int kind, view *v)
{
	memset(v, 0, sizeof *v);
	v->own = malloc(n + 1);
	v->map = malloc((n + 1) * sizeof *v->map);
	if (!v->own || !v->map) {
		view_free(v);
		return SW_ERR_NOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		v->map[k] = i;
		if (kind == 1 && p[i] == '%' && i + 2 < n && sw_hex_value(p[i + 1]) >= 0 &&
		    sw_hex_value(p[i + 2]) >= 0) {
			v->own[k++] =
			    (uint8_t)(sw_hex_value(p[i + 1]) * 16 + sw_hex_value(p[i + 2]));
			i += 3;
		} else if (kind == 2 && p[i] == '\\' && i + 3 < n && p[i + 1] == 'x' &&
		           sw_hex_value(p[i + 2]) >= 0 && sw_hex_value(p[i + 3]) >= 0) {
			v->own[k++] =
			    (uint8_t)(sw_hex_value(p[i + 2]) * 16 + sw_hex_value(p[i + 3]));
			i += 4;
		} else if (kind == 2 && p[i] == '\\' && i + 1 < n && strchr("nrt\\'\"", p[i + 1])) {
			uint8_t c = p[i + 1];
			v->own[k++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
			i += 2;
		} else {
			v->own[k++] = p[i++];
		}
	}
	v->p = v->own;
	v->n = k;
	return 0;
}

static bool contains(const view *v, const void *needle, size_t len, size_t *at)
{
	if (!v->n || len > v->n)
		return false;
	const uint8_t *m = memmem(v->p, v->n, needle, len);
	if (!m)
		return false;
	size_t off = (size_t)(m - v->p);
	*at = v->map ? v->map[off] : off;
	return true;
}

/* The first place a window of `token` of `win` bytes shows in the view. */
static bool find_windows(const view *v, const char *token, size_t win, size_t *at)
{
	size_t tl = strlen(token);
	for (size_t k = 0; k + win <= tl; k++)
		if (contains(v, token + k, win, at))
			return true;
	return false;
}

static void quote_at(sw_buf *out, const uint8_t *p, size_t n, size_t at)
{
	size_t s = at > 24 ? at - 24 : 0, e = at + 56 < n ? at + 56 : n;
	char tmp[8];
	sw_buf_append_byte(out, '"');
	for (size_t i = s; i < e; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
			sw_buf_append_byte(out, p[i]);
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", p[i]);
			sw_buf_append_str(out, tmp);
		}
	}
	sw_buf_append_byte(out, '"');
}

static int finding(sw_oracle_report *rep, sw_oracle_kind kind, const char *secret, const char *what,
                   const uint8_t *recv, size_t n, size_t at, int view_kind)
{
	sw_buf t;
	sw_buf_init(&t, NULL);
	char head[512];
	snprintf(head, sizeof head, "%s of %s at offset %zu%s: ", what, secret, at,
	         view_kind == 1   ? " (%-escaped)"
	         : view_kind == 2 ? " (repr-escaped)"
	                          : "");
	sw_buf_append_str(&t, head);
	quote_at(&t, recv, n, at);
	sw_buf_append_byte(&t, 0);
	int rc = t.data ? sw__or_add(rep, kind, at, secret, (const char *)t.data) : SW_ERR_NOMEM;
	sw_buf_fini(&t);
	return rc;
}

int sw_oracle_scan(const sw_oracle *o, const uint8_t *recv, size_t n, const uint8_t *sent, size_t m,
                   sw_oracle_report *rep)
{
	view rv[3] = {{.p = recv, .n = n}}, sv[2] = {{.p = sent, .n = m}};
	int rc = unescape_view(recv, n, 1, &rv[1]);
	if (rc == 0)
		rc = unescape_view(recv, n, 2, &rv[2]);
	if (rc == 0)
		rc = unescape_view(sent, m, 1, &sv[1]);
	int found = 0;
	for (size_t i = 0; i < o->ns && rc == 0; i++) {
		const secret_file *s = &o->s[i];
		size_t at = 0;
		for (int k = 0; k < 3 && s->token[0]; k++)
			if (find_windows(&rv[k], s->token, CONTENT_WINDOW, &at)) {
				rc = finding(rep, SW_ORACLE_CONTENT, s->rel, "the content", recv, n,
				             at, k);
				found++;
				break;
			}
		if (rc < 0 || !s->name[0])
			continue;
		size_t dummy;
		if (contains(&sv[0], s->name, NAME_TOKEN, &dummy) ||
		    contains(&sv[1], s->name, NAME_TOKEN, &dummy))
			continue; /* the client's own words */
		for (int k = 0; k < 3; k++)
			if (contains(&rv[k], s->name, NAME_TOKEN, &at)) {
				rc = finding(rep, SW_ORACLE_NAME, s->rel, "the name", recv, n, at,
				             k);
				found++;
				break;
			}
	}
	if (rc == 0 && o->host[0]) {
		size_t at = 0;
		for (int k = 0; k < 3; k++)
			if (find_windows(&rv[k], o->host, HOST_WINDOW, &at)) {
				rc = finding(rep, SW_ORACLE_CONTENT, "/etc/passwd", "the content",
				             recv, n, at, k);
				found++;
				break;
			}
	}
	/* A listing of /etc (through a link to it, or climbing there). */
	pthread_once(&host_once, read_host_names);
	size_t seen = 0, first_at = 0;
	for (size_t i = 0; rc == 0 && i < nhost_names && seen < HOST_NAMES_SEEN; i++) {
		size_t at, dummy;
		size_t nl = strlen(host_names[i]);
		if (contains(&sv[0], host_names[i], nl, &dummy) ||
		    !contains(&rv[0], host_names[i], nl, &at))
			continue;
		if (seen++ == 0 || at < first_at)
			first_at = at;
	}
	if (rc == 0 && seen >= HOST_NAMES_SEEN) {
		rc = finding(rep, SW_ORACLE_NAME, "/etc", "a listing (names of its entries)", recv,
		             n, first_at, 0);
		found++;
	}
	for (int k = 1; k < 3; k++)
		view_free(&rv[k]);
	view_free(&sv[1]);
	return rc < 0 ? rc : found;
}
