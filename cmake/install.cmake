# cmake/install.cmake: what `cmake --install` puts under the prefix.
#
#   include/sesscount.h
#   <libdir>/libsesscount.so*          target sesscount         (sesscount::sesscount)
#   <libdir>/libsesscount.a            target sesscount_static  (sesscount::sesscount_static)
#   include/sesscount_cluster.h
#   <libdir>/libsesscount_cluster.a    target sesscount_cluster (sesscount::sesscount_cluster):
#                                      joining a fleet over Redis; needs hiredis
#   <libdir>/pkgconfig/sesscount.pc    pkg-config (--static adds liburcu-bp and pthreads)
#   <libdir>/cmake/sesscount/          find_package(sesscount) config, version and targets
#
# With SC_BUILD_LUA, lua/CMakeLists.txt adds its own rules: include/sesscount_lua.h,
# <libdir>/libsesscount_lua.a (exported here as sesscount::sesscount_lua) and
# <SC_LUA_CMOD_DIR>/msys/audit.so (install component `lua`).
#
# Both libraries are built from $<TARGET_OBJECTS:sesscount_objs>: they take
# the objects, not a link to the OBJECT library, so sesscount_objs never
# appears in the exported link interface and is not installed.  What the
# exported targets do link (PkgConfig::URCU_BP, Threads::Threads) the package
# config recreates with find_dependency / pkg_check_modules.
#
# The pkg-config file is written at install time, so that
# `cmake --install build --prefix /some/where` gets a .pc naming /some/where.

include(CMakePackageConfigHelpers)

set(SC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/sesscount"
    CACHE STRING "Where the CMake package config of sesscount is installed (relative to the prefix)")
mark_as_advanced(SC_INSTALL_CMAKEDIR)

# ---------------------------------------------------------------- header and libraries
install(FILES "${PROJECT_SOURCE_DIR}/include/sesscount.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(FILES "${PROJECT_SOURCE_DIR}/include/sesscount_cluster.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(TARGETS sesscount sesscount_static sesscount_cluster
        EXPORT sesscountTargets
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

# ---------------------------------------------------------------- CMake package
install(EXPORT sesscountTargets
        NAMESPACE sesscount::
        FILE sesscountTargets.cmake
        DESTINATION "${SC_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/sesscountConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/sesscountConfig.cmake"
  INSTALL_DESTINATION "${SC_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/sesscountConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)   # 0.x: a minor release may break the API
install(FILES "${PROJECT_BINARY_DIR}/cmake/sesscountConfig.cmake"
              "${PROJECT_BINARY_DIR}/cmake/sesscountConfigVersion.cmake"
        DESTINATION "${SC_INSTALL_CMAKEDIR}")

# ---------------------------------------------------------------- pkg-config
# Step 1 (configure time): everything but the prefix.  The template keeps
# "@SC_PC_PREFIX@" for step 2 to fill in.
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(SC_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(SC_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
set(SC_PC_PREFIX "@SC_PC_PREFIX@")
configure_file("${CMAKE_CURRENT_LIST_DIR}/sesscount.pc.in"
               "${PROJECT_BINARY_DIR}/cmake/sesscount.pc.in" @ONLY)
unset(SC_PC_PREFIX)

# Step 2 (install time): the prefix actually installed to (--prefix included).
install(CODE "
  set(SC_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/cmake/sesscount.pc.in\"
                 \"${PROJECT_BINARY_DIR}/cmake/sesscount.pc\" @ONLY)
")
install(FILES "${PROJECT_BINARY_DIR}/cmake/sesscount.pc"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
