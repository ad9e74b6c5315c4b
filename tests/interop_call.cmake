# `smartwire call` and its convenience subcommands against the real Breezy
# 3.3.2 server (brz serve --inet through --server-cmd, and brz serve
# --port=0 over TCP), compared call by call with Breezy's own client
# (tests/interop_call/run_interop.py, breezy_call.py): label `interop`.  One
# test per medium and protocol version so that ctest -j runs them side by
# side (about 10-25 s each, under 2 minutes in all).  A missing Breezy makes
# them FAIL with a clear message; they never skip.
if(SW_INTEROP)
  set(SW_CALL_INTEROP ${CMAKE_CURRENT_SOURCE_DIR}/interop_call/run_interop.py)
  set(SW_CALL_TESTS)
  foreach(medium pipe tcp)
    foreach(proto auto 1 2 3)
      add_test(NAME interop.call.${medium}.${proto}
               COMMAND /usr/bin/python3 ${SW_CALL_INTEROP}
                       --smartwire $<TARGET_FILE:smartwire_cli>
                       --medium ${medium} --protocol ${proto})
      list(APPEND SW_CALL_TESTS interop.call.${medium}.${proto})
    endforeach()
  endforeach()
  add_test(NAME interop.call.misc
           COMMAND /usr/bin/python3 ${SW_CALL_INTEROP}
                   --smartwire $<TARGET_FILE:smartwire_cli> --misc)
  list(APPEND SW_CALL_TESTS interop.call.misc)
  set_tests_properties(${SW_CALL_TESTS} PROPERTIES LABELS interop TIMEOUT 120)
endif()
