/*
 * smartwire: the one error enum of the library.
 *
 * Every function that can fail returns an `int`: zero or a positive count on
 * success, or one of the negative `sw_err` values below.  Codes are grouped by
 * layer (codec, bencode, v3 message, medium, session, server) but form a
 * single enum so that any caller can print any error with sw_strerror().
 *
 * Values are stable: new codes are only ever appended inside their group's
 * range, never renumbered, so numbers recorded in reports stay meaningful
 * (a code that is no longer used is removed and its number not reused).
 *
 * ERROR DETAIL.  The code says what went wrong.  Where more can be said (the
 * system errno behind it, where in a parsed input, a sentence naming the
 * host or the path), a call takes an optional `sw_errinfo *` as its LAST
 * parameter and fills it on failure; NULL means "the code is enough".  This
 * is the one way detail is returned.  (Long-lived objects also remember the
 * errno of their last failure, sw_medium_errno(), like errno itself.)
 */
#ifndef SMARTWIRE_ERROR_H
#define SMARTWIRE_ERROR_H

#include <stddef.h>

#include "smartwire/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_err {
	SW_OK = 0,

	/* General (-1 .. -9). */
	SW_ERR_NOMEM = -1,            /* an allocation failed */
	SW_ERR_INVALID_ARGUMENT = -2, /* caller passed an argument outside the contract */
	SW_ERR_STATE = -3,            /* call not valid in the object's current state */
	SW_ERR_CALLBACK = -4,         /* a user callback returned non-zero */
	SW_ERR_UNEXPECTED_EOF = -5,   /* finish() called in the middle of a message */
	SW_ERR_LINE_TOO_LONG = -6,    /* a '\n'-terminated line exceeded its limit */
	SW_ERR_TOO_MANY_ARGS = -7,    /* a v1/v2 tuple had more elements than allowed */

	/* v1/v2 bodies and framing (-10 .. -29). */
	SW_ERR_BAD_LENGTH = -10,        /* length-prefixed body: length is not a decimal number */
	SW_ERR_BAD_TRAILER = -11,       /* length-prefixed body not followed by "done\n" */
	SW_ERR_BODY_TOO_LARGE = -12,    /* body length over the configured limit */
	SW_ERR_BAD_CHUNK_HEADER = -13,  /* chunked body does not start with "chunked\n" */
	SW_ERR_BAD_CHUNK_LENGTH = -14,  /* chunk length line is not hexadecimal */
	SW_ERR_CHUNK_TOO_LARGE = -15,   /* one chunk over the configured limit */
	SW_ERR_BAD_MARKER = -20,        /* unexpected protocol version marker */
	SW_ERR_BAD_STATUS = -21,        /* v2 status line neither "success" nor "failed" */
	SW_ERR_BAD_ARGUMENT_BYTE = -22, /* encoder: an argument contains '\x01' or '\n' */

	/* bencode (-30 .. -39). */
	SW_ERR_BENCODE_SYNTAX = -30,    /* not bencode at all (bad type byte, bad string length) */
	SW_ERR_BENCODE_TRUNCATED = -31, /* input ends inside a value ("stream underflow") */
	SW_ERR_BENCODE_JUNK = -32,      /* bytes after the single top-level value */
	SW_ERR_BENCODE_UNSORTED = -33,  /* dict keys not strictly ascending (or duplicated) */
	SW_ERR_BENCODE_BAD_INT = -34,   /* i03e, i-0e, ie, or outside int64 */
	SW_ERR_BENCODE_DEPTH = -35,     /* nesting deeper than the configured limit */
	SW_ERR_BENCODE_TOO_MANY = -36,  /* more elements than the configured limit */
	SW_ERR_BENCODE_KEY = -37,       /* a dict key that is not a byte string */

	/* v3 framing (-40 .. -49). */
	SW_ERR_HEADER_NOT_DICT = -40,   /* v3 headers decoded to something other than a dict */
	SW_ERR_HEADER_TOO_LARGE = -41,  /* v3 header length prefix over the limit */
	SW_ERR_BAD_KIND = -42,          /* v3 message part kind byte not one of o s b e */
	SW_ERR_PART_TOO_LARGE = -43,    /* v3 bytes part over the limit */
	SW_ERR_STRUCT_TOO_LARGE = -44,  /* v3 structure part over the limit */
	SW_ERR_MESSAGE_TOO_LARGE = -45, /* total message body over the limit */

	/* Conventional message semantics (-50 .. -59). */
	SW_ERR_UNEXPECTED_PART = -50, /* a part that the conventional grammar does not allow here */
	SW_ERR_PREMATURE_END = -51,   /* 'e' before the args structure */
	SW_ERR_BAD_STATUS_BYTE = -52, /* 'o' part other than 'S' or 'E' */

	/* Media (-60 .. -69). */
	SW_ERR_IO = -60,               /* an I/O error other than the ones below */
	SW_ERR_CONNECTION_RESET = -61, /* peer went away (ECONNRESET, EPIPE, EOF mid-message) */
	SW_ERR_TIMEOUT = -62,          /* a bounded wait expired */
	SW_ERR_WOULD_BLOCK = -63,      /* non-blocking medium has nothing to give now */
	SW_ERR_CONNECT = -64,          /* could not connect to any address */
	SW_ERR_SPAWN = -65,            /* could not start the server command */
	SW_ERR_CLOSED = -66,           /* operation on a closed medium */

	/* Client session (-70 .. -79). */
	SW_ERR_NOT_A_SERVER = -70,         /* neither v3 nor v2 marker came back */
	SW_ERR_TOO_MANY_REQUESTS = -71,    /* a request is already outstanding */
	SW_ERR_READING_COMPLETED = -74,    /* read after finished_reading */
	SW_ERR_UNKNOWN_METHOD = -75,       /* server does not know the verb */
	SW_ERR_ERROR_RESPONSE = -76,       /* server answered with an error tuple */
	SW_ERR_PROTOCOL = -77,             /* peer violated the protocol in some other way */

	/* Server (-80 .. -89). */
	SW_ERR_LIMIT = -82, /* a server limit (connections, ranges, ...) was hit */

	/* Pack container, breezy/bzr/pack.py (-90 .. -99). */
	SW_ERR_PACK_BAD_FORMAT = -90,       /* first line is not the pack format 1 header */
	SW_ERR_PACK_BAD_RECORD_TYPE = -91,  /* record kind byte neither 'B' nor 'E' */
	SW_ERR_PACK_BAD_LENGTH = -92,       /* record length is not a non-negative integer */
	SW_ERR_PACK_BAD_NAME = -93,         /* a record name element contains whitespace */
	SW_ERR_PACK_NAME_TOO_LONG = -94,    /* a record name line over the configured limit */
	SW_ERR_PACK_TOO_MANY_NAMES = -95,   /* more names in one record than the limit */
	SW_ERR_PACK_RECORD_TOO_LARGE = -96, /* record length over the configured limit */

	SW_ERR_MIN_ = -99
} sw_err;

