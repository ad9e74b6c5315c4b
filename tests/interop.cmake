# Interoperability with the real Breezy 3.3.2 (Debian's brz / python3-breezy):
# label `interop`.  A missing Breezy makes these tests FAIL with a clear
# message; they never skip.  Each is bounded (about 10 s in total here).
if(SW_INTEROP)
  set(SW_BREEZY_PY /usr/bin/python3)
  # Breezy's client (push, log, cat, branch; bzr+ssh via BZR_REMOTE_PATH).
  add_test(NAME interop.breezy_client
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/interop/breezy_client.sh
                   $<TARGET_FILE:smartwire_cli>)
  # Breezy's transport API, every VFS method, bzr:// (v3) and bzr-v2:// (v2).
  add_test(NAME interop.transport_api
           COMMAND ${SW_BREEZY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/interop/transport_api.py
                   $<TARGET_FILE:smartwire_cli>)
  # The same request bytes to brz serve and smartwire serve: identical answers.
  add_test(NAME interop.differential
           COMMAND ${SW_BREEZY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/interop/differential.py
                   --smartwire $<TARGET_FILE:smartwire_cli>)
  set_tests_properties(interop.breezy_client interop.transport_api interop.differential
                       PROPERTIES LABELS interop TIMEOUT 120)
endif()
