/*
 * The pack container decoder: header, 'B' records, 'E'.  See
 * smartwire/pack.h; the encoders are in pack_encode.c.
 */
#include "smartwire/pack.h"

#include <string.h>

#include "smartwire/error.h"
#include "smartwire/pytext.h"
#include "stage.h"

enum pstate {
	P_HEADER,     /* matching SW_PACK_HEADER */
	P_KIND,       /* expecting 'B' or 'E' */
	P_LENGTH,     /* staging the length line */
	P_NAME_START, /* at the start of a name line or of the blank line */
	P_NAME,       /* inside a name line */
	P_BODY,       /* delivering the body */
	P_DONE,       /* 'E' consumed */
	P_FAILED
};

struct sw_pack_dec {
	enum pstate state;
	int error;          /* sticky, when state == P_FAILED */
	uint64_t length;    /* the current record's length */
	uint64_t left;      /* its body bytes still to come */
	size_t staged;      /* header bytes matched, or length-line bytes staged */
	size_t line_len;    /* bytes of the current name line so far */
	size_t line_nuls;   /* "\x00" separators in it */
	size_t nnames;      /* complete name lines of the current record */
	size_t nelems;      /* elements in them */
	sw_buf names;       /* those lines back to back, each with its "\n" */
	void *view;         /* sw_pack_name[nnames] then sw_slice[nelems] */
	size_t view_cap;    /* bytes allocated at `view` */
	sw_pack_config cfg; /* with defaults filled in */
	sw_pack_callbacks cb;
	void *ud;
	const sw_mem *mem;
	uint8_t line[]; /* cfg.max_length_line bytes */
};

int sw_pack_dec_new(sw_pack_dec **out, const sw_pack_config *cfg, const sw_pack_callbacks *cb,
                    void *ud, const sw_mem *mem)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	sw_pack_config c = {0};
	if (cfg)
		c = *cfg;
	if (!c.max_length_line)
		c.max_length_line = SW_PACK_DEFAULT_MAX_LENGTH_LINE;
	if (!c.max_name_line)
		c.max_name_line = SW_PACK_DEFAULT_MAX_NAME_LINE;
	if (!c.max_names)
		c.max_names = SW_PACK_DEFAULT_MAX_NAMES;
	if (!c.max_record)
		c.max_record = SW_PACK_DEFAULT_MAX_RECORD;
	/* The staged names take at most max_names * max_name_line bytes and
	 * as many elements; their view must fit in a size_t. */
	size_t per_name = sizeof(sw_pack_name) + c.max_name_line * sizeof(sw_slice);
	if (c.max_length_line > SIZE_MAX - sizeof(sw_pack_dec) ||
	    c.max_name_line > (SIZE_MAX - sizeof(sw_pack_name)) / sizeof(sw_slice) ||
	    c.max_names > SIZE_MAX / per_name)
		return SW_ERR_INVALID_ARGUMENT;
	sw_pack_dec *dec = sw_malloc(mem, sizeof *dec + c.max_length_line);
	if (!dec)
		return SW_ERR_NOMEM;
	memset(dec, 0, sizeof *dec);
	dec->cfg = c;
	if (cb)
		dec->cb = *cb;
	dec->ud = ud;
	dec->mem = mem;
	sw_buf_init(&dec->names, mem);
	sw_pack_dec_reset(dec);
	*out = dec;
	return 0;
}

void sw_pack_dec_del(sw_pack_dec *dec)
{
	if (!dec)
		return;
	sw_buf_fini(&dec->names);
	sw_free(dec->mem, dec->view);
	sw_free(dec->mem, dec);
}

void sw_pack_dec_reset(sw_pack_dec *dec)
{
	dec->state = P_HEADER;
	dec->error = 0;
	dec->length = 0;
	dec->left = 0;
	dec->staged = 0;
	dec->line_len = 0;
	dec->line_nuls = 0;
	dec->nnames = 0;
	dec->nelems = 0;
	sw_buf_reset(&dec->names);
}

static ptrdiff_t fail(sw_pack_dec *dec, int err)
{
	dec->state = P_FAILED;
	dec->error = err;
	return err;
}

/* The bytes pack._check_name refuses ([\t\n\x0b\x0c\r ]); "\n" never
 * reaches it here, it ends the line. */
