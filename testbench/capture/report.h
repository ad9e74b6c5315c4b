/*
 * The report writer: the text and JSON views of conversations documented in
 * capture.h, as a sink of the conversation layer (convo.h).  It decides
 * nothing about the traffic; it prints what it is told and remembers
 * whether anything made the capture not clean.
 *
 * A caller-owned struct: sw_report_init, then pass sw_report_sink() with
 * the struct as user data to sw_convo_new, and sw_report_end for the last
 * line.  Output errors are the FILE's (ferror).
 */
#ifndef SW_CAPTURE_REPORT_H
#define SW_CAPTURE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/convo.h"
#include "capture/reasm.h"

typedef struct sw_report {
	FILE *out;
	bool json;
	bool recording;  /* connections are files of a recording directory */
	int64_t base_ts; /* subtracted from every capture time */
	bool anomalies;  /* something made the capture not clean */
	unsigned connections;
} sw_report;

/* Prepares a report to `out`; base_ts 0 (set it before the first event). */
void sw_report_init(sw_report *r, FILE *out, bool json, bool recording);

/* The sink writing the report (ud = the sw_report). */
sw_convo_sink sw_report_sink(void);

/* The last line ("capture" object / summary).  `st` NULL for a recording;
 * `start_ns` < 0 when unknown. */
void sw_report_end(sw_report *r, const char *source, const sw_reasm_stats *st, int64_t start_ns);

#endif
