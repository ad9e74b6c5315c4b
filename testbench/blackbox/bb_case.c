/*
 * A finding as a conformance case (conformance/FORMAT.md): the session's
 * requests as `send` lines (raw byte expressions, or v3 requests with the
 * captured tokens as {capN}), each followed by an `expect` that any correct
 * server meets (an answer in the request's version, whatever its status,
 * with or without a body), and for the class found the expectation it
 * broke: no end of stream for a crash, a bound for a hang, a hello answered
 * ("ok", "2") after a desync.  Security findings need no expectation: the
 * runner's oracle fails the case.  `smartwire conform --cases FILE` with the
 * same target reproduces it; the raw bytes go beside it as NAME.session.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bb_impl.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"

/* One quoted term: printable ASCII as itself, the rest escaped; braces
 * escaped so that no placeholder is expanded. */
static int quoted(sw_buf *out, const uint8_t *p, size_t n, bool vars)
{
	int rc = sw_buf_append_byte(out, '"');
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t c = p[i];
		char t[8];
		if (c == '"' || c == '\\')
			snprintf(t, sizeof t, "\\%c", c);
		else if (c == '{' && !vars)
			snprintf(t, sizeof t, "\\{");
		else if (c == '\n')
			snprintf(t, sizeof t, "\\n");
		else if (c >= 0x20 && c < 0x7f && c != '#')
			snprintf(t, sizeof t, "%c", c);
		else
			snprintf(t, sizeof t, "\\x%02x", c);
		rc = sw_buf_append_str(out, t);
	}
	return rc ? rc : sw_buf_append_byte(out, '"');
}

int sw__bb_expr(sw_buf *out, const uint8_t *p, size_t n)
{
	if (!n)
		return sw_buf_append_str(out, "''");
	size_t i = 0, lit = 0;
	int rc = 0;
	bool first = true;
	while (i <= n && !rc) {
		size_t run = 1;
		while (i < n && i + run < n && p[i + run] == p[i])
			run++;
		if (i == n || run >= 24) {
			if (i > lit) {
				if (!first)
					rc = sw_buf_append_byte(out, ' ');
				if (!rc)
					rc = quoted(out, p + lit, i - lit, false);
				first = false;
			}
			if (i == n)
				break;
			char t[48];
			snprintf(t, sizeof t, "%srepeat{%zu ", first ? "" : " ", run);
			if (!rc)
				rc = sw_buf_append_str(out, t);
			if (!rc)
				rc = quoted(out, p + i, 1, false);
			if (!rc)
				rc = sw_buf_append_byte(out, '}');
			first = false;
			i += run;
			lit = i;
		} else
			i += run;
	}
	return rc;
}

static void alts(FILE *f, int version, bool eof, const char *within)
{
	switch (version) {
	case 1:
		fprintf(f, "expect  v1 response ...%s\nor      v1 response ... body *%s\n", within,
		        within);
		break;
	case 2:
		fprintf(f,
		        "expect  v2 response * ...%s\nor      v2 response * ... body *%s\n"
		        "or      v2 response * ... chunks *%s\n",
		        within, within, within);
		break;
	default:
		fprintf(f,
		        "expect  v3 response * ...%s\nor      v3 response * ... body *%s\n"
		        "or      v3 response error UnknownMethod ...%s\n"
		        "or      v3 response * ... body * stream-error ...%s\n",
		        within, within, within, within);
		break;
	}
	if (eof)
		fprintf(f, "or      eof%s\n", within);
}

static bool writable_v3(const sw_bb_req *r)
{
	return !r->raw && r->version == 3 && !r->nops && !r->abort && r->nparts <= 1 &&
	       r->shape == SW_BB_WHOLE;
}

