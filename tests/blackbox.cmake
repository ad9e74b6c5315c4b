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
  # Against Breezy: findings (exit 1), crash cases among them; at least one
  # case fails against Breezy (the runner checks answers, not exit
  # statuses: a crash after a desynchronised body may not show in it) and
  # every case passes against smartwire's server.
  add_test(NAME fuzz.blackbox-breezy
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tools/fuzz_breezy.sh $<TARGET_FILE:smartwire_cli>)
  set_tests_properties(fuzz.blackbox-breezy PROPERTIES LABELS "interop;fuzz" TIMEOUT 900
                       ENVIRONMENT "SW_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endif()
