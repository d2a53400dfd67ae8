// core/yaml: the node tree over libyaml that rule and data loading use.
#include "core/yaml.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::yaml {
namespace {

TEST(Yaml, MapsSequencesAndScalars) {
  Node n = load("title: t\nlist: [a, 'b', \"c\"]\nempty:\ntilde: ~\nnum: 0x1F\nneg: -3\nf: 2.5\nyes_: on\n");
  ASSERT_TRUE(n.IsMap());
  EXPECT_EQ(n.size(), 8u);
  EXPECT_EQ(n["title"].as<std::string>(), "t");
  ASSERT_TRUE(n["list"].IsSequence());
  EXPECT_EQ(n["list"].size(), 3u);
  EXPECT_EQ(n["list"][1].Scalar(), "b");
  EXPECT_EQ(n["list"][1].Tag(), "!");  // quoted
  EXPECT_EQ(n["list"][0].Tag(), "?");  // plain
  EXPECT_FALSE(n["list"][3]);
  EXPECT_TRUE(n["empty"].IsNull());
  EXPECT_TRUE(n["tilde"].IsNull());
  EXPECT_FALSE(n["absent"].IsDefined());
  EXPECT_EQ(n["num"].as<long>(), 31);
  EXPECT_EQ(n["neg"].as<int>(), -3);
  EXPECT_DOUBLE_EQ(n["f"].as<double>(), 2.5);
  EXPECT_TRUE(n["yes_"].as<bool>());
  EXPECT_THROW(n["title"].as<long>(), Exception);
  EXPECT_EQ(n["title"].as<long>(7), 7);
  EXPECT_EQ(n["list"].as<std::string>("x"), "x");  // a sequence is not text
}

TEST(Yaml, IteratesATemporaryNode) {
  // `n["m"].begin()` iterates a temporary: the iterator must keep what it walks.
  Node n = load("m: {a: 1, b: 2, c: 3}\ns: [x, y]\n");
  std::vector<std::string> keys;
  for (auto it = n["m"].begin(); it != n["m"].end(); ++it) keys.push_back(it->first.Scalar() + it->second.Scalar());
  EXPECT_EQ(keys, (std::vector<std::string>{"a1", "b2", "c3"}));
  std::string items;
  for (const auto& item : load("[p, q, r]")) items += item.Scalar();
  EXPECT_EQ(items, "pqr");
}

TEST(Yaml, AnchorsAliasesAndDocuments) {
  auto docs = load_all("a: &x {k: v}\nb: *x\n---\n- 1\n---\n");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_TRUE(docs[0]["a"].is(docs[0]["b"]));
  EXPECT_EQ(docs[0]["b"]["k"].Scalar(), "v");
  EXPECT_EQ(docs[1][0].as<int>(), 1);
  EXPECT_TRUE(docs[2].IsNull());
}

TEST(Yaml, ErrorsCarryTheirPlace) {
  try {
    load("title: t\nlogsource:\n  product: windows\n,detection: x\n");
    FAIL() << "no exception";
  } catch (const Exception& e) {
    EXPECT_EQ(e.mark.line, 3);  // 0-based: the fourth line
    EXPECT_EQ(e.mark.column, 0);
  }
  try {
    load("title: &a [1, *a]\n");
    FAIL() << "no exception";
  } catch (const Exception& e) {
    EXPECT_NE(e.msg.find("unknown or unfinished anchor 'a'"), std::string::npos) << e.msg;
  }
  try {
    load(std::string(2500, '[') + std::string(2500, ']'));
    FAIL() << "no exception";
  } catch (const Exception& e) {
    EXPECT_NE(e.msg.find("nesting deeper than 2000 levels"), std::string::npos) << e.msg;
  }
  EXPECT_NO_THROW(load(std::string(1999, '[') + std::string(1999, ']')));
  EXPECT_THROW(load_file("/nonexistent/file.yml"), Exception);
}


// Two trees are alike when every node has the same kind, text, tag, place and children, and an
// alias is the same node as its anchor in both (checked by identity of the first path to it).
void expect_alike(const Node& a, const Node& b, const std::string& where) {
  ASSERT_EQ(a.IsDefined(), b.IsDefined()) << where;
  if (!a.IsDefined()) return;
  ASSERT_EQ(a.IsNull(), b.IsNull()) << where;
  ASSERT_EQ(a.IsScalar(), b.IsScalar()) << where;
  ASSERT_EQ(a.IsSequence(), b.IsSequence()) << where;
  ASSERT_EQ(a.IsMap(), b.IsMap()) << where;
  ASSERT_EQ(a.Scalar(), b.Scalar()) << where;
  ASSERT_EQ(a.Tag(), b.Tag()) << where;
  ASSERT_EQ(a.Mark().line, b.Mark().line) << where;
  ASSERT_EQ(a.Mark().column, b.Mark().column) << where;
  ASSERT_EQ(a.Mark().pos, b.Mark().pos) << where;
  ASSERT_EQ(a.size(), b.size()) << where;
  size_t i = 0;
  auto ib = b.begin();
  for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib, ++i) {
    const std::string at = where + "/" + std::to_string(i);
    if (a.IsMap()) {
      expect_alike(ia->first, ib->first, at + "key");
      expect_alike(ia->second, ib->second, at);
    } else {
      expect_alike(*ia, *ib, at);
    }
  }
}

std::vector<Node> round_trip(const std::vector<Node>& docs) {
  std::string bytes = encode_tree(docs);
  EXPECT_FALSE(bytes.empty());
  std::vector<Node> back;
  EXPECT_TRUE(decode_tree(bytes, back));
  return back;
}

