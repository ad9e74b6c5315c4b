# Packet captures (testbench/capture/): the committed captures of
# tests/data/captures/ dissected and compared with their expected
# conversations, the recording directories of corpus/recordings/, and the
# parity check against Wireshark's bzr dissector (label interop).
# sw_capture_dissect stands in for `smartwire dissect` on captures until
# tools/cmd_dissect.c calls capture/capture.h.
add_executable(sw_capture_dissect ${CMAKE_CURRENT_SOURCE_DIR}/tools/capture_dissect.c)
target_link_libraries(sw_capture_dissect PRIVATE swbench)
