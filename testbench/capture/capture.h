/*
 * Packet captures in, paired conversations out: the capture side of
 * `smartwire dissect` (docs/dissect.md is the user's guide).
 *
 * Input: a pcap or pcapng file (read with libpcap; Ethernet, Linux cooked
 * v1/v2, raw IP, BSD loopback and OpenBSD loop link types; IPv4 and IPv6),
 * or a recording directory of `smartwire record` (conn-NNN.c2s/.s2c, with
 * the chunk times of conn-NNN.log when present).  TCP is reassembled per
 * connection (capture/reasm.h), each direction decoded into messages
 * (capture/flow.h, with the decoder of capture/dissect.h) and the messages
 * paired (capture/convo.h).
 *
 * Output, text: per connection, each exchange (request and answer: version,
 * args, status, body size and SHA-256, stream offsets, capture times),
 * gaps, skipped bytes, framing errors at their exact stream offset, and a
 * closing summary; a last line for the whole capture.
 *
 * Output, JSON (--json): one object per line, each with a "type":
 *
 *   {"type":"exchange","conn":C,"index":K,"request":MSG|null,
 *    "response":MSG|null[,"note":N][,"elapsed":SECONDS]}
 *       The K-th exchange of connection C.  "note" says why a side is
 *       null: "request not captured", "answer lost" (the responses lost
 *       the thread and this answer was among the lost), "no answer" (the
 *       responses ended first).  "elapsed": from the request's first byte
 *       to the response's last byte.
 *   MSG = {"index":I,"version":1|2|3,"offset":O,"length":L,
 *          "time":T,"time_last":T2
 *          [,"headers":{...},"header_length":H]      v3 only
 *          [,"status":"success"|"failed"]            v2 and v3 responses
 *          ,"args":[...]|null
 *          [,"parts":["o:S","s:23","b:100",...]]     v3: parts after the headers
 *          [,"body_length":N,"body_parts":P[,"body_sha256":HEX]]
 *                                                    (a failed message: the body
 *                                                    bytes seen, no digest)
 *          [,"body_error":[...]]                     v2 ERR chunks, v3 error after a body
 *          [,"error":NAME,"message":TEXT,"error_offset":E]
 *          [,"truncated":true]                       cut by a gap or the stream's end
 *          [,"after_skip":true]}                     first message found again
 *       I counts messages per direction from 1; O, L and E are offsets in
 *       that direction's byte stream (E is the first bad byte); T, T2 the
 *       capture times of its first and last byte.  Byte strings are JSON
 *       strings whose code points are the byte values ("\u00e9" is 0xe9).
 *   {"type":"gap","conn":C,"dir":"c2s"|"s2c","offset":O,"length":L,
 *    "cause":"acked"|"ended"|"limit"|"snaplen","time":T}
 *       Bytes the capture does not have (reasm.h says when a hole is given up).
 *   {"type":"skip","conn":C,"dir":D,"offset":O,"length":L,
 *    "reason":"start"|"gap"|"error"|"limit","undecodable_rest":true|false}
 *       Captured bytes that could not be placed in a message (flow.h).
 *   {"type":"limit","what":"connections"|"held_bytes","conn":C|null,...}
 *   {"type":"connection","conn":C,"client":"ADDR:PORT","server":"ADDR:PORT"
 *    |"recording":"conn-NNN","partial":BOOL,"start":T,"end":T,
 *    "exchanges":N,"requests":N,"responses":N,"errors":N,"truncated":N,
 *    "no_request":N,"no_answer":N,"c2s":HALF,"s2c":HALF}
 *       Emitted when the connection closes, after its exchanges.
 *   HALF = {"bytes":N,"segments":N,"gaps":N,"gap_bytes":N,"retransmitted":N,
 *           "retransmitted_bytes":N,"mismatch_bytes":N,"out_of_order":N,
 *           "before_start":N,"skipped":N,"undecodable":BOOL,"end":"fin"|"rst"|"open"}
 *   {"type":"capture","source":PATH,"frames":N,"segments":N,"connections":N,
 *    "ignored_connections":N,"other_port":N,"stray":N,"skipped_frames":{NAME:N...},
 *    "start":ISO8601|null,"clean":BOOL}
 *       The last line.  "clean": every byte of every connection decoded into
 *       complete, paired messages (no gap, skip, error, truncation, partial
 *       connection or lone side).
 * Times T are seconds (6 decimals) since the first frame of the capture, or
 * since the connection opened for a recording (0 without its .log).
 */
#ifndef SW_CAPTURE_CAPTURE_H
#define SW_CAPTURE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smartwire/error.h"

/* Zero-initialise: every 0 / NULL field is the default. */
typedef struct sw_capture_options {
	uint16_t port;          /* the server's TCP port; 0: 4155 */
	const char *filter;     /* a BPF expression applied first (pcap files only) */
	bool json;              /* JSON lines instead of text */
	size_t max_held;        /* out-of-order bytes held per connection (reasm.h) */
	size_t max_connections; /* live connections tracked at once (reasm.h) */
	size_t max_message;     /* largest message buffered while incomplete (flow.h) */
} sw_capture_options;

/* Dissects `path`: a recording directory if it is a directory, else a pcap
 * or pcapng file.  Writes to `out`.  Returns 0 when the capture is clean, 1
 * when it shows anomalies (see "clean" above), or a negative sw_err with a
 * sentence in *ei (may be NULL): SW_ERR_IO (cannot open or read; libpcap's
 * message), SW_ERR_INVALID_ARGUMENT (a bad BPF filter, an unsupported link
 * type), SW_ERR_NOMEM. */
int sw_capture_dissect(const char *path, const sw_capture_options *opt, FILE *out, sw_errinfo *ei);

/* The two halves of sw_capture_dissect(), same returns. */
int sw_capture_dissect_pcap(const char *path, const sw_capture_options *opt, FILE *out,
                            sw_errinfo *ei);
int sw_capture_dissect_recording(const char *dir, const sw_capture_options *opt, FILE *out,
                                 sw_errinfo *ei);

/* True if `path` looks like something sw_capture_dissect() reads: a directory,
 * or a file starting with a pcap or pcapng magic number.  For a command that
 * also takes one-direction byte streams (smartwire dissect FILE). */
bool sw_capture_sniff(const char *path);

#endif
