/*
 * smartwire: the library's version.
 */
#ifndef SMARTWIRE_VERSION_H
#define SMARTWIRE_VERSION_H

#include "smartwire/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library that is running, "MAJOR.MINOR.PATCH" (the
 * project version; the shared library's soname changes with its ABI).
 * Static string. */
SW_API const char *sw_version(void);

#ifdef __cplusplus
}
#endif
#endif
