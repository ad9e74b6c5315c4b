/*
 * A test stand-in for the dynamic loader, preloaded (LD_PRELOAD) into
 * `smartwire dissect` by capture_cli.sh to reach the failures of
 * testbench/capture/pcap_lib.c without touching the machine's libpcap.
 * With SW_TEST_PCAP set, dlopen of any "libpcap*" name
 *   missing     fails, as on a machine without libpcap;
 *   incomplete  returns the main program's handle instead, which defines
 *               none of libpcap's functions (a library lacking them).
 * Every other call goes to the real dlopen.
 */
#define _GNU_SOURCE 1 /* RTLD_NEXT */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

void *dlopen(const char *file, int mode)
{
	void *next = dlsym(RTLD_NEXT, "dlopen");
	void *(*real)(const char *, int);
	memcpy(&real, &next, sizeof real);
	const char *how = getenv("SW_TEST_PCAP");
	if (how && file && strncmp(file, "libpcap", 7) == 0) {
		if (strcmp(how, "missing") == 0)
			return NULL;
		if (strcmp(how, "incomplete") == 0)
			return real(NULL, mode);
	}
	return real(file, mode);
}
