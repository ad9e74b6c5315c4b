/*
 * Conformance suite: the self-contained HTML report over one or several
 * implementations' columns (conform_column.c), for a person to look at:
 *
 *   1. the verdict of each run (PASS/FAIL and its exit status), the counts
 *      per verdict, and the security line;
 *   2. the list of failing cases, each linked to its evidence;
 *   3. a matrix by area (area x implementation, counts coloured by verdict);
 *   4. the cases by area, each area collapsible, with a filter that shows
 *      only failures and deviations; per case and implementation the
 *      steps (expected versus actual), the transcript as hex dumps, the
 *      server's stderr, and for a flaky case the failing first run too.
 *
 * Element ids are stable (#verdict, #security, #failures, #matrix, #cases,
 * #only-problems, case details #cN-K) for tests that read the rendered
 * page; the small script only opens details and filters rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

/* ---- Text ------------------------------------------------------------------ */

/* Text as HTML: bytes from 0x80 pass as they are (the page is UTF-8, and
 * case titles may hold UTF-8 file names). */
static void h(FILE *f, const char *s)
{
	sw__cf_markup_text(f, s, false);
}

/* The first line of s, at most max bytes. */
static void h_line(FILE *f, const char *s, size_t max)
{
	if (!s)
		return;
	size_t n = strcspn(s, "\n");
	if (n > max)
		n = max;
	char *t = sw__cf_strndup(s, n);
	h(f, t);
	free(t);
	if (s[n] && s[n] != '\n')
		fputs("&hellip;", f);
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

/* ---- The model: rows (case ids) over columns --------------------------------- */

static const char *const verdicts[] = {"pass",          "fail",          "non-strict",
                                       "informational", "unimplemented", "expected-deviation",
                                       "fixed",         "skipped",       "flaky"};
#define NV (sizeof verdicts / sizeof verdicts[0])

static int verdict_index(const char *v)
{
	for (size_t i = 0; v && i < NV; i++)
		if (strcmp(v, verdicts[i]) == 0)
			return (int)i;
	return -1;
}

/* A "problem" for the filter: anything but a pass or a skip. */
static bool problem(const sw__cf_col_case *k)
{
	return k->security || (strcmp(k->verdict, "pass") && strcmp(k->verdict, "skipped"));
}

typedef struct area {
	char name[64];
	size_t first, count; /* rows [first, first + count) in row order */
} area;

typedef struct model {
	sw_cf_column *const *cols;
	size_t ncols;
	const char **ids; /* row order: by area (first seen), then first seen */
	const sw__cf_col_case **meta;
	size_t nid;
	area *areas;
	size_t nareas;
	/* cell[row * ncols + col]: the case in that column, or NULL */
	const sw__cf_col_case **cell;
} model;

static void model_free(model *m)
{
	free(m->ids);
	free(m->meta);
	free(m->areas);
	free(m->cell);
}

static const sw__cf_col_case *find_case(const sw_cf_column *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].id && strcmp(c->v[i].id, id) == 0)
			return &c->v[i];
	return NULL;
}

