/*
 * The monotonic clock (smartwire/clock.h).
 */
#include <limits.h>
#include <time.h>

#include "smartwire/clock.h"

int64_t sw_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sw_clock_ms(void)
{
	return sw_clock_ns() / 1000000;
}

int64_t sw_deadline_ms(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : sw_clock_ms() + timeout_ms;
}

int sw_deadline_left(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - sw_clock_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}
