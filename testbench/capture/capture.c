/*
 * The readers behind capture.h: pcap/pcapng files through libpcap (loaded
 * on first use, capture/pcap_lib.h), and the
 * recording directories of `smartwire record`.  Both feed the conversation
 * layer and print through the report writer; all the decisions are in the
 * sans-I/O modules (reasm, flow, convo).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/capture.h"
#include "capture/pcap_lib.h"
#include "capture/report.h"

/* ---- pcap and pcapng ---- */

static int link_of(int dlt, sw_link *out)
{
	switch (dlt) {
	case DLT_EN10MB: *out = SW_LINK_ETHERNET; return 0;
	case DLT_NULL: *out = SW_LINK_NULL; return 0;
#ifdef DLT_LOOP
	case DLT_LOOP: *out = SW_LINK_LOOP; return 0;
#endif
	case DLT_RAW: *out = SW_LINK_RAW; return 0;
#ifdef DLT_IPV4
	case DLT_IPV4: *out = SW_LINK_IPV4; return 0;
#endif
#ifdef DLT_IPV6
	case DLT_IPV6: *out = SW_LINK_IPV6; return 0;
#endif
	case DLT_LINUX_SLL: *out = SW_LINK_SLL; return 0;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2: *out = SW_LINK_SLL2; return 0;
#endif
	}
	return -1;
}

static sw_reasm_config reasm_config(const sw_capture_options *opt)
{
	sw_reasm_config cfg = {0};
	if (opt) {
		cfg.port = opt->port;
		cfg.max_held = opt->max_held;
		cfg.max_connections = opt->max_connections;
	}
	return cfg;
}

int sw_capture_dissect_pcap(const char *path, const sw_capture_options *opt, FILE *out,
                            sw_errinfo *ei)
{
	const sw_pcap_lib *pc = sw__pcap_lib(ei);
	if (!pc)
		return SW_ERR_IO;
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p =
	    pc->open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p)
		return sw_errinfo_set(ei, SW_ERR_IO, 0, "%s: %s", path, errbuf);
	sw_link link;
	int dlt = pc->datalink(p);
	if (link_of(dlt, &link) < 0) {
		const char *name = pc->datalink_val_to_name(dlt);
		pc->close(p);
		return sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0,
		                      "%s: unsupported link type %d (%s)", path, dlt,
		                      name ? name : "?");
	}
	if (opt && opt->filter) {
		struct bpf_program prog;
		if (pc->compile(p, &prog, opt->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			int rc = sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, "filter \"%s\": %s",
			                        opt->filter, pc->geterr(p));
			pc->close(p);
			return rc;
		}
		int bad = pc->setfilter(p, &prog);
		pc->freecode(&prog);
		if (bad < 0) {
			int rc = sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, "filter \"%s\": %s",
			                        opt->filter, pc->geterr(p));
			pc->close(p);
			return rc;
		}
	}

	sw_report rep;
	sw_report_init(&rep, out, opt && opt->json, false);
	sw_convo_sink sink = sw_report_sink();
	sw_convo *cv = NULL;
	sw_reasm *r = NULL;
	sw_reasm_config cfg = reasm_config(opt);
	sw_reasm_callbacks cb = sw_convo_reasm_callbacks();
	int rc = sw_convo_new(&cv, opt ? opt->max_message : 0, &sink, &rep, NULL);
	if (rc == 0)
		rc = sw_reasm_new(&r, &cfg, &cb, cv, NULL);
	int64_t start = -1;
	while (rc == 0) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int got = pc->next_ex(p, &h, &data);
		if (got == PCAP_ERROR_BREAK)
			break;
		if (got < 0) {
			rc = sw_errinfo_set(ei, SW_ERR_IO, 0, "%s: %s", path, pc->geterr(p));
			break;
		}
		if (got == 0)
			continue;
		int64_t ts = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec;
		if (start < 0)
			rep.base_ts = start = ts;
		rc = sw_reasm_frame(r, link, ts, data, h->caplen);
		if (rc < 0)
			sw_errinfo_set(ei, rc, 0, NULL);
	}
	if (rc == 0 && (rc = sw_reasm_finish(r)) < 0)
		sw_errinfo_set(ei, rc, 0, NULL);
	if (rc == 0)
		sw_report_end(&rep, path, sw_reasm_get_stats(r), start);
	if (rc == SW_ERR_NOMEM || (r == NULL && rc < 0))
		sw_errinfo_set(ei, rc, 0, NULL);
	sw_reasm_del(r);
	sw_convo_del(cv);
	pc->close(p);
	return rc < 0 ? rc : rep.anomalies ? 1 : 0;
}

