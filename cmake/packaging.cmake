# Debian packages, one per install component (CPack DEB): `patchwave-agent`
# (component agent) and `patchwave`, the orchestrator (component
# orchestrator). scripts/package builds, packs and lints them; the package
# test packs the test build. What each holds and why: docs/packaging.md.
if(NOT TARGET patchwave OR NOT TARGET patchwave-agent)
  return()
endif()

set(PATCHWAVE_PACKAGING ${PROJECT_SOURCE_DIR}/packaging)
set(PATCHWAVE_PACKAGING_OUT ${PROJECT_BINARY_DIR}/packaging)
set(PATCHWAVE_PACKAGE_MAINTAINER "Patchwave maintainers <maintainers@users.noreply.r-seed-e822b723.example>"
    CACHE STRING "Maintainer field of the Debian packages")
# The top entry of packaging/changelog: a reproducible date for the generated
# man pages and the same version as the packages.
set(PATCHWAVE_PACKAGE_DATE_EPOCH 1795435200)
set(PATCHWAVE_PACKAGE_RELEASE 1)

# changelog.Debian.gz: compressed at configure time (gzip -n: no name or time
# inside, so identical sources give identical packages).
file(MAKE_DIRECTORY ${PATCHWAVE_PACKAGING_OUT})
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PATCHWAVE_PACKAGING}/changelog)
execute_process(COMMAND gzip -9 -n -c ${PATCHWAVE_PACKAGING}/changelog
                OUTPUT_FILE ${PATCHWAVE_PACKAGING_OUT}/changelog.Debian.gz
                RESULT_VARIABLE patchwave_gzip_result)
if(NOT patchwave_gzip_result EQUAL 0)
  message(FATAL_ERROR "packaging: gzip of ${PATCHWAVE_PACKAGING}/changelog failed (${patchwave_gzip_result})")
endif()

# component -> package name, executable target, configuration file, unit,
# documents shipped in /usr/share/doc/<package>.
set(patchwave_agent_package patchwave-agent)
set(patchwave_agent_target patchwave-agent)
set(patchwave_agent_config agent.toml)
set(patchwave_agent_docs agent.md formats.md operations.md packaging.md)
set(patchwave_orchestrator_package patchwave)
set(patchwave_orchestrator_target patchwave)
set(patchwave_orchestrator_config serve.toml)
set(patchwave_orchestrator_docs cli.md formats.md operations.md packaging.md)

# Man pages from --help (help2man) when it is installed: scripts/setup
# installs it for scripts/package; the CI build goes without (docs/packaging.md).
find_program(PATCHWAVE_HELP2MAN help2man)
find_program(PATCHWAVE_GZIP gzip REQUIRED)

foreach(component agent orchestrator)
  set(package ${patchwave_${component}_package})
  set(target ${patchwave_${component}_target})
  install(TARGETS ${target} RUNTIME DESTINATION bin COMPONENT ${component})
  # cpack strips (CPACK_STRIP_FILES); like dh_strip, also drop the compiler's
  # .comment and .note sections, which nothing reads.
  install(CODE "if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --remove-section=.comment --remove-section=.note
                              \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/bin/${target}\" COMMAND_ERROR_IS_FATAL ANY)
    endif()" COMPONENT ${component})
  install(FILES ${PATCHWAVE_PACKAGING}/etc/${patchwave_${component}_config}
          DESTINATION /etc/patchwave PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT ${component})
  install(FILES ${PATCHWAVE_PACKAGING}/systemd/${package}.service
          DESTINATION /lib/systemd/system COMPONENT ${component})
  set(docs)
  foreach(doc IN LISTS patchwave_${component}_docs)
    list(APPEND docs ${PROJECT_SOURCE_DIR}/docs/${doc})
  endforeach()
  install(FILES ${PATCHWAVE_PACKAGING}/copyright ${PATCHWAVE_PACKAGING_OUT}/changelog.Debian.gz ${docs}
          DESTINATION share/doc/${package} COMPONENT ${component})
  install(FILES ${PATCHWAVE_PACKAGING}/lintian/${package} DESTINATION share/lintian/overrides COMPONENT ${component})

  if(PATCHWAVE_HELP2MAN)
    set(page ${PATCHWAVE_PACKAGING_OUT}/${package}.1)
    add_custom_command(
      OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E env SOURCE_DATE_EPOCH=${PATCHWAVE_PACKAGE_DATE_EPOCH}
              ${PATCHWAVE_HELP2MAN} --no-info --section=1 --version-string=${PROJECT_VERSION}
              --include=${PATCHWAVE_PACKAGING}/man/${package}.h2m --output=${page} $<TARGET_FILE:${target}>
      COMMAND ${PATCHWAVE_GZIP} -9 -n -f ${page}
      DEPENDS ${target} ${PATCHWAVE_PACKAGING}/man/${package}.h2m
      COMMENT "help2man: ${package}.1"
      VERBATIM)
    add_custom_target(${package}_man_page ALL DEPENDS ${page}.gz)
    install(FILES ${page}.gz DESTINATION share/man/man1 COMPONENT ${component})
  endif()
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent orchestrator)
set(CPACK_PACKAGE_NAME patchwave)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${PATCHWAVE_PACKAGE_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Where cpack was run unless -B says otherwise; scripts/package uses build/package.
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PATCHWAVE_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${PATCHWAVE_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SOURCE patchwave)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Depends from the executables' ELF NEEDED entries (dpkg-shlibdeps): the
# libtorrent, libsodium, spdlog, fmt, SQLite, Boost and libstdc++ packages
# of the distribution the packages were built on.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME patchwave-agent)
set(CPACK_DEBIAN_AGENT_DESCRIPTION "endpoint agent applying signed patch bundles in phased waves
The endpoint agent of Patchwave, fleet patch deployment. It joins the
fleet's gossip, verifies every manifest and control record against the
pinned trust root, fetches bundles from its peers over BitTorrent, applies
them in its wave inside its maintenance window, reboots politely, watches
for drift and reports a signed status record.
This package holds the agent, its systemd unit (enabled, started once the
host is enrolled) and an example /etc/patchwave/agent.toml.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    ${PATCHWAVE_PACKAGING}/deb/agent/conffiles ${PATCHWAVE_PACKAGING}/deb/agent/postinst
    ${PATCHWAVE_PACKAGING}/deb/agent/prerm ${PATCHWAVE_PACKAGING}/deb/agent/postrm)

set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_NAME patchwave)
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_ORCHESTRATOR_DESCRIPTION "orchestrator for signed patch bundles and phased rollouts
The orchestrator of Patchwave, fleet patch deployment: the patchwave
command keeps the keys, the database and the bundle catalog, signs K-of-N
approved bundles, enrolls agents, publishes rollouts in waves, steers and
audits them; patchwave serve is its daemon (gossip, seeding, status
collection, the wave gate and events).
This package holds the command, the systemd unit for patchwave serve
(running as the system user patchwave) and an example
/etc/patchwave/serve.toml.")
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_CONTROL_EXTRA
    ${PATCHWAVE_PACKAGING}/deb/orchestrator/conffiles ${PATCHWAVE_PACKAGING}/deb/orchestrator/postinst
    ${PATCHWAVE_PACKAGING}/deb/orchestrator/prerm ${PATCHWAVE_PACKAGING}/deb/orchestrator/postrm)

include(CPack)
