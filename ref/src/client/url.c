/*
 * Client URLs (bzr://, bzr+ssh://, pipe://) and the URL-escaped wire paths
 * of VFS requests, after Breezy's urlutils (normalize_url, URL.from_string,
 * URL._combine_paths).  See smartwire/url.h.
 */
#include "smartwire/url.h"

#include <stdbool.h>
#include <string.h>

#include "smartwire/error.h"
#include "smartwire/hex.h"


static bool is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* urlutils._url_dont_escape_characters: an escape of one of these is always
 * decoded. */
static bool dont_escape(uint8_t c)
{
	return is_alnum(c) || (c && strchr("-._~", c));
}

/* urlutils._url_safe_characters: left as they are by normalize_url. */
static bool url_safe(uint8_t c)
{
	return is_alnum(c) || (c && strchr("_.-!~*'()/;?:@&=+$,%#", c));
}

/* Step 1 of the wire path: normalize_url applied to the path part. */
static int normalize(sw_buf *out, const uint8_t *p, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t c = p[i];
		if (c == '%' && i + 2 < n && sw_hex_value(p[i + 1]) >= 0 && sw_hex_value(p[i + 2]) >= 0) {
			uint8_t v = (uint8_t)(sw_hex_value(p[i + 1]) * 16 + sw_hex_value(p[i + 2]));
			if (dont_escape(v)) {
				rc = sw_buf_append_byte(out, v);
			} else {
				uint8_t e[3] = {'%', (uint8_t)sw_hex_upper(v >> 4), (uint8_t)sw_hex_upper(v)};
				rc = sw_buf_append(out, e, 3);
			}
			i += 2;
		} else if (url_safe(c)) {
			rc = sw_buf_append_byte(out, c);
		} else {
			uint8_t e[3] = {'%', (uint8_t)sw_hex_upper(c >> 4), (uint8_t)sw_hex_upper(c)};
			rc = sw_buf_append(out, e, 3);
		}
	}
	return rc;
}

int sw_url_escape_path(sw_buf *out, const void *path, size_t n)
{
	sw_buf norm;
	sw_buf_init(&norm, out->mem);
	int rc = normalize(&norm, path, n);
	size_t start = out->len;
	/* Step 2, _combine_paths("/", path): resolve segments in place in
	 * `out`, each kept segment written as "/seg". */
	for (size_t i = 0; rc == 0 && i < norm.len;) {
		size_t j = i;
		while (j < norm.len && norm.data[j] != '/')
			j++;
		const uint8_t *seg = norm.data + i;
		size_t len = j - i;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			/* Drop the last "/seg"; at the root ".." is ignored. */
			while (out->len > start && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;
		} else if (len > 0 && !(len == 1 && seg[0] == '.')) {
			rc = sw_buf_append_byte(out, '/');
			if (rc == 0)
				rc = sw_buf_append(out, seg, len);
		}
		i = j + 1;
	}
	if (rc == 0 && out->len == start)
		rc = sw_buf_append_byte(out, '/');
	sw_buf_fini(&norm);
	return rc;
}

/* A NUL-terminated copy of p[0..n), with "%XX" escapes decoded when
 * `decode`.  Returns NULL on allocation failure or, when decoding, if the
 * result would contain a NUL byte (*bad is then set). */
static char *copy_str(const sw_mem *mem, const char *p, size_t n, bool decode, bool *bad)
{
	char *s = sw_malloc(mem, n + 1);
	if (!s)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (decode && p[i] == '%' && i + 2 < n && sw_hex_value((uint8_t)p[i + 1]) >= 0 &&
		    sw_hex_value((uint8_t)p[i + 2]) >= 0) {
			s[k] = (char)(sw_hex_value((uint8_t)p[i + 1]) * 16 + sw_hex_value((uint8_t)p[i + 2]));
			i += 2;
			if (s[k] == '\0') {
				*bad = true;
				sw_free(mem, s);
				return NULL;
			}
			k++;
		} else {
			s[k++] = p[i];
		}
	}
	s[k] = '\0';
	return s;
}

