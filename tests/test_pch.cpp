// Compiles nothing of its own: the target exists to precompile test_pch.hpp (Catch2) once for every
// test target (REGISTRAR_PCH, tests/CMakeLists.txt).
