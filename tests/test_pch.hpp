// The precompiled header of every test target (REGISTRAR_PCH, tests/CMakeLists.txt).
//
// A precompiled header is included before a source's first line, so a source cannot configure
// Catch2 with a macro before its own #include <catch2/catch.hpp> (the include guard skips it):
// the configuration any test source needs is set here instead. Only catch_main.cpp, which is not
// built with this header, defines CATCH_CONFIG_MAIN.
#pragma once

// tests/integration/itest.cpp's test event listener needs the reporter interfaces; they are
// declarations only.
#ifndef CATCH_CONFIG_EXTERNAL_INTERFACES
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#endif
#include <catch2/catch.hpp>
