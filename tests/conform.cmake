# The conformance suite (conformance/): the case files must parse, a filter
# that matches nothing must fail, the suite (with its security matrix) must
# pass against smartwire's own server, kill every mutant
# (conformance/mutants/), give the same verdicts on a busy machine, and
# produce a report a browser renders; with SW_INTEROP it runs against
# Breezy's `brz serve --inet` and Breezy's client with the Breezy
# expectations file.  Tests that need Breezy or chromium FAIL with a clear
# message when they are missing.
set(SW_CONFORM_DIR ${PROJECT_SOURCE_DIR}/conformance)
set(SW_BRZ_SERVER "brz serve --inet --directory={dir} {options}")
set(SW_NEED_BRZ "command -v brz >/dev/null 2>&1 || { echo 'FAIL: brz (Breezy 3.3.2) is not installed: apt-get install brz' >&2; exit 1; }")

add_test(NAME conform.cases-parse
         COMMAND smartwire_cli conform --cases ${SW_CONFORM_DIR}/cases --list)
add_test(NAME conform.no-match
         COMMAND smartwire_cli conform --cases ${SW_CONFORM_DIR}/cases --list "no.such.case.*")
set_tests_properties(conform.no-match PROPERTIES WILL_FAIL TRUE)
# The whole suite with its default sweeps, the security matrix included.
add_test(NAME conform.embedded
         COMMAND smartwire_cli conform --cases ${SW_CONFORM_DIR}/cases -j 2 -q
                 --expect ${SW_CONFORM_DIR}/expectations/smartwire.txt
                 --json ${CMAKE_BINARY_DIR}/conform-embedded.json)
# smartwire's own server as a separate process (the pipe target, the
# security matrix included; over TCP without it: the jail is the same code)
# and its client through the adapter.
add_test(NAME conform.smartwire-serve
         COMMAND sh -c "exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --server-cmd \"$0 serve --inet --directory={dir} {options}\" --expect ${SW_CONFORM_DIR}/expectations/smartwire.txt --sweep none -j 2 -q --json ${CMAKE_BINARY_DIR}/conform-serve.json"
                 $<TARGET_FILE:smartwire_cli>)
add_test(NAME conform.smartwire-serve-tcp
         COMMAND sh -c "exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --server-tcp-cmd \"$0 serve --listen=127.0.0.1 --port={port} --directory={dir} {options}\" --expect ${SW_CONFORM_DIR}/expectations/smartwire.txt --sweep none -j 2 -q --exclude 'security.*'"
                 $<TARGET_FILE:smartwire_cli>)
add_test(NAME conform.smartwire-client
         COMMAND sh -c "exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --client-cmd \"/usr/bin/python3 ${SW_CONFORM_DIR}/adapters/smartwire_client.py --smartwire $0 {url}\" -j 2 -q 'client.*'"
                 $<TARGET_FILE:smartwire_cli>)
# Every verb of Breezy 3.3.2's registry has a case (exit 1 names the ones
# without).
add_test(NAME conform.coverage
         COMMAND smartwire_cli conform --cases ${SW_CONFORM_DIR}/cases --coverage)
set_tests_properties(conform.cases-parse conform.no-match conform.embedded
                     conform.smartwire-serve conform.smartwire-serve-tcp
                     conform.smartwire-client conform.coverage PROPERTIES
                     LABELS conformance TIMEOUT 600)

# The self-test: server mutants (source patches of smartwire's server, built
# into ${CMAKE_BINARY_DIR}/mutants with this build's C compiler, without
# sanitizers), each against the whole suite with its default sweeps (its
# bug's area first, up to the first failing case; the harmless rewrites run
# every case); and the output mutants around `brz serve --inet` on a subset
# of the cases.  About 9 minutes on a busy 2-core machine.
add_test(NAME conform.mutants
         COMMAND /usr/bin/python3 ${SW_CONFORM_DIR}/mutants/run_mutants.py
                 --smartwire $<TARGET_FILE:smartwire_cli> --source ${PROJECT_SOURCE_DIR}
                 --work ${CMAKE_BINARY_DIR}/mutants --cc ${CMAKE_C_COMPILER} --jobs 2)
set_tests_properties(conform.mutants PROPERTIES LABELS "conformance;mutants" TIMEOUT 1800)

