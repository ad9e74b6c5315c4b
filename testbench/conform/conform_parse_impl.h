/*
 * The case-file parser's internals, shared by its three files:
 *
 *   conform_parse.c       logical lines (continuations, NUL check), the
 *                         suite, loading files and directories
 *   conform_directives.c  THE DIRECTIVE TABLE: one row per directive with
 *                         its arity and handler, and the handlers
 *   conform_message.c     the grammar of what a step sends or expects
 *                         (raw, v1/v2/v3 messages, eof, silence, "then")
 */
#ifndef SW_CONFORM_PARSE_IMPL_H
#define SW_CONFORM_PARSE_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "conform_impl.h"

typedef struct sw__cf_pstate {
	sw_cf_suite *suite;
	size_t first_new; /* index of the first case of this text */
	sw_cf_diag *diag;
	const char *file;
	int line;         /* first physical line of the current logical line */
	const char *text; /* the current logical line (not NUL-terminated) */
	size_t len;
	sw_cf_case *cur;   /* the case being filled, NULL before the first */
	bool after_expect; /* the previous line was an expect, or or capture */
	bool now_expect;   /* this line is one (set by their handlers) */
	sw_cf_vars decl;   /* the current case's captured names so far */
} sw__cf_pstate;

/* Fills the diagnostic with the current file and line and a sentence;
 * returns SW_ERR_INVALID_ARGUMENT. */
int sw__cf_fail(sw__cf_pstate *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Grows a typed array by one zeroed element; returns it or NULL. */
void *sw__cf_grow(void **arr, size_t *n, size_t size);

/* The source text of toks[a..b) joined by single spaces (malloc'd), or NULL. */
char *sw__cf_join(const sw__cf_tok *toks, size_t a, size_t b);

/* A malloc'd copy of a token's source text, or NULL. */
char *sw__cf_tokdup(const sw__cf_tok *t);

/* Appends `s` (taking it; NULL means an allocation failed) to a vector.
 * Returns 0 or SW_ERR_NOMEM (then s is freed). */
int sw__cf_push_str(char ***v, size_t *n, char *s);

/* Checks that a byte expression (or, with `arg`, an argument token)
 * evaluates, with a placeholder root.  Returns 0, SW_ERR_INVALID_ARGUMENT
 * (diagnostic filled) or SW_ERR_NOMEM. */
int sw__cf_check_expr(sw__cf_pstate *ps, const char *expr, bool arg);

/* Ends the current case: checks its required metadata.  Returns 0 or
 * SW_ERR_INVALID_ARGUMENT (diagnostic at the case's line). */
int sw__cf_finish_case(sw__cf_pstate *ps);

/* Runs the directive of one tokenized logical line through the table.
 * n >= 1.  Returns 0, SW_ERR_INVALID_ARGUMENT or SW_ERR_NOMEM. */
int sw__cf_directive(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n);

/* Parses one atom from t[*i..n) (to send, or with `expect` to expect),
 * stopping before "then"/"within"; advances *i.  Same returns. */
int sw__cf_parse_atom(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n, size_t *i, bool expect,
                      sw_cf_atom *a);

/* Parses "ATOM [then ATOM]... [within DUR]" from t[i..n) into a new
 * alternative of `st`.  Same returns. */
int sw__cf_parse_alt(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n, size_t i, sw_cf_step *st);

/* Case matrices (conform_matrix_path.c): the bytes of a form's path
 * source p[0..n) with its templates expanded, appended to out.  Returns 0,
 * SW_ERR_NOMEM, or SW_ERR_INVALID_ARGUMENT with a sentence in *why. */
int sw__cf_matrix_path(const char *p, size_t n, sw_buf *out, const char **why);
/* The bytes as a case-file string ("..." with escapes; {root} and
 * {outside} kept).  Returns 0 or SW_ERR_NOMEM. */
int sw__cf_matrix_quote(sw_buf *out, const uint8_t *p, size_t n);

#endif
