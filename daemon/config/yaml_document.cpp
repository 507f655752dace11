#include "config/yaml_document.hpp"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <vector>

namespace registrar::config {
namespace {

// Records where each document starts; the content is built by YAML::Load afterwards.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

YAML::Node load_one_document(std::string_view yaml) {
  const std::string text(yaml);
  DocumentStarts handler;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    // At most three documents are looked at: the second one is an error already.
    for (int i = 0; i < 3 && parser.HandleNextDocument(handler); ++i) {
      const auto& s = handler.starts;
      if (s.size() >= 2 && s[s.size() - 1].pos == s[s.size() - 2].pos) {
        // No progress: the character there starts no YAML node (a ',' or a flow end).
        std::string shown = static_cast<std::size_t>(s.back().pos) < text.size()
                                ? std::string(1, text[static_cast<std::size_t>(s.back().pos)])
                                : std::string("end of input");
        throw YamlDocumentError{s.back(), "invalid YAML: unexpected '" + shown + "'"};
      }
      if (s.size() >= 2) {
        throw YamlDocumentError{s[1],
                                "multiple YAML documents are not supported; use one per file"};
      }
    }
  } catch (const YAML::Exception& e) {
    throw YamlDocumentError{e.mark, "invalid YAML: " + e.msg};
  }
  if (handler.starts.empty()) return YAML::Node();
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw YamlDocumentError{e.mark, "invalid YAML: " + e.msg};
  }
}

}  // namespace registrar::config