static bool is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A complete length line is staged: parse it like Breezy's int(line). */
static int take_length(sw_pack_dec *dec)
{
	bool neg;
	uint64_t v;
	int rv = sw_py_int(dec->line, dec->staged, 10, &neg, &v);
	dec->staged = 0;
	if (rv == SW_ERR_LIMIT)
		return SW_ERR_PACK_RECORD_TOO_LARGE;
	if (rv < 0 || neg)
		return SW_ERR_PACK_BAD_LENGTH;
	if (v > dec->cfg.max_record)
		return SW_ERR_PACK_RECORD_TOO_LARGE;
	dec->length = v;
	dec->nnames = 0;
	dec->nelems = 0;
	sw_buf_reset(&dec->names);
	dec->state = P_NAME_START;
	return 0;
}

/* Takes the bytes of a name line up to its "\n" or the end of the input.
 * Returns the count consumed or a negative sw_err. */
static ptrdiff_t take_name_bytes(sw_pack_dec *dec, const uint8_t *in, size_t len)
{
	const uint8_t *nl = memchr(in, '\n', len);
	size_t run = nl ? (size_t)(nl - in) : len;
	/* The line may hold `room` more bytes before its "\n". */
	size_t room = dec->cfg.max_name_line - 1 - dec->line_len;
	/* Errors in stream order, so that the cut of the input cannot change
	 * which one is reported: a bad byte within the limit comes first. */
	size_t check = run < room ? run : room;
	size_t nuls = 0;
	for (size_t i = 0; i < check; i++) {
		if (is_space(in[i]))
			return SW_ERR_PACK_BAD_NAME;
		nuls += in[i] == 0;
	}
	if (run > room)
		return SW_ERR_PACK_NAME_TOO_LONG;
	size_t take = nl ? run + 1 : run;
	if (sw_buf_append(&dec->names, in, take) < 0)
		return SW_ERR_NOMEM;
	dec->line_len += run;
	dec->line_nuls += nuls;
	if (nl) {
		dec->nnames++;
		dec->nelems += dec->line_nuls + 1;
		dec->state = P_NAME_START;
	}
	return (ptrdiff_t)take;
}

/* The blank line: splits the staged lines into their view and reports the
 * record. */
static int begin_record(sw_pack_dec *dec)
{
	sw_pack_name *names = NULL;
	if (dec->nnames) {
		size_t need = dec->nnames * sizeof(sw_pack_name) + dec->nelems * sizeof(sw_slice);
		if (need > dec->view_cap) {
			void *v = sw_realloc(dec->mem, dec->view, need);
			if (!v)
				return SW_ERR_NOMEM;
			dec->view = v;
			dec->view_cap = need;
		}
		names = dec->view;
		sw_slice *elems = (sw_slice *)(names + dec->nnames);
		const uint8_t *p = dec->names.data;
		for (size_t i = 0; i < dec->nnames; i++) {
			names[i].elems = elems;
			names[i].n = 0;
			for (;;) {
				/* Every line ends in "\n", so the scan stops there. */
				const uint8_t *e = p;
				while (*e != 0 && *e != '\n')
					e++;
				elems->p = p;
				elems->n = (size_t)(e - p);
				elems++;
				names[i].n++;
				p = e + 1;
				if (*e == '\n')
					break;
			}
		}
	}
	if (dec->cb.on_record_begin &&
	    dec->cb.on_record_begin(dec->ud, dec->length, names, dec->nnames))
		return SW_ERR_CALLBACK;
	dec->left = dec->length;
	dec->state = P_BODY;
	return 0;
}

static int end_record(sw_pack_dec *dec)
{
	dec->state = P_KIND;
	if (dec->cb.on_record_end && dec->cb.on_record_end(dec->ud))
		return SW_ERR_CALLBACK;
	return 0;
}

