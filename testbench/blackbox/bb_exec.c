/*
 * One session against a server target, and the oracles that judge it
 * without knowing the right answer.  The target, its fixture and the
 * security oracle's world are the conformance runner's (sw_cf_session_*:
 * conform/conform_target.h), so a
 * session runs exactly where a case would.
 *
 * The server's view of our bytes is modelled with our decoders: the bytes
 * sent so far are cut into requests as a server reads them (a mutated
 * request may end early, or swallow the next one), and every request that
 * is complete, or that a server must reject (it fails to decode), must get
 * one answer, or the connection must close, within the bound:
 *   hang       no answer and no close within the bound;
 *   malformed  the answer does not decode in the request's version;
 *   desync     after the session (or right after a request that failed to
 *              decode), a hello in the same version is answered with
 *              anything but ("ok", "2") (a close is fine), or answers arrive
 *              that no request asked for;
 *   crash      the target was killed by a signal, or a pipe server exited
 *              non-zero;
 *   escape     the runner's oracle (a secret in a reply, the world changed);
 *   resource   the server's peak memory grew past the bound (/proc).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bb_impl.h"
#include "conform/conform_target.h"
#include "smartwire/clock.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"
#include "smartwire/v3.h"

typedef struct ex {
	sw_cf_session *S;
	const sw_bb_opts *o;
	sw_bb_outcome *out;
	size_t rpos; /* bytes of rx taken by answers */
	int64_t bound;
	sw_bb_caps caps;
	bool closed;
	bool eof_sent;
	/* The model lost track of where the server is in our bytes: a v1/v2
	 * request with a body got an error, and a server may have answered it
	 * before reading the body (Breezy answers an argument error at once
	 * and reads the body as further requests; a handler failing on its
	 * body consumes it).  Nothing after it is judged but crashes and the
	 * security oracle. */
	bool lost;
	char last_verb[64]; /* the last request the server parsed */
	int last_version;
} ex;

void sw_bb_outcome_fini(sw_bb_outcome *o)
{
	free(o->detail);
	sw_buf_fini(&o->rx);
	sw_buf_fini(&o->tx);
	memset(o, 0, sizeof *o);
}

static int rank(sw_bb_class c)
{
	static const int r[SW_BB_NCLASS] = {0, 2, 3, 1, 5, 4, 6, 0};
	return r[c];
}

static void found(ex *E, sw_bb_class c, size_t at, const char *verb, int version, const char *fmt,
                  ...) __attribute__((format(printf, 6, 7)));
static void found(ex *E, sw_bb_class c, size_t at, const char *verb, int version, const char *fmt,
                  ...)
{
	sw_bb_outcome *o = E->out;
	if (o->found && rank(o->cls) <= rank(c))
		return;
	o->found = true;
	o->cls = c;
	o->at = at;
	o->version = version;
	sw_bb_verb_key(verb ? verb : "?", o->verb, sizeof o->verb);
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	free(o->detail);
	o->detail = strdup(tmp);
}

/* The received bytes from `off`, quoted (at most 160 bytes). */
static const char *quote_rx(ex *E, size_t off, char *buf, size_t cap)
{
	size_t n;
	const uint8_t *rx = sw_cf_session_rx(E->S, &n);
	if (off > n)
		off = n;
	sw_buf q;
	sw_buf_init(&q, NULL);
	sw__bb_expr(&q, rx + off, n - off > 160 ? 160 : n - off);
	snprintf(buf, cap, "%.*s%s", (int)q.len, q.data ? (const char *)q.data : "",
	         n - off > 160 ? " ..." : "");
	sw_buf_fini(&q);
	return buf;
}

/* Writes everything, draining the answers meanwhile so that a server busy
 * writing never deadlocks us; gives up at the bound (the server stopped
 * reading).  Returns 0 or -1 (closed or stuck). */
static int write_all(ex *E, const uint8_t *p, size_t n)
{
	int64_t deadline = sw_clock_ms() + E->bound;
	while (n) {
		size_t done = 0;
		int rc = sw_medium_write_all(sw_cf_session_conn(E->S), p, n, &done);
		sw_buf_append(&E->out->tx, p, done);
		sw_cf_session_sent(E->S, p, done);
		p += done;
		n -= done;
		if (rc == 0)
			return 0;
		if (rc != SW_ERR_WOULD_BLOCK || sw_clock_ms() >= deadline)
			return -1;
		int64_t d = sw_clock_ms() + 5;
		sw_cf_session_fill(E->S, d);
	}
	return 0;
}

