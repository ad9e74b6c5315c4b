#!/usr/bin/python3
"""Differential check of our decoders against Breezy's, over the fuzz corpus.

    /usr/bin/python3 fuzz/diff_breezy.py --difftrace BUILD/fuzz/sw_difftrace
                     [--corpus DIR] [--target T]... [--max-files N] [-v] [--self-test]

For every input of the decoder targets (corpus/<target>/<sha1>: protocol
bytes + the 12-byte control trailer of fuzz/fdp.h) it strips the trailer,
feeds the bytes to Breezy 3.3.2's own decoder and, through fuzz/difftrace.c,
to ours, and compares the two traces (the notation of
ref/include/smartwire/format.h, written for Breezy the way the vector
generators tests/vectors/gen_v3.py, gen_v12.py and gen_bencode.py write it):

  v3_request / v3_response  ProtocolThreeDecoder(expect_version_marker=False
                            / True) with a recording message handler
  v12_request               SmartServerRequestProtocolOne/Two with a
                            recording request handler (gen_v12.server_trace)
  v12_response              SmartClientRequestProtocolOne/Two over a pipe
                            medium (gen_v12.client_trace, verb "verb-x")
  body_prefixed             LengthPrefixedBodyDecoder
  body_chunked              ChunkedBodyDecoder
  bencode                   fastbencode's bdecode_as_tuple
  detect                    medium._get_protocol_factory_for_bytes
  readv                     vfs.ReadvRequest._deserialise_offsets

Outcomes agree when both accepted with the same events (and the same excess)
or both rejected (the error line; events before it must agree too).  Every
disagreement is classified:

  departure:<name>  an intended, documented departure (the list DEPARTURES
                    below, each with the header that documents it), and only
                    when the INPUT justifies it at our error's offset: the
                    limit really exceeded, the byte really wrong, the integer
                    really outside int64 (fuzz/departures.py models the
                    formats for that); our error code alone accepts nothing;
  breezy-bug:<name> Breezy misbehaves (crashes with an exception that is not
                    its protocol error, ...);
  UNCLASSIFIED      anything else: a candidate bug of ours (or a departure
                    nobody documented).  The exit status is 1 if there is
                    one, so the ctest `interop.diff_breezy` fails on it.

Before the corpus, a self-test (departures.self_test) checks the classifiers:
inputs made to hit each departure get it, every error of ours on a set of
broken inputs is justified by them, and the same error codes forged on
inputs that do not justify them stay UNCLASSIFIED.

The report lists the counts per target and outcome, and every disagreement
with its input (hex), what in it justifies our error, both traces and the
class.  Run with Debian's /usr/bin/python3, which has python3-breezy.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'vectors'))
sys.path.insert(0, os.path.join(ROOT, 'fuzz'))

try:
    import breezy_trace as bt  # noqa: E402
    import departures  # noqa: E402  (fuzz/departures.py: the input checks)
    import gen_v12  # noqa: E402  (Breezy client trace, shared with the vectors)
    from breezy.bzr.smart import protocol, medium, request, vfs  # noqa: E402
    from breezy import errors  # noqa: E402
    from fastbencode import bdecode_as_tuple  # noqa: E402
except ImportError as e:  # pragma: no cover
    sys.exit('diff_breezy.py: needs /usr/bin/python3 with python3-breezy (%s)' % e)

CTL_LEN = 12
TARGETS = ['v3_request', 'v3_response', 'v12_request', 'v12_response', 'body_prefixed',
           'body_chunked', 'bencode', 'detect', 'readv']


def split(data):
    """fdp.h: the protocol bytes and the variant byte (4th from the end)."""
    if len(data) < CTL_LEN:
        return b'', 0
    return data[:-CTL_LEN], data[-4]


# ---------------------------------------------------------------------------
# Breezy's side


class V3Recorder:
    def __init__(self):
        self.lines = []
        self.failed = None

    def headers_received(self, headers):
        self.lines.append('headers ' + bt.fmt_value(headers))

    def byte_part_received(self, byte):
        self.lines.append('byte ' + bt.esc(byte))

    def structure_part_received(self, structure):
        self.lines.append('structure ' + bt.fmt_value(structure))

    def bytes_part_received(self, data):
        self.lines.append('bytes ' + bt.esc(data))

    def end_received(self):
        self.lines.append('end')

    def protocol_error(self, exc):
        self.failed = exc


def breezy_v3(data, marker):
    rec = V3Recorder()
    dec = protocol.ProtocolThreeDecoder(rec, expect_version_marker=marker)
    dec.accept_bytes(data)
    lines = list(rec.lines)
    if rec.failed is not None:
        lines.append('error')
    elif dec.next_read_size() == 0:
        if dec.unused_data:
            lines.append('excess ' + bt.esc(dec.unused_data))
    elif data:
        lines.append('error')
    return ''.join(x + '\n' for x in lines)


class ServerHandler:
    """Stands in for request.SmartServerRequestHandler (gen_v12.py)."""
    log = None
    body_verbs = ()
    mode = 0

    def __init__(self, *args, **kwargs):
        self.finished_reading = False
        self.response = None
        self.body = b''

    def args_received(self, args):
        ServerHandler.log.append('args %s\n' % bt.fmt_tuple(args))
        wants = ServerHandler.mode == 1 or (ServerHandler.mode == 3 and args and
                                            args[0] in ServerHandler.body_verbs)
        if wants:
            return
        self.finished_reading = True
        self.response = request.SuccessfulSmartServerResponse((b'ok',))

    def accept_body(self, data):
        self.body += data

    def end_of_body(self):
        ServerHandler.log.append('body %s\n' % bt.esc(self.body))
        self.finished_reading = True
        self.response = request.SuccessfulSmartServerResponse((b'ok',))


BODY_VERBS = {b'append', b'put', b'put_non_atomic', b'readv', b'Branch.put_config_file',
              b'Branch.set_tags_bytes', b'Repository.add_signature_text',
              b'Repository.get_parent_map', b'Repository.get_stream',
              b'Repository.get_stream_1.19', b'Repository.get_stream_for_missing_keys',
              b'Repository.iter_files_bytes', b'Repository.iter_revisions', b'Repository.pack',
              b'VersionedFileRepository.get_inventories'}


def breezy_v12_request(data, variant):
    version = 2 if variant & 1 else 1
    if version == 2 and variant & 0x10:
        m = protocol.REQUEST_VERSION_TWO
        if not data.startswith(m):
            return 'skip v2 request without its marker\n'
        data = data[len(m):]
    ServerHandler.log = []
    ServerHandler.mode = (variant >> 1) & 3
    ServerHandler.body_verbs = BODY_VERBS
    saved = request.SmartServerRequestHandler
    request.SmartServerRequestHandler = ServerHandler
    try:
        cls = (protocol.SmartServerRequestProtocolOne if version == 1
               else protocol.SmartServerRequestProtocolTwo)
        p = cls(None, [].append)
        failed = False
        try:
            p.accept_bytes(data)
        except ValueError:
            failed = True
    finally:
        request.SmartServerRequestHandler = saved
    trace = ''.join(ServerHandler.log)
    if p._finished and not failed:
        trace += 'end\n'
        if p.unused_data:
            trace += 'excess %s\n' % bt.esc(p.unused_data)
    else:
        trace += 'error\n'
    return trace


def breezy_v12_response(data, variant):
    """gen_v12.client_trace: Breezy's client reading `data` after calling
    verb-x."""
    version = 2 if variant & 1 else 1
    m = (variant >> 1) & 3
    mode = 'none' if m == 0 else 'chunked' if m == 2 else 'prefixed'
    if mode == 'chunked' and version == 1:
        mode = 'none'
    if version == 2 and variant & 0x10:
        data = protocol.RESPONSE_VERSION_TWO + data
    # Breezy's client lets the body decoders' ValueError (a length that
    # int() refuses) and SmartProtocolError escape from the read: the call
    # fails, which is its way of rejecting the body.
    rejected = (errors.ConnectionReset, ValueError, errors.SmartProtocolError)
    trace, _ = gen_v12.client_trace(version, data, mode, rejected=rejected)
    return trace


def breezy_body(cls, data):
    """gen_v12.run_body_decoder, fed whole."""
    d = cls()
    chunks = []
    failed = False
    try:
        d.accept_bytes(data)
    except (ValueError, errors.SmartProtocolError):
        failed = True
    if cls is protocol.ChunkedBodyDecoder:
        # Chunks completed before a failure were decoded too (gen_v12.py
        # sees them by feeding byte by byte).
        for c in iter(d.read_next_chunk, None):
            chunks.append(c)
    trace = ''
    if cls is protocol.LengthPrefixedBodyDecoder:
        if d.finished_reading and not failed:
            trace += 'body %s\nend\n' % bt.esc(d.read_pending_data())
    else:
        for c in chunks:
            if isinstance(c, bytes):
                trace += 'chunk %s\n' % bt.esc(c)
            else:
                trace += 'error-chunks %s\n' % bt.fmt_tuple(c.args)
        if d.finished_reading and not failed:
            trace += 'end\n'
    if failed or not d.finished_reading:
        trace += 'error\n'
    elif d.unused_data:
        trace += 'excess %s\n' % bt.esc(d.unused_data)
    return trace


def breezy_bencode(data):
    try:
        v = bdecode_as_tuple(data)
    except (ValueError, RecursionError):
        return 'error\n'
    return bt.fmt_value(v) + '\n'


def breezy_detect(data):
    factory, rest = medium._get_protocol_factory_for_bytes(data)
    version = {protocol.SmartServerRequestProtocolOne: 1,
               protocol.SmartServerRequestProtocolTwo: 2,
               protocol.build_server_protocol_three: 3}[factory]
    return '%d %d\n' % (version, len(data) - len(rest))


def breezy_readv(data):
    d = vfs.ReadvRequest.__new__(vfs.ReadvRequest)
    try:
        offs = d._deserialise_offsets(data)
    except ValueError:
        return 'error\n'
    return ''.join('%d,%d\n' % o for o in offs)


def breezy(target, data, variant):
    """Breezy's trace, or ('crash', repr) when Breezy raises something that
    is not its way of rejecting input."""
    try:
        if target == 'v3_request':
            return breezy_v3(data, False)
        if target == 'v3_response':
            return breezy_v3(data, True)
        if target == 'v12_request':
            return breezy_v12_request(data, variant)
        if target == 'v12_response':
            return breezy_v12_response(data, variant)
        if target == 'body_prefixed':
            return breezy_body(protocol.LengthPrefixedBodyDecoder, data)
        if target == 'body_chunked':
            return breezy_body(protocol.ChunkedBodyDecoder, data)
        if target == 'bencode':
            return breezy_bencode(data)
        if target == 'detect':
            return breezy_detect(data)
        return breezy_readv(data)
    except Exception as e:  # a crash of Breezy's decoder itself
        return 'crash %s: %s\n' % (type(e).__name__, str(e)[:200])


# ---------------------------------------------------------------------------
# Classification of disagreements


def lines_of(t):
    return t.splitlines()


def strip_error_name(trace):
    """'error SW_ERR_X [at N]' -> 'error'; returns (trace, [names])."""
    out, names = [], []
    for line in lines_of(trace):
        if line.startswith('error ') and line[6:].startswith('SW_'):
            names.append(line.split()[1])
            line = 'error'
        out.append(line)
    return ''.join(x + '\n' for x in out), names


def common_prefix_lines(a, b):
    la, lb = lines_of(a), lines_of(b)
    n = 0
    while n < min(len(la), len(lb)) and la[n] == lb[n]:
        n += 1
    return n, la, lb


# Each departure: (name, the header documenting it, predicate(target, data,
# variant, ours, names, theirs, fact)).  Predicates only see disagreements;
# `fact` is what in the input justifies our error (departures.justified: a
# sentence, or None when nothing at our error's offset does).  Every
# predicate needs the fact: our error code alone accepts nothing.

def _ours_error(names, *codes):
    return bool(names) and names[-1] in codes


def dep_int64(t, data, v, ours, names, theirs, fact):
    return _ours_error(names, 'SW_ERR_BENCODE_BAD_INT') and fact == 'an integer outside int64'


def dep_bencode_limits(t, data, v, ours, names, theirs, fact):
    return _ours_error(names, 'SW_ERR_BENCODE_DEPTH', 'SW_ERR_BENCODE_TOO_MANY') and bool(fact)


LIMIT_CODES = ('SW_ERR_HEADER_TOO_LARGE', 'SW_ERR_STRUCT_TOO_LARGE', 'SW_ERR_PART_TOO_LARGE',
               'SW_ERR_BODY_TOO_LARGE', 'SW_ERR_CHUNK_TOO_LARGE', 'SW_ERR_LINE_TOO_LONG',
               'SW_ERR_TOO_MANY_ARGS', 'SW_ERR_LIMIT')


def dep_size_limits(t, data, v, ours, names, theirs, fact):
    """A limit on a peer-controlled size, really exceeded by this input at
    our error's offset (Breezy has none: it waits or goes on)."""
    return _ours_error(names, *LIMIT_CODES) and bool(fact)


