/*
 * The library's version (smartwire/version.h), set by the build from the
 * project version in CMakeLists.txt.
 */
#include "smartwire/version.h"

/* Builds outside CMake (the OSS-Fuzz script, fuzz/run) do not say. */
#ifndef SW_VERSION
#define SW_VERSION "unknown"
#endif

const char *sw_version(void)
{
	return SW_VERSION;
}
