/*
 * Conformance suite: the self-contained HTML report, one verdict matrix
 * over several implementations' columns (conform_column.c) with every
 * case's steps, expected and actual, and the bytes as hex dumps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

/* ---- HTML ------------------------------------------------------------------- */

static void h(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void hexdump(FILE *f, const uint8_t *p, size_t n)
{
	size_t show = n > 65536 ? 65536 : n;
	for (size_t off = 0; off < show; off += 16) {
		fprintf(f, "%06zx  ", off);
		for (size_t i = 0; i < 16; i++) {
			if (off + i < show)
				fprintf(f, "%02x ", p[off + i]);
			else
				fputs("   ", f);
			if (i == 7)
				fputc(' ', f);
		}
		fputs(" |", f);
		for (size_t i = 0; i < 16 && off + i < show; i++) {
			uint8_t c = p[off + i];
			if (c == '<')
				fputs("&lt;", f);
			else if (c == '>')
				fputs("&gt;", f);
			else if (c == '&')
				fputs("&amp;", f);
			else
				fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
		}
		fputs("|\n", f);
	}
	if (show < n)
		fprintf(f, "... %zu more bytes\n", n - show);
}

/* A run's transcript: notes, and the bytes each way as hex dumps. */
static void transcript(FILE *f, const sw__cf_col_event *events, size_t n)
{
	for (size_t e = 0; e < n; e++) {
		const sw__cf_col_event *ev = &events[e];
		if (ev->dir == '#') {
			fputs("<div class=\"note\"># ", f);
			h(f, (const char *)ev->p);
			fputs("</div>\n", f);
			continue;
		}
		fprintf(f, "<div>%s %zu bytes</div><pre class=\"%s\">",
		        ev->dir == '>' ? "sent" : "received", ev->n,
		        ev->dir == '>' ? "sent" : "recv");
		hexdump(f, ev->p, ev->n);
		fputs("</pre>\n", f);
	}
}

static const sw__cf_col_case *find_case(const sw_cf_column *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].id && strcmp(c->v[i].id, id) == 0)
			return &c->v[i];
	return NULL;
}