def dep_early_error(t, data, v, ours, names, theirs, fact):
    """Both reject; we stopped at the first wrong byte, Breezy after reading
    more (its trace has extra events before its error, or it waits for bytes
    that would never make the message valid).  The input must really be
    wrong at our offset."""
    if not names or not theirs.endswith('error\n') or not fact:
        return False
    n, la, lb = common_prefix_lines(strip_error_name(ours)[0], theirs)
    return n == len(la) - 1 and la[-1] == 'error'


def dep_delivered_before_error(t, data, v, ours, names, theirs, fact):
    """Both reject; Breezy's events are a prefix of ours: we delivered a
    complete chunk before failing on the next length line, where Breezy's
    streamed-body reader had already read that line in the same read and
    raised before yielding the chunk.  That line must really be wrong."""
    if not names or not theirs.endswith('error\n') or not fact:
        return False
    n, la, lb = common_prefix_lines(strip_error_name(ours)[0], theirs)
    return n == len(lb) - 1 and la[-1] == 'error' and all(
        x.startswith('chunk ') for x in la[n:-1])


def dep_bad_trailer(t, data, v, ours, names, theirs, fact):
    """Length-prefixed body not followed by "done\\n": Breezy drops it
    silently (request) or accepts it; we report SW_ERR_BAD_TRAILER at the
    first byte of the trailer that is wrong."""
    return _ours_error(names, 'SW_ERR_BAD_TRAILER') and bool(fact)


