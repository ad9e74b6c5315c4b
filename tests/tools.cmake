# Tests of the command-line program (scripts under tests/tools/).
add_test(NAME tool.dissect
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/dissect.sh
                 $<TARGET_FILE:smartwire_cli> ${PROJECT_SOURCE_DIR})
set_tests_properties(tool.dissect PROPERTIES LABELS tools TIMEOUT 120)
# The install rule and the pkg-config file, used by an outside program.
add_test(NAME tool.install
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/install.sh ${PROJECT_BINARY_DIR} ${CMAKE_C_COMPILER}
                 "$<$<BOOL:${SW_SANITIZE}>:-fsanitize=address,undefined>")
set_tests_properties(tool.install PROPERTIES LABELS tools TIMEOUT 120)
# `smartwire serve` as a program: options, exit statuses, O_NONBLOCK restored.
add_test(NAME tool.serve
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/serve.sh $<TARGET_FILE:smartwire_cli>)
set_tests_properties(tool.serve PROPERTIES LABELS tools TIMEOUT 120)
# --version everywhere and the man page generated from the help texts.
add_test(NAME tool.manpage
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/manpage.sh $<TARGET_FILE:smartwire_cli>
                 ${PROJECT_BINARY_DIR}/tools/smartwire.1 ${PROJECT_VERSION})
set_tests_properties(tool.manpage PROPERTIES LABELS tools TIMEOUT 120)
