#!/usr/bin/env python3
"""Writes the man page smartwire(1) from the program's own help texts.

The page is generated, never written by hand, so that it says exactly what
`smartwire --help` and `smartwire COMMAND --help` say: one section per
command with its help text as is, the version from `smartwire --version`.

Usage: gen_manpage.py SMARTWIRE OUTPUT.1
"""
import datetime
import os
import re
import subprocess
import sys


def run(*args):
    p = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    if p.returncode != 0:
        sys.exit("gen_manpage: %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def roff_text(s):
    """Escapes text for roff: backslashes, and a leading dot or quote."""
    out = []
    for line in s.rstrip("\n").split("\n"):
        line = line.replace("\\", "\\e").replace("-", "\\-")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def main():
    sw, dest = sys.argv[1], sys.argv[2]
    top = run(sw, "--help")
    version = run(sw, "--version").split("\n")[0].split()[-1]
    commands = re.findall(r"^  ([\w-]+) +(.*)$", top.split("commands:", 1)[1], re.M)
    # SOURCE_DATE_EPOCH keeps the page reproducible (Debian's convention).
    when = datetime.datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or
                                           os.path.getmtime(__file__), datetime.timezone.utc)
    page = [
        '.TH SMARTWIRE 1 "%s" "smartwire %s" "User Commands"' % (when.strftime("%Y-%m-%d"),
                                                                version),
        ".SH NAME",
        "smartwire \\- reference implementation and test bench of the Bazaar smart protocol",
        ".SH SYNOPSIS",
        ".B smartwire",
        "[\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR]",
        ".br",
        ".B smartwire",
        "\\fICOMMAND\\fR [\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR | \\fIARGS\\fR...]",
        ".SH DESCRIPTION",
        ".nf",
        roff_text(top),
        ".fi",
        ".SH COMMANDS",
    ]
    for name, summary in commands:
        page += [".SS %s" % name, roff_text(summary) + ".", ".PP", ".nf",
                 roff_text(run(sw, name, "--help")), ".fi"]
    page += [
        ".SH VERSION",
        "Every command answers \\fB\\-\\-version\\fR with the program's version (%s)." % version,
        ".SH SEE ALSO",
        ".BR brz (1),",
        ".BR tshark (1)",
        "",
    ]
    with open(dest, "w") as f:
        f.write("\n".join(page))


if __name__ == "__main__":
    main()