static int write_shaped(ex *E, const uint8_t *p, size_t n, const sw_bb_req *r)
{
	if (!n)
		return 0;
	switch (r->shape) {
	case SW_BB_SPLIT: {
		size_t k = 1 + r->k % n;
		return write_all(E, p, k) < 0 ? -1 : write_all(E, p + k, n - k);
	}
	case SW_BB_DRIP:
		for (size_t i = 0; i < n; i++)
			if ((i < 512 ? write_all(E, p + i, 1) : write_all(E, p + i, n - i)) < 0 ||
			    i >= 512)
				return i >= 512 ? 0 : -1;
		return 0;
	case SW_BB_PAUSE:
		if (write_all(E, p, n / 2) < 0)
			return -1;
		sw__bb_sleep_ms((int64_t)((double)(r->k % 400) * E->o->cf.timeout_scale));
		return write_all(E, p + n / 2, n - n / 2);
	default: return write_all(E, p, n);
	}
}

/* Reads one answer in `version` to `verb`.  `want` >= 0: keep that
 * argument in *wanted. */
static sw_bb_answer read_answer(ex *E, int version, const char *verb, char *args, size_t cap,
                                int want, sw_buf *wanted)
{
	int64_t deadline = sw_clock_ms() + E->bound;
	for (;;) {
		size_t len = 0, n;
		sw_bb_answer cls;
		if (wanted)
			wanted->len = 0;
		sw_bb_cut r = SW_BB_NEED;
		const uint8_t *rx = sw_cf_session_rx(E->S, &n);
		bool eof = sw_cf_session_eof(E->S);
		if (n > E->rpos)
			r = sw_bb_cut_response(rx + E->rpos, n - E->rpos, version, verb, !eof, &len,
			                       &cls, args, cap, want, wanted);
		if (r == SW_BB_DONE) {
			E->rpos += len;
			return cls;
		}
		if (r == SW_BB_BAD)
			return SW_BB_ANS_BAD;
		if (eof) {
			if (n == E->rpos) {
				E->closed = true;
				return SW_BB_ANS_CLOSE;
			}
			return SW_BB_ANS_BAD;
		}
		if (sw_cf_session_fill(E->S, deadline) < 0)
			return SW_BB_ANS_NONE; /* the bound passed (or no memory) */
	}
}

