/*
 * bench_decode: decode throughput of smartwire's decoders (issue 2, "Speed is
 * measured, not asserted").  A program, not a test: it prints numbers and
 * fails only if a decoder rejects or miscounts its input.
 *
 * Inputs are built in memory with OUR encoders, in the shapes Breezy sends:
 *   v3_small  N requests "get /testfile" with Breezy's {"Software version":
 *             "3.3.2"} headers, back to back (one decoder, reset after each
 *             message, the excess fed on as the next message);
 *   v3_body   one v3 response: oS, s("ok"), the body as 64 KiB 'b' parts, e;
 *   chunked   a v2 chunked body of 64 KiB chunks, "END\n";
 *   prefixed  a v1/v2 length-prefixed body "%d\n" <body> "done\n";
 *   memcpy    copying a body of the same size, the machine's yardstick.
 * bench/breezy_decoders.py builds the same shapes with Breezy's encoders; the
 * --crc lines let it check that both are byte-identical.
 *
 * Every input is fed whole and in 65536-, 4096- and 7-byte pieces, sampled
 * round robin: at least --reps rounds over at least 4 x --figure-time
 * seconds, a sample being as many passes as fit in --min-time seconds
 * (CLOCK_MONOTONIC); each figure is its best sample.  Callbacks do the least a consumer
 * must: mode "sum" adds up every body byte as 64-bit words (a read pass, the
 * same memory traffic as the read half of memcpy), in 4 KiB blocks whatever
 * the span it is given; mode "count" only counts bytes and touches one byte
 * per callback, isolating the decoder's own cost.
 * MB is 10^6 bytes; throughput counts every input byte, framing included.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smartwire/body.h"
#include "smartwire/error.h"
#include "smartwire/mem.h"
#include "smartwire/v3.h"

#define PART_SIZE 65536u
static const size_t pieces[] = {0 /* whole */, 65536, 4096, 7};
#define NPIECES (sizeof pieces / sizeof pieces[0])

static struct {
	size_t body_mib;
	size_t msgs;
	int reps;
	double min_time;
	double figure_time;
	bool json;
	bool crc;
	const char *only;
} opt = {256, 10000, 5, 0.02, 0.5, false, false, NULL};

