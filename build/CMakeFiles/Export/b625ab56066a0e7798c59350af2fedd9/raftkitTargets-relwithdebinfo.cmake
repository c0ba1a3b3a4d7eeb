#----------------------------------------------------------------
# Generated CMake target import file for configuration "RelWithDebInfo".
#----------------------------------------------------------------

# Commands may need to know the format version.
set(CMAKE_IMPORT_FILE_VERSION 1)

# Import target "raftkit::consensus" for configuration "RelWithDebInfo"
set_property(TARGET raftkit::consensus APPEND PROPERTY IMPORTED_CONFIGURATIONS RELWITHDEBINFO)
set_target_properties(raftkit::consensus PROPERTIES
  IMPORTED_LINK_INTERFACE_LANGUAGES_RELWITHDEBINFO "CXX"
  IMPORTED_LOCATION_RELWITHDEBINFO "${_IMPORT_PREFIX}/lib/libraftkit_consensus.a"
  )

list(APPEND _cmake_import_check_targets raftkit::consensus )
list(APPEND _cmake_import_check_files_for_raftkit::consensus "${_IMPORT_PREFIX}/lib/libraftkit_consensus.a" )

# Import target "raftkit::durable_log" for configuration "RelWithDebInfo"
set_property(TARGET raftkit::durable_log APPEND PROPERTY IMPORTED_CONFIGURATIONS RELWITHDEBINFO)
set_target_properties(raftkit::durable_log PROPERTIES
  IMPORTED_LINK_INTERFACE_LANGUAGES_RELWITHDEBINFO "CXX"
  IMPORTED_LOCATION_RELWITHDEBINFO "${_IMPORT_PREFIX}/lib/libraftkit_durable_log.a"
  )

list(APPEND _cmake_import_check_targets raftkit::durable_log )
list(APPEND _cmake_import_check_files_for_raftkit::durable_log "${_IMPORT_PREFIX}/lib/libraftkit_durable_log.a" )

# Import target "raftkit::log_memory" for configuration "RelWithDebInfo"
set_property(TARGET raftkit::log_memory APPEND PROPERTY IMPORTED_CONFIGURATIONS RELWITHDEBINFO)
set_target_properties(raftkit::log_memory PROPERTIES
  IMPORTED_LINK_INTERFACE_LANGUAGES_RELWITHDEBINFO "CXX"
  IMPORTED_LOCATION_RELWITHDEBINFO "${_IMPORT_PREFIX}/lib/libraftkit_log_memory.a"
  )

list(APPEND _cmake_import_check_targets raftkit::log_memory )
list(APPEND _cmake_import_check_files_for_raftkit::log_memory "${_IMPORT_PREFIX}/lib/libraftkit_log_memory.a" )

# Commands beyond this point should not need to know the version.
set(CMAKE_IMPORT_FILE_VERSION)
