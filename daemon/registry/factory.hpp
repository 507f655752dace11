// The one place that knows every backend. A new registry is a folder under registry/ plus a
// line here.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "config/manifest.hpp"
#include "metrics/registry_observer.hpp"
#include "registry/registry.hpp"
#include "runtime/clock.hpp"

namespace registrar::registry {

std::shared_ptr<Registry> make_registry(
    boost::asio::any_io_executor executor, const config::RegistrySpec& spec,
    const runtime::Clock& clock,
    metrics::RegistryObserver& observer = metrics::null_registry_observer());

}  // namespace registrar::registry
