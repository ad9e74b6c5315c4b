#!/usr/bin/python3
"""Generate the pack container vectors (tests/vectors/pack_vectors.inc).

Run with /usr/bin/python3 (Debian's python3-breezy).  Every expected trace
and every expected byte string is produced by Breezy's own code
(breezy/bzr/pack.py and breezy/bzr/smart/repository.py):

* the inputs: containers written by ContainerWriter (begin, add_bytes_record,
  end) from the records listed below; the network streams that
  _stream_to_byte_stream writes for Repository.get_stream_1.19,
  VersionedFileRepository.get_inventories and the empty insert_stream probe,
  from a repository made in a temporary directory with fixed ids and dates
  (so the bytes are the same on every run), and a pack file of that
  repository; then hand-made malformed inputs and every prefix of the
  verbs-reference.md example;
* the expected trace: what ContainerPushParser (the network streams'
  parser) reads from each input fed whole, and again byte by byte (the
  generator asserts both agree): its records, then `end` if it saw 'E',
  the bytes it left after 'E', or the error it raised, mapped to our code;
  an input it is still waiting on at the end is SW_ERR_UNEXPECTED_EOF;
* the next_read_size sequence: read_size_hint() after construction and
  after each piece (one byte; for inputs over 4 KiB one byte up to
  `bytewise`, then `step` bytes),
  finished written as 0 (smartwire's documented value; Breezy says 16384),
  runs of one value written value*count ("16384*43 0");
* `canonical`: ContainerSerialiser gives back exactly the input up to 'E'
  from the records read, so our encoder must too;
* pack_writer_vecs: ContainerWriter.add_bytes_record of records at and over
  its 100000-byte threshold, where it writes the header and the chunks
  separately: the header bytes it wrote, checked against our
  sw_pack_encode_record_header().

With --corpus it also writes the seed corpus of fuzz/fuzz_pack.c
(corpus/pack/: every vector input, a few with the tiny-limit and abort
variants, and every pack container in the recordings of
corpus/recordings/, each with the three control trailers of
fuzz/split_sessions.py) and its dictionary corpus/pack.dict.

Only inputs whose reading does not depend on how they are cut and on which
smartwire and Breezy agree are vectors; the documented departures (negative
lengths, limits, errors detected before the end of a line) are tested by
hand in tests/codec/test_pack.c.

Trace notation (ref/include/smartwire/format.h), one line per event:
    record [["name", "parts"], ["other"]] "body bytes"
    end
    excess "bytes after E"
    error SW_ERR_...
"""

import hashlib
import io
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from breezy_trace import (c_string, esc, fmt_tuple, require_breezy,  # noqa: E402
                          breezy_version)

require_breezy()

from breezy.bzr import pack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "fuzz"))  # split_sessions, for --corpus
GEN = os.path.basename(__file__)
HEADER = pack.FORMAT_ONE + b"\n"
NRS_BYTEWISE_MAX = 4096
NRS_BYTEWISE = 256
NRS_STEP = 509


# ---------------------------------------------------------------------------
# Breezy's reading of an input


def map_error(e):
    """Our code for the exception ContainerPushParser raised."""
    if isinstance(e, pack.UnknownContainerFormatError):
        return "SW_ERR_PACK_BAD_FORMAT"
    if isinstance(e, pack.UnknownRecordTypeError):
        return "SW_ERR_PACK_BAD_RECORD_TYPE"
    if isinstance(e, pack.InvalidRecordError):
        if e.reason.endswith("is not a valid length."):
            return "SW_ERR_PACK_BAD_LENGTH"
        if e.reason.endswith("is not a valid name."):
            return "SW_ERR_PACK_BAD_NAME"
    raise AssertionError("unexpected exception from the parser: %r" % (e,))


def fmt_names(names):
    return "[" + ", ".join(fmt_tuple(t) for t in names) + "]"


def cut(data, bytewise, step):
    """One-byte pieces for data[:bytewise], then pieces of `step` bytes (an
    empty input is one empty piece, as the C harness feeds it)."""
    if not data:
        return [data]
    pieces = [data[i:i + 1] for i in range(min(bytewise, len(data)))]
    return pieces + [data[i:i + step] for i in range(bytewise, len(data), step)]


