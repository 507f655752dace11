#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace registrar::config {

// Why a text is not exactly one YAML document: where, and what (as for a ConfigError message).
struct YamlDocumentError {
  YAML::Mark mark;
  std::string message;
};

// The single document of `yaml` (a null node when there is none). Throws YamlDocumentError for
// invalid YAML and for a second document. Unlike YAML::LoadAll, it always returns: yaml-cpp 0.7
// (Debian bookworm) yields empty documents forever, without consuming input, on a stray ',' at
// the top level (found by tests/fuzz/manifest_fuzz.cpp; fixed upstream after 0.7), so documents
// are counted with the event parser, stopping at the second one or at one that makes no progress.
YAML::Node load_one_document(std::string_view yaml);

}  // namespace registrar::config
