// REGISTRAR_CONFORMANCE_SUITE(name, BackendClass): the whole conformance suite for one backend, one
// TEST_CASE per case of cases.hpp, named "<name>: <case>" (ctest: "integration/conformance:
// <name>: <case>"; no commas, which Catch's command line reads as a list). BackendClass is
// default-constructible (it starts its server) and has `static bool available()` (false: the
// server's binary is missing; support/require.hpp).
#pragma once

#include <catch2/catch.hpp>

#include "conformance/cases.hpp"

#define REGISTRAR_CONFORMANCE_CASE(name, BackendClass, title, fn) \
  TEST_CASE(name ": " title, "[conformance]") {                   \
    if (!BackendClass::available()) return;                       \
    BackendClass backend;                                         \
    ::registrar::conformance::fn(backend);                        \
  }

#define REGISTRAR_CONFORMANCE_SUITE(name, BackendClass)                                          \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass, "the registry holds exactly the applied set",   \
                             apply_holds_exactly_the_desired_set)                                \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass, "an unchanged entry is never written again",    \
                             unchanged_entry_is_never_written_again)                             \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass, "a health change writes one difference",        \
                             health_change_writes_one_difference)                                \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass, "registry state lost is restored within bound", \
                             lost_state_is_restored_within_bound)                                \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass, "an entry removed from outside is restored",    \
                             entry_removed_from_outside_is_restored)                             \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass, "shutdown leaves nothing and is clean",         \
                             shutdown_leaves_nothing)                                            \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass,                                                 \
                             "shutdown with the registry down returns unclean by its timeout",   \
                             shutdown_with_registry_down_returns_by_timeout)                     \
  REGISTRAR_CONFORMANCE_CASE(name, BackendClass, "apply after shutdown is ignored",              \
                             apply_after_shutdown_is_ignored)