def parse(data, pieces=None):
    """Feed `data` to a fresh ContainerPushParser, whole (pieces None) or in
    the given pieces.  Returns (trace, hints, records, excess, ok): ok is
    False when the parser raised."""
    p = pack.ContainerPushParser()
    hints = [p.read_size_hint()]
    records = []
    error = None
    if pieces is None:
        pieces = [data]
    assert b"".join(pieces) == data
    try:
        for piece in pieces:
            p.accept_bytes(piece)
            records.extend(p.read_pending_records())
            hints.append(0 if p.finished else p.read_size_hint())
    except pack.ContainerError as e:
        error = map_error(e)
        records.extend(p.read_pending_records())
    trace = "".join("record %s %s\n" % (fmt_names(n), esc(b)) for n, b in records)
    excess = None
    if error is not None:
        trace += "error %s\n" % error
    elif not p.finished:
        trace += "error SW_ERR_UNEXPECTED_EOF\n"
    else:
        trace += "end\n"
        excess = p._buffer
        if excess:
            trace += "excess %s\n" % esc(excess)
    return trace, hints, records, excess, error is None


def rle(values):
    """The hint sequence with runs written as value*count: "16384*43 0"."""
    out = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return " ".join("%d*%d" % (v, n) if n > 1 else "%d" % v for v, n in out)


def vector(name, data):
    whole, _, records, excess, raised_nothing = parse(data)
    bytewise, hints, _, _, _ = parse(data, cut(data, len(data), 1))
    assert whole == bytewise, (name, whole, bytewise)
    # Long inputs: the hints byte by byte up to NRS_BYTEWISE (which covers
    # the start of the first large body, where the hint exceeds 16384),
    # then after every NRS_STEP bytes.
    nbytewise, step = len(data), 1
    if len(data) > NRS_BYTEWISE_MAX:
        nbytewise, step = NRS_BYTEWISE, NRS_STEP
        stepped, hints, _, _, _ = parse(data, cut(data, nbytewise, step))
        assert stepped == whole, name
    canonical = False
    if "end" in whole.splitlines():
        s = pack.ContainerSerialiser()
        again = s.begin() + b"".join(s.bytes_record(b, n) for n, b in records) + s.end()
        canonical = again + (excess or b"") == data
    return {
        "name": name,
        "input": data,
        "trace": whole,
        "canonical": canonical,
        "bytewise": nbytewise,
        "step": step,
        # A parser that raised has no hint to compare after the failing piece.
        "nrs": rle(hints) if raised_nothing else None,
    }


# ---------------------------------------------------------------------------
# Containers written by ContainerWriter


def write(records, end=True):
    """ContainerWriter output for records [(chunks, names)]; asserts the
    offsets it returns describe the bytes it wrote."""
    out = io.BytesIO()
    w = pack.ContainerWriter(out.write)
    w.begin()
    for chunks, names in records:
        length = sum(len(c) for c in chunks)
        offset, size = w.add_bytes_record(chunks, length, names)
        assert offset + size == len(out.getvalue())
    if end:
        w.end()
    assert w.records_written == len(records)
    return out.getvalue()


def pattern(n, seed=0):
    """Binary bytes for small and writer-only bodies."""
    return bytes((i * 7 + 3 + seed) & 0xFF for i in range(n))


def text(n, seed=0):
    """Printable bytes for large bodies (one character each in the C file)."""
    return bytes(0x61 + (i * 7 + seed) % 26 for i in range(n))


NAME_BYTES = bytes(c for c in range(256) if c not in b"\t\n\x0b\x0c\r \x00")

