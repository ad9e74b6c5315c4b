/* XSI strerror_r (int result): not the GNU one. */
#undef _GNU_SOURCE
#include "smartwire/error.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct entry {
	int code;
	const char *name;
	const char *text;
};

#define E(code, text) {code, #code, text}

static const struct entry entries[] = {
    E(SW_OK, "success"),
    E(SW_ERR_NOMEM, "out of memory"),
    E(SW_ERR_INVALID_ARGUMENT, "invalid argument"),
    E(SW_ERR_STATE, "call not valid in the current state"),
    E(SW_ERR_CALLBACK, "a callback reported failure"),
    E(SW_ERR_UNEXPECTED_EOF, "unexpected end of stream in the middle of a message"),
    E(SW_ERR_LINE_TOO_LONG, "line longer than the configured limit"),
    E(SW_ERR_TOO_MANY_ARGS, "tuple has more elements than the configured limit"),
    E(SW_ERR_BAD_LENGTH, "body length prefix is not a decimal number"),
    E(SW_ERR_BAD_TRAILER, "body is not followed by \"done\\n\""),
    E(SW_ERR_BODY_TOO_LARGE, "body longer than the configured limit"),
    E(SW_ERR_BAD_CHUNK_HEADER, "chunked body does not start with \"chunked\\n\""),
    E(SW_ERR_BAD_CHUNK_LENGTH, "chunk length is not a hexadecimal number"),
    E(SW_ERR_CHUNK_TOO_LARGE, "chunk longer than the configured limit"),
    E(SW_ERR_BAD_MARKER, "unexpected protocol version marker"),
    E(SW_ERR_BAD_STATUS, "bad protocol status line"),
    E(SW_ERR_BAD_ARGUMENT_BYTE, "argument contains a \\x01 or newline byte"),
    E(SW_ERR_BENCODE_SYNTAX, "not bencoded"),
    E(SW_ERR_BENCODE_TRUNCATED, "bencode: stream underflow"),
    E(SW_ERR_BENCODE_JUNK, "bencode: junk in stream"),
    E(SW_ERR_BENCODE_UNSORTED, "bencode: dict keys disordered"),
    E(SW_ERR_BENCODE_BAD_INT, "bencode: malformed or out-of-range integer"),
    E(SW_ERR_BENCODE_DEPTH, "bencode: nesting deeper than the configured limit"),
    E(SW_ERR_BENCODE_TOO_MANY, "bencode: more elements than the configured limit"),
    E(SW_ERR_BENCODE_KEY, "bencode: dict key is not a byte string"),
    E(SW_ERR_HEADER_NOT_DICT, "message headers are not a dict"),
    E(SW_ERR_HEADER_TOO_LARGE, "message headers longer than the configured limit"),
    E(SW_ERR_BAD_KIND, "bad message kind byte"),
    E(SW_ERR_PART_TOO_LARGE, "bytes part longer than the configured limit"),
    E(SW_ERR_STRUCT_TOO_LARGE, "structure part longer than the configured limit"),
    E(SW_ERR_MESSAGE_TOO_LARGE, "message body longer than the configured limit"),
    E(SW_ERR_UNEXPECTED_PART, "unexpected message part"),
    E(SW_ERR_PREMATURE_END, "end of message received prematurely"),
    E(SW_ERR_BAD_STATUS_BYTE, "status byte is neither S nor E"),
    E(SW_ERR_IO, "input/output error"),
    E(SW_ERR_CONNECTION_RESET, "connection closed by peer"),
    E(SW_ERR_TIMEOUT, "timed out"),
    E(SW_ERR_WOULD_BLOCK, "operation would block"),
    E(SW_ERR_CONNECT, "could not connect"),
    E(SW_ERR_SPAWN, "could not start command"),
    E(SW_ERR_CLOSED, "medium is closed"),
    E(SW_ERR_NOT_A_SERVER, "server is not a Bazaar server"),
    E(SW_ERR_TOO_MANY_REQUESTS, "medium has reached its concurrent request limit"),
    E(SW_ERR_READING_COMPLETED, "response reading already completed"),
    E(SW_ERR_UNKNOWN_METHOD, "server does not know the method"),
    E(SW_ERR_ERROR_RESPONSE, "server answered with an error"),
    E(SW_ERR_PROTOCOL, "protocol violation by the peer"),
    E(SW_ERR_LIMIT, "server limit reached"),
    E(SW_ERR_PACK_BAD_FORMAT, "unrecognised pack container format"),
    E(SW_ERR_PACK_BAD_RECORD_TYPE, "unknown pack record type"),
    E(SW_ERR_PACK_BAD_LENGTH, "pack record length is not a valid length"),
    E(SW_ERR_PACK_BAD_NAME, "pack record name is not a valid name"),
    E(SW_ERR_PACK_NAME_TOO_LONG, "pack record name longer than the configured limit"),
    E(SW_ERR_PACK_TOO_MANY_NAMES, "pack record has more names than the configured limit"),
    E(SW_ERR_PACK_RECORD_TOO_LARGE, "pack record longer than the configured limit"),
};

static const struct entry *find(int err)
{
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		if (entries[i].code == err)
			return &entries[i];
	return NULL;
}

const char *sw_strerror(int err)
{
	const struct entry *e = find(err);
	return e ? e->text : "unknown error";
}

const char *sw_errname(int err)
{
	const struct entry *e = find(err);
	return e ? e->name : "SW_ERR_UNKNOWN";
}

int sw_errinfo_set(sw_errinfo *ei, int code, int sys_errno, const char *fmt, ...)
{
	if (!ei)
		return code;
	ei->code = code;
	ei->sys_errno = sys_errno;
	ei->offset = 0;
	if (!fmt) {
		snprintf(ei->text, sizeof ei->text, "%s", sw_strerror(code));
		return code;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ei->text, sizeof ei->text, fmt, ap);
	va_end(ap);
	return code;
}

const char *sw_sys_strerror(int e, char *buf, size_t len)
{
	if (!buf || len == 0)
		return "";
	if (strerror_r(e, buf, len) != 0)
		snprintf(buf, len, "Unknown error %d", e);
	return buf;
}