/* Everything but the short path of sw_pack_dec_feed(). */
SW__NOINLINE static ptrdiff_t feed_states(sw_pack_dec *dec, const uint8_t *in, size_t len)
{
	static const uint8_t nothing[1];
	size_t at = 0;
	ptrdiff_t r;
	bool complete;
	int rv;

	if (!in)
		in = nothing; /* no arithmetic on a null pointer below */
	for (;;) {
		switch (dec->state) {
		case P_HEADER:
			r = sw__stage_literal(SW_PACK_HEADER, SW_PACK_HEADER_LEN, &dec->staged,
			                      in + at, len - at);
			if (r < 0)
				return fail(dec, SW_ERR_PACK_BAD_FORMAT);
			at += (size_t)r;
			if (dec->staged < SW_PACK_HEADER_LEN)
				return (ptrdiff_t)at;
			dec->staged = 0;
			dec->state = P_KIND;
			/* fallthrough */
		case P_KIND:
			if (at == len)
				return (ptrdiff_t)at;
			if (in[at] == 'B') {
				at++;
				dec->staged = 0;
				dec->state = P_LENGTH;
			} else if (in[at] == 'E') {
				at++;
				dec->state = P_DONE;
				if (dec->cb.on_end && dec->cb.on_end(dec->ud))
					return fail(dec, SW_ERR_CALLBACK);
				return (ptrdiff_t)at;
			} else {
				return fail(dec, SW_ERR_PACK_BAD_RECORD_TYPE);
			}
			/* fallthrough */
		case P_LENGTH:
			r = sw__stage_line(dec->line, &dec->staged, dec->cfg.max_length_line,
			                   in + at, len - at, &complete);
			if (r < 0)
				return fail(dec, (int)r);
			at += (size_t)r;
			if (!complete)
				return (ptrdiff_t)at;
			if ((rv = take_length(dec)) < 0)
				return fail(dec, rv);
			/* fallthrough */
		case P_NAME_START:
			if (at == len)
				return (ptrdiff_t)at;
			if (in[at] == '\n') {
				at++;
				if ((rv = begin_record(dec)) < 0)
					return fail(dec, rv);
				if (dec->left == 0 && (rv = end_record(dec)) < 0)
					return fail(dec, rv);
				break;
			}
			if (dec->nnames == dec->cfg.max_names)
				return fail(dec, SW_ERR_PACK_TOO_MANY_NAMES);
			dec->line_len = 0;
			dec->line_nuls = 0;
			dec->state = P_NAME;
			/* fallthrough */
		case P_NAME:
			if (at == len)
				return (ptrdiff_t)at;
			r = take_name_bytes(dec, in + at, len - at);
			if (r < 0)
				return fail(dec, (int)r);
			at += (size_t)r;
			break;
		case P_BODY: {
			size_t avail = len - at;
			if (avail == 0)
				return (ptrdiff_t)at;
			size_t take = avail < dec->left ? avail : (size_t)dec->left;
			if (dec->cb.on_record_data &&
			    dec->cb.on_record_data(dec->ud, in + at, take))
				return fail(dec, SW_ERR_CALLBACK);
			at += take;
			dec->left -= take;
			if (dec->left == 0 && (rv = end_record(dec)) < 0)
				return fail(dec, rv);
			break;
		}
		case P_DONE: return (ptrdiff_t)at;
		case P_FAILED:
		default: return dec->error;
		}
	}
}

ptrdiff_t sw_pack_dec_feed(sw_pack_dec *dec, const uint8_t *in, size_t len)
{
	/* The short path: the whole input is the next piece of a body, the
	 * usual case for a reader of a large record.  It does what P_BODY
	 * does, minus the loop. */
	if (dec->state == P_BODY && len != 0 && len <= dec->left) {
		if (dec->cb.on_record_data && dec->cb.on_record_data(dec->ud, in, len))
			return fail(dec, SW_ERR_CALLBACK);
		dec->left -= len;
		int rv;
		if (dec->left == 0 && (rv = end_record(dec)) < 0)
			return fail(dec, rv);
		return (ptrdiff_t)len;
	}
	return feed_states(dec, in, len);
}

bool sw_pack_dec_done(const sw_pack_dec *dec)
{
	return dec->state == P_DONE;
}

int sw_pack_dec_error(const sw_pack_dec *dec)
{
	return dec->state == P_FAILED ? dec->error : 0;
}

int sw_pack_dec_finish(sw_pack_dec *dec)
{
	if (dec->state == P_DONE)
		return 0;
	if (dec->state == P_FAILED)
		return dec->error;
	return (int)fail(dec, SW_ERR_UNEXPECTED_EOF);
}

size_t sw_pack_dec_next_read_size(const sw_pack_dec *dec)
{
	switch (dec->state) {
	case P_DONE:
	case P_FAILED: return 0;
	case P_BODY:
		if (dec->left > SIZE_MAX)
			return SIZE_MAX;
		return dec->left > SW_PACK_READ_SIZE_HINT ? (size_t)dec->left
		                                          : SW_PACK_READ_SIZE_HINT;
	default: return SW_PACK_READ_SIZE_HINT;
	}
}