/* ---- recording directories ---- */

struct chunk {
	sw_dir d;
	uint64_t off, len;
	int64_t ts;
};

static int read_file(const char *path, sw_buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? 0 : -1; /* a missing direction is empty */
	char tmp[65536];
	size_t n;
	int rc = 0;
	while (rc == 0 && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
		rc = sw_buf_append(b, tmp, n);
	if (ferror(f))
		rc = -1;
	fclose(f);
	return rc;
}

/* The chunks of conn-NNN.log ("T c2s offset=O len=L"), checked against the
 * file sizes; returns the count, or 0 when there is no usable log (the
 * directions are then fed whole, without times).  *eof[d] is set by the
 * "c2s eof" / "s2c eof" lines. */
static size_t read_log(const char *path, const uint64_t size[2], struct chunk **out, bool eof[2])
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	struct chunk *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t next[2] = {0, 0};
	bool ok = true;
	char line[512];
	while (ok && fgets(line, sizeof line, f)) {
		double t;
		char dir[4];
		unsigned long long off, len;
		if (sscanf(line, "%lf %3s offset=%llu len=%llu", &t, dir, &off, &len) == 4) {
			sw_dir d = strcmp(dir, "c2s") == 0 ? SW_C2S : SW_S2C;
			if (off != next[d] || len == 0 || off + len > size[d]) {
				ok = false;
				break;
			}
			next[d] = off + len;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct chunk *nv = realloc(v, cap * sizeof *nv);
				if (!nv) {
					ok = false;
					break;
				}
				v = nv;
			}
			v[n++] = (struct chunk){d, off, len, (int64_t)(t * 1e9)};
		} else if (sscanf(line, "%lf %3s eof", &t, dir) == 2 && strstr(line, " eof")) {
			eof[strcmp(dir, "c2s") == 0 ? SW_C2S : SW_S2C] = true;
		}
	}
	fclose(f);
	if (!ok || next[0] != size[0] || next[1] != size[1]) {
		free(v);
		eof[0] = eof[1] = false;
		return 0;
	}
	*out = v;
	return n;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