def dep_negative_chunk(t, data, v, ours, names, theirs, fact):
    """A chunk length line "-N": Python's int(line, 16) is negative and
    Breezy reads a chunk of what is left of its buffer; we refuse it
    (body.h, chunked decoder).  The line ending at our offset is negative."""
    return _ours_error(names, 'SW_ERR_BAD_CHUNK_LENGTH') and fact == 'a negative chunk length'


def dep_negative_length(t, data, v, ours, names, theirs, fact):
    """readv offsets and lengths that Python's int() reads but that are
    negative or over 64 bits: Breezy parses them (and fails later, in the
    transport); we refuse the list (readv.h)."""
    return (t == 'readv' and _ours_error(names, 'SW_ERR_INVALID_ARGUMENT') and
            'error' not in theirs and bool(fact))


def dep_v12_status(t, data, v, ours, names, theirs, fact):
    """v2 response marker and status: we fail at the first byte that cannot
    continue "bzr response 2\\n" / "success\\n" / "failed\\n"; Breezy reads
    the line first (v12.h).  That byte must be at our offset."""
    return _ours_error(names, 'SW_ERR_BAD_STATUS', 'SW_ERR_BAD_MARKER') and bool(fact)


DEPARTURES = [
    ('int64-bencode', 'bencode.h (integers outside int64 are refused)', dep_int64),
    ('bencode-limits', 'bencode.h (depth / element limits)', dep_bencode_limits),
    ('size-limits', 'v3.h, v12.h, body.h, readv.h (limits on peer-controlled sizes)',
     dep_size_limits),
    ('bad-trailer', 'body.h / server.h (body not followed by "done\\n" is an error)',
     dep_bad_trailer),
    ('negative-chunk-length', 'body.h (chunked: negative length refused)',
     dep_negative_chunk),
    ('int-range', 'readv.h (negative or over-64-bit offsets and lengths refused)',
     dep_negative_length),
    ('v2-status', 'v12.h (status checked byte by byte)', dep_v12_status),
    ('early-error', 'STYLE.md / v3.h / v12.h (errors at the first wrong byte)',
     dep_early_error),
    ('delivered-before-error', 'STYLE.md / body.h (bytes delivered as they arrive)',
     dep_delivered_before_error),
]


