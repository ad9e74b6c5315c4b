/*
 * v3 decoder: Breezy's ProtocolThreeDecoder as a push parser.
 *
 * The states mirror Breezy's _state_accept_* functions.  Breezy appends every
 * input to one buffer and re-slices it; here only what must be seen whole is
 * staged: the 4-byte length prefixes (in `small`) and header/structure
 * payloads (in `stage`, bounded by the configured limits, and skipped
 * entirely when the payload lies whole inside one feed).  Bytes parts go to
 * the callbacks straight from the caller's input.
 *
 * Speed (issue 2): headers and structures are decoded into a node arena the
 * decoder keeps from one message to the next, so a stream of small messages
 * allocates nothing in the steady state; the marker and length prefixes are
 * taken straight from the input when they lie whole in it; and a feed that
 * falls inside a bytes part (a reader's typical piece of a large body) takes
 * a short path that goes straight to the callback.
 */
#include "smartwire/v3.h"
#include "smartwire/error.h"

#include <string.h>

#include "stage.h"

enum state {
	ST_MARKER,   /* matching SW_V3_MARKER */
	ST_LENGTH,   /* reading the 4-byte length prefix of `part` */
	ST_STAGE,    /* collecting a header or structure payload */
	ST_BYTES,    /* passing a bytes part through */
	ST_KIND,     /* expecting a part kind byte */
	ST_ONE_BYTE, /* expecting the byte of an 'o' part */
	ST_DONE,
	ST_FAILED
};

/* Which length-prefixed item ST_LENGTH/ST_STAGE are working on. */
enum part { PART_HEADERS = 'h', PART_STRUCT = 's', PART_BYTES = 'b' };

struct sw_v3_dec {
	sw_v3_config cfg;
	sw_v3_callbacks cb;
	void *ud;
	const sw_mem *mem;

	enum state state;
	enum part part;
	int err;          /* sticky error in ST_FAILED */
	bool fed;         /* any feed since reset: Breezy's 28 becomes 24 - n */
	bool began;       /* a byte of this message was consumed */
	size_t have;      /* marker bytes matched, or prefix bytes in `small` */
	uint8_t small[4];
	uint32_t need;    /* payload length of the current item */
	uint32_t got;     /* payload bytes staged (ST_STAGE) or passed (ST_BYTES) */
	uint8_t *stage;
	size_t stage_cap;
	sw_barena arena;  /* the nodes of the last header or structure */
	/* What the decoder was reading when it failed (sw_v3_dec_failure). */
	uint8_t fpart;
	uint8_t fkind;
	const uint8_t *fpay; /* the failing payload: in `stage` or the failing feed's input */
	size_t fpaylen;
	const sw_bval *fval; /* headers that decoded to a non-dict (in `arena`) */
};

/* Arenas larger than this (in values) are released by sw_v3_dec_reset(), as
 * large staging buffers are: a peer's one huge structure should not pin
 * memory for the connection's lifetime.  The default header and an args
 * tuple take a handful of values. */
#define ARENA_KEEP 1024

static void start(sw_v3_dec *dec)
{
	dec->state = dec->cfg.expect_marker ? ST_MARKER : ST_LENGTH;
	dec->part = PART_HEADERS;
	dec->err = 0;
	dec->fed = false;
	dec->began = false;
	dec->have = 0;
	dec->need = 0;
	dec->got = 0;
	dec->fpart = 0;
	dec->fkind = 0;
	dec->fpay = NULL;
	dec->fpaylen = 0;
	dec->fval = NULL;
}

