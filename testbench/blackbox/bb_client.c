/*
 * The client side: we play the server.  The adapter (conformance/adapters/,
 * `CMD {url} OP ARGS`) performs one operation; every connection it makes
 * gets the answer a server would give to its request (by verb), encoded
 * with our encoders and then mutated with the same structure-aware byte
 * operators as requests (bb_encode.c), and is closed.  Oracles:
 *   crash   the adapter was killed by a signal, exited with a status other
 *           than 0 / 1, or printed a traceback;
 *   hang    it did not finish within the bound after we closed;
 *   client  it failed with an internal error of the implementation (a
 *           Python TypeError, IndexError, KeyError...: adapters report
 *           "error other <ExceptionClass>: ...") instead of a protocol error.
 */
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bb_impl.h"
#include "conform/conform_target.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

static const char *const client_ops[] = {"get testfile",
                                         "has testfile",
                                         "stat testfile",
                                         "list_dir .",
                                         "readv readvfile 0,3",
                                         "call hello",
                                         "call_expecting_body get /testfile",
                                         "call_streamed Repository.get_stream x",
                                         "mkdir newdir",
                                         "put newfile abc"};

/* The unmutated answer to `verb`. */
static void base_answer(const char *verb, int version, uint64_t *st, sw_buf *out)
{
	sw_slice a[3];
	size_t n = 1;
	const char *body = NULL;
	a[0] = (sw_slice){(const uint8_t *)"ok", 2};
	if (strcmp(verb, "get") == 0)
		body = "contents\nof\nfile\n";
	else if (strcmp(verb, "readv") == 0) {
		a[0] = (sw_slice){(const uint8_t *)"readv", 5};
		body = "012";
	} else if (strcmp(verb, "has") == 0)
		a[0] = (sw_slice){(const uint8_t *)"yes", 3};
	else if (strcmp(verb, "stat") == 0) {
		a[0] = (sw_slice){(const uint8_t *)"stat", 4};
		a[1] = (sw_slice){(const uint8_t *)"17", 2};
		a[2] = (sw_slice){(const uint8_t *)"0100644", 7};
		n = 3;
	} else if (strcmp(verb, "list_dir") == 0) {
		a[0] = (sw_slice){(const uint8_t *)"names", 5};
		a[1] = (sw_slice){(const uint8_t *)"dir", 3};
		n = 2;
	} else if (strcmp(verb, "hello") == 0) {
		a[1] = (sw_slice){(const uint8_t *)"2", 1};
		n = 2;
	} else if (strcmp(verb, "Repository.get_stream") == 0)
		body = "Bazaar pack format 1 (introduced in 0.18)\nE";
	bool fail = sw_bb_below(st, 6) == 0;
	if (fail) {
		a[0] = (sw_slice){(const uint8_t *)"error", 5};
		a[1] = (sw_slice){(const uint8_t *)"boom", 4};
		n = 2;
		body = NULL;
	}
	sw_slice b = {(const uint8_t *)body, body ? strlen(body) : 0};
	if (version == 3)
		sw_v3_encode_response(out, NULL, 0, !fail, a, n, body ? &b : NULL);
	else if (version == 2 && body && sw_bb_below(st, 2))
		sw_v12_encode_response_stream(out, 2, !fail, a, n, &b, 1, false, NULL, 0);
	else
		sw_v12_encode_response(out, version, !fail, a, n, body ? &b : NULL);
}

