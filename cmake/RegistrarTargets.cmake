# Helpers shared by every CMakeLists.txt of the project.

# Project code is built with strict warnings; generated protobuf code is not.
function(registrar_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(REGISTRAR_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# registrar_unity(<target>...): a unity build of the targets when REGISTRAR_UNITY is on (top-level
# CMakeLists.txt).
function(registrar_unity)
  if(REGISTRAR_UNITY)
    foreach(target IN LISTS ARGN)
      set_target_properties(${target} PROPERTIES UNITY_BUILD ON
        UNITY_BUILD_BATCH_SIZE ${REGISTRAR_UNITY_BATCH_SIZE})
      # GCC's -Wsubobject-linkage is meant for a type defined in a header that uses a type of an
      # anonymous namespace (each includer would get its own, ODR-violating copy). A unity source
      # #includes each .cpp, so every such type of a .cpp's own anonymous namespace would be
      # reported: here it is still one translation unit, and the warning does not apply.
      if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
      endif()
    endforeach()
  endif()
endfunction()

# registrar_proto_library(<target> PROTOS <files...> IMPORT_DIRS <dirs...> [GRPC])
# Generates C++ (and gRPC stubs with GRPC) into the build tree and wraps them in a static library.
function(registrar_proto_library target)
  cmake_parse_arguments(ARG "GRPC" "" "PROTOS;IMPORT_DIRS" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
  file(MAKE_DIRECTORY ${out})
  set(import_args)
  foreach(dir ${ARG_IMPORT_DIRS})
    list(APPEND import_args -I${dir})
  endforeach()
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    # path of the proto relative to the first import dir that contains it
    set(rel "")
    foreach(dir ${ARG_IMPORT_DIRS})
      file(RELATIVE_PATH candidate ${dir} ${proto})
      if(NOT candidate MATCHES "^\\.\\.")
        set(rel ${candidate})
        break()
      endif()
    endforeach()
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(gen ${out}/${stem}.pb.cc ${out}/${stem}.pb.h)
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND gen ${out}/${stem}.grpc.pb.cc ${out}/${stem}.grpc.pb.h)
      set(plugin_args --grpc_out=${out} --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${gen}
      COMMAND protobuf::protoc ${import_args} --cpp_out=${out} ${plugin_args} ${proto}
      DEPENDS ${proto}
      COMMENT "protoc ${rel}")
    list(APPEND srcs ${gen})
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} SYSTEM PUBLIC ${out})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# registrar_module(<target> [DEPS <libs...>]): a static library of every .cpp in the current
# source dir (non-recursive), with the daemon/ root on the include path.
function(registrar_module target)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT srcs)  # header-only module
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/daemon)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/daemon)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  registrar_warnings(${target})
  registrar_unity(${target})
endfunction()
