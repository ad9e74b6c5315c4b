/*
 * The security oracle's findings (oracle.h, sw_oracle_report): the list the
 * scan (oracle.c) and the tree check (oracle_tree.c) append to, and the
 * names of their kinds.
 */
#include <stdlib.h>
#include <string.h>

#include "oracle_impl.h"
#include "smartwire/error.h"

void sw_oracle_report_init(sw_oracle_report *rep)
{
	memset(rep, 0, sizeof *rep);
}

void sw_oracle_report_fini(sw_oracle_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->v[i].secret);
		free(rep->v[i].text);
	}
	free(rep->v);
	memset(rep, 0, sizeof *rep);
}

const char *sw_oracle_kind_name(sw_oracle_kind k)
{
	switch (k) {
	case SW_ORACLE_CONTENT: return "content leak";
	case SW_ORACLE_NAME: return "name leak";
	case SW_ORACLE_OUTSIDE: return "outside change";
	case SW_ORACLE_INSIDE: return "inside change";
	}
	return "?";
}

int sw__or_add(sw_oracle_report *rep, sw_oracle_kind kind, size_t offset, const char *secret,
               const char *text)
{
	sw_oracle_finding *v = realloc(rep->v, (rep->n + 1) * sizeof *v);
	if (!v)
		return SW_ERR_NOMEM;
	rep->v = v;
	sw_oracle_finding *f = &v[rep->n];
	f->kind = kind;
	f->offset = offset;
	f->secret = strdup(secret ? secret : "");
	f->text = strdup(text ? text : "");
	if (!f->secret || !f->text) {
		free(f->secret);
		free(f->text);
		return SW_ERR_NOMEM;
	}
	rep->n++;
	return 0;
}