static void answer(sw_medium *m, const uint8_t *req, size_t n, uint64_t *st, sw_buf *tx,
                   int64_t bound)
{
	sw_bb_req r;
	size_t len = 0;
	sw_buf in;
	sw_buf_init(&in, NULL);
	sw_buf_append(&in, req, n);
	int64_t deadline = sw_clock_ms() + bound;
	sw_bb_cut c;
	while ((c = sw_bb_cut_request(in.data, in.len, false, &len, &r)) == SW_BB_NEED) {
		sw_bb_session tmp = {.n = 1};
		tmp.v[0] = r;
		sw_bb_session_free(&tmp);
		int64_t left = deadline - sw_clock_ms();
		if (left <= 0 || sw_medium_wait_readable(m, (int)left) != 1)
			break;
		uint8_t b[8192];
		ptrdiff_t k = sw_medium_read(m, b, sizeof b);
		if (k <= 0)
			break;
		sw_buf_append(&in, b, (size_t)k);
	}
	char verb[64] = "?";
	int version = 3;
	if (c != SW_BB_NEED) {
		sw_bb_req_verb(&r, verb, sizeof verb);
		version = r.version;
		sw_bb_session tmp = {.n = 1};
		tmp.v[0] = r;
		sw_bb_session_free(&tmp);
	}
	sw_bb_req resp;
	memset(&resp, 0, sizeof resp);
	resp.raw = true;
	sw_buf base;
	sw_buf_init(&base, NULL);
	base_answer(verb, version, st, &base);
	resp.body = base.data;
	resp.nbody = base.len;
	static const uint8_t kinds[] = {SW_BB_OP_LEN,  SW_BB_OP_MARKER, SW_BB_OP_BENC,
	                                SW_BB_OP_BODY, SW_BB_OP_BYTE,   SW_BB_OP_DICT,
	                                SW_BB_OP_SEP};
	resp.nops = 1 + sw_bb_below(st, 3);
	for (size_t i = 0; i < resp.nops; i++) {
		resp.ops[i].kind = kinds[sw_bb_below(st, sizeof kinds)];
		resp.ops[i].sub = (uint8_t)sw_bb_rand(st);
		resp.ops[i].pos = (uint32_t)sw_bb_rand(st);
		resp.ops[i].val = (uint32_t)sw_bb_rand(st);
	}
	sw_buf enc;
	sw_buf_init(&enc, NULL);
	sw_bb_encode(&resp, NULL, &enc);
	sw_medium_write_all(m, enc.data, enc.len, NULL);
	sw_buf_append(tx, enc.data, enc.len);
	sw_buf_fini(&enc);
	sw_buf_fini(&base);
	sw_buf_fini(&in);
}

static bool internal_error(const char *line)
{
	static const char *const ex[] = {
	    "TypeError",    "IndexError",       "KeyError",           "AttributeError",
	    "ValueError",   "AssertionError",   "UnicodeDecodeError", "UnboundLocalError",
	    "NameError",    "RecursionError",   "OverflowError",      "ZeroDivisionError",
	    "struct.error", "error other error"};
	if (strncmp(line, "error other ", 12) != 0)
		return false;
	for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++)
		if (strncmp(line + 12, ex[i], strlen(ex[i])) == 0)
			return true;
	return false;
}

int sw_bb_exec_client(const sw_bb_opts *o, const sw_bb_seeds *seeds, uint64_t seed, uint64_t run,
                      sw_bb_outcome *out)
{
	(void)seeds;
	memset(out, 0, sizeof *out);
	sw_buf_init(&out->rx, NULL);
	sw_buf_init(&out->tx, NULL);
	out->exit_status = -1;
	uint64_t st = seed * 0x2545f4914f6cdd1dull ^ (run + 1) * 0x9e3779b97f4a7c15ull;
	const char *op =
	    o->client_op ? o->client_op
	                 : client_ops[sw_bb_below(&st, sizeof client_ops / sizeof client_ops[0])];
	sw_cf_session_spec spec = {.role = SW_CF_ROLE_CLIENT, .client_op = op};
	sw_cf_session *S = NULL;
	sw_errinfo ei;
	int64_t bound = o->hang_ms ? o->hang_ms : 5000;
	char line[512] = "";
	if (sw_cf_session_open(&S, &o->cf, &spec, &ei) < 0) {
		out->infra = true;
		out->detail = strdup(ei.text);
	} else {
		sw_medium *proc = sw_cf_session_proc(S);
		int listen_fd = sw_cf_session_listen_fd(S);
		/* Every connection the adapter makes (it may retry) until it
		 * writes its result, at most 8. */
		int rfd = -1, wfd = -1;
		sw_medium_fds(proc, &rfd, &wfd);
		for (int conn = 0; conn < 8; conn++) {
			struct pollfd pf[2] = {{.fd = listen_fd, .events = POLLIN},
			                       {.fd = rfd, .events = POLLIN}};
			if (poll(pf, rfd >= 0 ? 2 : 1, (int)bound) <= 0 || !(pf[0].revents & POLLIN))
				break; /* the adapter is done (or silent): read its result */
			sw_medium *m = NULL;
			if (sw_tcp_accept(&m, listen_fd, (int)bound, NULL) < 0)
				break;
			size_t before = out->rx.len;
			if (sw_medium_wait_readable(m, (int)bound) == 1) {
				uint8_t b[8192];
				ptrdiff_t k = sw_medium_read(m, b, sizeof b);
				if (k > 0)
					sw_buf_append(&out->rx, b, (size_t)k);
			}
			answer(m, out->rx.data ? out->rx.data + before : (const uint8_t *)"",
			       out->rx.len - before, &st, &out->tx, bound);
			sw_medium_del(m);
			if (out->nconn < 8)
				out->conn_end[out->nconn++] = out->tx.len;
		}
		/* The adapter's one line, then its end. */
		sw_buf so;
		sw_buf_init(&so, NULL);
		int64_t deadline = sw_clock_ms() + bound;
		bool eof = false;
		while (!eof && sw_clock_ms() < deadline) {
			int w = sw_medium_wait_readable(proc, (int)(deadline - sw_clock_ms()));
			if (w != 1)
				break;
			uint8_t b[4096];
			ptrdiff_t k = sw_medium_read(proc, b, sizeof b);
			if (k <= 0)
				eof = true;
			else
				sw_buf_append(&so, b, (size_t)k);
		}
		snprintf(line, sizeof line, "%.*s", (int)(so.len > 500 ? 500 : so.len),
		         so.data ? (const char *)so.data : "");
		line[strcspn(line, "\n")] = 0;
		sw_buf_fini(&so);
		snprintf(out->client_op, sizeof out->client_op, "%s", op);
		snprintf(out->verb, sizeof out->verb, "%s", op);
		char *sp = strchr(out->verb, ' ');
		if (sp)
			*sp = 0;
		if (!eof) {
			out->found = true;
			out->cls = SW_BB_HANG;
			out->detail = sw__bb_strf(
			    "client %s: no result within %lld ms after the server closed", op,
			    (long long)bound);
		} else if (internal_error(line)) {
			out->found = true;
			out->cls = SW_BB_CLIENT;
			char exc[40];
			snprintf(exc, sizeof exc, "%.39s", line + 12);
			exc[strcspn(exc, ": ")] = 0;
			snprintf(out->verb + strlen(out->verb),
			         sizeof out->verb - strlen(out->verb), ":%s", exc);
			out->detail = sw__bb_strf("client %s: %s", op, line);
		}
	}
	int s = -1;
	char *err = NULL;
	if (S)
		sw_cf_session_stop(S, &s, &err);
	out->exit_status = s;
	if (!out->infra && s != -1 &&
	    ((WIFSIGNALED(s) && WTERMSIG(s) != SIGTERM && WTERMSIG(s) != SIGKILL) ||
	     (WIFEXITED(s) && WEXITSTATUS(s) > 1) || (err && strstr(err, "Traceback")))) {
		free(out->detail);
		out->found = true;
		out->cls = SW_BB_CRASH;
		out->detail = sw__bb_strf("client %s: %s %d", op,
		                          WIFSIGNALED(s) ? "killed by signal" : "exit status",
		                          WIFSIGNALED(s) ? WTERMSIG(s) : WEXITSTATUS(s));
	}
	free(err);
	sw_cf_session_del(S);
	out->version = 3;
	return 0;
}

