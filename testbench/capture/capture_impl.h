/*
 * Private to testbench/capture/: the report writer (report.c), the sink of
 * the conversation layer that prints the text and JSON views documented in
 * capture.h.
 */
#ifndef SW_CAPTURE_CAPTURE_IMPL_H
#define SW_CAPTURE_CAPTURE_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/convo.h"
#include "capture/reasm.h"

typedef struct sw__report {
	FILE *out;
	bool json;
	bool recording;  /* connections are files of a recording directory */
	int64_t base_ts; /* subtracted from every capture time */
	bool anomalies;  /* something made the capture not clean */
	unsigned connections;
} sw__report;

/* The sink writing to r->out (ud = the sw__report). */
sw_convo_sink sw__report_sink(void);

/* The last line ("capture" object / summary).  `st` NULL for a recording;
 * `start_ns` < 0 when unknown. */
void sw__report_end(sw__report *r, const char *source, const sw_reasm_stats *st, int64_t start_ns);

#endif
