// Consul's own TLS variables, read as Consul's tools read them. Shared by the manifest parser
// (where manifest keys win over the variables) and the one-off `deregister --consul`, which has
// no manifest. Booleans are Go's strconv.ParseBool.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/address.hpp"
#include "config/interpolate.hpp"
#include "config/manifest.hpp"

namespace registrar::config {

// Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False.
std::optional<bool> parse_go_bool(std::string_view text);

// A boolean variable; nullopt when unset or empty. A value that is not a Go boolean sets
// `error` (naming the variable and the value: these variables hold no secrets).
std::optional<bool> consul_bool_variable(const char* name, const EnvLookup& env,
                                         std::string& error);

// Fills what `tls` leaves empty from CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY and
// CONSUL_TLS_SERVER_NAME, and insecure_skip_verify from CONSUL_HTTP_SSL_VERIFY unless
// `skip_verify_set` (the manifest said). Empty variables count as unset.
void fill_consul_tls_from_env(TlsSpec& tls, bool skip_verify_set, const EnvLookup& env,
                              std::string& error);

// The TLS settings of a command without a manifest: https:// turns TLS on and http:// off;
// with no scheme CONSUL_HTTP_SSL decides; then fill_consul_tls_from_env. `error` is set for an
// invalid variable or a client certificate without its key (or the reverse).
TlsSpec consul_tls_from_environment(AddressScheme scheme, const EnvLookup& env, std::string& error);

}  // namespace registrar::config