def classify(target, data, variant, ours, names, theirs):
    """The class of a disagreement and the fact of the input behind it."""
    if theirs.startswith('crash '):
        return 'breezy-bug:decoder-exception', None
    fact = departures.justified(target, data, variant, ours) or None
    for name, _doc, pred in DEPARTURES:
        if pred(target, data, variant, ours, names, theirs, fact):
            return 'departure:' + name, fact
    return 'UNCLASSIFIED', fact


# ---------------------------------------------------------------------------


def run_ours(difftrace, target, files):
    """difftrace output per file."""
    res = {}
    for i in range(0, len(files), 200):
        batch = files[i:i + 200]
        p = subprocess.run([difftrace, target] + batch, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=False)
        if p.returncode != 0:
            sys.exit('diff_breezy.py: difftrace failed: %s' % p.stderr.decode(errors='replace'))
        cur = None
        for line in p.stdout.decode('latin-1').split('\n'):
            if line.startswith('== '):
                cur = line[3:]
                res[cur] = ''
            elif cur is not None and line:
                res[cur] += line + '\n'
    return res


def run_ours_on(difftrace, cases):
    """difftrace's trace for each (target, protocol bytes, variant), written
    as corpus files (a zero trailer with the variant) to a temporary folder."""
    with tempfile.TemporaryDirectory(prefix='sw-diff-') as tmp:
        paths = []
        for i, (t, data, variant) in enumerate(cases):
            path = os.path.join(tmp, '%s-%d' % (t, i))
            with open(path, 'wb') as fh:
                fh.write(data + bytes(CTL_LEN - 4) + bytes([variant]) + bytes(3))
            paths.append(path)
        out = {}
        for t in sorted({c[0] for c in cases}):
            out.update(run_ours(difftrace, t, [p for p, c in zip(paths, cases) if c[0] == t]))
        return [out.get(p, '') for p in paths]


