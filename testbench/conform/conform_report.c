/*
 * Conformance suite: text summary, TAP, JUnit XML and JSON reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

#define EVENT_MAX (64u * 1024u) /* bytes of one transcript event kept in reports */

void sw_cf_report_counts(const sw_cf_report *rep, size_t counts[SW_CF_VERDICT_COUNT_])
{
	memset(counts, 0, SW_CF_VERDICT_COUNT_ * sizeof counts[0]);
	for (size_t i = 0; i < rep->n; i++)
		if ((unsigned)rep->results[i].verdict < SW_CF_VERDICT_COUNT_)
			counts[rep->results[i].verdict]++;
}

void sw_cf_report_security(const sw_cf_report *rep, size_t *total, size_t *expected)
{
	*total = *expected = 0;
	for (size_t i = 0; i < rep->n; i++)
		if (rep->results[i].security) {
			++*total;
			if (rep->results[i].verdict == SW_CF_EXPECTED)
				++*expected;
		}
}

static int ioerr(FILE *f)
{
	return ferror(f) ? SW_ERR_IO : 0;
}

/* ---- Text ------------------------------------------------------------------ */

typedef struct area_row {
	char name[64];
	size_t c[SW_CF_VERDICT_COUNT_];
	double ms; /* the area's cases' times added up (with their sweeps and
	            * re-runs): under -j N they overlap, so the column adds
	            * up to about N times the run's wall time */
} area_row;

int sw_cf_write_summary(FILE *f, const sw_cf_report *rep, bool verbose)
{
	size_t counts[SW_CF_VERDICT_COUNT_];
	sw_cf_report_counts(rep, counts);
	/* Problems first, each with its evidence in one paragraph. */
	for (size_t i = 0; i < rep->n; i++) {
		const sw_cf_result *r = &rep->results[i];
		/* Security findings show even when expected: never silent. */
		bool show = r->verdict != SW_CF_PASS && r->verdict != SW_CF_SKIPPED &&
		            (verbose || r->verdict != SW_CF_EXPECTED || r->security);
		if (!show && !(verbose && r->verdict == SW_CF_SKIPPED))
			continue;
		fprintf(f, "%-18s %s  [%s%s, %s:%d, ref %s]\n", sw_cf_verdict_name(r->verdict),
		        r->c->id, sw_cf_level_name(r->c->level), r->security ? ", SECURITY" : "",
		        r->c->file, r->c->line, r->c->ref);
		fprintf(f, "    %s\n", r->c->title);
		if (r->reason) {
			/* Every line of the reason indented (security findings are
			 * one per line). */
			fputs("    ", f);
			for (const char *p = r->reason; *p; p++) {
				fputc(*p, f);
				if (*p == '\n' && p[1])
					fputs("    ", f);
			}
			fputc('\n', f);
		}
		if (r->flaky && r->first && r->first->reason)
			fprintf(
			    f, "    failed on its first run, passed on its second; first run: %s\n",
			    r->first->reason);
		if (r->deviation)
			fprintf(f, "    expected deviation: %s\n", r->deviation);
	}
	/* Table by area, in first-seen order. */
	area_row *rows = NULL;
	size_t nrows = 0;
	for (size_t i = 0; i < rep->n; i++) {
		char a[64];
		sw_cf_area(rep->results[i].c->id, a, sizeof a);
		size_t k = 0;
		while (k < nrows && strcmp(rows[k].name, a) != 0)
			k++;
		if (k == nrows) {
			area_row *nr = realloc(rows, (nrows + 1) * sizeof *nr);
			if (!nr) {
				free(rows);
				return SW_ERR_NOMEM;
			}
			rows = nr;
			memset(&rows[nrows], 0, sizeof rows[nrows]);
			snprintf(rows[nrows].name, sizeof rows[nrows].name, "%s", a);
			nrows++;
		}
		rows[k].c[rep->results[i].verdict]++;
		rows[k].ms += rep->results[i].ms;
	}
	fprintf(f, "\n%-28s %5s %5s %5s %5s %5s %5s %5s %5s %5s %7s\n", "area", "pass", "fail",
	        "n-str", "info", "unimp", "xdev", "fixed", "skip", "flaky", "time");
	for (size_t k = 0; k < nrows; k++) {
		fprintf(f, "%-28s", rows[k].name);
		for (int v = 0; v < SW_CF_VERDICT_COUNT_; v++)
			fprintf(f, " %5zu", rows[k].c[v]);
		fprintf(f, " %6.1fs\n", rows[k].ms / 1000.0);
	}
	free(rows);
	size_t failed = 0;
	for (int v = 0; v < SW_CF_VERDICT_COUNT_; v++)
		if (sw_cf_verdict_fails((sw_cf_verdict)v, rep->strict))
			failed += counts[v];
	fprintf(f, "\n%zu cases in %.1f s against %s: %zu non-strict (SHOULD), %zu informational (MAY), "
	           "%zu unimplemented, %zu expected deviations, %zu fixed deviations%s\n",
	        rep->n, rep->ms / 1000.0, rep->implementation ? rep->implementation : "?",
	        counts[SW_CF_NON_STRICT], counts[SW_CF_INFORMATIONAL], counts[SW_CF_UNIMPLEMENTED],
	        counts[SW_CF_EXPECTED], counts[SW_CF_FIXED], rep->strict ? " (strict)" : "");
	size_t sec, sec_expected;
	sw_cf_report_security(rep, &sec, &sec_expected);
	if (counts[SW_CF_FLAKY])
		fprintf(f, "%zu flaky (failed once, passed when run again%s)\n",
		        counts[SW_CF_FLAKY],
		        rep->strict ? ": they fail the run" : "; --strict fails them");
	fprintf(f,
	        "security: %zu cases leaked a secret or changed files outside the served "
	        "directory (%zu of them expected deviations)\n",
	        sec, sec_expected);
	fprintf(f, "%zu passed, %zu failed, %zu skipped\n", counts[SW_CF_PASS], failed,
	        counts[SW_CF_SKIPPED]);
	return ioerr(f);
}