int sw_cf_write_html(FILE *f, sw_cf_column *const *cols, size_t ncols)
{
	/* Row order: the first column's, then ids only later columns have. */
	const char **ids = NULL;
	const sw__cf_col_case **meta = NULL;
	size_t nid = 0;
	for (size_t c = 0; c < ncols; c++)
		for (size_t i = 0; i < cols[c]->n; i++) {
			size_t k = 0;
			while (k < nid && strcmp(ids[k], cols[c]->v[i].id) != 0)
				k++;
			if (k < nid)
				continue;
			const char **ni = realloc(ids, (nid + 1) * sizeof *ni);
			const sw__cf_col_case **nm =
			    ni ? realloc(meta, (nid + 1) * sizeof *nm) : NULL;
			if (ni)
				ids = ni;
			if (!nm) {
				free(ids);
				free(meta);
				return SW_ERR_NOMEM;
			}
			meta = nm;
			ids[nid] = cols[c]->v[i].id;
			meta[nid] = &cols[c]->v[i];
			nid++;
		}
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>smartwire conformance</title>\n"
	      "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
	      "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}th{background:#eee}"
	      "td.v a{text-decoration:none;color:inherit;display:block}"
	      ".pass{background:#bfb}.fail{background:#f99}.non-strict{background:#fd8}"
	      ".informational{background:#ddf}.unimplemented{background:#ccc}"
	      ".expected-deviation{background:#fec}.fixed{background:#f6f}.skipped{background:#eee}"
	      "pre{background:#f8f8f8;padding:4px;font-size:12px;overflow-x:auto}"
	      ".sent{border-left:4px solid #48f}.recv{border-left:4px solid #4a4}.note{color:#666}"
	      ".bad{color:#b00}.ok{color:#070}</style></head><body>\n"
	      "<h1>smartwire conformance report</h1>\n<table><tr><th>case</th><th>level</th>", f);
	for (size_t c = 0; c < ncols; c++) {
		fputs("<th>", f);
		h(f, cols[c]->name);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t k = 0; k < nid; k++) {
		fprintf(f, "<tr><td title=\"");
		h(f, meta[k]->title);
		fputs("\">", f);
		h(f, ids[k]);
		fputs("</td><td>", f);
		h(f, meta[k]->level);
		fputs("</td>", f);
		for (size_t c = 0; c < ncols; c++) {
			const sw__cf_col_case *cc = find_case(cols[c], ids[k]);
			if (!cc) {
				fputs("<td>missing</td>", f);
				continue;
			}
			fprintf(f, "<td class=\"v %s\"><a href=\"#c%zu-%zu\">", cc->verdict, c, k);
			h(f, cc->verdict);
			fputs("</a></td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<h2>Details</h2>\n", f);
	for (size_t k = 0; k < nid; k++)
		for (size_t c = 0; c < ncols; c++) {
			const sw__cf_col_case *cc = find_case(cols[c], ids[k]);
			if (!cc)
				continue;
			fprintf(f, "<details id=\"c%zu-%zu\"%s><summary class=\"%s\">", c, k,
			        strcmp(cc->verdict, "pass") && strcmp(cc->verdict, "skipped") ? " open" : "", cc->verdict);
			h(f, ids[k]);
			fputs(" &mdash; ", f);
			h(f, cols[c]->name);
			fputs(": ", f);
			h(f, cc->verdict);
			fputs("</summary>\n<p>", f);
			h(f, cc->title);
			fputs("<br>level ", f);
			h(f, cc->level);
			fputs(", ref ", f);
			h(f, cc->ref);
			fputs("</p>\n", f);
			if (cc->reason) {
				fputs("<p class=\"bad\">", f);
				h(f, cc->reason);
				fputs("</p>\n", f);
			}
			if (cc->deviation) {
				fputs("<p>Expected deviation: ", f);
				h(f, cc->deviation);
				fputs("</p>\n", f);
			}
			if (cc->variant) {
				fputs("<p>Failing sweep variant: ", f);
				h(f, cc->variant);
				fputs(" (the transcript below is that variant's)</p>\n", f);
			}
			if (cc->nsteps) {
				fputs("<table><tr><th>line</th><th></th><th>expected</th><th>actual</th></tr>\n", f);
				for (size_t s = 0; s < cc->nsteps; s++) {
					fprintf(f, "<tr><td>%d</td><td class=\"%s\">%s</td><td><code>", cc->steps[s].line,
					        cc->steps[s].ok ? "ok" : "bad", cc->steps[s].ok ? "ok" : "FAIL");
					h(f, cc->steps[s].expected);
					fputs("</code></td><td><code>", f);
					h(f, cc->steps[s].actual ? cc->steps[s].actual : (cc->steps[s].ok ? "as expected" : ""));
					fputs("</code></td></tr>\n", f);
				}
				fputs("</table>\n", f);
			}
			transcript(f, cc->events, cc->nevents);
			if (cc->has_ref) {
				/* The differential: the reference's run of the case. */
				if (cc->difference) {
					fputs("<p class=\"bad\">Differs from the reference: ", f);
					h(f, cc->difference);
					fputs("</p>\n", f);
				}
				fputs("<div><b>reference transcript</b></div>\n", f);
				if (cc->ref_reason) {
					fputs("<p>The reference failed the case: ", f);
					h(f, cc->ref_reason);
					fputs("</p>\n", f);
				}
				transcript(f, cc->ref_events, cc->ref_nevents);
			}
			if (cc->stderr_text && *cc->stderr_text) {
				fputs("<div>stderr</div><pre>", f);
				h(f, cc->stderr_text);
				fputs("</pre>\n", f);
			}
			fputs("</details>\n", f);
		}
	fputs("</body></html>\n", f);
	free(ids);
	free(meta);
	return ferror(f) ? SW_ERR_IO : 0;
}
