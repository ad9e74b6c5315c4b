# Packet captures (testbench/capture/): the committed captures of
# tests/data/captures/ dissected and compared with their expected
# conversations, the recording directories of corpus/recordings/, and the
# parity check against Wireshark's bzr dissector (label interop).
# Every check runs `smartwire dissect` itself.

find_package(Python3 REQUIRED COMPONENTS Interpreter)
# Every committed capture against its expected conversations
# (tests/data/captures/*.expect.json, computed by expect.py with Breezy's
# decoders and its own TCP reassembly).
add_test(NAME capture.expect
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/capture_check.py
                 --dissect "$<TARGET_FILE:smartwire_cli> dissect"
                 captures ${PROJECT_SOURCE_DIR}/tests/data/captures)
# The recording directories in the paired view against the one-direction
# dissector.
set(SW_RECORDINGS ${PROJECT_SOURCE_DIR}/corpus/recordings)
add_test(NAME capture.recordings
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/capture_check.py
                 --dissect "$<TARGET_FILE:smartwire_cli> dissect"
                 --smartwire $<TARGET_FILE:smartwire_cli> recordings
                 ${SW_RECORDINGS}/smart-brz ${SW_RECORDINGS}/vfs-brz
                 ${SW_RECORDINGS}/vfs-transport-v3 ${SW_RECORDINGS}/vfs-transport-v2
                 ${SW_RECORDINGS}/v2-server-bug)
# Options (port, BPF filter, limits), failures and the text view.  The
# preloaded stand-in for dlopen (tools/no_pcap_shim.c) makes libpcap missing
# or incomplete for the checks of testbench/capture/pcap_lib.c.
add_library(sw_test_no_pcap MODULE ${CMAKE_CURRENT_SOURCE_DIR}/tools/no_pcap_shim.c)
target_link_libraries(sw_test_no_pcap PRIVATE ${CMAKE_DL_LIBS})
add_test(NAME capture.cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/capture_cli.sh
                 $<TARGET_FILE:smartwire_cli> ${PROJECT_SOURCE_DIR}
                 $<TARGET_FILE:sw_test_no_pcap>)
set_tests_properties(capture.expect capture.recordings capture.cli PROPERTIES LABELS tools
                     TIMEOUT 300)
# Parity with Wireshark's bzr dissector (tshark): label interop, with the
# other interoperability tests (SW_INTEROP); FAILS with a clear message when
# tshark is missing (apt-get install tshark).
if(SW_INTEROP)
  add_test(NAME interop.capture_tshark
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/capture_tshark.py
                   --dissect "$<TARGET_FILE:smartwire_cli> dissect"
                   ${PROJECT_SOURCE_DIR}/tests/data/captures)
  set_tests_properties(interop.capture_tshark PROPERTIES LABELS interop TIMEOUT 600)
endif()