/* ---- TAP ------------------------------------------------------------------- */

static void one_line(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\n' || *s == '\r' || *s == '#' ? ' ' : *s, f);
}

int sw_cf_write_tap(FILE *f, const sw_cf_report *rep)
{
	fprintf(f, "TAP version 13\n1..%zu\n", rep->n);
	for (size_t i = 0; i < rep->n; i++) {
		const sw_cf_result *r = &rep->results[i];
		bool fails = sw_cf_verdict_fails(r->verdict, rep->strict);
		bool ok = r->verdict == SW_CF_PASS || r->verdict == SW_CF_SKIPPED;
		fprintf(f, "%s %zu - %s", ok ? "ok" : "not ok", i + 1, r->c->id);
		if (r->verdict == SW_CF_SKIPPED) {
			fputs(" # SKIP ", f);
			one_line(f, r->reason);
		} else if (!ok && !fails) {
			fprintf(f, " # TODO %s%s: ", r->security ? "security " : "",
			        sw_cf_verdict_name(r->verdict));
			one_line(f, r->deviation ? r->deviation : r->reason);
		}
		fputc('\n', f);
		if (!ok) {
			fprintf(f, "  ---\n  verdict: %s\n  level: %s\n  security: %s\n  ref: \"",
			        sw_cf_verdict_name(r->verdict), sw_cf_level_name(r->c->level),
			        r->security ? "true" : "false");
			one_line(f, r->c->ref);
			fputs("\"\n  reason: |\n    ", f);
			one_line(f, r->reason);
			if (r->flaky && r->first) {
				fputs("\n  first_run: |\n    ", f);
				one_line(f, r->first->reason);
			}
			fputs("\n  ...\n", f);
		}
	}
	size_t sec, sec_expected;
	sw_cf_report_security(rep, &sec, &sec_expected);
	fprintf(f,
	        "# security: %zu cases leaked a secret or changed files outside the served "
	        "directory (%zu of them expected deviations)\n",
	        sec, sec_expected);
	return ioerr(f);
}

/* ---- XML / JSON escaping ---------------------------------------------------- */

