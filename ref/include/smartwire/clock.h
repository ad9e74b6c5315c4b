/*
 * smartwire: the monotonic clock and deadlines, in milliseconds.
 *
 * Every timeout in the library (idle time, request deadlines, connect and
 * read bounds, a child's exit) is computed with these, so that there is one
 * notion of time and one place to change it.  Nothing computed from the
 * clock is ever written on the wire.
 */
#ifndef SMARTWIRE_CLOCK_H
#define SMARTWIRE_CLOCK_H

#include <stdint.h>

#include "smartwire/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Milliseconds of CLOCK_MONOTONIC: never goes back; its zero is arbitrary. */
SW_API int64_t sw_clock_ms(void);

/* The same clock in nanoseconds, for timings in logs and reports. */
SW_API int64_t sw_clock_ns(void);

/* The deadline `timeout_ms` from now, or -1 ("no deadline") when timeout_ms
 * is negative. */
SW_API int64_t sw_deadline_ms(int timeout_ms);

/* Milliseconds left until `deadline` (0 once it has passed), or -1 for no
 * deadline (deadline < 0); clamped to INT_MAX so that it can be passed to
 * poll(2) as is. */
SW_API int sw_deadline_left(int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
