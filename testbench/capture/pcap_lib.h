/*
 * libpcap, loaded when the first capture file is read (dlopen), not when a
 * program starts: every `smartwire` command links the test bench, and
 * Debian's libpcap brings libdbus, libsystemd, libgcrypt and five more
 * libraries with it.  Linked at start-up they cost every `smartwire serve
 * --inet` (one process per connection) about 0.6 ms of loading and the
 * server 1.2 MiB of resident pages it never uses.
 *
 * The functions are those of <pcap/pcap.h>, called through pointers of
 * their declared types (the header is still needed to build).
 */
#ifndef SW_CAPTURE_PCAP_LIB_H
#define SW_CAPTURE_PCAP_LIB_H

#include <pcap/pcap.h>

#include "smartwire/error.h"

typedef struct sw_pcap_lib {
	__typeof__(pcap_open_offline_with_tstamp_precision) *open_offline_with_tstamp_precision;
	__typeof__(pcap_datalink) *datalink;
	__typeof__(pcap_datalink_val_to_name) *datalink_val_to_name;
	__typeof__(pcap_compile) *compile;
	__typeof__(pcap_setfilter) *setfilter;
	__typeof__(pcap_freecode) *freecode;
	__typeof__(pcap_next_ex) *next_ex;
	__typeof__(pcap_geterr) *geterr;
	__typeof__(pcap_close) *close;
} sw_pcap_lib;

/* The library's functions, loaded on the first call (thread-safe; never
 * unloaded).  NULL, with SW_ERR_IO and the reason set in *ei (may be NULL),
 * when no libpcap can be loaded or the one loaded lacks a function. */
const sw_pcap_lib *sw__pcap_lib(sw_errinfo *ei);

#endif