static int send_line(FILE *f, const sw_bb_session *s, size_t k, const bool *declared, sw_buf *tmp)
{
	const sw_bb_req *r = &s->v[k];
	bool uses = false;
	for (size_t i = 0; i < r->nargs; i++)
		uses |= r->argcap[i] >= 0 && r->argcap[i] < SW_BB_SLOTS && declared[r->argcap[i]];
	tmp->len = 0;
	if (uses && writable_v3(r)) {
		fputs("send    v3 request", f);
		for (size_t i = 0; i < r->nargs; i++) {
			tmp->len = 0;
			if (r->argcap[i] >= 0 && declared[r->argcap[i]])
				fprintf(f, " \"{cap%d}\"", r->argcap[i]);
			else {
				quoted(tmp, r->arg[i], r->argn[i], false);
				fprintf(f, " %.*s", (int)tmp->len, (const char *)tmp->data);
			}
		}
		if (r->has_body) {
			tmp->len = 0;
			sw__bb_expr(tmp, r->body, r->nbody);
			fprintf(f, " body %.*s", (int)tmp->len, (const char *)tmp->data);
		}
		fputc('\n', f);
		return 0;
	}
	sw_buf enc;
	sw_buf_init(&enc, NULL);
	int rc = sw_bb_encode(r, NULL, &enc);
	size_t n = enc.len;
	if (r->shape == SW_BB_CUT)
		n = n ? r->k % n : 0;
	if (!rc)
		rc = sw__bb_expr(tmp, enc.data, n);
	sw_buf_fini(&enc);
	if (rc < 0)
		return rc;
	fprintf(f, "send    raw %.*s\n", (int)tmp->len, (const char *)tmp->data);
	if (r->shape == SW_BB_CUT || r->shape == SW_BB_HALFCLOSE)
		fputs("close\n", f);
	return 0;
}

static void sanitize(char *d, size_t cap, const char *s)
{
	size_t o = 0;
	for (; *s && o + 1 < cap; s++)
		d[o++] = isalnum((unsigned char)*s) ? (char)tolower((unsigned char)*s) : '-';
	d[o] = 0;
}

