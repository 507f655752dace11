# Install rules and the Debian package (CPack DEB). Everything the package holds is in the
# `registrar` component; the example service (hello-service) installs in its own component and
# stays out of the package.
#
#   cmake --install build --component registrar --prefix /usr   # by hand
#   cd build && cpack -G DEB                                     # grpc-registrar_<v>_<arch>.deb
include(GNUInstallDirs)

# `cpack` and `make install` install what is built, without building every target first (the
# test suite alone takes minutes): build grpc-registrar, then package.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

set(REGISTRAR_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/grpc-registrar)

# The unit names the bin directory of this install (/usr/local/bin by default); the package's
# copy is rewritten to /usr/bin by cmake/PackagingFixUnit.cmake.
file(READ ${PROJECT_SOURCE_DIR}/systemd/grpc-registrar.service _registrar_unit)
string(REPLACE "/usr/bin/grpc-registrar" "${CMAKE_INSTALL_FULL_BINDIR}/grpc-registrar"
       _registrar_unit "${_registrar_unit}")
file(WRITE ${PROJECT_BINARY_DIR}/systemd/grpc-registrar.service "${_registrar_unit}")
install(FILES ${PROJECT_BINARY_DIR}/systemd/grpc-registrar.service
        DESTINATION lib/systemd/system COMPONENT registrar)

# Configuration lives in /etc whatever the prefix: the unit reads /etc/grpc-registrar and
# /etc/default/grpc-registrar. An empty manifest to start from (a conffile), and the flags file.
install(FILES ${PROJECT_SOURCE_DIR}/systemd/services.yaml
        DESTINATION /etc/grpc-registrar COMPONENT registrar)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/grpc-registrar.default
        DESTINATION /etc/default RENAME grpc-registrar COMPONENT registrar)

# Documentation and examples, where Debian keeps them.
file(GLOB _registrar_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${_registrar_docs}
        DESTINATION ${REGISTRAR_DOC_DIR} COMPONENT registrar)
file(GLOB _registrar_examples CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/*.yaml)
install(FILES ${_registrar_examples} DESTINATION ${REGISTRAR_DOC_DIR}/examples COMPONENT registrar)

set(CPACK_PACKAGE_NAME grpc-registrar)
set(CPACK_PACKAGE_VENDOR "grpc-registrar")
set(CPACK_PACKAGE_CONTACT "grpc-registrar maintainers <grpc-registrar@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Registers healthy local gRPC services in etcd or Consul")
set(CPACK_PACKAGE_DESCRIPTION
    "A sidecar daemon that probes local gRPC services with grpc.health.v1 and keeps a service\n\
registry (etcd v3 or the Consul agent) equal to the set of healthy ones.")
set(CPACK_PACKAGE_VERSION ${REGISTRAR_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL registrar)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime dependencies from the libraries the binary links (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# conffiles, and the maintainer scripts: postinst restarts a running daemon on upgrade with a
# hand-over (no entry vanishes), prerm stops (deregisters) and disables it on removal, postrm
# cleans up on purge.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/systemd/debian/conffiles ${PROJECT_SOURCE_DIR}/systemd/debian/postinst
    ${PROJECT_SOURCE_DIR}/systemd/debian/prerm ${PROJECT_SOURCE_DIR}/systemd/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/PackagingFixUnit.cmake)
set(CPACK_REGISTRAR_BUILD_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
include(CPack)
