# The black-box fuzzer (testbench/blackbox/, `smartwire fuzz`): a short
# fixed-seed campaign against smartwire's own server over a pipe and over
# TCP must find nothing (exit 0), within well under a minute each on two
# cores.  With SW_INTEROP, a short campaign against `brz serve --inet` must
# find Breezy's known crashes (exit 1, cases written), and every case it
# writes must fail against Breezy and pass against smartwire's server (the
# cases reproduce what they report).  A longer campaign is `fuzz/run -e
# blackbox`.
add_test(NAME fuzz.blackbox-serve
         COMMAND sh -c "exec \"$0\" fuzz --server-cmd \"$0 serve --inet --directory={dir} {options}\" --seed 1 --runs 300 -j 2 -q"
                 $<TARGET_FILE:smartwire_cli>)
add_test(NAME fuzz.blackbox-serve-tcp
         COMMAND sh -c "exec \"$0\" fuzz --server-tcp-cmd \"$0 serve --listen=127.0.0.1 --port={port} --directory={dir} {options}\" --seed 2 --runs 150 -j 2 -q"
                 $<TARGET_FILE:smartwire_cli>)
set_tests_properties(fuzz.blackbox-serve fuzz.blackbox-serve-tcp PROPERTIES
                     LABELS "tools;fuzz" TIMEOUT 120
                     ENVIRONMENT "SW_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
if(SW_INTEROP)
  set(SW_BB_NEED_BRZ "command -v brz >/dev/null 2>&1 || { echo 'FAIL: brz (Breezy 3.3.2) is not installed: apt-get install brz' >&2; exit 1; }")
  add_test(NAME fuzz.blackbox-breezy
           COMMAND sh -c "${SW_BB_NEED_BRZ}; out=\$(mktemp -d) && trap 'rm -rf \"\$out\"' EXIT && \"$0\" fuzz --server-cmd 'brz serve --inet --directory={dir} {options}' --seed 1 --runs 60 -j 2 -q --min-budget 20 --out \"\$out\" 2>\"\$out/log\"; rc=\$?; cat \"\$out/log\"; [ \$rc = 1 ] || { echo 'FAIL: expected findings against Breezy' >&2; exit 1; }; ls \"\$out\"/crash-*.case >/dev/null || exit 1; for c in \"\$out\"/*.case; do \"$0\" conform --cases \"\$c\" --server-cmd 'brz serve --inet --directory={dir} {options}' --no-retry -q >/dev/null && { echo \"FAIL: \$c passes against Breezy\" >&2; exit 1; }; \"$0\" conform --cases \"\$c\" --server-cmd \"$0 serve --inet --directory={dir} {options}\" --no-retry -q >/dev/null || { echo \"FAIL: \$c fails against smartwire\" >&2; exit 1; }; done"
                   $<TARGET_FILE:smartwire_cli>)
  set_tests_properties(fuzz.blackbox-breezy PROPERTIES LABELS "interop;fuzz" TIMEOUT 900
                       ENVIRONMENT "SW_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endif()