int sw_bb_write_client_case(const char *dir, const char *name, const sw_bb_outcome *f,
                            uint64_t seed, uint64_t run)
{
	char path[4096];
	mkdir(dir, 0777);
	snprintf(path, sizeof path, "%s/%s.case", dir, name);
	FILE *fp = fopen(path, "w");
	if (!fp)
		return SW_ERR_IO;
	const char *op = f->client_op[0] ? f->client_op : "get testfile";
	char id[128];
	size_t o = 0;
	for (const char *p = name; *p && o + 1 < sizeof id; p++)
		id[o++] = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p
		          : (*p >= 'A' && *p <= 'Z')                           ? (char)(*p + 32)
		                                                               : '-';
	id[o] = 0;
	char note[600];
	snprintf(note, sizeof note, "%s", f->detail ? f->detail : "");
	for (char *p = note; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	fprintf(fp, "# Found by `smartwire fuzz --client-cmd ... --seed %llu` (run %llu).\n",
	        (unsigned long long)seed, (unsigned long long)run);
	fprintf(fp, "# %s\n", note);
	fprintf(fp, "case    fuzz.%s\ntitle   fuzz finding: %s (client)\n", id,
	        sw_bb_class_name(f->cls));
	fprintf(fp, "ref     testbench/blackbox (client oracle)\nlevel   SHOULD\nrole    client\n");
	fprintf(fp, "client  %s\n", op);
	/* each connection the client made: its answer, then the close */
	sw_buf e;
	sw_buf_init(&e, NULL);
	size_t from = 0, nconn = f->nconn ? f->nconn : 1;
	for (size_t k = 0; k < nconn; k++) {
		size_t to = f->nconn ? f->conn_end[k] : f->tx.len;
		e.len = 0;
		sw__bb_expr(&e, f->tx.data ? f->tx.data + from : (const uint8_t *)"", to - from);
		fprintf(fp, "accept\nsend    raw %.*s\ndisconnect\n", (int)e.len,
		        e.data ? (const char *)e.data : "''");
		from = to;
	}
	sw_buf_fini(&e);
	fprintf(fp, "result  error %s\n", f->cls == SW_BB_CLIENT ? "protocol" : "*");
	return fclose(fp) == 0 ? 0 : SW_ERR_IO;
}
