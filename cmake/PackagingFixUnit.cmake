# Run by CPack after the staging install, before the package is built: the unit in the package
# must name /usr/bin/grpc-registrar, wherever this build would install by hand.
file(GLOB_RECURSE _units "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/grpc-registrar.service"
     "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/grpc-registrar.service")
foreach(_unit IN LISTS _units)
  file(READ "${_unit}" _text)
  string(REPLACE "${CPACK_REGISTRAR_BUILD_BINDIR}/grpc-registrar"
         "${CPACK_PACKAGING_INSTALL_PREFIX}/bin/grpc-registrar" _text "${_text}")
  file(WRITE "${_unit}" "${_text}")
endforeach()
