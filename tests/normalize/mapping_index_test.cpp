// The data model mappings an event is tried against are looked up by its EventID (Normalizer's
// mapping index), which must change nothing: a mapping applies exactly when its whole `when` holds,
// EventIDs compared without case, mappings without an EventID condition tried for every event,
// datasets added in file order. The tables here are the test's own; each expectation is read off
// the `when` conditions below by hand.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "normalize/normalizer.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTables = R"(datasets:
  - name: Test.One
    prefix: One
    sources:
      - label: channel X, id 1
        when: {Channel: X, EventID: "1"}
        fields: {tag: one}
  - name: Test.Any
    prefix: Any
    sources:
      - label: channel Y, any id or none
        when: {Channel: Y}
        fields: {tag: any}
  - name: Test.Two
    prefix: Two
    sources:
      - label: id 2 or Ab, any channel
        when: {EventID: ["2", "Ab"]}
        fields: {tag: two}
)";

class MappingIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil_mapping_index_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tables.yml") << kTables;
    auto n = Normalizer::load(dir_.string());
    ASSERT_TRUE(n.ok()) << n.error().message;
    norm_.emplace(std::move(*n));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The dataset names the event is in, in the order they were added, each checked to carry its tag.
  std::vector<std::string> datasets(std::string_view channel, const char* event_id) {
    Record r;
    r.format = LogFormat::evtx;
    r.system.push_back({"Channel", channel});
    if (event_id) r.system.push_back({"EventID", event_id});
    Event e;
    norm_->normalize(r, e);
    std::vector<std::string> out;
    for (DatasetId d : e.datasets()) {
      const std::string& name = norm_->datasets()[d].name;
      std::string_view tag;
      EXPECT_TRUE(e.get(field_id(norm_->datasets()[d].prefix + ".tag"), tag)) << name;
      const char* want = name == "Test.One" ? "one" : name == "Test.Any" ? "any" : "two";
      EXPECT_EQ(tag, want) << name;
      out.push_back(name);
    }
    return out;
  }

  fs::path dir_;
  std::optional<Normalizer> norm_;
};

using Names = std::vector<std::string>;

TEST_F(MappingIndex, AMappingAppliesExactlyWhenItsWholeConditionHolds) {
  EXPECT_EQ(datasets("X", "1"), Names{"Test.One"});
  EXPECT_EQ(datasets("Y", "1"), Names{"Test.Any"});  // id 1, but not on channel X
  EXPECT_EQ(datasets("X", "01"), Names{});            // "01" is not "1"
  EXPECT_EQ(datasets("X", "2"), Names{"Test.Two"});
  EXPECT_EQ(datasets("Z", "3"), Names{});
}

TEST_F(MappingIndex, MappingsWithoutAnEventIdConditionAreTriedForEveryEvent) {
  EXPECT_EQ(datasets("Y", "7"), Names{"Test.Any"});  // an id no mapping names
  EXPECT_EQ(datasets("Y", nullptr), Names{"Test.Any"});
  EXPECT_EQ(datasets("Y", "2"), Names({"Test.Any", "Test.Two"}));  // file order
}

TEST_F(MappingIndex, EventIdsCompareWithoutCase) {
  EXPECT_EQ(datasets("Z", "Ab"), Names{"Test.Two"});
  EXPECT_EQ(datasets("Z", "AB"), Names{"Test.Two"});
  EXPECT_EQ(datasets("Z", "ab"), Names{"Test.Two"});
  EXPECT_EQ(datasets("Z", "abc"), Names{});
}

// The cases above, on tables with more than one entry per dataset and with the add-on's field
// sets (`raw_fields`), which the same index serves: a dataset is added by its first source that
// holds (file order), a field set applies when its condition holds, ids compared without case.
TEST(MappingIndexTables, FirstHoldingSourceOfADatasetWinsAndFieldSetsIgnoreCase) {
  const fs::path dir = fs::temp_directory_path() / ("vigil_mapping_index_two_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tables.yml") << R"(datasets:
  - name: Test.P
    prefix: P
    sources:
      - label: id 5 on channel X
        when: {Channel: X, EventID: "5"}
        fields: {src: first}
      - label: channel X, any id
        when: {Channel: X}
        fields: {src: second}
raw_fields:
  - label: id Ab
    when: {EventID: ["Ab"]}
    fields: {RawTag: ab}
)";
  auto n = Normalizer::load(dir.string());
  fs::remove_all(dir);
  ASSERT_TRUE(n.ok()) << n.error().message;
  auto run = [&](const char* id, const char* data_id) {
    Record r;
    r.format = LogFormat::evtx;
    r.system.push_back({"Channel", "X"});
    r.system.push_back({"EventID", id});
    if (data_id) r.data.push_back({"EventID", data_id});  // a second EventID: conditions read the first
    Event e;
    n->normalize(r, e);
    std::string_view src, raw;
    std::string out = e.get(field_id("P.src"), src) ? std::string(src) : "-";
    out += e.get(field_id("RawTag"), raw) ? "/" + std::string(raw) : "/-";
    return out;
  };
  EXPECT_EQ(run("5", nullptr), "first/-");
  EXPECT_EQ(run("6", nullptr), "second/-");
  EXPECT_EQ(run("6", "5"), "second/-");
  EXPECT_EQ(run("5", "6"), "first/-");
  EXPECT_EQ(run("AB", nullptr), "second/ab");
  EXPECT_EQ(run("ab", nullptr), "second/ab");
}

// A dataset without prefix extends the raw view: one that sets EventID can make a later
// mapping's EventID condition hold, which a lookup by the event's own EventID would miss.
TEST(MappingIndexRawView, AMappingThatSetsEventIdIsSeenByTheMappingsAfterIt) {
  const fs::path dir = fs::temp_directory_path() / ("vigil_mapping_index_raw_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tables.yml") << R"(datasets:
  - name: Raw.Ids
    prefix: ""
    sources:
      - label: the id under another name
        when: {Channel: W}
        fields: {EventID: "{Code}"}
  - name: Test.Late
    prefix: Late
    sources:
      - label: id 9
        when: {EventID: "9"}
        fields: {tag: late}
)";
  auto n = Normalizer::load(dir.string());
  fs::remove_all(dir);
  ASSERT_TRUE(n.ok()) << n.error().message;
  Record r;
  r.format = LogFormat::evtx;
  r.system.push_back({"Channel", "W"});
  r.data.push_back({"Code", "9"});
  Event e;
  n->normalize(r, e);
  std::vector<std::string> got;
  for (DatasetId d : e.datasets()) got.push_back(n->datasets()[d].name);
  EXPECT_EQ(got, Names({"Raw.Ids", "Test.Late"}));
  std::string_view tag;
  EXPECT_TRUE(e.get(field_id("Late.tag"), tag));
  EXPECT_EQ(tag, "late");
}

}  // namespace
}  // namespace vigil