void sw__cf_markup_text(FILE *f, const char *s, bool ascii)
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
		else if ((c < 0x20 && c != '\n' && c != '\t') || (ascii && c >= 0x80))
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* JUnit XML declares UTF-8: bytes that may not be are written as \xNN. */
static void xml_text(FILE *f, const char *s)
{
	sw__cf_markup_text(f, s, true);
}

int sw_cf_write_junit(FILE *f, const sw_cf_report *rep)
{
	size_t failures = 0, skipped = 0;
	for (size_t i = 0; i < rep->n; i++) {
		if (sw_cf_verdict_fails(rep->results[i].verdict, rep->strict))
			failures++;
		else if (rep->results[i].verdict != SW_CF_PASS)
			skipped++;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"", f);
	xml_text(f, rep->implementation ? rep->implementation : "smartwire conform");
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n", rep->n,
	        failures, skipped, rep->ms / 1000.0);
	size_t sec, sec_expected;
	sw_cf_report_security(rep, &sec, &sec_expected);
	fprintf(f,
	        "  <properties>\n    <property name=\"security\" value=\"%zu\"/>\n"
	        "    <property name=\"security-expected\" value=\"%zu\"/>\n"
	        "    <property name=\"round-trip-ms\" value=\"%u\"/>\n  </properties>\n",
	        sec, sec_expected, (unsigned)rep->rtt_ms);
	for (size_t i = 0; i < rep->n; i++) {
		const sw_cf_result *r = &rep->results[i];
		char area[64];
		sw_cf_area(r->c->id, area, sizeof area);
		fputs("  <testcase classname=\"", f);
		xml_text(f, area);
		fputs("\" name=\"", f);
		xml_text(f, r->c->id);
		fprintf(f, "\" time=\"%.3f\">", r->ms / 1000.0);
		if (sw_cf_verdict_fails(r->verdict, rep->strict)) {
			fprintf(f, "\n    <failure type=\"%s%s\" message=\"",
			        r->security ? "security " : "", sw_cf_verdict_name(r->verdict));
			xml_text(f, r->c->title);
			fputs("\">", f);
			xml_text(f, r->reason ? r->reason : "expected deviation now passes");
			if (r->flaky && r->first) {
				xml_text(f, "\nfirst run: ");
				xml_text(f, r->first->reason);
			}
			fputs("</failure>\n  ", f);
		} else if (r->verdict != SW_CF_PASS) {
			fprintf(f,
			        "\n    <skipped message=\"%s%s: ", r->security ? "security " : "",
			        sw_cf_verdict_name(r->verdict));
			xml_text(f, r->deviation ? r->deviation : r->reason);
			fputs("\"/>\n  ", f);
			if (r->security) {
				/* A known leak is still a leak: its evidence stays visible. */
				fputs("<system-out>", f);
				xml_text(f, r->security_text);
				fputs("</system-out>\n  ", f);
			}
		}
		fputs("</testcase>\n", f);
	}
	fputs("</testsuite>\n</testsuites>\n", f);
	return ioerr(f);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_kv(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "\"%s\":", k);
	if (v)
		json_str(f, v);
	else
		fputs("null", f);
	if (comma)
		fputc(',', f);
}

/* A transcript as a JSON array: notes as text, bytes as hex. */
static void json_events(FILE *f, const sw_cf_event *events, size_t n)
{
	fputc('[', f);
	for (size_t e = 0; e < n; e++) {
		const sw_cf_event *ev = &events[e];
		fprintf(f, "%s{\"dir\":\"%c\",", e ? "," : "", ev->dir == '#' ? '#' : ev->dir);
		if (ev->dir == '#') {
			json_kv(f, "text", (const char *)ev->p, false);
		} else {
			size_t m = ev->n > EVENT_MAX ? EVENT_MAX : ev->n;
			fprintf(f, "\"n\":%zu,\"hex\":\"", ev->n);
			for (size_t k = 0; k < m; k++)
				fprintf(f, "%02x", ev->p[k]);
			fputc('"', f);
		}
		fputc('}', f);
	}
	fputc(']', f);
}