static int model_build(model *m, sw_cf_column *const *cols, size_t ncols)
{
	memset(m, 0, sizeof *m);
	m->cols = cols;
	m->ncols = ncols;
	size_t cap = 0;
	for (size_t c = 0; c < ncols; c++)
		cap += cols[c]->n;
	const char **ids = calloc(cap + 1, sizeof *ids);
	const sw__cf_col_case **meta = calloc(cap + 1, sizeof *meta);
	char(*an)[64] = calloc(cap + 1, sizeof *an);
	size_t nid = 0;
	if (!ids || !meta || !an)
		goto nomem;
	/* Unique ids in first-seen order (columns usually hold the same
	 * cases in the same order: the search starts where the last one hit). */
	size_t hint = 0;
	for (size_t c = 0; c < ncols; c++)
		for (size_t i = 0; i < cols[c]->n; i++) {
			const char *id = cols[c]->v[i].id;
			bool dup = false;
			for (size_t k = 0; k < nid && !dup; k++) {
				size_t j = (hint + k) % nid;
				if (strcmp(ids[j], id) == 0) {
					dup = true;
					hint = j + 1;
				}
			}
			if (dup)
				continue;
			ids[nid] = id;
			meta[nid] = &cols[c]->v[i];
			sw_cf_area(id, an[nid], sizeof an[nid]);
			nid++;
		}
	/* Areas in first-seen order; rows regrouped by area. */
	m->areas = calloc(nid + 1, sizeof *m->areas);
	m->ids = calloc(nid + 1, sizeof *m->ids);
	m->meta = calloc(nid + 1, sizeof *m->meta);
	m->cell = calloc(nid * (ncols ? ncols : 1) + 1, sizeof *m->cell);
	if (!m->areas || !m->ids || !m->meta || !m->cell)
		goto nomem;
	bool *placed = calloc(nid + 1, sizeof *placed);
	if (!placed)
		goto nomem;
	for (size_t i = 0; i < nid; i++) {
		if (placed[i])
			continue;
		area *a = &m->areas[m->nareas++];
		snprintf(a->name, sizeof a->name, "%s", an[i]);
		a->first = m->nid;
		for (size_t k = i; k < nid; k++)
			if (!placed[k] && strcmp(an[k], an[i]) == 0) {
				placed[k] = true;
				m->ids[m->nid] = ids[k];
				m->meta[m->nid] = meta[k];
				m->nid++;
			}
		a->count = m->nid - a->first;
	}
	free(placed);
	for (size_t c = 0; c < ncols; c++) {
		/* Same order as the rows most of the time: walk both. */
		size_t j = 0;
		for (size_t r = 0; r < m->nid; r++) {
			const sw__cf_col_case *k = NULL;
			if (j < cols[c]->n && strcmp(cols[c]->v[j].id, m->ids[r]) == 0)
				k = &cols[c]->v[j++];
			else
				k = find_case(cols[c], m->ids[r]);
			m->cell[r * ncols + c] = k;
		}
	}
	free(ids);
	free(meta);
	free(an);
	return 0;
nomem:
	free(ids);
	free(meta);
	free(an);
	model_free(m);
	return SW_ERR_NOMEM;
}

/* ---- Page parts ------------------------------------------------------------------- */

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:0 1.5em 2em;color:#222}"
    "h1{margin:.6em 0 .2em}h2{margin:1.2em 0 .4em;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;"
    "vertical-align:top}th{background:#f0f0f0;text-align:left}"
    "#verdict{font-size:20px;margin:.4em 0}.banner{display:inline-block;padding:.3em .8em;"
    "border-radius:4px;margin:0 .5em .3em 0;color:#fff;font-weight:bold}"
    ".banner.PASS{background:#2a7}.banner.FAIL{background:#c33}"
    "#security{font-weight:bold;padding:.4em .6em;border-left:6px solid #c33;background:#fee}"
    "#security.clean{border-color:#2a7;background:#efe}"
    ".pass{background:#bfb}.fail{background:#f99}.non-strict{background:#fd8}"
    ".informational{background:#ddf}.unimplemented{background:#ccc}"
    ".expected-deviation{background:#fec}.fixed{background:#f6f}.skipped{background:#eee}"
    ".flaky{background:#fb6}.sec{outline:3px solid #c00;outline-offset:-3px}"
    ".n{display:inline-block;min-width:2.2em;text-align:right;padding:0 3px;margin:1px;"
    "border-radius:3px}.zero{color:#bbb;background:none}"
    "td.v a{text-decoration:none;color:inherit;display:block}"
    "details.area>summary{font-size:15px;font-weight:bold;padding:.3em 0;cursor:pointer}"
    "details.case{margin:.3em 0 .3em 1em;border:1px solid #ddd;padding:.2em .5em}"
    "details.case>summary{cursor:pointer}"
    "pre{background:#f8f8f8;padding:4px;font-size:12px;overflow-x:auto;margin:.2em 0}"
    ".sent{border-left:4px solid #48f}.recv{border-left:4px solid #4a4}.note{color:#666}"
    ".bad{color:#b00}.ok{color:#070}.reason{white-space:pre-wrap}"
    "body.problems-only tr.quiet,body.problems-only details.quiet{display:none}"
    "#failures li{margin:.15em 0}";

/* The script: a link to a case opens its area and its details; the filter
 * hides the rows and details of cases without a problem. */
static const char script[] =
    "function openTo(id){var e=document.getElementById(id);if(!e)return;"
    "for(var p=e;p;p=p.parentElement)if(p.tagName==='DETAILS')p.open=true;e.scrollIntoView();}"
    "window.addEventListener('hashchange',function(){openTo(location.hash.slice(1));});"
    "document.addEventListener('DOMContentLoaded',function(){"
    "var cb=document.getElementById('only-problems');"
    "cb.addEventListener('change',function(){"
    "document.body.classList.toggle('problems-only',cb.checked);});"
    "if(location.hash)openTo(location.hash.slice(1));"
    "document.body.setAttribute('data-ready','1');});";