TEST(YamlTree, ARoundTripKeepsKindsTextsTagsPlacesAndAliases) {
  const std::string text =
      "title: 't'\nlist: [a, \"b\", ~, '']\nempty:\ntagged: !custom x\nmap: &m {k: v, n: null}\nsame: *m\n"
      "block: |\n  line one\n  line two\n---\n- 1\n- [2, [3]]\n---\n";
  auto docs = load_all(text);
  auto back = round_trip(docs);
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < docs.size(); ++i) expect_alike(docs[i], back[i], "doc" + std::to_string(i));
  EXPECT_TRUE(back[0]["map"].is(back[0]["same"])) << "an alias stays its anchor's node";
  EXPECT_EQ(back[0]["tagged"].Tag(), "!custom");
  EXPECT_EQ(back[0]["list"][1].Tag(), "!");
  EXPECT_TRUE(back[0]["list"][2].IsNull());
  EXPECT_TRUE(back[0]["list"][3].IsScalar()) << "a quoted empty text is not null";
  EXPECT_EQ(back[0]["block"].Scalar(), "line one\nline two\n");
  EXPECT_EQ(back[0]["block"].Mark().line, 6);
  EXPECT_TRUE(back[2].IsNull());
  // An empty stream has no documents.
  EXPECT_TRUE(round_trip(load_all("")).empty());
}

TEST(YamlTree, DamagedBytesAreRefusedNotTrusted) {
  const std::string bytes = encode_tree(load_all("a: &x [1, {b: c}]\nd: *x\ne: !t f\n"));
  std::vector<Node> out;
  ASSERT_TRUE(decode_tree(bytes, out));
  // Every truncation and every extension is refused.
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_tree(bytes.substr(0, n), out)) << n;
  EXPECT_FALSE(decode_tree(bytes + '\0', out));
  // Any one byte changed either is refused or gives a tree that can be walked (no index out of
  // range, no cycle): walk it.
  for (size_t i = 0; i < bytes.size(); ++i)
    for (int delta : {1, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[i] = char(uint8_t(bad[i]) + delta);
      std::vector<Node> docs;
      if (!decode_tree(bad, docs)) continue;
      std::function<size_t(const Node&, int)> walk = [&](const Node& n, int depth) -> size_t {
        EXPECT_LT(depth, 100) << "byte " << i;
        if (depth >= 100) return 0;
        size_t c = 1;
        for (const auto& item : n) c += n.IsMap() ? walk(item.first, depth + 1) + walk(item.second, depth + 1) : walk(item, depth + 1);
        return c;
      };
      for (auto& d : docs) walk(d, 0);
    }
  // Sequences that hold each other (a cycle no parse can make) are refused.
  const std::string cyc = encode_tree(load_all("[[x]]\n"));
  ASSERT_TRUE(decode_tree(cyc, out));
  std::string looped = cyc;
  // Header (4 × 4 bytes), one root id, then the kids: [inner → x, outer → inner] (a container's
  // kids are stored when it ends); make the inner sequence hold the outer one (node 0).
  uint32_t self = 0;
  std::memcpy(&looped[16 + 4], &self, 4);
  EXPECT_FALSE(decode_tree(looped, out));
  // Nesting no parse allows is refused, however the nodes are numbered: a chain of sequences
  // each holding the one numbered before it (children below parents; a walk from node 0 upward
  // meets each once, at depth 2). Layout as encode_tree writes it (the version from its bytes).
  auto chain = [&](uint32_t n) {
    std::string b = cyc.substr(0, 4);
    auto u32 = [&](uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); };
    u32(n), u32(n - 1), u32(1), u32(n - 1);            // nodes, kids, roots, the root
    for (uint32_t i = 0; i + 1 < n; ++i) u32(i);       // kid i: node i, held by node i + 1
    b += char(1), u32(0), u32(0), u32(0), u32(0);      // node 0: a scalar, empty, at 0:0
    for (uint32_t i = 1; i < n; ++i) b += char(2), u32(i - 1), u32(1), u32(0), u32(0), u32(0), u32(0);
    return b;
  };
  EXPECT_TRUE(decode_tree(chain(2001), out)) << "2,000 sequences around a scalar: as deep as a parse goes";
  EXPECT_FALSE(decode_tree(chain(2002), out));
  EXPECT_FALSE(decode_tree(chain(30000), out));
  // Another version's bytes are refused.
  std::string other = cyc;
  other[0] = char(other[0] + 1);
  EXPECT_FALSE(decode_tree(other, out));
}

// Every rule, macro and data file of the two corpora: the tree read back is the parse itself.
TEST(YamlTree, EveryCorpusFileRoundTripsToItsOwnParse) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(VIGIL_SHARED_DIR) / "corpus";
  ASSERT_TRUE(fs::is_directory(root / "sigma" / "rules")) << root;
  size_t files = 0, nodes = 0;
  for (const char* sub : {"sigma/rules", "security_content/detections", "security_content/macros",
                          "security_content/stories", "security_content/data_sources"}) {
    for (auto& e : fs::recursive_directory_iterator(root / sub)) {
      const auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".yml" && ext != ".yaml")) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::vector<Node> docs;
      try {
        docs = load_all(ss.str());
      } catch (const Exception&) {
        continue;  // a malformed file is parsed (and reported) every run: no tree is kept
      }
      auto back = round_trip(docs);
      ASSERT_EQ(back.size(), docs.size()) << e.path();
      for (size_t i = 0; i < docs.size(); ++i) expect_alike(docs[i], back[i], e.path().string());
      ++files;
      nodes += docs.size();
    }
  }
  // Sigma has ~3,000 rules and ESCU ~2,000 detections in the shared corpus.
  EXPECT_GT(files, 4000u);
  EXPECT_GE(nodes, files);
}

}  // namespace
}  // namespace vigil::yaml
