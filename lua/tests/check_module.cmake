# check_module.cmake: checks how msys/audit.so links.
#   cmake -DMODULE=<build>/lua/msys/audit.so -DREADELF=readelf -P check_module.cmake
# - it needs no liblua (the interpreter that loads it has Lua built in) and
#   no jemalloc (a dlopen'ed jemalloc can fail to load);
# - it leaves Lua's API undefined, for the loading interpreter to provide;
# - it exports luaopen_msys_audit and luaopen_msys_audit_series and nothing
#   else (audit.map), so its copy of sesscount stays private.
foreach(v MODULE READELF)
  if(NOT ${v})
    message(FATAL_ERROR "check_module.cmake: -D${v}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${READELF} -d -W ${MODULE} OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${MODULE} failed")
endif()
string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" needed "${dyn}")
message(STATUS "needed: ${needed}")
foreach(n IN LISTS needed)
  if(n MATCHES "lua|jemalloc")
    message(FATAL_ERROR "${MODULE} must not need ${n}")
  endif()
endforeach()
if(NOT needed MATCHES "liburcu-bp")
  message(FATAL_ERROR "${MODULE} does not need liburcu-bp: where did the fast table go?")
endif()

execute_process(COMMAND ${READELF} --dyn-syms -W ${MODULE} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf --dyn-syms ${MODULE} failed")
endif()
# Lines: Num: Value Size Type Bind Vis Ndx Name
string(REGEX MATCHALL "[^\n]+" lines "${syms}")
set(exported "")
set(lua_undefined 0)
foreach(l IN LISTS lines)
  if(l MATCHES "^ *[0-9]+: +[0-9a-f]+ +[0-9]+ +[A-Z]+ +(GLOBAL|WEAK) +[A-Z]+ +([A-Z0-9]+) +([^ @]+)")
    if(CMAKE_MATCH_2 STREQUAL "UND")
      if(CMAKE_MATCH_3 MATCHES "^luaL?_")
        math(EXPR lua_undefined "${lua_undefined} + 1")
      endif()
    else()
      list(APPEND exported ${CMAKE_MATCH_3})
    endif()
  endif()
endforeach()
message(STATUS "exported: ${exported}; undefined lua_*/luaL_*: ${lua_undefined}")
list(SORT exported)
if(NOT exported STREQUAL "luaopen_msys_audit;luaopen_msys_audit_series")
  message(FATAL_ERROR "${MODULE} must export luaopen_msys_audit and luaopen_msys_audit_series "
                      "only, not: ${exported}")
endif()
if(lua_undefined EQUAL 0)
  message(FATAL_ERROR "${MODULE} defines Lua's API itself: it must take the interpreter's")
endif()
message(STATUS "${MODULE}: links as a Lua C module should")
