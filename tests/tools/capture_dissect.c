/*
 * sw_capture_dissect: a stand-in for `smartwire dissect` on captures until
 * tools/cmd_dissect.c is wired to testbench/capture/capture.h; the capture
 * tests run it.  Usage:
 *
 *   sw_capture_dissect [--json] [--port N] [--filter BPF]
 *                      [--max-held N] [--max-connections N] [--max-message N] PATH
 *
 * PATH is a pcap/pcapng file or a recording directory.  Exit status: 0 clean
 * capture, 1 anomalies, 2 usage, 3 the capture could not be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

static int usage(void)
{
	fprintf(stderr, "usage: sw_capture_dissect [--json] [--port N] [--filter BPF] "
	                "[--max-held N] [--max-connections N] [--max-message N] PATH\n");
	return 2;
}

int main(int argc, char **argv)
{
	sw_capture_options opt;
	memset(&opt, 0, sizeof opt);
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--json") == 0) {
			opt.json = true;
		} else if (strcmp(a, "--port") == 0 && v) {
			opt.port = (uint16_t)strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--filter") == 0 && v) {
			opt.filter = v;
			i++;
		} else if (strcmp(a, "--max-held") == 0 && v) {
			opt.max_held = strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--max-connections") == 0 && v) {
			opt.max_connections = strtoul(v, NULL, 10);
			i++;
		} else if (strcmp(a, "--max-message") == 0 && v) {
			opt.max_message = strtoul(v, NULL, 10);
			i++;
		} else if (a[0] == '-' || path) {
			return usage();
		} else {
			path = a;
		}
	}
	if (!path)
		return usage();
	sw_errinfo ei;
	int rc = sw_capture_dissect(path, &opt, stdout, &ei);
	if (rc < 0) {
		fprintf(stderr, "sw_capture_dissect: %s\n", ei.text);
		return 3;
	}
	return rc;
}