static long proc_kb(long pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long v = -1;
	size_t kl = strlen(key);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, kl) == 0) {
			v = strtol(line + kl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Judges one answer to a request the server parsed (index `at`). */
static bool judge_answer(ex *E, sw_bb_answer a, size_t at, const char *verb, int version,
                         size_t before, bool bad)
{
	char q[1024];
	if (E->out->nans < SW_BB_MAX_REQS)
		E->out->ans[E->out->nans++] = a;
	if (a == SW_BB_ANS_NONE) {
		found(E, SW_BB_HANG, at, verb, version,
		      "a %s v%d request %s was neither answered nor closed within %lld ms",
		      bad ? "malformed" : "complete", version, verb, (long long)E->bound);
		return false;
	}
	if (a == SW_BB_ANS_BAD) {
		found(E, SW_BB_MALFORMED, at, verb, version,
		      "the answer to v%d %s does not decode as a v%d response: %s", version, verb,
		      version, quote_rx(E, before, q, sizeof q));
		return false;
	}
	return a != SW_BB_ANS_CLOSE;
}

static void encode_hello(int version, sw_buf *b)
{
	b->len = 0;
	if (version == 3) {
		/* Breezy's headers, as every case sends them */
		sw_slice a = {(const uint8_t *)"hello", 5};
		sw_v3_put_marker(b);
		sw_v3_put_default_headers(b);
		sw_bval item = {.type = SW_BSTR, .u.str = a}, list = {.type = SW_BLIST};
		list.u.list.items = &item;
		list.u.list.n = 1;
		sw_v3_put_structure(b, &list);
		sw_v3_put_end(b);
	} else
		sw_buf_append_str(b, version == 2 ? SW_V2_REQUEST_MARKER "hello\n" : "hello\n");
}

/* After the session: a hello in `version` must get ("ok", "2") or a close. */
static void probe(ex *E, int version, size_t at, const char *verb)
{
	sw_buf h;
	sw_buf_init(&h, NULL);
	encode_hello(version, &h);
	size_t before = E->rpos;
	if (write_all(E, h.data, h.len) < 0) {
		sw_buf_fini(&h);
		return;
	}
	sw_buf_fini(&h);
	char args[256], q[1024];
	sw_bb_answer a = read_answer(E, version, "hello", args, sizeof args, -1, NULL);
	if (a == SW_BB_ANS_CLOSE)
		return;
	if (a == SW_BB_ANS_SUCCESS && strcmp(args, "ok|2") == 0)
		return;
	found(E, SW_BB_DESYNC, at, verb, version, "after v%d %s, a v%d hello got %s: %s", version,
	      verb, version, a == SW_BB_ANS_NONE ? "no answer" : "a wrong answer",
	      quote_rx(E, before, q, sizeof q));
}

/* The session proper.  Returns the version of the last request parsed. */
static int run_session(ex *E, const sw_bb_session *s)
{
	sw_buf *tx = &E->out->tx; /* every byte sent: the server's view is cut from it */
	size_t spos = 0, start[SW_BB_MAX_REQS + 1];
	int last_version = 3;
	char last_verb[64] = "?";
	bool bad_seen = false;
	size_t bad_at = 0;
	sw_buf enc, wanted;
	sw_buf_init(&enc, NULL);
	sw_buf_init(&wanted, NULL);
	for (size_t i = 0;
	     i < s->n && !E->closed && !E->eof_sent && !E->out->found && !bad_seen && !E->lost;) {
		size_t j = i;
		while (j + 1 < s->n && s->v[j].pipelined)
			j++;
		sw_buf batch;
		sw_buf_init(&batch, NULL);
		for (size_t k = i; k <= j; k++) {
			start[k] = tx->len + batch.len;
			sw_bb_encode(&s->v[k], &E->caps, &enc);
			sw_buf_append(&batch, enc.data, enc.len);
		}
		const sw_bb_req *last = &s->v[j];
		size_t n = batch.len;
		if (last->shape == SW_BB_CUT)
			n = batch.len ? last->k % batch.len : 0;
		int w = write_shaped(E, batch.data, n, last);
		sw_buf_fini(&batch);
		if (w < 0) {
			E->closed = true;
			break;
		}
		if (last->shape == SW_BB_CUT || last->shape == SW_BB_HALFCLOSE) {
			sw_medium_shutdown_write(sw_cf_session_conn(E->S));
			E->eof_sent = true;
		}
		/* The requests the server can read now. */
		while (spos < tx->len && !E->closed && !E->out->found && !E->lost) {
			size_t len = 0;
			sw_bb_req r;
			sw_bb_cut c = sw_bb_cut_request(tx->data + spos, tx->len - spos,
			                                E->eof_sent, &len, &r);
			if (c == SW_BB_NEED) {
				sw_bb_session tmp = {.n = 1};
				tmp.v[0] = r;
				sw_bb_session_free(&tmp);
				break;
			}
			char verb[64];
			sw_bb_req_verb(&r, verb, sizeof verb);
			int version = r.version;
			bool r_body = r.has_body || c == SW_BB_BAD;
			sw_bb_session tmp = {.n = 1};
			tmp.v[0] = r;
			sw_bb_session_free(&tmp);
			/* Which request of the session starts here (for captures). */
			size_t at = i;
			for (size_t k = i; k <= j; k++)
				if (start[k] <= spos)
					at = k;
			const sw_bb_req *sr = &s->v[at];
			int want =
			    start[at] == spos && sr->capture_slot >= 0 ? sr->capture_arg : -1;
			char args[256] = "";
			size_t before = E->rpos;
			sw_bb_answer a =
			    read_answer(E, version, verb, args, sizeof args, want, &wanted);
			if (want >= 0 && a == SW_BB_ANS_SUCCESS && wanted.len) {
				int sl = sr->capture_slot;
				free(E->caps.p[sl]);
				E->caps.p[sl] = malloc(wanted.len);
				if (E->caps.p[sl]) {
					memcpy(E->caps.p[sl], wanted.data, wanted.len);
					E->caps.n[sl] = wanted.len;
				}
			}
			sw_cf_session_note_change(E->S);
			last_version = version;
			snprintf(last_verb, sizeof last_verb, "%s", verb);
			snprintf(E->last_verb, sizeof E->last_verb, "%s", verb);
			E->last_version = version;
			if (E->out->nans < SW_BB_MAX_REQS) {
				size_t k = E->out->nans;
				snprintf(E->out->ansargs[k], sizeof E->out->ansargs[k], "%s", args);
				snprintf(E->out->ansverb[k], sizeof E->out->ansverb[k], "%.47s", verb);
				E->out->ansat[k] = (uint8_t)at;
				E->out->ansversion[k] = (uint8_t)version;
			}
			if (!judge_answer(E, a, at, verb, version, before, c == SW_BB_BAD))
				break;
			if (version != 3 && r_body && a != SW_BB_ANS_SUCCESS) {
				E->lost = true;
				break;
			}
			spos += len ? len : tx->len - spos;
			if (c == SW_BB_BAD) {
				bad_seen = true;
				bad_at = at;
				break;
			}
		}
		i = j + 1;
	}
	sw_buf_fini(&enc);
	sw_buf_fini(&wanted);
	/* Bytes of a request the server may still be reading, or may have
	 * answered early (a v1/v2 body verb it rejected on its arguments):
	 * what it says about them cannot be judged. */
	if (spos < tx->len)
		E->lost = true;
	/* The desync probe: only on a stream the server has read whole. */
	if (!E->out->found && !E->closed && !E->eof_sent && !E->lost &&
	    (bad_seen || spos == tx->len))
		probe(E, last_version, bad_seen ? bad_at : (s->n ? s->n - 1 : 0), last_verb);
	return last_version;
}

/* After the session: end of stream; the server must close in time, and
 * nothing it sends then may be an answer to no request. */
static void finish(ex *E, int version)
{
	if (E->closed || E->out->found)
		return;
	sw_medium_shutdown_write(sw_cf_session_conn(E->S));
	E->eof_sent = true;
	int64_t deadline = sw_clock_ms() + E->bound;
	while (!sw_cf_session_eof(E->S))
		if (sw_cf_session_fill(E->S, deadline) == SW_ERR_TIMEOUT) {
			found(E, SW_BB_HANG, E->out->nans, "eof", version,
			      "the connection stayed open %lld ms after our end of stream",
			      (long long)E->bound);
			return;
		}
	size_t n;
	sw_cf_session_rx(E->S, &n);
	if (n > E->rpos && !E->lost) {
		char q[1024];
		found(E, SW_BB_DESYNC, E->out->nans ? E->out->nans - 1 : 0, "extra", version,
		      "bytes that answer no request: %s", quote_rx(E, E->rpos, q, sizeof q));
	}
}

int sw_bb_exec(const sw_bb_opts *o, const sw_bb_session *s, sw_bb_outcome *out)
{
	memset(out, 0, sizeof *out);
	sw_buf_init(&out->rx, NULL);
	sw_buf_init(&out->tx, NULL);
	out->exit_status = -1;
	ex E;
	memset(&E, 0, sizeof E);
	E.o = o;
	E.out = out;
	E.bound = o->hang_ms ? o->hang_ms : 3000;
	sw_cf_session_spec spec = {.role = SW_CF_ROLE_SERVER,
	                           .allow_writes = s->allow_writes,
	                           .fixture_bzr = s->bzr_fixture ? "2a" : NULL};
	sw_errinfo ei;
	if (sw_cf_session_open(&E.S, &o->cf, &spec, &ei) < 0) {
		out->infra = true;
		out->detail = strdup(ei.text);
		return 0;
	}
	sw_medium *proc = sw_cf_session_proc(E.S);
	long pid = proc ? sw_cmd_pid(proc) : -1;
	long rss0 = pid > 0 ? proc_kb(pid, "VmRSS:") : -1;
	int version = run_session(&E, s);
	finish(&E, version);
	long hwm = pid > 0 ? proc_kb(pid, "VmHWM:") : -1;
	size_t limit = o->rss_limit_kb ? o->rss_limit_kb : 262144;
	if (rss0 >= 0 && hwm > rss0 && (size_t)(hwm - rss0) > limit)
		found(&E, SW_BB_RESOURCE, 0, "?", version,
		      "the server's peak memory grew by %ld KiB (bound %zu KiB) for %zu bytes of "
		      "input",
		      hwm - rss0, limit, out->tx.len);
	/* Clean: the server ended the connection itself (we read its end of
	 * stream).  Otherwise we tore it down (a finding, a stuck write), and
	 * an exit status or SIGPIPE may be our doing. */
	bool clean = sw_cf_session_eof(E.S);
	size_t n;
	const uint8_t *rx = sw_cf_session_rx(E.S, &n);
	sw_buf_append(&out->rx, rx, n);
	int st = -1;
	char *err = NULL;
	sw_cf_session_stop(E.S, &st, &err);
	out->exit_status = st;
	bool pipe = o->cf.target == SW_CF_TARGET_PIPE;
	bool ours = WIFSIGNALED(st) && (WTERMSIG(st) == SIGTERM || WTERMSIG(st) == SIGKILL ||
	                                (!clean && WTERMSIG(st) == SIGPIPE));
	if (st != -1 && ((WIFSIGNALED(st) && !ours) ||
	                 (pipe && clean && WIFEXITED(st) && WEXITSTATUS(st) != 0))) {
		char tail[200] = "";
		if (err) {
			size_t l = strlen(err);
			snprintf(tail, sizeof tail, "%s", err + (l > 160 ? l - 160 : 0));
			for (char *p = tail; *p; p++)
				if (*p == '\n')
					*p = ' ';
		}
		found(&E, SW_BB_CRASH, out->nans ? out->nans - 1 : 0,
		      E.last_verb[0] ? E.last_verb : "?", E.last_version,
		      "the server %s %d; stderr ends: %s",
		      WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
		      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), tail);
	}
	free(err);
	char *sec = sw_cf_session_judge(E.S);
	if (sec)
		found(&E, SW_BB_ESCAPE, 0, "?", 0, "%.1500s", sec);
	free(sec);
	sw_cf_session_del(E.S);
	for (int k = 0; k < SW_BB_SLOTS; k++)
		free(E.caps.p[k]);
	return 0;
}

int sw_bb_exec_differential(const sw_bb_opts *o, const sw_bb_session *s, sw_bb_outcome *out)
{
	int rc = sw_bb_exec(o, s, out);
	if (rc < 0 || out->found || out->infra || !o->cf.reference_cmd)
		return rc;
	sw_bb_opts ro = *o;
	ro.cf.target = o->cf.reference_kind ? o->cf.reference_kind : SW_CF_TARGET_PIPE;
	ro.cf.server_cmd = o->cf.reference_cmd;
	sw_bb_outcome ref;
	if ((rc = sw_bb_exec(&ro, s, &ref)) < 0)
		return rc;
	size_t n = out->nans < ref.nans ? out->nans : ref.nans;
	for (size_t i = 0; i < n && !ref.infra; i++) {
		if (out->ans[i] != SW_BB_ANS_SUCCESS || ref.ans[i] != SW_BB_ANS_SUCCESS ||
		    strcmp(out->ansverb[i], ref.ansverb[i]) != 0 ||
		    strcmp(out->ansargs[i], ref.ansargs[i]) == 0)
			continue;
		out->found = true;
		out->cls = SW_BB_DIVERGENCE;
		out->at = out->ansat[i];
		out->version = out->ansversion[i];
		sw_bb_verb_key(out->ansverb[i], out->verb, sizeof out->verb);
		free(out->detail);
		out->detail =
		    sw__bb_strf("v%d %s: both succeed; the target answers (%s), the reference (%s)",
		                out->version, out->ansverb[i], out->ansargs[i], ref.ansargs[i]);
		break;
	}
	sw_bb_outcome_fini(&ref);
	return 0;
}