static void counts_of(const sw_cf_column *c, size_t first, size_t count, const model *m, size_t col,
                      size_t out[NV], size_t *sec)
{
	memset(out, 0, NV * sizeof out[0]);
	*sec = 0;
	if (!m) {
		for (size_t i = 0; i < c->n; i++) {
			int v = verdict_index(c->v[i].verdict);
			if (v >= 0)
				out[v]++;
			*sec += c->v[i].security;
		}
		return;
	}
	for (size_t r = first; r < first + count; r++) {
		const sw__cf_col_case *k = m->cell[r * m->ncols + col];
		if (!k)
			continue;
		int v = verdict_index(k->verdict);
		if (v >= 0)
			out[v]++;
		*sec += k->security;
	}
}

/* The non-zero counts of a cell, each in its verdict's colour. */
static void count_spans(FILE *f, const size_t cnt[NV])
{
	bool any = false;
	for (size_t v = 0; v < NV; v++)
		if (cnt[v]) {
			fprintf(f, "<span class=\"n %s\" title=\"%s\">%zu</span>", verdicts[v],
			        verdicts[v], cnt[v]);
			any = true;
		}
	if (!any)
		fputs("<span class=\"n zero\">&ndash;</span>", f);
}

static bool column_fails(const sw_cf_column *c)
{
	if (c->exit_status >= 0)
		return c->exit_status != 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].fails)
			return true;
	return false;
}

static void write_summary(FILE *f, const model *m)
{
	bool any_fail = false;
	size_t sec = 0, sec_expected = 0;
	for (size_t c = 0; c < m->ncols; c++) {
		any_fail |= column_fails(m->cols[c]);
		for (size_t i = 0; i < m->cols[c]->n; i++)
			if (m->cols[c]->v[i].security) {
				sec++;
				sec_expected +=
				    !strcmp(m->cols[c]->v[i].verdict, "expected-deviation");
			}
	}
	fprintf(f, "<div id=\"verdict\" class=\"%s\">", any_fail ? "FAIL" : "PASS");
	for (size_t c = 0; c < m->ncols; c++) {
		const sw_cf_column *col = m->cols[c];
		bool fails = column_fails(col);
		fprintf(f, "<span class=\"banner %s\">%s</span>", fails ? "FAIL" : "PASS",
		        fails ? "FAIL" : "PASS");
		h(f, col->name);
		if (col->exit_status >= 0)
			fprintf(f, " &mdash; exit status %d", col->exit_status);
		fputs("<br>", f);
	}
	fputs("</div>\n<table id=\"summary\"><tr><th>implementation</th><th>cases</th>", f);
	for (size_t v = 0; v < NV; v++)
		fprintf(f, "<th class=\"%s\">%s</th>", verdicts[v], verdicts[v]);
	fputs("<th>security</th><th>time</th></tr>\n", f);
	for (size_t c = 0; c < m->ncols; c++) {
		size_t cnt[NV], s;
		counts_of(m->cols[c], 0, 0, NULL, c, cnt, &s);
		fputs("<tr><td>", f);
		h(f, m->cols[c]->name);
		fprintf(f, "</td><td>%zu</td>", m->cols[c]->n);
		for (size_t v = 0; v < NV; v++)
			fprintf(f, "<td class=\"%s\">%zu</td>", cnt[v] ? verdicts[v] : "zero",
			        cnt[v]);
		fprintf(f, "<td class=\"%s\">%zu</td><td>%.1f s%s</td></tr>\n", s ? "fail" : "zero",
		        s, m->cols[c]->ms / 1000.0, m->cols[c]->strict ? " (strict)" : "");
	}
	fputs("</table>\n", f);
	fprintf(f,
	        "<p id=\"security\" class=\"%s\">security: %zu case%s leaked a secret or changed "
	        "files outside the served directory (%zu of them expected deviations)</p>\n",
	        sec ? "leak" : "clean", sec, sec == 1 ? "" : "s", sec_expected);
}

