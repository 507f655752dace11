// The one place that knows every reader. A backend's reader is one file here (<name>_instancer)
// plus a line in factory.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "config/manifest.hpp"
#include "discovery/instancer.hpp"
#include "runtime/clock.hpp"

namespace registrar::discovery {

// Whether a reader of that kind of registry exists (every kind has one now; a kind added later
// brings its reader). make_instancer() throws std::invalid_argument for the others.
bool has_reader(config::RegistryKind kind);

// The reader of `spec`'s registry for `query`. Its callbacks run on `executor`, which must run
// on one thread; `clock` paces its retries and must outlive it.
std::shared_ptr<Instancer> make_instancer(boost::asio::any_io_executor executor,
                                          const config::RegistrySpec& spec, Query query,
                                          const runtime::Clock& clock);

}  // namespace registrar::discovery
