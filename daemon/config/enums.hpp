// Manifest spellings of the enums in manifest.hpp, shared by the parser and the renderer.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "config/manifest.hpp"

namespace registrar::config {

template <typename E>
using EnumNames = std::array<std::pair<E, std::string_view>, 2>;

inline constexpr std::array<std::pair<RegistryKind, std::string_view>, 5> kRegistryKindNames{
    {{RegistryKind::Etcd, "etcd"},
     {RegistryKind::Consul, "consul"},
     {RegistryKind::ZooKeeper, "zookeeper"},
     {RegistryKind::Eureka, "eureka"},
     {RegistryKind::Nacos, "nacos"}}};
inline constexpr std::array<std::pair<EtcdKeyFormat, std::string_view>, 3> kEtcdKeyFormatNames{
    {{EtcdKeyFormat::Json, "json"},
     {EtcdKeyFormat::GoKit, "gokit"},
     {EtcdKeyFormat::GrpcGo, "grpc-go"}}};
inline constexpr std::array<std::pair<ZooKeeperFormat, std::string_view>, 4> kZooKeeperFormatNames{
    {{ZooKeeperFormat::Curator, "curator"},
     {ZooKeeperFormat::GoKit, "gokit"},
     {ZooKeeperFormat::Serverset, "serverset"},
     {ZooKeeperFormat::Nerve, "nerve"}}};
inline constexpr EnumNames<ZooKeeperAcl> kZooKeeperAclNames{
    {{ZooKeeperAcl::WorldRead, "world-read"}, {ZooKeeperAcl::CreatorOnly, "creator-only"}}};
inline constexpr EnumNames<ProbeMode> kProbeModeNames{
    {{ProbeMode::Watch, "watch"}, {ProbeMode::Poll, "poll"}}};

template <typename E, std::size_t N>
constexpr std::string_view enum_name(const std::array<std::pair<E, std::string_view>, N>& names,
                                     E value) {
  for (const auto& [e, name] : names) {
    if (e == value) return name;
  }
  return "?";
}

template <typename E, std::size_t N>
constexpr std::optional<E> enum_value(const std::array<std::pair<E, std::string_view>, N>& names,
                                      std::string_view text) {
  for (const auto& [e, name] : names) {
    if (name == text) return e;
  }
  return std::nullopt;
}

constexpr std::string_view to_string(RegistryKind k) {
  return enum_name(kRegistryKindNames, k);
}
constexpr std::string_view to_string(EtcdKeyFormat f) {
  return enum_name(kEtcdKeyFormatNames, f);
}
constexpr std::string_view to_string(ZooKeeperFormat f) {
  return enum_name(kZooKeeperFormatNames, f);
}
constexpr std::string_view to_string(ZooKeeperAcl a) {
  return enum_name(kZooKeeperAclNames, a);
}
constexpr std::string_view to_string(ProbeMode m) {
  return enum_name(kProbeModeNames, m);
}

}  // namespace registrar::config