int sw_v3_dec_new(sw_v3_dec **out, const sw_v3_config *cfg, const sw_v3_callbacks *cb,
                  void *user_data, const sw_mem *mem)
{
	*out = NULL;
	sw_v3_dec *dec = sw_malloc(mem, sizeof *dec);
	if (!dec)
		return SW_ERR_NOMEM;
	memset(dec, 0, sizeof *dec);
	if (cfg)
		dec->cfg = *cfg;
	/* A zero field means its default. */
	if (!dec->cfg.max_header)
		dec->cfg.max_header = SW_V3_DEFAULT_MAX_HEADER;
	if (!dec->cfg.max_struct)
		dec->cfg.max_struct = SW_V3_DEFAULT_MAX_STRUCT;
	if (!dec->cfg.max_part)
		dec->cfg.max_part = SW_V3_DEFAULT_MAX_PART;
	if (!dec->cfg.blimits.max_depth)
		dec->cfg.blimits.max_depth = SW_BENCODE_DEFAULT_MAX_DEPTH;
	if (!dec->cfg.blimits.max_elements)
		dec->cfg.blimits.max_elements = SW_BENCODE_DEFAULT_MAX_ELEMENTS;
	if (cb)
		dec->cb = *cb;
	dec->ud = user_data;
	dec->mem = mem;
	sw_barena_init(&dec->arena, mem);
	start(dec);
	*out = dec;
	return 0;
}

void sw_v3_dec_del(sw_v3_dec *dec)
{
	if (!dec)
		return;
	sw_free(dec->mem, dec->stage);
	sw_barena_fini(&dec->arena);
	sw_free(dec->mem, dec);
}

void sw_v3_dec_reset(sw_v3_dec *dec)
{
	if (dec->stage_cap > SW_V3_DEFAULT_MAX_HEADER) {
		sw_free(dec->mem, dec->stage);
		dec->stage = NULL;
		dec->stage_cap = 0;
	}
	if (dec->arena.cap > ARENA_KEEP)
		sw_barena_fini(&dec->arena);
	start(dec);
}

bool sw_v3_dec_done(const sw_v3_dec *dec)
{
	return dec->state == ST_DONE;
}

int sw_v3_dec_error(const sw_v3_dec *dec)
{
	return dec->state == ST_FAILED ? dec->err : 0;
}

size_t sw_v3_dec_next_read_size(const sw_v3_dec *dec)
{
	switch (dec->state) {
	case ST_MARKER:
		return dec->fed ? SW_V3_MARKER_LEN - dec->have : SW_V3_MARKER_LEN + 4;
	case ST_LENGTH:
		return 4 - dec->have;
	case ST_STAGE:
	case ST_BYTES:
		return dec->need - dec->got;
	case ST_KIND:
	case ST_ONE_BYTE:
		return 1;
	case ST_DONE:
	case ST_FAILED:
		break;
	}
	return 0;
}

/* Fails the decoder.  The item being read is remembered for
 * sw_v3_dec_failure(), except after errors that are not about the input. */
static int fail(sw_v3_dec *dec, int err)
{
	if (err != SW_ERR_CALLBACK && err != SW_ERR_NOMEM && err != SW_ERR_UNEXPECTED_EOF) {
		switch (dec->state) {
		case ST_MARKER: dec->fpart = 'm'; break;
		case ST_LENGTH:
		case ST_STAGE:
		case ST_BYTES: dec->fpart = (uint8_t)dec->part; break;
		case ST_KIND: dec->fpart = 'k'; break;
		default: break;
		}
	}
	dec->state = ST_FAILED;
	dec->err = err;
	return err;
}

int sw_v3_dec_failure(const sw_v3_dec *dec, sw_v3_failure *f)
{
	if (!dec || !f)
		return SW_ERR_INVALID_ARGUMENT;
	memset(f, 0, sizeof *f);
	if (dec->state != ST_FAILED)
		return 0;
	f->error = dec->err;
	f->part = dec->fpart;
	f->kind = dec->fkind;
	f->payload.p = dec->fpay;
	f->payload.n = dec->fpaylen;
	f->value = dec->fval;
	return 0;
}

int sw_v3_dec_finish(sw_v3_dec *dec)
{
	if (dec->state == ST_FAILED)
		return dec->err;
	if (dec->state == ST_DONE || !dec->began)
		return 0;
	return fail(dec, SW_ERR_UNEXPECTED_EOF);
}

/* Maps a callback's verdict onto the decoder. */
static int verdict(sw_v3_dec *dec, int cbrv)
{
	return cbrv ? fail(dec, SW_ERR_CALLBACK) : 0;
}

static uint32_t get_u32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The length prefix `n` is complete: check it against its limit before
 * anything is allocated, then move to the payload. */