def classify_input(t, data, variant, ours):
    """classify() with Breezy's trace made here (for the self-test)."""
    return classify(t, data, variant, ours, strip_error_name(ours)[1], breezy(t, data, variant))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--difftrace', required=True, help='the built fuzz/difftrace.c')
    ap.add_argument('--corpus', default=os.path.join(ROOT, 'corpus'))
    ap.add_argument('--target', action='append', choices=TARGETS)
    ap.add_argument('--max-files', type=int, default=0,
                    help='per target (0: all), to bound the time')
    ap.add_argument('-v', '--verbose', action='store_true')
    ap.add_argument('--self-test', action='store_true',
                    help='only check the classifiers (departures.self_test)')
    a = ap.parse_args()
    bad = departures.self_test(lambda cases: run_ours_on(a.difftrace, cases), classify_input)
    for b in bad:
        print('diff_breezy.py: self-test: %s' % b)
    if bad:
        return 1
    print('self-test: %d departures hit, %d errors justified, %d forged errors refused\n' % (
        len(departures.SELF_CLASSES), len(departures.SELF_FACTS), len(departures.SELF_FORGED)))
    if a.self_test:
        return 0
    targets = a.target or TARGETS
    total = {'agree-accept': 0, 'agree-reject': 0, 'skip': 0}
    classes = {}
    listing = []
    print('%-14s %6s %8s %8s %5s %s' % ('target', 'inputs', 'accept', 'reject', 'skip',
                                        'disagreements'))
    for t in targets:
        files = sorted(glob.glob(os.path.join(a.corpus, t, '*')))
        if a.max_files:
            files = files[:a.max_files]
        ours_all = run_ours(a.difftrace, t, files)
        acc = rej = skip = 0
        dis = {}
        for f in files:
            with open(f, 'rb') as fh:
                raw = fh.read()
            data, variant = split(raw)
            ours = ours_all.get(f, '')
            if ours.startswith('skip '):
                skip += 1
                continue
            theirs = breezy(t, data, variant)
            if theirs.startswith('skip '):
                skip += 1
                continue
            plain, names = strip_error_name(ours)
            if plain == theirs:
                if plain.endswith('error\n'):
                    rej += 1
                else:
                    acc += 1
                continue
            c, fact = classify(t, data, variant, ours, names, theirs)
            dis[c] = dis.get(c, 0) + 1
            classes[c] = classes.get(c, 0) + 1
            listing.append((t, f, data, variant, ours, theirs, c, fact))
        total['agree-accept'] += acc
        total['agree-reject'] += rej
        total['skip'] += skip
        print('%-14s %6d %8d %8d %5d %s' % (t, len(files), acc, rej, skip,
                                            ', '.join('%s %d' % kv for kv in sorted(dis.items()))
                                            or '-'))
    print()
    print('agree (both accept, same events): %d; agree (both reject): %d; skipped: %d'
          % (total['agree-accept'], total['agree-reject'], total['skip']))
    for c in sorted(classes):
        print('%-32s %d' % (c, classes[c]))
    unclassified = [x for x in listing if x[6] == 'UNCLASSIFIED']
    for t, f, data, variant, ours, theirs, c, fact in listing:
        if c != 'UNCLASSIFIED' and not a.verbose:
            continue
        print('\n--- %s %s [%s] variant 0x%02x\ninput %s\nthe input: %s\nours:\n%sbreezy:\n%s' % (
            t, os.path.relpath(f, ROOT), c, variant, bt.esc(data[:400]),
            fact or 'nothing justifies our error', ours, theirs), end='')
    if unclassified:
        print('\ndiff_breezy.py: %d unclassified disagreement(s)' % len(unclassified))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
