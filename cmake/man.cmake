# Man pages xoauth2-relay(8) and relay.yaml(5) and the bash completion,
# generated after the binary is built (scripts/gen-man.py): the commands and
# options from the binary's own --help, the keys from the annotated example
# config (and the schema), so they cannot drift from either.
option(XR_MAN "Generate and install the man pages and bash completion (needs python3)" ON)
if(NOT XR_MAN)
  return()
endif()
find_package(Python3 COMPONENTS Interpreter QUIET)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "XR_MAN: python3 not found; man pages and bash completion are not generated")
  return()
endif()
if(CMAKE_CROSSCOMPILING AND NOT CMAKE_CROSSCOMPILING_EMULATOR)
  message(STATUS "XR_MAN: cross-compiling without an emulator, the binary cannot print its --help; "
                 "man pages and bash completion are not generated")
  return()
endif()

set(XR_MAN_OUTPUTS
  ${CMAKE_BINARY_DIR}/man/xoauth2-relay.8
  ${CMAKE_BINARY_DIR}/man/relay.yaml.5
  ${CMAKE_BINARY_DIR}/completion/xoauth2-relay)
add_custom_command(OUTPUT ${XR_MAN_OUTPUTS}
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/gen-man.py
    --binary $<TARGET_FILE:xoauth2-relay> --outdir ${CMAKE_BINARY_DIR}
    --example ${PROJECT_SOURCE_DIR}/conf/relay.example.yaml
    --schema ${PROJECT_SOURCE_DIR}/conf/relay.schema.json
    --templates ${PROJECT_SOURCE_DIR}/docs/man
  # The executable target: re-run whenever the binary is relinked.
  DEPENDS xoauth2-relay
    ${PROJECT_SOURCE_DIR}/scripts/gen-man.py
    ${PROJECT_SOURCE_DIR}/conf/relay.example.yaml
    ${PROJECT_SOURCE_DIR}/conf/relay.schema.json
    ${PROJECT_SOURCE_DIR}/docs/man/xoauth2-relay.8.in
    ${PROJECT_SOURCE_DIR}/docs/man/relay.yaml.5.in
  COMMENT "Generating xoauth2-relay.8, relay.yaml.5 and the bash completion from --help and the example config"
  VERBATIM)
add_custom_target(xr_man ALL DEPENDS ${XR_MAN_OUTPUTS})

install(FILES ${CMAKE_BINARY_DIR}/man/xoauth2-relay.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_BINARY_DIR}/man/relay.yaml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${CMAKE_BINARY_DIR}/completion/xoauth2-relay
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