/* The evidence of one run: "steps":[...],"events":[...] (no braces). */
static void json_evidence(FILE *f, const sw_cf_result *r)
{
	fputs("\"steps\":[", f);
	for (size_t s = 0; s < r->nsteps; s++) {
		fprintf(f, "%s{\"line\":%d,\"ok\":%s,", s ? "," : "", r->steps[s].line,
		        r->steps[s].ok ? "true" : "false");
		json_kv(f, "expected", r->steps[s].expected, true);
		json_kv(f, "actual", r->steps[s].actual, false);
		fputc('}', f);
	}
	fputs("],\"events\":", f);
	json_events(f, r->events, r->nevents);
}

bool sw_cf_report_fails(const sw_cf_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		if (sw_cf_verdict_fails(rep->results[i].verdict, rep->strict))
			return true;
	return false;
}

int sw_cf_write_json(FILE *f, const sw_cf_report *rep)
{
	size_t counts[SW_CF_VERDICT_COUNT_], sec, sec_expected;
	sw_cf_report_counts(rep, counts);
	sw_cf_report_security(rep, &sec, &sec_expected);
	fputs("{\"format\":\"smartwire-conform-1\",", f);
	json_kv(f, "implementation", rep->implementation ? rep->implementation : "?", true);
	fprintf(f,
	        "\"strict\":%s,\"ms\":%.0f,\"rtt_ms\":%u,\"timeout_scale\":%.2f,"
	        "\"exit_status\":%d,\"security\":%zu,\"security_expected\":%zu,\"counts\":{",
	        rep->strict ? "true" : "false", rep->ms, (unsigned)rep->rtt_ms,
	        rep->timeout_scale > 0 ? rep->timeout_scale : 1.0, sw_cf_report_fails(rep) ? 1 : 0,
	        sec, sec_expected);
	for (int v = 0; v < SW_CF_VERDICT_COUNT_; v++)
		fprintf(f, "%s\"%s\":%zu", v ? "," : "", sw_cf_verdict_name((sw_cf_verdict)v), counts[v]);
	fputs("},\n\"cases\":[\n", f);
	for (size_t i = 0; i < rep->n; i++) {
		const sw_cf_result *r = &rep->results[i];
		fputc('{', f);
		json_kv(f, "id", r->c->id, true);
		json_kv(f, "title", r->c->title, true);
		json_kv(f, "ref", r->c->ref, true);
		json_kv(f, "level", sw_cf_level_name(r->c->level), true);
		json_kv(f, "role", r->c->role == SW_CF_ROLE_CLIENT ? "client" : "server", true);
		json_kv(f, "file", r->c->file, true);
		fprintf(f, "\"line\":%d,", r->c->line);
		json_kv(f, "verdict", sw_cf_verdict_name(r->verdict), true);
		fprintf(f, "\"fails\":%s,\"security\":%s,\"flaky\":%s,",
		        sw_cf_verdict_fails(r->verdict, rep->strict) ? "true" : "false",
		        r->security ? "true" : "false", r->flaky ? "true" : "false");
		json_kv(f, "security_text", r->security_text, true);
		json_kv(f, "reason", r->reason, true);
		json_kv(f, "deviation", r->deviation, true);
		json_kv(f, "variant", r->variant, true);
		fprintf(f, "\"variants\":%u,\"ms\":%.0f,\"exit_status\":%d,", r->variants, r->ms, r->exit_status);
		json_kv(f, "stderr", r->stderr_text, true);
		if (r->first) {
			fputs("\"first\":{", f);
			json_kv(f, "reason", r->first->reason, true);
			json_kv(f, "variant", r->first->variant, true);
			json_evidence(f, r->first);
			fputs("},", f);
		}
		json_evidence(f, r);
		if (r->has_reference) {
			/* The differential: the reference's run beside this one. */
			fputc(',', f);
			json_kv(f, "difference", r->difference, true);
			fputs("\"reference\":{", f);
			json_kv(f, "reason", r->ref_reason, true);
			fputs("\"events\":", f);
			json_events(f, r->ref_events, r->ref_nevents);
			fputc('}', f);
		}
		fprintf(f, "}%s\n", i + 1 < rep->n ? "," : "");
	}
	fputs("]}\n", f);
	return ioerr(f);
}