static SW__INLINE int length_known(sw_v3_dec *dec, uint32_t n)
{
	dec->need = n;
	dec->got = 0;
	switch (dec->part) {
	case PART_HEADERS:
		if (n > dec->cfg.max_header)
			return fail(dec, SW_ERR_HEADER_TOO_LARGE);
		break;
	case PART_STRUCT:
		if (n > dec->cfg.max_struct)
			return fail(dec, SW_ERR_STRUCT_TOO_LARGE);
		break;
	case PART_BYTES:
		if (n > dec->cfg.max_part)
			return fail(dec, SW_ERR_PART_TOO_LARGE);
		dec->state = ST_BYTES;
		return verdict(dec, dec->cb.on_bytes_begin ? dec->cb.on_bytes_begin(dec->ud, n) : 0);
	}
	dec->state = ST_STAGE;
	return 0;
}

/* A whole header or structure payload is available at `p`. */
static SW__INLINE int deliver(sw_v3_dec *dec, const uint8_t *p, size_t n)
{
	const sw_bval *v;
	int rv = sw_bdecode_into(&dec->arena, p, n, &dec->cfg.blimits, &v);
	if (rv < 0) {
		if (rv != SW_ERR_NOMEM) {
			dec->fpay = p;
			dec->fpaylen = n;
		}
		return fail(dec, rv);
	}
	int cbrv = 0;
	if (dec->part == PART_HEADERS) {
		if (v->type != SW_BDICT) {
			dec->fpay = p;
			dec->fpaylen = n;
			dec->fval = v;
			rv = fail(dec, SW_ERR_HEADER_NOT_DICT);
		} else if (dec->cb.on_headers) {
			cbrv = dec->cb.on_headers(dec->ud, v);
		}
	} else if (dec->cb.on_structure) {
		cbrv = dec->cb.on_structure(dec->ud, v);
	}
	if (rv < 0)
		return rv;
	dec->state = ST_KIND;
	return verdict(dec, cbrv);
}

