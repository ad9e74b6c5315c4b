#!/usr/bin/env python3
"""Checks the DOM of a rendered conformance report (chromium --dump-dom).

    check_report_dom.py REPORT.dom.html

The report tests/tools/conform_report.sh builds has three columns: the
reference server (passes), a mutant (fails some cases) and a leaking server
(a security finding in every case).  Everything a reader looks for first
must be there: the verdict with exit statuses, the counts per verdict, the
security line, the failures linked to their evidence, the matrix by area,
the filter, and per case the steps and hex dumps.  Exit status 0 when all
checks pass; each failed check is printed.
"""
import re
import sys
from html.parser import HTMLParser


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], []

    def all_text(self):
        return ''.join(self.text) + ''.join(c.all_text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def classes(self):
        return (self.attrs.get('class') or '').split()


VOID = {'br', 'img', 'input', 'meta', 'link', 'hr', 'col', 'area', 'base', 'wbr', 'source'}


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node('#root', [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text.append(data)


def main():
    with open(sys.argv[1], encoding='utf-8') as f:
        t = Tree()
        t.feed(f.read())
    nodes = list(t.root.walk())
    by_id = {n.attrs['id']: n for n in nodes if 'id' in n.attrs}
    errors = []

    def check(cond, what):
        if not cond:
            errors.append(what)
        return cond

    body = next((n for n in nodes if n.tag == 'body'), None)
    check(body is not None and body.attrs.get('data-ready') == '1',
          'the page script ran (body data-ready="1")')

    # 1. The verdict first: FAIL overall, one banner per implementation with
    # its exit status.
    v = by_id.get('verdict')
    if check(v is not None, 'an element #verdict'):
        check('FAIL' in v.classes(), '#verdict says FAIL (two of the three runs fail)')
        banners = [n for n in v.walk() if 'banner' in n.classes()]
        check(len(banners) == 3, '#verdict has 3 banners (got %d)' % len(banners))
        txt = v.all_text()
        check('exit status 0' in txt and 'exit status 1' in txt,
              '#verdict gives the exit statuses 0 and 1')
        first = next((n for n in nodes if n.tag in ('div', 'table', 'ul', 'p', 'h2')
                      and n.parent is body), None)
        check(first is v, '#verdict is the first block of the page')

    # 2. Counts per verdict, one row per implementation.
    s = by_id.get('summary')
    if check(s is not None, 'a counts table #summary'):
        heads = [n.all_text() for n in s.walk() if n.tag == 'th']
        for word in ('pass', 'fail', 'expected-deviation', 'flaky', 'security'):
            check(word in heads, '#summary has a "%s" column' % word)
        rows = [n for n in s.walk() if n.tag == 'tr'][1:]
        check(len(rows) == 3, '#summary has one row per implementation (got %d)' % len(rows))

    # 3. The security line, with the leaks counted.
    sec = by_id.get('security')
    if check(sec is not None, 'the security line #security'):
        m = re.search(r'security: (\d+) cases? leaked', sec.all_text())
        check(m is not None and int(m.group(1)) >= 5,
              'the security line counts the leaking cases (%r)' % sec.all_text()[:120])

    # 4. The failures, each linked to its evidence.
    fl = by_id.get('failures')
    if check(fl is not None, 'a failure list #failures'):
        items = [n for n in fl.walk() if n.tag == 'li']
        check(len(items) >= 5, '#failures lists the failing cases (got %d)' % len(items))
        links = [n for n in fl.walk() if n.tag == 'a']
        check(len(links) == len(items), 'every failure has a link')
        dangling = [a.attrs.get('href') for a in links
                    if not a.attrs.get('href', '').startswith('#')
                    or a.attrs['href'][1:] not in by_id]
        check(not dangling, 'every failure links to a case on the page (dangling: %s)' %
              dangling[:3])
        check(any('SECURITY' in i.all_text() for i in items),
              'the security failures are marked SECURITY in #failures')
        check(any('vfs.has.v3' in i.all_text() for i in items),
              "the mutant's failures are listed")

    # 5. The matrix: area x implementation, counts coloured by verdict.
    mx = by_id.get('matrix')
    if check(mx is not None, 'a matrix by area #matrix'):
        heads = [n.all_text() for n in mx.walk() if n.tag == 'th']
        for name in ('smartwire (embedded)', 'mutant has-swap', 'leaky server'):
            check(name in heads, '#matrix has a column for %s' % name)
        rows = [n for n in mx.walk() if n.tag == 'tr' and 'area-row' in n.classes()]
        areas = [r.children[0].all_text() for r in rows if r.children]
        for a in ('jail.dotdot', 'vfs.has', 'security.link'):
            check(a in areas, '#matrix has the area %s (got %s)' % (a, areas))
        spans = [n for r in rows for n in r.walk() if 'n' in n.classes()]
        coloured = {c for n in spans for c in n.classes()} & {'pass', 'fail'}
        check(coloured == {'pass', 'fail'}, '#matrix colours counts by verdict')
        check(any('sec' in n.classes() for n in spans), '#matrix marks security findings')

    # 6. Collapsible areas, the filter, and per case the evidence.
    check('only-problems' in by_id and by_id['only-problems'].attrs.get('type') == 'checkbox',
          'a filter checkbox #only-problems')
    areas = [n for n in nodes if n.tag == 'details' and 'area' in n.classes()]
    check(len(areas) >= 5, 'collapsible areas (got %d)' % len(areas))
    cases = [n for n in nodes if n.tag == 'details' and 'case' in n.classes()]
    check(len(cases) >= 30, 'per-case details (got %d)' % len(cases))
    hexes = [n for n in nodes if n.tag == 'pre' and 'hex' in n.classes()]
    check(any(re.search(r'^000000  ([0-9a-f]{2} ){8}', h.all_text(), re.M) for h in hexes),
          'hex dumps of the transcripts')
    steps = [n for n in nodes if n.tag == 'table' and 'steps' in n.classes()]
    check(any('FAIL' in s.all_text() and 'expected' in s.all_text() for s in steps),
          'steps with expected and actual, the failed ones marked')

    for e in errors:
        print('FAIL: ' + e)
    if errors:
        print('%d of the report checks failed (%s)' % (len(errors), sys.argv[1]))
        return 1
    print('report checks passed: verdict, counts, security line, %d failures linked, matrix, '
          '%d cases with their evidence' % (len(items), len(cases)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
