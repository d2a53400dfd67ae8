// libFuzzer target for the ESCU loader: YAML text -> documents -> typed
// accessors -> EscuDetection or a located error. libyaml may reject the
// text (a located YAML error, as the rule loader reports it); nothing else
// may throw or crash.
#include <cstdlib>
#include <string>

#include "core/yaml.h"

#include "content/escu.h"
#include "fuzz_entry.h"

extern "C" int VIGIL_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<vigil::yaml::Node> docs;
  try {
    docs = vigil::yaml::load_all(text);
  } catch (const vigil::yaml::Exception&) {
    return 0;  // reported by the loader as invalid YAML
  }
  for (const auto& doc : docs) {
    if (!vigil::content::looks_like_escu(doc)) continue;
    auto d = vigil::content::load_escu("fuzz.yml", text, doc);  // must not throw
    if (!d && d.error().message.empty()) std::abort();
  }
  return 0;
}