static _Noreturn void die(const char *what, int err)
{
	fprintf(stderr, "bench_decode: %s: %s\n", what, err ? sw_strerror(err) : "failed");
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- The consumer ------------------------------------------------------ */

struct sink {
	bool sum_mode;
	uint64_t bytes; /* body bytes delivered */
	uint64_t sum;   /* keeps the reads alive */
	uint64_t msgs;  /* messages (or bodies) completed */
	uint64_t parts; /* headers, structures, one-byte parts */
};

static uint64_t load64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

/* A checksum that reads every byte at least once, with overlapping loads for
 * the tail (no byte loop), so that tiny pieces cost little. */
static inline __attribute__((always_inline)) uint64_t sum_span(const uint8_t *p, size_t n)
{
	if (n >= 8) {
		uint64_t a = load64(p + n - 8);
		for (size_t i = 0; i + 8 <= n; i += 8)
			a += load64(p + i);
		return a;
	}
	if (n >= 4)
		return load32(p) + ((uint64_t)load32(p + n - 4) << 32);
	return p[0] + ((uint64_t)p[n / 2] << 8) + ((uint64_t)p[n - 1] << 16);
}

/* The consumer's own speed must not depend on how long the spans are that
 * a decoder hands it, or "whole against pieces" would measure the consumer:
 * on the reference machine one sum_span() over 256 MiB ran 8% slower than
 * the same loads as 4 KiB spans, without any decoder (see README.md).  So
 * long spans are summed in 4 KiB blocks, like the spans of 4 KiB pieces. */
#define SUM_BLOCK 4096

/* Spans longer than a block go to a separate function, called last, so that
 * the path for tiny pieces stays as short as it was: at 7 bytes a call,
 * saving one register there made the whole pass 30% slower. */
static __attribute__((noinline)) int consume_long(struct sink *s, const uint8_t *p, size_t n)
{
	uint64_t a = 0;
	size_t off = 0;
	for (; n - off > SUM_BLOCK; off += SUM_BLOCK)
		a += sum_span(p + off, SUM_BLOCK);
	s->sum += a + sum_span(p + off, n - off);
	return 0;
}

static int consume(void *ud, const uint8_t *p, size_t n)
{
	struct sink *s = ud;
	s->bytes += n;
	if (!s->sum_mode) {
		s->sum += p[0];
		return 0;
	}
	if (n > SUM_BLOCK)
		return consume_long(s, p, n);
	s->sum += sum_span(p, n);
	return 0;
}

static int on_part(void *ud, const sw_bval *v)
{
	(void)v;
	((struct sink *)ud)->parts++;
	return 0;
}

static int on_byte(void *ud, uint8_t b)
{
	((struct sink *)ud)->parts += b;
	return 0;
}

static int on_end(void *ud)
{
	((struct sink *)ud)->msgs++;
	return 0;
}

/* ---- The decoders behind one interface --------------------------------- */

/* One pass over `in` in pieces of `piece` bytes (0: whole), as a reader of a
 * socket would: feed each piece until it is used up, resetting the decoder
 * whenever a message completes and feeding the excess to the next one.  One
 * copy per decoder, so that the loop calls the library directly. */
#define DEFINE_PASS(name, type, feed, done, reset)                                       \
	static void name(void *d, const uint8_t *in, size_t len, size_t piece)           \
	{                                                                                \
		type *dec = d;                                                           \
		if (piece == 0)                                                          \
			piece = len;                                                     \
		for (size_t off = 0; off < len;) {                                       \
			size_t n = piece < len - off ? piece : len - off;                \
			const uint8_t *p = in + off;                                     \
			off += n;                                                        \
			while (n) {                                                      \
				ptrdiff_t r = feed(dec, p, n);                           \
				if (r < 0)                                               \
					die(#type, (int)r);                              \
				p += r;                                                  \
				n -= (size_t)r;                                          \
				if (done(dec))                                           \
					reset(dec);                                      \
				else if (n)                                              \
					die("decoder stopped short of its input's end", 0); \
			}                                                                \
		}                                                                        \
	}

DEFINE_PASS(v3_pass, sw_v3_dec, sw_v3_dec_feed, sw_v3_dec_done, sw_v3_dec_reset)
DEFINE_PASS(chunked_pass, sw_chunked_dec, sw_chunked_feed, sw_chunked_done, sw_chunked_reset)
DEFINE_PASS(prefixed_pass, sw_prefixed_dec, sw_prefixed_feed, sw_prefixed_done,
            sw_prefixed_reset)

struct codec {
	int (*make)(void **dec, struct sink *s);
	void (*pass)(void *dec, const uint8_t *in, size_t len, size_t piece);
	void (*del)(void *dec);
};

static int v3_make(void **dec, struct sink *s)
{
	static const sw_v3_callbacks cb = {.on_headers = on_part, .on_byte = on_byte,
	                                   .on_structure = on_part, .on_bytes = consume,
	                                   .on_end = on_end};
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	return sw_v3_dec_new((sw_v3_dec **)dec, &cfg, &cb, s, NULL);
}
static void v3_del(void *d) { sw_v3_dec_del(d); }

static int chunked_make(void **dec, struct sink *s)
{
	static const sw_chunked_callbacks cb = {.on_chunk = consume, .on_end = on_end};
	return sw_chunked_new((sw_chunked_dec **)dec, NULL, &cb, s, NULL);
}
static void chunked_del(void *d) { sw_chunked_del(d); }

static int prefixed_make(void **dec, struct sink *s)
{
	static const sw_prefixed_callbacks cb = {.on_data = consume, .on_end = on_end};
	return sw_prefixed_new((sw_prefixed_dec **)dec, NULL, &cb, s, NULL);
}
static void prefixed_del(void *d) { sw_prefixed_del(d); }

static const struct codec v3_codec = {v3_make, v3_pass, v3_del};
static const struct codec chunked_codec = {chunked_make, chunked_pass, chunked_del};
static const struct codec prefixed_codec = {prefixed_make, prefixed_pass, prefixed_del};

static void copy_pass(uint8_t *dst, const uint8_t *in, size_t len, size_t piece)
{
	if (piece == 0)
		piece = len;
	for (size_t off = 0; off < len; off += piece)
		memcpy(dst + off, in + off, piece < len - off ? piece : len - off);
}

/* ---- Measuring and reporting ------------------------------------------- */

struct job {
	const char *bench;
	const struct codec *codec; /* NULL: memcpy */
	const uint8_t *in;
	size_t len;
	uint64_t body;  /* body bytes the sink must see per pass */
	uint64_t msgs;  /* messages per pass */
	uint8_t *dst;   /* memcpy destination */
};

static void report(const struct job *j, const char *mode, size_t piece, double best,
                   int samples, int passes)
{
	double mb_s = (double)j->len / best / 1e6;
	double msgs_s = (double)j->msgs / best;
	char feed[24];
	if (piece)
		snprintf(feed, sizeof feed, "%zu", piece);
	else
		snprintf(feed, sizeof feed, "whole");
	if (opt.json) {
		printf("{\"impl\":\"smartwire\",\"bench\":\"%s\",\"mode\":\"%s\",\"feed\":\"%s\","
		       "\"input_bytes\":%zu,\"msgs\":%llu,\"seconds\":%.9f,\"mb_s\":%.3f,"
		       "\"msgs_s\":%.1f,\"samples\":%d,\"passes\":%d}\n",
		       j->bench, mode, feed, j->len, (unsigned long long)j->msgs, best, mb_s, msgs_s,
		       samples, passes);
	} else {
		printf("%-9s %-6s %-6s %12.1f MB/s", j->bench, mode, feed, mb_s);
		if (j->msgs > 1)
			printf(" %12.0f msgs/s", msgs_s);
		printf("\n");
	}
	fflush(stdout);
}

static void one_pass(const struct job *j, void *dec, size_t piece)
{
	if (j->codec)
		j->codec->pass(dec, j->in, j->len, piece);
	else
		copy_pass(j->dst, j->in, j->len, piece);
}

/* Measures every piece size of one job and mode.  The samples go round robin
 * over the piece sizes, so that a disturbance by other processes hits all of
 * them alike; many short samples are taken and the best of each is kept.
 * Each round starts at the next piece size, so that no size always follows
 * the same one: without any decoder, a pass over the whole buffer measured
 * 6% slower right after a pass in small pieces than after one in 4 KiB
 * pieces. */
static void measure(const struct job *j, bool sum_mode)
{
	struct sink s = {.sum_mode = sum_mode};
	void *dec = NULL;
	int rv;
	if (j->codec && (rv = j->codec->make(&dec, &s)) < 0)
		die("creating a decoder", rv);

	/* A first pass per piece size checks the result and calibrates the
	 * passes per sample. */
	int passes[NPIECES];
	double best[NPIECES];
	for (size_t i = 0; i < NPIECES; i++) {
		uint64_t bytes0 = s.bytes, msgs0 = s.msgs;
		double t0 = now();
		one_pass(j, dec, pieces[i]);
		double once = now() - t0;
		if (j->codec && (s.bytes - bytes0 != j->body || s.msgs - msgs0 != j->msgs)) {
			fprintf(stderr, "bench_decode: %s: got %llu bytes in %llu messages, "
			        "expected %llu in %llu\n", j->bench,
			        (unsigned long long)(s.bytes - bytes0),
			        (unsigned long long)(s.msgs - msgs0), (unsigned long long)j->body,
			        (unsigned long long)j->msgs);
			exit(1);
		}
		if (!j->codec && memcmp(j->dst, j->in, j->len) != 0)
			die("memcpy", 0);
		passes[i] = once > 0 && once < opt.min_time ? (int)(opt.min_time / once) + 1 : 1;
		best[i] = 1e300;
	}

	double start = now();
	int samples = 0;
	while (samples < opt.reps || (now() - start < opt.figure_time * NPIECES && samples < 1000)) {
		samples++;
		for (size_t r = 0; r < NPIECES; r++) {
			size_t i = (r + (size_t)samples) % NPIECES;
			double t0 = now();
			for (int k = 0; k < passes[i]; k++)
				one_pass(j, dec, pieces[i]);
			double t = (now() - t0) / passes[i];
			if (t < best[i])
				best[i] = t;
		}
	}
	if (j->codec)
		j->codec->del(dec);
	/* Using the sum keeps the compiler from dropping the reads. */
	if (s.sum == 42)
		fprintf(stderr, "(checksum 42)\n");
	for (size_t i = 0; i < NPIECES; i++)
		report(j, j->codec ? (sum_mode ? "sum" : "count") : "copy", pieces[i], best[i],
		       samples, passes[i]);
}

static void run_job(const struct job *j)
{
	if (opt.only && !strstr(opt.only, j->bench))
		return;
	measure(j, true);
	if (j->codec && j->body) /* no body bytes: "count" would repeat "sum" */
		measure(j, false);
}

/* ---- Inputs ------------------------------------------------------------ */

/* The body pattern, repeated every 64 KiB; breezy_decoders.py builds the same. */
static void fill_pattern(uint8_t *p)
{
	for (uint32_t i = 0; i < PART_SIZE; i++)
		p[i] = (uint8_t)((i * 131u + 7u) >> 3);
}

static void check(int rv, const char *what)
{
	if (rv < 0)
		die(what, rv);
}

static void build_v3_small(sw_buf *b)
{
	static const sw_slice args[2] = {{(const uint8_t *)"get", 3},
	                                 {(const uint8_t *)"/testfile", 9}};
	for (size_t i = 0; i < opt.msgs; i++)
		check(sw_v3_encode_request(b, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS,
		                           args, 2, NULL), "encoding v3 requests");
}

static void build_v3_body(sw_buf *b, const uint8_t *pat, size_t nparts)
{
	static const sw_slice ok = {(const uint8_t *)"ok", 2};
	check(sw_buf_reserve(b, nparts * (PART_SIZE + 5) + 256), "allocating the v3 input");
	check(sw_v3_encode_response_start(b, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS,
	                                  true, &ok, 1), "encoding a v3 response");
	for (size_t i = 0; i < nparts; i++)
		check(sw_v3_put_bytes(b, pat, PART_SIZE), "encoding a v3 response");
	check(sw_v3_put_end(b), "encoding a v3 response");
}

static void build_chunked(sw_buf *b, const uint8_t *pat, size_t nparts)
{
	check(sw_buf_reserve(b, nparts * (PART_SIZE + 6) + 16), "allocating the chunked input");
	check(sw_chunked_encode_header(b), "encoding a chunked body");
	for (size_t i = 0; i < nparts; i++)
		check(sw_chunked_encode_chunk(b, pat, PART_SIZE), "encoding a chunked body");
	check(sw_chunked_encode_end(b), "encoding a chunked body");
}

static void build_prefixed(sw_buf *b, const uint8_t *pat, size_t nparts)
{
	check(sw_buf_reserve(b, nparts * PART_SIZE + 32), "allocating the prefixed input");
	check(sw_prefixed_encode_header(b, (uint64_t)nparts * PART_SIZE), "encoding a body");
	for (size_t i = 0; i < nparts; i++)
		check(sw_buf_append(b, pat, PART_SIZE), "encoding a body");
	check(sw_prefixed_encode_trailer(b), "encoding a body");
}

/* CRC-32 as zlib.crc32 computes it, to compare inputs with Breezy's. */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void print_crc(const char *bench, const sw_buf *b)
{
	if (opt.crc)
		printf("{\"impl\":\"smartwire\",\"input\":\"%s\",\"input_bytes\":%zu,\"crc32\":%lu}\n",
		       bench, b->len, (unsigned long)crc32_of(b->data, b->len));
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench_decode [--json] [--crc] [--size-mib N] [--msgs N] [--reps N]\n"
	        "                    [--min-time S] [--figure-time S] [--only v3_small,...]\n"
	        "  --json      JSON lines instead of a table (bench/run uses this)\n"
	        "  --crc       also print length and CRC-32 of every input\n"
	        "  --size-mib  large body size in MiB (default 256)\n"
	        "  --msgs      small v3 requests in the stream (default 10000)\n"
	        "  --reps      least samples (rounds) per figure; the best is kept (default 5)\n"
	        "  --min-time  least duration of one sample (default 0.02 s)\n"
	        "  --figure-time  sample each figure for at least this long (default 0.5 s)\n"
	        "  --only      comma-separated benches: v3_small v3_body chunked prefixed memcpy\n");
	exit(2);
}

static unsigned long number(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v == 0)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(a, "--json"))
			opt.json = true;
		else if (!strcmp(a, "--crc"))
			opt.crc = true;
		else if (!strcmp(a, "--size-mib") && more)
			opt.body_mib = number(argv[++i]);
		else if (!strcmp(a, "--msgs") && more)
			opt.msgs = number(argv[++i]);
		else if (!strcmp(a, "--reps") && more)
			opt.reps = (int)number(argv[++i]);
		else if (!strcmp(a, "--min-time") && more)
			opt.min_time = strtod(argv[++i], NULL);
		else if (!strcmp(a, "--figure-time") && more)
			opt.figure_time = strtod(argv[++i], NULL);
		else if (!strcmp(a, "--only") && more)
			opt.only = argv[++i];
		else
			usage();
	}
	size_t nparts = opt.body_mib * (1024 * 1024 / PART_SIZE);
	size_t body = nparts * PART_SIZE;
	static uint8_t pat[PART_SIZE];
	fill_pattern(pat);

	sw_buf small, v3, chunked, prefixed;
	sw_buf_init(&small, NULL);
	sw_buf_init(&v3, NULL);
	sw_buf_init(&chunked, NULL);
	sw_buf_init(&prefixed, NULL);
	build_v3_small(&small);
	build_v3_body(&v3, pat, nparts);
	build_chunked(&chunked, pat, nparts);
	build_prefixed(&prefixed, pat, nparts);
	print_crc("v3_small", &small);
	print_crc("v3_body", &v3);
	print_crc("chunked", &chunked);
	print_crc("prefixed", &prefixed);

	uint8_t *dst = malloc(body);
	if (!dst)
		die("allocating the memcpy destination", SW_ERR_NOMEM);
	memset(dst, 0, body);

	if (!opt.json)
		printf("bench     mode   feed            MB/s (10^6 bytes of input per second)\n");
	run_job(&(struct job){"v3_small", &v3_codec, small.data, small.len, 0, opt.msgs, NULL});
	run_job(&(struct job){"v3_body", &v3_codec, v3.data, v3.len, body, 1, NULL});
	run_job(&(struct job){"chunked", &chunked_codec, chunked.data, chunked.len, body, 1, NULL});
	run_job(&(struct job){"prefixed", &prefixed_codec, prefixed.data, prefixed.len, body, 1,
	                      NULL});
	/* memcpy copies as many bytes as a large body holds (any bytes do: the
	 * first ones of the v3 input), in the same piece sizes. */
	run_job(&(struct job){"memcpy", NULL, v3.data, body, body, 1, dst});

	free(dst);
	sw_buf_fini(&small);
	sw_buf_fini(&v3);
	sw_buf_fini(&chunked);
	sw_buf_fini(&prefixed);
	return 0;
}