void sw_url_fini(sw_url *u, const sw_mem *mem)
{
	if (!u)
		return;
	sw_free(mem, u->user);
	sw_free(mem, u->host);
	sw_free(mem, u->path);
	memset(u, 0, sizeof *u);
}

static int parse_port(const char *p, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return SW_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return SW_ERR_INVALID_ARGUMENT;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return SW_ERR_INVALID_ARGUMENT;
	*port = (uint16_t)v;
	return 0;
}

/* Splits the authority [user[:password]@]host[:port] into *u. */
static int parse_authority(const char *a, size_t n, const sw_mem *mem, sw_url *u)
{
	bool bad = false;
	const char *host = a;
	size_t hostlen = n;
	for (size_t i = n; i > 0; i--) {
		if (a[i - 1] == '@') {
			size_t ulen = i - 1;
			const char *colon = memchr(a, ':', ulen);
			if (colon)
				ulen = (size_t)(colon - a); /* the password is ignored */
			u->user = copy_str(mem, a, ulen, true, &bad);
			if (!u->user)
				return bad ? SW_ERR_INVALID_ARGUMENT : SW_ERR_NOMEM;
			host = a + i;
			hostlen = n - i;
			break;
		}
	}
	bool bracketed = hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']';
	if (!bracketed) {
		for (size_t i = hostlen; i > 0; i--) {
			if (host[i - 1] == ':') {
				/* An empty port is no port, as in Breezy. */
				if (i < hostlen && parse_port(host + i, hostlen - i, &u->port) < 0)
					return SW_ERR_INVALID_ARGUMENT;
				hostlen = i - 1;
				break;
			}
		}
		bracketed = hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']';
	}
	if (bracketed) {
		host++;
		hostlen -= 2;
	}
	u->host = copy_str(mem, host, hostlen, true, &bad);
	if (!u->host)
		return bad ? SW_ERR_INVALID_ARGUMENT : SW_ERR_NOMEM;
	if (u->host[0] == '-')
		return SW_ERR_INVALID_ARGUMENT;
	return 0;
}

static int parse(const char *url, const sw_mem *mem, sw_url *u)
{
	static const struct {
		const char *prefix;
		sw_url_scheme scheme;
	} schemes[] = {
		{"bzr://", SW_URL_BZR},
		{"bzr+ssh://", SW_URL_BZR_SSH},
		{"pipe://", SW_URL_PIPE},
	};
	const char *rest = NULL;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i].prefix);
		if (strncmp(url, schemes[i].prefix, n) == 0) {
			u->scheme = schemes[i].scheme;
			rest = url + n;
			break;
		}
	}
	if (!rest)
		return SW_ERR_INVALID_ARGUMENT;
	size_t alen = strcspn(rest, "/?");
	int rc = parse_authority(rest, alen, mem, u);
	if (rc < 0)
		return rc;
	if (u->scheme == SW_URL_PIPE ? (u->host[0] || u->port) : !u->host[0])
		return SW_ERR_INVALID_ARGUMENT;
	if (u->user && u->scheme != SW_URL_BZR_SSH)
		return SW_ERR_INVALID_ARGUMENT;
	const char *path = rest + alen;
	size_t plen = strcspn(path, "?");
	sw_buf b;
	sw_buf_init(&b, mem);
	rc = sw_url_escape_path(&b, path, plen);
	if (rc == 0)
		rc = sw_buf_append_byte(&b, '\0');
	if (rc < 0) {
		sw_buf_fini(&b);
		return rc;
	}
	u->path = (char *)b.data; /* the buffer's bytes now belong to *u */
	return 0;
}

int sw_url_parse(sw_url *out, const char *url, const sw_mem *mem)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	memset(out, 0, sizeof *out);
	if (!url)
		return SW_ERR_INVALID_ARGUMENT;
	int rc = parse(url, mem, out);
	if (rc < 0)
		sw_url_fini(out, mem);
	return rc;
}