WRITER_CASES = [
    ("empty container", []),
    ("one record without names", [([b"abc"], [])]),
    ("one empty record without names", [([], [])]),
    ("one record with one name", [([b"abc"], [(b"one",)])]),
    ("verbs-reference example",
     [([b"abc"], [(b"one",)]), ([b"hi", b"!"], [(b"a", b"b"), (b"c",)]), ([], [])]),
    ("several names", [([b"body"], [(b"n1",), (b"n2",), (b"n3",), (b"n4",)])]),
    ("multi-part names", [([b"x"], [(b"file-id", b"rev-id"), (b"a", b"b", b"c", b"d")])]),
    ("empty elements", [([b"x"], [(b"a", b""), (b"", b"b"), (b"", b""), (b"", b"", b"")])]),
    ("name of every allowed byte", [([b"z"], [(NAME_BYTES,)])]),
    ("long name", [([b"z"], [(b"k" * 300, b"v" * 300)])]),
    ("sixty-four names", [([b"many"], [(b"name-%d" % i,) for i in range(64)])]),
    ("binary body", [([bytes(range(256))], [(b"bin",)])]),
    ("body that looks like records", [([b"B3\nx\n\nabcE\nB0\n\n"], [(b"tricky",)]),
                                      ([b"E"], [])]),
    ("body of newlines", [([b"\n\n\n"], [(b"nl",)])]),
    ("records of every small length",
     [([pattern(n, n)], [(b"len-%d" % n,)]) for n in range(0, 20)]),
    ("two records of 3000 bytes", [([text(3000)], [(b"a",)]),
                                   ([text(3000, 1)], [(b"b",)])]),
    ("record just over the read size hint", [([text(16390)], [(b"texts",)])]),
    # What Breezy's writer produces for names it cannot read back (our
    # encoder refuses them): a name with one empty element writes the blank
    # line that ends the names, and an element holding "\x00" splits.
    ("writer: a name of one empty element ends the names", [([b"abc"], [(b"",)])]),
    ("writer: a name without elements ends the names", [([b"abc"], [()])]),
    ("writer: an element holding NUL reads back as two", [([b"abc"], [(b"a\x00b",)])]),
]

# Accepted by the push parser, refused by ContainerReader.validate() (the
# file reader): the generator checks the class validate() raises.
VALIDATE_ONLY = [
    ("duplicate names in two records (validate: DuplicateRecordNameError)",
     [([b"1"], [(b"dup",)]), ([b"2"], [(b"dup",)])], pack.DuplicateRecordNameError),
    ("the same name twice in a record (validate: DuplicateRecordNameError)",
     [([b"1"], [(b"dup", b"x"), (b"dup", b"x")])], pack.DuplicateRecordNameError),
    ("name that is not UTF-8 (validate: InvalidRecordError)",
     [([b"1"], [(b"\xff\xfe",)])], pack.InvalidRecordError),
    ("overlong UTF-8 name (validate: InvalidRecordError)",
     [([b"1"], [(b"\xc0\xaf",)])], pack.InvalidRecordError),
]


def validate_error(data):
    try:
        pack.ContainerReader(io.BytesIO(data)).validate()
    except pack.ContainerError as e:
        return type(e)
    return None


# ---------------------------------------------------------------------------
# Network streams from a real repository


def repository_streams():
    """The bytes _stream_to_byte_stream writes for a 2a repository with two
    commits (fixed ids, dates and committer, so they are reproducible)."""
    home = tempfile.mkdtemp(prefix="sw-gen-pack-home.")
    saved = {k: os.environ.get(k) for k in ("HOME", "BRZ_EMAIL", "BRZ_PLUGIN_PATH")}
    os.environ["HOME"] = home
    os.environ["BRZ_EMAIL"] = "Test <test@example.com>"
    os.environ["BRZ_PLUGIN_PATH"] = "-site:-user"
    import breezy
    from breezy import commit, controldir, ui
    from breezy.bzr import vf_search
    from breezy.bzr.smart import repository as srepo

    ui.ui_factory = ui.SilentUIFactory()
    work = tempfile.mkdtemp(prefix="sw-gen-pack.")
    streams = []
    try:
        with breezy.initialize():
            wt_dir = os.path.join(work, "wt")
            tree = controldir.ControlDir.create_standalone_workingtree(wt_dir)
            tree.set_root_id(b"root-id")
            with open(os.path.join(wt_dir, "hello.txt"), "wb") as f:
                f.write(b"hello\n")
            tree.add(["hello.txt"], ids=[b"hello-id"])
            tree.commit("first", rev_id=b"rev-1", timestamp=1700000000, timezone=0,
                        committer="Test <test@example.com>",
                        reporter=commit.NullCommitReporter())
            packs = os.path.join(wt_dir, ".bzr", "repository", "packs")
            first_packs = set(os.listdir(packs))
            with open(os.path.join(wt_dir, "hello.txt"), "wb") as f:
                f.write(b"hello\nworld\n")
            tree.commit("second", rev_id=b"rev-2", timestamp=1700000060, timezone=0,
                        committer="Test <test@example.com>",
                        reporter=commit.NullCommitReporter())
            repo = tree.branch.repository
            fmt = repo._format
            with repo.lock_read():
                source = repo._get_source(fmt)
                full = vf_search.PendingAncestryResult([b"rev-2"], repo)
                streams.append(("network stream: Repository.get_stream_1.19, two revisions",
                                b"".join(srepo._stream_to_byte_stream(
                                    source.get_stream(full), fmt))))
                incr = vf_search.SearchResult({b"rev-2"}, {b"rev-1"}, 1, {b"rev-2"})
                streams.append(("network stream: Repository.get_stream_1.19, second revision",
                                b"".join(srepo._stream_to_byte_stream(
                                    source.get_stream(incr), fmt))))
            h = srepo.SmartServerRepositoryGetInventories(None)
            streams.append(("network stream: VersionedFileRepository.get_inventories",
                            b"".join(h.body_stream(repo, "topological", [b"rev-1", b"rev-2"]))))
            streams.append(("network stream: empty insert_stream probe",
                            b"".join(srepo._stream_to_byte_stream([], fmt))))
            (first,) = first_packs
            with open(os.path.join(packs, first), "rb") as f:
                streams.append(("repository pack file of the first commit", f.read()))
    finally:
        shutil.rmtree(work)
        shutil.rmtree(home)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return streams