/* One recorded connection through the conversation layer. */
static int recorded_conn(sw_convo *cv, const char *dir, unsigned id, sw_errinfo *ei)
{
	char path[4096];
	sw_buf data[2];
	sw_buf_init(&data[0], NULL);
	sw_buf_init(&data[1], NULL);
	int rc = 0;
	for (int d = 0; d < 2 && rc == 0; d++) {
		snprintf(path, sizeof path, "%s/conn-%03u.%s", dir, id,
		         d == SW_C2S ? "c2s" : "s2c");
		if (read_file(path, &data[d]) < 0)
			rc = sw_errinfo_set(ei, SW_ERR_IO, errno, "%s: cannot read", path);
	}
	struct chunk *chunks = NULL;
	size_t nchunks = 0;
	bool eof[2] = {false, false};
	if (rc == 0) {
		uint64_t size[2] = {data[0].len, data[1].len};
		snprintf(path, sizeof path, "%s/conn-%03u.log", dir, id);
		nchunks = read_log(path, size, &chunks, eof);
	}
	sw_tcp_conn c;
	memset(&c, 0, sizeof c);
	c.id = id;
	for (int d = 0; d < 2; d++) {
		c.half[d].bytes = data[d].len;
		c.half[d].end = eof[d] ? SW_END_FIN : SW_END_NONE;
		c.half[d].ended = true;
	}
	if (rc == 0)
		rc = sw_convo_open(cv, &c);
	if (nchunks == 0) {
		for (int d = 0; d < 2 && rc == 0; d++)
			if (data[d].len)
				rc = sw_convo_data(cv, &c, (sw_dir)d, 0, data[d].data, data[d].len,
				                   0);
	}
	for (size_t i = 0; i < nchunks && rc == 0; i++) {
		const struct chunk *k = &chunks[i];
		c.half[k->d].segments++;
		c.last_ts_ns = k->ts;
		rc = sw_convo_data(cv, &c, k->d, k->off, data[k->d].data + k->off, (size_t)k->len,
		                   k->ts);
	}
	if (rc == 0)
		rc = sw_convo_end(cv, &c, SW_C2S);
	if (rc == 0)
		rc = sw_convo_end(cv, &c, SW_S2C);
	if (c.user) /* also frees the connection's state after an error */
		rc = rc ? (sw_convo_close(cv, &c), rc) : sw_convo_close(cv, &c);
	if (rc < 0 && rc != SW_ERR_IO)
		sw_errinfo_set(ei, rc, 0, NULL);
	free(chunks);
	sw_buf_fini(&data[0]);
	sw_buf_fini(&data[1]);
	return rc;
}

int sw_capture_dissect_recording(const char *dir, const sw_capture_options *opt, FILE *out,
                                 sw_errinfo *ei)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return sw_errinfo_set(ei, SW_ERR_IO, errno, "%s: cannot open the directory", dir);
	unsigned *ids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(dp))) {
		unsigned id;
		char ext[8];
		int used = 0;
		if (sscanf(e->d_name, "conn-%u.%3s%n", &id, ext, &used) != 2 ||
		    e->d_name[used] != '\0' || strcmp(ext, "c2s") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			unsigned *nv = realloc(ids, cap * sizeof *nv);
			if (!nv) {
				rc = sw_errinfo_set(ei, SW_ERR_NOMEM, 0, NULL);
				break;
			}
			ids = nv;
		}
		ids[n++] = id;
	}
	closedir(dp);
	if (n)
		qsort(ids, n, sizeof *ids, cmp_uint);
	sw_report rep;
	sw_report_init(&rep, out, opt && opt->json, true);
	sw_convo_sink sink = sw_report_sink();
	sw_convo *cv = NULL;
	if (rc == 0 && (rc = sw_convo_new(&cv, opt ? opt->max_message : 0, &sink, &rep, NULL)) < 0)
		sw_errinfo_set(ei, rc, 0, NULL);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = recorded_conn(cv, dir, ids[i], ei);
	if (rc == 0 && n == 0)
		rc = sw_errinfo_set(ei, SW_ERR_IO, 0, "%s: no conn-NNN.c2s file: not a recording",
		                    dir);
	if (rc == 0)
		sw_report_end(&rep, dir, NULL, -1);
	sw_convo_del(cv);
	free(ids);
	return rc < 0 ? rc : rep.anomalies ? 1 : 0;
}

bool sw_capture_sniff(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode))
		return true;
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	unsigned char m[4];
	size_t got = fread(m, 1, 4, f);
	fclose(f);
	if (got != 4)
		return false;
	uint32_t be = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	return be == 0xa1b2c3d4 || be == 0xd4c3b2a1 || be == 0xa1b23c4d || be == 0x4d3cb2a1 ||
	       be == 0x0a0d0d0a;
}

int sw_capture_dissect(const char *path, const sw_capture_options *opt, FILE *out, sw_errinfo *ei)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return sw_capture_dissect_recording(path, opt, out, ei);
	return sw_capture_dissect_pcap(path, opt, out, ei);
}