#define SW_ERRINFO_TEXT 256

/* Detail of a failure, filled by the call that failed (see above). */
typedef struct sw_errinfo {
	int code;                   /* the sw_err the call returned */
	int sys_errno;              /* the errno behind it, 0 if none */
	size_t offset;              /* parsers: byte offset of the error in the input */
	char text[SW_ERRINFO_TEXT]; /* a sentence, NUL-terminated, cut to fit */
} sw_errinfo;

/* Fills *ei (if not NULL) with `code`, `sys_errno`, offset 0 and the text
 * printf(fmt, ...) (NULL fmt: sw_strerror(code)).  Returns `code`, so that a
 * failing function can `return sw_errinfo_set(err, SW_ERR_IO, errno, ...)`. */
SW_API int sw_errinfo_set(sw_errinfo *ei, int code, int sys_errno, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* strerror(e), thread-safe: the text is written to buf[0..len) (cut to fit)
 * and returned.  For the sentences of sw_errinfo and of logs. */
SW_API const char *sw_sys_strerror(int e, char *buf, size_t len);

/* A static, human-readable English sentence for `err`; never NULL.  Unknown
 * values give "unknown error". */
SW_API const char *sw_strerror(int err);

/* The enumerator's name ("SW_ERR_NOMEM"), for machine-readable output such as
 * traces, JSON and conformance reports; never NULL ("SW_ERR_UNKNOWN" for
 * values not in the enum). */
SW_API const char *sw_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
