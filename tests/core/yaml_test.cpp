// core/yaml: the node tree over libyaml that rule and data loading use.
#include "core/yaml.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace vigil::yaml