# Verdicts that hold under load: the suite with every core busy must give
# each case the verdict of the run without that load, which is the run of
# conform.embedded / conform.smartwire-serve (same cases, same options; a
# fixture, so that it runs first).  RUN_SERIAL: the load must not slow down
# the other tests, nor they this one.
set_tests_properties(conform.embedded PROPERTIES FIXTURES_SETUP conform_idle_embedded)
set_tests_properties(conform.smartwire-serve PROPERTIES FIXTURES_SETUP conform_idle_serve)
foreach(target embedded serve)
  add_test(NAME conform.load-${target}
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/tools/conform_load.sh
                   $<TARGET_FILE:smartwire_cli> ${PROJECT_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/conform-load ${target}
                   ${CMAKE_BINARY_DIR}/conform-${target}.json)
  set_tests_properties(conform.load-${target} PROPERTIES LABELS "conformance;load"
                       TIMEOUT 1200 RUN_SERIAL TRUE FIXTURES_REQUIRED conform_idle_${target})
endforeach()

# The HTML report in a real browser (Debian's chromium, headless); the
# screenshot stays in ${CMAKE_BINARY_DIR}/conform-report/report.png.
add_test(NAME conform.report-browser
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/tools/conform_report.sh
                 $<TARGET_FILE:smartwire_cli> ${PROJECT_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/conform-report)
set_tests_properties(conform.report-browser PROPERTIES LABELS "conformance;tools" TIMEOUT 300)

if(SW_INTEROP)
  # Breezy's server with every case, the security matrix included: its
  # findings are recorded in breezy-3.3.2.txt (SECURITY entries).
  add_test(NAME conform.breezy-server
           COMMAND sh -c "${SW_NEED_BRZ}; exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --server-cmd '${SW_BRZ_SERVER}' --expect ${SW_CONFORM_DIR}/expectations/breezy-3.3.2.txt --sweep none -j 2 -q --json ${CMAKE_BINARY_DIR}/conform-brz.json"
                   $<TARGET_FILE:smartwire_cli>)
  add_test(NAME conform.breezy-sweeps
           COMMAND sh -c "${SW_NEED_BRZ}; exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --server-cmd '${SW_BRZ_SERVER}' --expect ${SW_CONFORM_DIR}/expectations/breezy-3.3.2.txt --sweep framing -j 2 -q detect.marker.v1-hello v12.body.v1-put session.eof.v1-write-sweep v3.parts.byte-before-args"
                   $<TARGET_FILE:smartwire_cli>)
  add_test(NAME conform.breezy-client
           COMMAND sh -c "${SW_NEED_BRZ}; exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --client-cmd '/usr/bin/python3 ${SW_CONFORM_DIR}/adapters/breezy_client.py {url}' --expect ${SW_CONFORM_DIR}/expectations/breezy-3.3.2.txt -j 2 -q 'client.*'"
                   $<TARGET_FILE:smartwire_cli>)
  # The differential: smartwire serve against brz serve as the reference,
  # every decoded answer compared; the differences are the documented
  # departures.  The file-level areas only: the verbs above them are
  # unimplemented in smartwire serve (their cases run against Breezy in
  # conform.breezy-server).
  add_test(NAME conform.differential
           COMMAND sh -c "${SW_NEED_BRZ}; exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --server-cmd \"$0 serve --inet --directory={dir} {options}\" --reference-cmd '${SW_BRZ_SERVER}' --differential --expect ${SW_CONFORM_DIR}/expectations/breezy-3.3.2-differential.txt --sweep none -j 2 -q 'detect.*' 'v12.*' 'v3.*' 'vfs.*' 'jail.*' 'session.*'"
                   $<TARGET_FILE:smartwire_cli>)
  # Breezy against itself: the normalisation of the differential (tokens,
  # paths, unordered lines) leaves no difference, and the cases that need a
  # reference pass.
  add_test(NAME conform.breezy-self-differential
           COMMAND sh -c "${SW_NEED_BRZ}; exec \"$0\" conform --cases ${SW_CONFORM_DIR}/cases --server-cmd '${SW_BRZ_SERVER}' --reference-cmd '${SW_BRZ_SERVER}' --differential --expect ${SW_CONFORM_DIR}/expectations/breezy-3.3.2.txt --sweep none -j 2 -q 'sameref.*' 'branch.*' 'repo.all-revision-ids.*' 'repo.get-revision-graph.*' 'stream.insert-stream-1-19.*'"
                   $<TARGET_FILE:smartwire_cli>)
  set_tests_properties(conform.breezy-server conform.breezy-sweeps conform.breezy-client
                       conform.differential conform.breezy-self-differential PROPERTIES
                       LABELS interop TIMEOUT 1800)
  set_tests_properties(conform.breezy-server PROPERTIES FIXTURES_SETUP conform_idle_brz)
  # brz serve --inet started by the fork server (its start-up paid once;
  # what bench/run_conform's brz-fork target measures): smartwire fork-run
  # behaves as the plain command (bytes, exit status, signals, end of
  # stream), and the whole suite gives every case the verdict of
  # conform.breezy-server.
  add_test(NAME tool.forkserver
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/tools/forkserver.sh
                   $<TARGET_FILE:smartwire_cli> ${PROJECT_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/forkserver-unit unit)
  set_tests_properties(tool.forkserver PROPERTIES LABELS "interop;tools" TIMEOUT 600)
  add_test(NAME conform.breezy-forkserver
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/tools/forkserver.sh
                   $<TARGET_FILE:smartwire_cli> ${PROJECT_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/forkserver-conform conform
                   ${CMAKE_BINARY_DIR}/conform-brz.json)
  set_tests_properties(conform.breezy-forkserver PROPERTIES LABELS interop TIMEOUT 1800
                       FIXTURES_REQUIRED conform_idle_brz)
  add_test(NAME conform.load-brz
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/tools/conform_load.sh
                   $<TARGET_FILE:smartwire_cli> ${PROJECT_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/conform-load brz ${CMAKE_BINARY_DIR}/conform-brz.json)
  set_tests_properties(conform.load-brz PROPERTIES LABELS "interop;load" TIMEOUT 1200
                       RUN_SERIAL TRUE FIXTURES_REQUIRED conform_idle_brz)
endif()