static void write_failures(FILE *f, const model *m)
{
	size_t n = 0;
	for (size_t r = 0; r < m->nid; r++)
		for (size_t c = 0; c < m->ncols; c++) {
			const sw__cf_col_case *k = m->cell[r * m->ncols + c];
			n += k && (k->fails || k->security);
		}
	fprintf(f, "<h2>Failures (%zu)</h2>\n<ul id=\"failures\">\n", n);
	for (size_t r = 0; r < m->nid; r++)
		for (size_t c = 0; c < m->ncols; c++) {
			const sw__cf_col_case *k = m->cell[r * m->ncols + c];
			if (!k || !(k->fails || k->security))
				continue;
			fprintf(f, "<li class=\"%s%s\"><a href=\"#c%zu-%zu\">", k->verdict,
			        k->security ? " sec" : "", c, r);
			h(f, m->ids[r]);
			fputs("</a> &mdash; ", f);
			if (m->ncols > 1) {
				h(f, m->cols[c]->name);
				fputs(": ", f);
			}
			fprintf(f, "<b>%s%s</b> ", k->security ? "SECURITY " : "", k->verdict);
			h_line(f, k->run.reason, 240);
			fputs("</li>\n", f);
		}
	fputs("</ul>\n", f);
}

static void write_matrix(FILE *f, const model *m)
{
	fputs("<h2>By area</h2>\n<p class=\"legend\">", f);
	for (size_t v = 0; v < NV; v++)
		fprintf(f, "<span class=\"n %s\">%s</span> ", verdicts[v], verdicts[v]);
	fputs("<span class=\"n fail sec\">&#9888; security</span></p>\n"
	      "<table id=\"matrix\"><tr><th>area</th><th>cases</th>",
	      f);
	for (size_t c = 0; c < m->ncols; c++) {
		fputs("<th>", f);
		h(f, m->cols[c]->name);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t a = 0; a < m->nareas; a++) {
		const area *ar = &m->areas[a];
		fprintf(f, "<tr class=\"area-row\"><td><a href=\"#area-%zu\">", a);
		h(f, ar->name);
		fprintf(f, "</a></td><td>%zu</td>", ar->count);
		for (size_t c = 0; c < m->ncols; c++) {
			size_t cnt[NV], s;
			counts_of(m->cols[c], ar->first, ar->count, m, c, cnt, &s);
			fputs("<td>", f);
			count_spans(f, cnt);
			if (s)
				fprintf(f,
				        "<span class=\"n fail sec\" "
				        "title=\"security\">%zu&#9888;</span>",
				        s);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
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
		fprintf(f, "<div>%s %zu bytes</div><pre class=\"hex %s\">",
		        ev->dir == '>' ? "sent" : "received", ev->n,
		        ev->dir == '>' ? "sent" : "recv");
		hexdump(f, ev->p, ev->n);
		fputs("</pre>\n", f);
	}
}

static void write_run(FILE *f, const sw__cf_col_run *run, const char *label)
{
	if (label)
		fprintf(f, "<h4>%s</h4>\n", label);
	if (run->reason) {
		fputs("<p class=\"bad reason\">", f);
		h(f, run->reason);
		fputs("</p>\n", f);
	}
	if (run->variant) {
		fputs("<p>Failing sweep variant: ", f);
		h(f, run->variant);
		fputs(" (the transcript below is that variant's)</p>\n", f);
	}
	if (run->nsteps) {
		fputs("<table class=\"steps\"><tr><th>line</th><th></th><th>expected</th>"
		      "<th>actual</th></tr>\n",
		      f);
		for (size_t s = 0; s < run->nsteps; s++) {
			const sw__cf_col_step *st = &run->steps[s];
			fprintf(f, "<tr><td>%d</td><td class=\"%s\">%s</td><td><code>", st->line,
			        st->ok ? "ok" : "bad", st->ok ? "ok" : "FAIL");
			h(f, st->expected);
			fputs("</code></td><td><code>", f);
			h(f, st->actual ? st->actual : (st->ok ? "as expected" : ""));
			fputs("</code></td></tr>\n", f);
		}
		fputs("</table>\n", f);
	}
	transcript(f, run->events, run->nevents);
}

static void write_case(FILE *f, const model *m, size_t r, size_t c)
{
	const sw__cf_col_case *k = m->cell[r * m->ncols + c];
	bool prob = problem(k);
	fprintf(f, "<details class=\"case%s\" id=\"c%zu-%zu\"><summary class=\"%s%s\">",
	        prob ? "" : " quiet", c, r, k->verdict, k->security ? " sec" : "");
	h(f, m->ids[r]);
	fputs(" &mdash; ", f);
	h(f, m->cols[c]->name);
	fprintf(f, ": %s%s</summary>\n<p>", k->security ? "SECURITY " : "", k->verdict);
	h(f, k->title);
	fputs("<br>level ", f);
	h(f, k->level);
	fputs(", ref ", f);
	h(f, k->ref);
	fputs("</p>\n", f);
	if (k->deviation) {
		fputs("<p>Expected deviation: ", f);
		h(f, k->deviation);
		fputs("</p>\n", f);
	}
	if (k->flaky)
		fputs(
		    "<p class=\"bad\">Flaky: it failed on its first run and passed when run again "
		    "(both runs below).</p>\n",
		    f);
	write_run(f, &k->run, k->flaky ? "Second run (passed)" : NULL);
	if (k->flaky)
		write_run(f, &k->first, "First run (failed)");
	if (k->has_ref) {
		/* The differential: the reference's run of the case. */
		if (k->difference) {
			fputs("<p class=\"bad\">Differs from the reference: ", f);
			h(f, k->difference);
			fputs("</p>\n", f);
		}
		fputs("<h4>Reference transcript</h4>\n", f);
		if (k->ref_reason) {
			fputs("<p>The reference failed the case: ", f);
			h(f, k->ref_reason);
			fputs("</p>\n", f);
		}
		transcript(f, k->ref_events, k->ref_nevents);
	}
	if (k->stderr_text && *k->stderr_text) {
		fputs("<div>stderr</div><pre>", f);
		h(f, k->stderr_text);
		fputs("</pre>\n", f);
	}
	fputs("</details>\n", f);
}

static void write_cases(FILE *f, const model *m)
{
	fputs("<h2 id=\"cases\">Cases</h2>\n<p><label><input type=\"checkbox\" "
	      "id=\"only-problems\"> show only failures and deviations</label></p>\n",
	      f);
	for (size_t a = 0; a < m->nareas; a++) {
		const area *ar = &m->areas[a];
		bool prob = false;
		for (size_t r = ar->first; r < ar->first + ar->count; r++)
			for (size_t c = 0; c < m->ncols; c++)
				if (m->cell[r * m->ncols + c] && problem(m->cell[r * m->ncols + c]))
					prob = true;
		/* Areas with a problem start open. */
		fprintf(f, "<details class=\"area%s\" id=\"area-%zu\"%s><summary>",
		        prob ? "" : " quiet", a, prob ? " open" : "");
		h(f, ar->name);
		fprintf(f, " (%zu cases)</summary>\n<table><tr><th>case</th><th>level</th>",
		        ar->count);
		for (size_t c = 0; c < m->ncols; c++) {
			fputs("<th>", f);
			h(f, m->cols[c]->name);
			fputs("</th>", f);
		}
		fputs("</tr>\n", f);
		for (size_t r = ar->first; r < ar->first + ar->count; r++) {
			bool rp = false;
			for (size_t c = 0; c < m->ncols; c++)
				rp |=
				    m->cell[r * m->ncols + c] && problem(m->cell[r * m->ncols + c]);
			fprintf(f, "<tr%s><td title=\"", rp ? "" : " class=\"quiet\"");
			h(f, m->meta[r]->title);
			fputs("\">", f);
			h(f, m->ids[r]);
			fputs("</td><td>", f);
			h(f, m->meta[r]->level);
			fputs("</td>", f);
			for (size_t c = 0; c < m->ncols; c++) {
				const sw__cf_col_case *k = m->cell[r * m->ncols + c];
				if (!k) {
					fputs("<td>missing</td>", f);
					continue;
				}
				fprintf(f,
				        "<td class=\"v %s%s\"><a href=\"#c%zu-%zu\">%s%s</a></td>",
				        k->verdict, k->security ? " sec" : "", c, r,
				        k->security ? "&#9888; " : "", k->verdict);
			}
			fputs("</tr>\n", f);
		}
		fputs("</table>\n", f);
		for (size_t r = ar->first; r < ar->first + ar->count; r++)
			for (size_t c = 0; c < m->ncols; c++)
				if (m->cell[r * m->ncols + c])
					write_case(f, m, r, c);
		fputs("</details>\n", f);
	}
}

int sw_cf_write_html(FILE *f, sw_cf_column *const *cols, size_t ncols)
{
	model m;
	if (model_build(&m, cols, ncols) < 0)
		return SW_ERR_NOMEM;
	fprintf(f,
	        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	        "<title>smartwire conformance report</title>\n<style>%s</style>\n"
	        "<script>%s</script></head><body>\n<h1>smartwire conformance report</h1>\n",
	        style, script);
	write_summary(f, &m);
	write_failures(f, &m);
	write_matrix(f, &m);
	write_cases(f, &m);
	fputs("</body></html>\n", f);
	model_free(&m);
	return ferror(f) ? SW_ERR_IO : 0;
}