# ---------------------------------------------------------------------------
# Hand-made inputs: what the parser accepts beyond the writer's bytes, and
# what it refuses.  Each error input contains the whole line the error is
# in, so that Breezy and smartwire agree on it (see the module docstring).

EXAMPLE = write([([b"abc"], [(b"one",)]), ([b"hi", b"!"], [(b"a", b"b"), (b"c",)]), ([], [])])

HAND_CASES = [
    # Lengths read by Python int().
    ("length with spaces", HEADER + b"B 3 \n\nabcE"),
    ("length with plus", HEADER + b"B+3\n\nabcE"),
    ("length with underscore", HEADER + b"B1_0\n\n0123456789E"),
    ("length with leading zeros", HEADER + b"B007\n\nabcdefgE"),
    ("length with CR", HEADER + b"B3\r\n\nabcE"),
    ("length with tab and VT", HEADER + b"B\t3\x0b\n\nabcE"),
    ("length minus zero", HEADER + b"B-0\n\nE"),
    ("bad length: letters", HEADER + b"Bx\n\n"),
    ("bad length: empty", HEADER + b"B\n\n"),
    ("bad length: hex", HEADER + b"B0x3\n\nabcE"),
    ("bad length: decimal point", HEADER + b"B3.0\n\nabcE"),
    ("bad length: two numbers", HEADER + b"B1 2\n\n"),
    ("bad length: double underscore", HEADER + b"B1__0\n\n"),
    ("bad length: sign and space", HEADER + b"B+ 3\n\n"),
    ("bad length: NUL", HEADER + b"B3\x00\n\nabcE"),
    ("bad length: non-ASCII digit", HEADER + b"B\xd9\xa3\n\nabcE"),
    ("bad length: only spaces", HEADER + b"B  \n\n"),
    # Names.
    ("name with space", HEADER + b"B3\nab cd\n\nabcE"),
    ("name with tab", HEADER + b"B3\nab\tcd\n\nabcE"),
    ("name with VT", HEADER + b"B3\nab\x0bcd\n\nabcE"),
    ("name with FF", HEADER + b"B3\nab\x0ccd\n\nabcE"),
    ("name with CR (a CRLF line end)", HEADER + b"B3\none\r\n\nabcE"),
    ("whitespace in the second element", HEADER + b"B3\nok\x00not ok\n\nabcE"),
    ("whitespace in the second name", HEADER + b"B3\nok\nnot ok\n\nabcE"),
    ("name of one NUL is two empty elements", HEADER + b"B3\n\x00\n\nabcE"),
    ("names after an empty record", HEADER + b"B0\n\nB1\nx\n\nyE"),
    # Record types.
    ("unknown record type", HEADER + b"X"),
    ("lower-case b", HEADER + b"b3\n\nabcE"),
    ("newline as record type", HEADER + b"\nE"),
    ("NUL as record type", HEADER + b"\x00"),
    ("bad type after a record", HEADER + b"B1\n\nxZ"),
    ("record type after a body", HEADER + b"B1\n\nx\nE"),
    # The header.
    ("header only", HEADER),
    ("header of format 2", b"Bazaar pack format 2 (introduced in 0.18)\nE"),
    ("header with CRLF", pack.FORMAT_ONE + b"\r\nE"),
    ("header with a trailing space", pack.FORMAT_ONE + b" \nE"),
    ("empty first line", b"\nBazaar pack format 1 (introduced in 0.18)\nE"),
    ("lower-case header", pack.FORMAT_ONE.lower() + b"\nE"),
    ("header cut short then newline", b"Bazaar pack\nE"),
    ("v3 marker instead of a header", b"bzr message 3 (bzr 1.6)\nE"),
    ("empty input", b""),
    # After the end marker (the parser ignores it; the caller gets it).
    ("excess after the end", write([([b"abc"], [(b"one",)])]) + b"trailing bytes"),
    ("a second container after the end", write([]) + write([([b"x"], [])])),
    ("end marker then garbage", HEADER + b"EXXX\n"),
    # Cut before the end marker.
    ("writer without end()", write([([b"abc"], [(b"one",)])], end=False)),
    ("body cut short", HEADER + b"B10\n\nabc"),
    ("names cut short", HEADER + b"B3\none\n"),
    ("length line cut short", HEADER + b"B12"),
]


