// Fuzz target "zookeeper_entries": what the ZooKeeper backend (and a reader of the registry)
// parses. The first byte picks the format (its value mod 4: curator, gokit, serverset, nerve);
// the rest is "<path>\0<data>", a node as read from ZooKeeper:
//   decode(format, "/services", path, data)  and  owner_record_session(data).
// Invariants: decode never throws; what it returns names the path's own name and id, a port in
// 1-65535, and encoding it again gives a node at the same path that decodes to the same
// instance (the encode/decode pair is consistent for everything a reader accepts).
#include <string>

#include "fuzz_support.hpp"
#include "registry/zookeeper/entry_format.hpp"
#include "registry/zookeeper/owner_record.hpp"

namespace registrar::fuzz {

int fuzz_zookeeper_entries(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  using config::ZooKeeperFormat;
  constexpr ZooKeeperFormat kFormats[] = {ZooKeeperFormat::Curator, ZooKeeperFormat::GoKit,
                                          ZooKeeperFormat::Serverset, ZooKeeperFormat::Nerve};
  const ZooKeeperFormat format = kFormats[data[0] % 4];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t nul = rest.find('\0');
  const std::string path = rest.substr(0, nul);
  const std::string node = nul == std::string::npos ? "" : rest.substr(nul + 1);

  (void)registry::zookeeper::owner_record_session(node);
  const auto d = registry::zookeeper::decode(format, "/services", path, node);
  if (!d) return 0;
  check(d->port >= 1, "decoded port is 0");
  check(!d->name.empty() && !d->id.empty(), "decoded an empty name or id");
  registry::Registration r;
  r.name = d->name;
  r.id = d->id;
  r.address = d->address;
  r.port = d->port;
  r.tags = d->tags;
  r.meta = d->meta;
  const auto again = registry::zookeeper::encode(format, "/services", r, d->registration_ms);
  check(again.path == path, "encode gives another path than the one decoded");
  const auto back = registry::zookeeper::decode(format, "/services", again.path, again.data);
  check(back.has_value(), "an encoded entry does not decode");
  check(back->address == d->address && back->port == d->port && back->meta == d->meta,
        "encode/decode round trip changed the instance");
  return 0;
}

}  // namespace registrar::fuzz
