// The registry flags of `register`, `deregister`, `resolve` and `watch`, declared once, and the one
// way they become a manifest's registry section: manifest text that goes through the manifest
// parser, so that every flag means in every command what the key it sets means in a file (TLS,
// authentication, prefix, format) and is checked the same way; secrets come from files or the
// environment only.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "config/manifest.hpp"

namespace registrar::cli {

// Which command declares the flags: `register` adds --ttl and says "Register with"; `resolve`
// and `watch` read ("Read etcd at ...").
enum class RegistryFlagsFor { Register, Deregister, Read };

// --etcd, --consul, --zookeeper, --eureka, --nacos (one of them) and the flags of each backend.
void add_registry_flags(CLI::App& cmd, RegistryFlags& f, RegistryFlagsFor use);

// The manifest's `registry:` section (YAML text) from the flags; "" with `error` set to one line
// naming the flag when a flag does not go with the backend chosen, or none is chosen.
std::string registry_yaml(const RegistryFlags& f, std::string& error);

// Whether a backend (--etcd ... --nacos) is chosen; `backend_flag_given`: whether any flag of a
// backend (--prefix, --etcd-user, ...) is.
bool backend_chosen(const RegistryFlags& f);
bool backend_flag_given(const RegistryFlags& f);

// The registry section itself, through the manifest parser; nullopt with `error` naming the flag.
std::optional<config::RegistrySpec> registry_from_flags(const RegistryFlags& f, std::string& error);

}  // namespace registrar::cli
