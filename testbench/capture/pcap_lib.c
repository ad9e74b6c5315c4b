/*
 * Loading libpcap on first use (pcap_lib.h).  The shared object is looked
 * up by its sonames: Debian's and Ubuntu's "libpcap.so.0.8", upstream's
 * "libpcap.so.1", then the development link "libpcap.so".
 */
#include "capture/pcap_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sw_pcap_lib lib;
static const sw_pcap_lib *loaded;
static char why[512];

/* dlsym into a function pointer: through memcpy, as POSIX requires a
 * void * to hold a function address but C does not convert between them. */
static int sym(void *h, const char *name, void *fnp, size_t size)
{
	void *p = dlsym(h, name);
	if (!p) {
		snprintf(why, sizeof why, "libpcap has no %s", name);
		return -1;
	}
	memcpy(fnp, &p, size);
	return 0;
}

#define SYM(h, field, name) sym(h, name, &lib.field, sizeof lib.field)

static void load(void)
{
	static const char *const names[] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"};
	void *h = NULL;
	for (size_t i = 0; !h && i < sizeof names / sizeof names[0]; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(why, sizeof why, "cannot load libpcap (apt-get install libpcap0.8): %s",
		         e ? e : "not found");
		return;
	}
	if (SYM(h, open_offline_with_tstamp_precision, "pcap_open_offline_with_tstamp_precision") ||
	    SYM(h, datalink, "pcap_datalink") ||
	    SYM(h, datalink_val_to_name, "pcap_datalink_val_to_name") ||
	    SYM(h, compile, "pcap_compile") || SYM(h, setfilter, "pcap_setfilter") ||
	    SYM(h, freecode, "pcap_freecode") || SYM(h, next_ex, "pcap_next_ex") ||
	    SYM(h, geterr, "pcap_geterr") || SYM(h, close, "pcap_close")) {
		dlclose(h);
		return;
	}
	loaded = &lib;
}

const sw_pcap_lib *sw__pcap_lib(sw_errinfo *ei)
{
	pthread_once(&once, load);
	if (!loaded)
		sw_errinfo_set(ei, SW_ERR_IO, 0, "%s", why);
	return loaded;
}