int sw_bb_write_case(const char *dir, const char *name, const sw_bb_session *s,
                     const sw_bb_outcome *fd, uint64_t seed, uint64_t run)
{
	char path[4096];
	mkdir(dir, 0777);
	snprintf(path, sizeof path, "%s/%s.session", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return SW_ERR_IO;
	fwrite(fd->tx.data ? fd->tx.data : (const uint8_t *)"", 1, fd->tx.len, f);
	if (fclose(f) != 0)
		return SW_ERR_IO;
	snprintf(path, sizeof path, "%s/%s.case", dir, name);
	if (!(f = fopen(path, "w")))
		return SW_ERR_IO;
	char id[160], note[1200];
	sanitize(id, sizeof id, name);
	snprintf(note, sizeof note, "%s", fd->detail ? fd->detail : "");
	for (char *p = note; *p; p++)
		if (*p == '\n' || *p == '\r' || (unsigned char)*p < 0x20)
			*p = ' ';
	fprintf(f, "# Found by `smartwire fuzz --seed %llu` (run %llu), minimised.\n",
	        (unsigned long long)seed, (unsigned long long)run);
	fprintf(f, "# The raw bytes sent: %s.session\n", name);
	fprintf(f, "case    fuzz.%s\n", id);
	fprintf(f, "title   fuzz finding: %s at request %zu (v%d %s)\n", sw_bb_class_name(fd->cls),
	        fd->at + 1, fd->version, fd->verb);
	fprintf(f, "ref     testbench/blackbox (oracle: %s)\n", sw_bb_class_name(fd->cls));
	fprintf(f, "level   MUST\nrole    server\ntags    fuzz %s\nsweep   off\ntrailing any\n",
	        sw_bb_class_name(fd->cls));
	if (fd->cls == SW_BB_ESCAPE)
		fputs("keep-going\n", f);
	fprintf(f, "note    %s\n", note);
	if (fd->cls == SW_BB_RESOURCE)
		fputs("note    (a resource finding: the runner does not measure memory; run the\n"
		      "note    session again with smartwire fuzz to see it)\n",
		      f);
	if (s->bzr_fixture)
		fputs("fixture bzr-2a\n", f);
	if (s->allow_writes)
		fputs("option  allow-writes\n", f);
	bool declared[SW_BB_SLOTS] = {false};
	sw_buf tmp;
	sw_buf_init(&tmp, NULL);
	size_t last = fd->cls == SW_BB_ESCAPE || fd->cls == SW_BB_RESOURCE || fd->at >= s->n
	                  ? s->n - 1
	                  : fd->at;
	int rc = 0;
	/* The server's view of the bytes, as bb_exec.c models it: each send
	 * is followed by one expectation per request the server can read by
	 * then (a mutated request may be read as several, or end later). */
	sw_buf stream, enc;
	sw_buf_init(&stream, NULL);
	sw_buf_init(&enc, NULL);
	size_t spos = 0;
	for (size_t k = 0; k <= last && k < s->n && !rc; k++) {
		const sw_bb_req *r = &s->v[k];
		rc = send_line(f, s, k, declared, &tmp);
		if (rc)
			break;
		sw_bb_encode(r, NULL, &enc);
		sw_buf_append(&stream, enc.data,
		              r->shape == SW_BB_CUT ? (enc.len ? r->k % enc.len : 0) : enc.len);
		bool culprit = k == last;
		if (r->pipelined && !culprit)
			continue; /* answered after the requests it goes with */
		if (r->shape == SW_BB_CUT || r->shape == SW_BB_HALFCLOSE) {
			if (fd->cls == SW_BB_HANG)
				fputs("expect  eof within 3s\n", f);
			break;
		}
		/* the requests readable now */
		int vers[64];
		size_t nreq = 0;
		while (spos < stream.len && nreq < 64) {
			size_t len = 0;
			sw_bb_req q;
			sw_bb_cut c = sw_bb_cut_request(stream.data + spos, stream.len - spos,
			                                false, &len, &q);
			sw_bb_session t = {.n = 1};
			t.v[0] = q;
			sw_bb_session_free(&t);
			if (c == SW_BB_NEED)
				break;
			vers[nreq++] = q.version ? q.version : 1;
			spos += len ? len : stream.len - spos;
			if (c == SW_BB_BAD) {
				spos = stream.len;
				break;
			}
		}
		for (size_t q = 0; q < nreq; q++) {
			int v = vers[q];
			bool end = culprit && q + 1 == nreq;
			if (!end) {
				if (!culprit && q + 1 == nreq && r->capture_slot >= 0 &&
				    writable_v3(r)) {
					fputs("expect  v3 response success ...\n", f);
					fprintf(f, "capture cap%d arg %d\n", r->capture_slot,
					        r->capture_arg);
					declared[r->capture_slot] = true;
				} else
					alts(f, v, fd->cls == SW_BB_ESCAPE, "");
				continue;
			}
			switch (fd->cls) {
			case SW_BB_CRASH: alts(f, v, false, ""); break;
			case SW_BB_HANG: alts(f, v, true, " within 3s"); break;
			case SW_BB_DESYNC:
				alts(f, v, true, "");
				if (v == 3)
					fputs("send    v3 request hello\n"
					      "expect  v3 response success ok 2\n",
					      f);
				else if (v == 2)
					fputs("send    v2 request hello\n"
					      "expect  v2 response success ok 2\n",
					      f);
				else
					fputs(
					    "send    v1 request hello\nexpect  v1 response ok 2\n",
					    f);
				fputs("or      eof\n", f);
				break;
			case SW_BB_DIVERGENCE:
				fprintf(f, "expect  v%d response * ... same as reference\n", v);
				break;
			default: alts(f, v, true, ""); break;
			}
		}
		if (culprit && !nreq && fd->cls == SW_BB_HANG)
			alts(f, fd->version ? fd->version : 3, true, " within 3s");
	}
	sw_buf_fini(&stream);
	sw_buf_fini(&enc);
	sw_buf_fini(&tmp);
	if (fclose(f) != 0 || rc)
		return SW_ERR_IO;
	return 0;
}
