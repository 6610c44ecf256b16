# The whole build of one message-only package: every msg/*.msg of the including directory, generated with the
# dependencies it lists in INTERFACE_DEPENDENCIES before including this file.
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
foreach(dependency IN LISTS INTERFACE_DEPENDENCIES)
  find_package(${dependency} REQUIRED)
endforeach()
file(GLOB messages RELATIVE "${CMAKE_CURRENT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/msg/*.msg")
rosidl_generate_interfaces(${PROJECT_NAME} ${messages} DEPENDENCIES ${INTERFACE_DEPENDENCIES})
ament_export_dependencies(rosidl_default_runtime)
ament_package()
