/*
 * smartwire: the export macro.
 *
 * The library is compiled with -fvisibility=hidden: only functions declared
 * with SW_API in the public headers are exported from the shared library.
 * Internal functions shared between the library's files (the `sw__` names)
 * stay hidden.  The `symbols` ctest compares the shared library's exports
 * with the SW_API declarations of the installed headers.
 */
#ifndef SMARTWIRE_EXPORT_H
#define SMARTWIRE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define SW_API __attribute__((visibility("default")))
#else
#define SW_API
#endif

#endif
