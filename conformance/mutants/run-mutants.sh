#!/bin/sh
# The output mutants alone, as before run_mutants.py:
#
#   run-mutants.sh SMARTWIRE [SERVER-TEMPLATE [EXPECTATIONS]]
#
# puts mutate.py between the runner and a correct server (default:
# `brz serve --inet`) once per mutation.  The whole self-test, server
# mutants included, is run_mutants.py (ctest conform.mutants).
set -u
SW=${1:?usage: run-mutants.sh SMARTWIRE [SERVER-TEMPLATE [EXPECTATIONS]]}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 3 ]; then
	exec /usr/bin/python3 "$HERE/run_mutants.py" --smartwire "$SW" --no-server \
		--output-server "$2" --output-expect "$3"
elif [ $# -ge 2 ]; then
	exec /usr/bin/python3 "$HERE/run_mutants.py" --smartwire "$SW" --no-server \
		--output-server "$2"
fi
exec /usr/bin/python3 "$HERE/run_mutants.py" --smartwire "$SW" --no-server
