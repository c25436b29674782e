# MicroPython user C module `tinygan` (CMake-based ports, e.g. rp2, esp32):
#   USER_C_MODULES=<repository root>/usermod_tinygan/micropython.cmake
# The binding plus the engine sources, compiled unchanged.
add_library(usermod_tinygan INTERFACE)

file(GLOB TINYGAN_ENGINE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine/*.c)

target_sources(usermod_tinygan INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modtinygan.c
    ${TINYGAN_ENGINE_SOURCES}
)

target_include_directories(usermod_tinygan INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/engine
)

target_link_libraries(usermod INTERFACE usermod_tinygan)