/* Makes room for the whole current payload in `stage`. */
static int stage_reserve(sw_v3_dec *dec)
{
	if (dec->stage_cap >= dec->need)
		return 0;
	uint8_t *p = sw_realloc(dec->mem, dec->stage, dec->need);
	if (!p)
		return fail(dec, SW_ERR_NOMEM);
	dec->stage = p;
	dec->stage_cap = dec->need;
	return 0;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Everything but the short path of sw_v3_dec_feed(). */
SW__NOINLINE static ptrdiff_t feed_states(sw_v3_dec *dec, const uint8_t *in, size_t len)
{
	static const uint8_t nothing[1];
	size_t pos = 0;
	size_t n;
	ptrdiff_t r;
	int rv;

	if (dec->state == ST_FAILED)
		return dec->err;
	if (dec->state == ST_DONE)
		return 0;
	dec->fed = true;
	if (!in)
		in = nothing; /* no arithmetic on a null pointer below */
	for (;;) {
		switch (dec->state) {
		case ST_MARKER:
			if (dec->have == 0 && len - pos >= SW_V3_MARKER_LEN) {
				/* The whole marker is in the input: one
				 * fixed-size comparison, which compilers inline. */
				if (memcmp(in + pos, SW_V3_MARKER, SW_V3_MARKER_LEN) != 0)
					return fail(dec, SW_ERR_BAD_MARKER);
				pos += SW_V3_MARKER_LEN;
				dec->state = ST_LENGTH;
				dec->part = PART_HEADERS;
				goto length;
			}
			r = sw__stage_literal(SW_V3_MARKER, SW_V3_MARKER_LEN, &dec->have, in + pos,
			                      len - pos);
			if (r < 0)
				return fail(dec, SW_ERR_BAD_MARKER);
			pos += (size_t)r;
			if (dec->have < SW_V3_MARKER_LEN)
				goto out;
			dec->state = ST_LENGTH;
			dec->part = PART_HEADERS;
			dec->have = 0;
			/* fallthrough */
		case ST_LENGTH:
		length:
			if (dec->have == 0 && len - pos >= 4) {
				/* The whole prefix is in the input: no staging. */
				pos += 4;
				rv = length_known(dec, get_u32be(in + pos - 4));
			} else {
				while (dec->have < 4 && pos < len)
					dec->small[dec->have++] = in[pos++];
				if (dec->have < 4)
					goto out;
				dec->have = 0;
				rv = length_known(dec, get_u32be(dec->small));
			}
			if (rv < 0)
				return rv;
			/* The usual next states are taken without going through
			 * the switch (here and below): a small message visits
			 * seven states. */
			if (dec->state != ST_STAGE)
				break;
			/* fallthrough */
		case ST_STAGE:
			if (dec->got == 0 && len - pos >= dec->need) {
				/* Zero copy: the whole payload is in this input. */
				pos += dec->need;
				if ((rv = deliver(dec, in + pos - dec->need, dec->need)) < 0)
					return rv;
				goto kind;
			}
			if ((rv = stage_reserve(dec)) < 0)
				return rv;
			n = min_size(dec->need - dec->got, len - pos);
			memcpy(dec->stage + dec->got, in + pos, n);
			dec->got += (uint32_t)n;
			pos += n;
			if (dec->got < dec->need)
				goto out;
			if ((rv = deliver(dec, dec->stage, dec->need)) < 0)
				return rv;
			break;
		case ST_BYTES:
			n = min_size(dec->need - dec->got, len - pos);
			if (n > 0) {
				dec->got += (uint32_t)n;
				pos += n;
				if (dec->cb.on_bytes &&
				    (rv = verdict(dec, dec->cb.on_bytes(dec->ud, in + pos - n, n))) < 0)
					return rv;
			}
			if (dec->got < dec->need)
				goto out;
			dec->state = ST_KIND;
			if (dec->cb.on_bytes_end && (rv = verdict(dec, dec->cb.on_bytes_end(dec->ud))) < 0)
				return rv;
			break;
		case ST_KIND:
		kind:
			if (pos == len)
				goto out;
			switch (in[pos++]) {
			case 'o':
				dec->state = ST_ONE_BYTE;
				break;
			case 's':
				dec->state = ST_LENGTH;
				dec->part = PART_STRUCT;
				goto length;
			case 'b':
				dec->state = ST_LENGTH;
				dec->part = PART_BYTES;
				goto length;
			case 'e':
				dec->state = ST_DONE;
				dec->began = true;
				if (dec->cb.on_end && (rv = verdict(dec, dec->cb.on_end(dec->ud))) < 0)
					return rv;
				return (ptrdiff_t)pos;
			default: dec->fkind = in[pos - 1]; return fail(dec, SW_ERR_BAD_KIND);
			}
			break;
		case ST_ONE_BYTE:
			if (pos == len)
				goto out;
			dec->state = ST_KIND;
			pos++;
			if (dec->cb.on_byte &&
			    (rv = verdict(dec, dec->cb.on_byte(dec->ud, in[pos - 1]))) < 0)
				return rv;
			break;
		case ST_DONE:   /* left by returning above */
		case ST_FAILED:
			goto out;
		}
	}
out:
	if (pos)
		dec->began = true;
	return (ptrdiff_t)pos;
}

ptrdiff_t sw_v3_dec_feed(sw_v3_dec *dec, const uint8_t *in, size_t len)
{
	/* The short path: the whole input is the next piece of a bytes part
	 * (the usual case for a reader of a large body).  It does what
	 * ST_BYTES does, minus what is already settled there: a feed has
	 * happened (`fed`) and a byte of the message was consumed (`began`). */
	if (dec->state == ST_BYTES && len != 0 && len <= dec->need - dec->got) {
		dec->got += (uint32_t)len;
		if (dec->cb.on_bytes && dec->cb.on_bytes(dec->ud, in, len))
			return fail(dec, SW_ERR_CALLBACK);
		if (dec->got == dec->need) {
			dec->state = ST_KIND;
			if (dec->cb.on_bytes_end && dec->cb.on_bytes_end(dec->ud))
				return fail(dec, SW_ERR_CALLBACK);
		}
		return (ptrdiff_t)len;
	}
	return feed_states(dec, in, len);
}