def prefixes():
    """Every proper prefix of the verbs-reference example."""
    return [("example cut after %d bytes" % n, EXAMPLE[:n]) for n in range(len(EXAMPLE))]


# ---------------------------------------------------------------------------
# ContainerWriter's split writes (records of 100000 bytes and more)


def writer_vectors():
    vecs = []
    for n, names in [(99999, [(b"texts",)]), (100000, [(b"texts",)]),
                     (250000, [(b"chk_bytes",), (b"k1", b"k2")]), (100000, [])]:
        body = pattern(n)
        writes = []
        w = pack.ContainerWriter(writes.append)
        w.add_bytes_record([body[:n // 2], body[n // 2:]], n, names)
        header = pack.ContainerSerialiser().bytes_header(n, names)
        joined = pack.ContainerSerialiser().bytes_record(body, names)
        assert b"".join(writes) == joined
        if n >= pack.ContainerWriter._JOIN_WRITES_THRESHOLD:
            # Written as the header, then each chunk.
            assert writes[0] == header and len(writes) == 3, n
        else:
            assert len(writes) == 1
        vecs.append({"name": "add_bytes_record of %d bytes, %d names" % (n, len(names)),
                     "spec": b"\n".join(b"\x00".join(t) for t in names),
                     "nnames": len(names), "body_len": n, "header": writes[0][:len(header)],
                     "sha256": hashlib.sha256(joined).hexdigest()})
    return vecs


# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# The seed corpus of fuzz/fuzz_pack.c (--corpus)


def recorded_containers():
    """Every message body of the recordings in corpus/recordings/ that is a
    pack container: insert_stream request bodies, get_stream and
    get_inventories response bodies, and the .pack files that the VFS
    scenario uploads with `put`.  The v3 messages are cut by Breezy's own
    ProtocolThreeDecoder (fuzz/split_sessions.py's Recorder)."""
    from breezy.bzr.smart import protocol
    from split_sessions import Recorder

    found = []
    rec_dir = os.path.join(ROOT, "corpus", "recordings")
    for scenario in sorted(os.listdir(rec_dir)):
        d = os.path.join(rec_dir, scenario)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c2s", ".s2c")):
                continue
            with open(os.path.join(d, name), "rb") as f:
                stream = f.read()
            while stream.startswith(b"bzr message 3 (bzr 1.6)\n"):
                rec = Recorder()
                dec = protocol.ProtocolThreeDecoder(rec, expect_version_marker=True)
                dec.accept_bytes(stream)
                if not rec.ended or rec.error is not None:
                    break
                body = b"".join(rec.bytes_parts)
                if body.startswith(HEADER):
                    found.append(("%s/%s" % (scenario, name), body))
                stream = dec.unused_data
    return found


DICT_TOKENS = [
    HEADER, pack.FORMAT_ONE, b"B", b"E", b"\n", b"\n\n", b"\x00", b"B0\n\n", b"E",
    b" ", b"\t", b"\r", b"+", b"-", b"_", b"0", b"16384", b"4294967296",
    b"18446744073709551616",
    b"Bazaar repository format 2a (needs bzr 1.16 or later)\n",
    b"revisions", b"signatures", b"inventories", b"inventory-deltas", b"chk_bytes",
    b"texts", b"groupcompress-block\n", b"fulltext\n", b"gcb1z\n", b"knit-delta-gz",
]


MAX_LEN = 16384  # max_len of .clusterfuzzlite/build.sh's options


def write_corpus(vecs):
    """corpus/pack/<sha1> = container + the fdp.h trailer in the three
    flavours of fuzz/split_sessions.py (inputs that fit libFuzzer's max_len),
    and corpus/pack.dict."""
    from split_sessions import FLAVOURS, dict_line, trailer

    seeds = set()
    for v in vecs:
        # The prefixes of the example add little beyond every tenth one.
        if v["name"].startswith("example cut after"):
            if int(v["name"].split()[3]) % 10:
                continue
        seeds.add((v["input"], 0))
    recorded = recorded_containers()
    for _, body in recorded:
        seeds.add((body, 0))
    # Tiny limits (variant bit 7) and aborting callbacks (bits 0-3).
    for v in vecs[:12]:
        seeds.add((v["input"], 0x80))
        seeds.add((v["input"], 0x02))
    out_dir = os.path.join(ROOT, "corpus", "pack")
    os.makedirs(out_dir, exist_ok=True)
    files = 0
    for payload, variant in sorted(seeds):
        if len(payload) + 12 > MAX_LEN:
            continue
        for fl in FLAVOURS:
            data = payload + trailer(variant=variant, **fl)
            with open(os.path.join(out_dir, hashlib.sha1(data).hexdigest()), "wb") as f:
                f.write(data)
            files += 1
    seen, lines = set(), []
    for t in DICT_TOKENS:
        if t not in seen:
            seen.add(t)
            lines.append(dict_line(len(lines), t))
    with open(os.path.join(ROOT, "corpus", "pack.dict"), "w") as f:
        f.write("# Dictionary for fuzz_pack (generated by tests/vectors/gen_pack.py --corpus).\n")
        f.writelines(lines)
    print("%s: %d seeds (%d from recordings), %d files" % (out_dir, len(seeds), len(recorded),
                                                           files))


def main():
    vecs = []
    for name, records in WRITER_CASES:
        vecs.append(vector("writer: " + name if not name.startswith("writer:") else name,
                           write(records)))
    for name, records, cls in VALIDATE_ONLY:
        data = write(records)
        assert validate_error(data) is cls, name
        vecs.append(vector(name, data))
    for name, data in repository_streams():
        vecs.append(vector(name, data))
    for name, data in HAND_CASES + prefixes():
        vecs.append(vector(name, data))
    names = [v["name"] for v in vecs]
    assert len(names) == len(set(names))

    path = os.path.join(HERE, "pack_vectors.inc")
    with open(path, "w") as f:
        f.write("/* Generated by tests/vectors/%s from Breezy %s; do not edit. */\n"
                % (GEN, breezy_version()))
        f.write("static const struct pack_vec pack_vecs[] = {\n")
        for v in vecs:
            f.write("{\n\t.name = %s,\n\t.input = %s,\n\t.len = %d,\n\t.trace = %s,\n"
                    "\t.canonical = %s,\n\t.bytewise = %d,\n\t.step = %d,\n"
                    "\t.nrs = %s\n},\n" % (
                        c_string(v["name"]), c_string(v["input"]), len(v["input"]),
                        c_string(v["trace"]), "true" if v["canonical"] else "false",
                        v["bytewise"], v["step"], c_string(v["nrs"]) if v["nrs"] is not None else "NULL"))
        f.write("};\n\n")
        f.write("static const struct pack_writer_vec pack_writer_vecs[] = {\n")
        for v in writer_vectors():
            f.write("{\n\t.name = %s,\n\t.spec = %s,\n\t.spec_len = %d,\n\t.nnames = %d,\n"
                    "\t.body_len = %d,\n\t.header = %s,\n\t.header_len = %d,\n"
                    "\t.sha256 = \"%s\"\n},\n" % (
                        c_string(v["name"]), c_string(v["spec"]), len(v["spec"]),
                        v["nnames"], v["body_len"], c_string(v["header"]),
                        len(v["header"]), v["sha256"]))
        f.write("};\n")
    print("%s: %d vectors, %d writer vectors" % (path, len(vecs), len(writer_vectors())))
    if "--corpus" in sys.argv[1:]:
        write_corpus(vecs)


if __name__ == "__main__":
    main()
