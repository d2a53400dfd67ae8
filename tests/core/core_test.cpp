// core/: wildcard globs (Splunk and Sigma semantics), string helpers, time, values, regex.
// Expected values follow the documented semantics cited per test, not the implementation.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>
#include <thread>

#include "core/diagnostic.h"
#include "core/hash_index.h"
#include "core/intern.h"
#include "core/regex.h"
#include "core/strings.h"
#include "core/time.h"
#include "core/value.h"
#include "core/wildcard.h"

namespace vigil {
namespace {

using Syntax = WildcardPattern::Syntax;

// The randomized tests' numbers: next(n) is in [0, n), the same sequence for a seed on every run.
struct XorShift {
  uint64_t seed;
  uint64_t operator()(uint64_t n) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    return seed % n;
  }
};

// Splunk: `*` matches any run of characters, whole-value, case-insensitive; a backslash is literal
// (spl.md §5 "Wildcard * in search" and "Quoting and backslashes").
// HashIndex finds an entry by its hash and the caller's equality, through tags that collide and
// probes that run past the end of the slots, across growth, rebuilds and clearing. Entries here are
// numbers whose "hash" is chosen: every fourth has the same whole hash (only the caller's equality
// tells them apart), and all have a low half of ones, so every probe starts at the last slot,
// wraps to the first and walks a run of occupied slots.
TEST(HashIndex, FindsEachEntryThroughCollidingTagsAcrossGrowthAndClearing) {
  std::vector<size_t> hashes;  // the caller's entries: entry k has hashes[k]
  HashIndex index;
  auto hash_of = [&](size_t k) { return hashes[k]; };
  auto find = [&](size_t h, size_t want) {
    return index.find(h, [&](uint32_t k) { return hashes[k] == h && k == want; });
  };
  const size_t low = 0xffffffff;
  for (size_t k = 0; k < 200; ++k) {
    hashes.push_back((size_t(k % 4) << 32) | low);
    index.add(hashes.back(), static_cast<uint32_t>(k), hashes.size(), hash_of);
  }
  for (size_t k = 0; k < 200; ++k) EXPECT_EQ(find(hashes[k], k), k) << k;
  // An entry whose equality fails is not found, though its tag and hash match.
  EXPECT_EQ(index.find(hashes[7], [](uint32_t) { return false; }), HashIndex::kNone);
  EXPECT_EQ(find(size_t(9) << 32 | low, 0), HashIndex::kNone);  // a tag no entry has
  // Rehashed entries are found under their new hashes only.
  for (auto& h : hashes) h ^= size_t(1) << 63;
  index.rebuild(hashes.size(), hash_of);
  EXPECT_EQ(find(hashes[150], 150), 150u);
  EXPECT_EQ(find(hashes[150] ^ (size_t(1) << 63), 150), HashIndex::kNone);
  index.clear();
  EXPECT_EQ(find(hashes[3], 3), HashIndex::kNone);
  hashes = {42};
  index.add(42, 0, 1, hash_of);
  EXPECT_EQ(find(42, 0), 0u);
  index.release();
  EXPECT_EQ(find(42, 0), HashIndex::kNone);
}

TEST(Wildcard, SplSemantics) {
  auto m = [](const char* p, const char* t) { return WildcardPattern(p, Syntax::spl, true).matches(t); };
  EXPECT_TRUE(m("*\\cmd.exe", "C:\\Windows\\System32\\CMD.EXE"));
  EXPECT_FALSE(m("*\\cmd.exe", "C:\\Windows\\System32\\xcmd.exe"));
  EXPECT_TRUE(m("* process *", "wmic  process call create notepad.exe "));
  EXPECT_FALSE(m("* process *", "wmic process"));  // needs a space after
  EXPECT_TRUE(m("*/node:*", "wmic /NODE:host"));
  EXPECT_TRUE(m("a*b*c", "aXbYc"));
  EXPECT_TRUE(m("a*b*c", "abbc"));
  EXPECT_FALSE(m("a*b*c", "acb"));
  EXPECT_FALSE(m("a*a", "a"));  // both literals need their own character
  EXPECT_TRUE(m("*a*a", "aa"));
  EXPECT_FALSE(m("*a*a", "ab"));
  EXPECT_TRUE(m("*", ""));
  EXPECT_TRUE(m("wmic.exe", "WMIC.exe"));
  EXPECT_FALSE(m("wmic.exe", "wmic.exe "));
  EXPECT_TRUE(m("a?c", "a?c"));  // `?` is not an SPL wildcard
  EXPECT_FALSE(m("a?c", "abc"));
}

// Sigma: `*` any run, `?` one character, `\*` `\?` `\\` escapes (Sigma spec, "Wildcards").
TEST(Wildcard, SigmaSemantics) {
  auto m = [](const char* p, const char* t, bool ci = true) {
    return WildcardPattern(p, Syntax::sigma, ci).matches(t);
  };
  EXPECT_TRUE(m("a?c", "abc"));
  EXPECT_FALSE(m("a?c", "ac"));
  EXPECT_TRUE(m("a\\*c", "a*c"));
  EXPECT_FALSE(m("a\\*c", "abc"));
  EXPECT_TRUE(m("a\\?c", "a?c"));
  EXPECT_TRUE(m("C:\\\\temp\\\\*", "c:\\temp\\x.exe"));
  EXPECT_TRUE(m("*?.exe", "x.exe"));
  EXPECT_FALSE(m("*?.exe", ".exe"));
  EXPECT_FALSE(m("ABC", "abc", false));  // |cased
  EXPECT_TRUE(m("*b*", "ABC"));
}

TEST(Strings, CaseFoldingAndPaths) {
  EXPECT_EQ(ifind("Hello World", "WORLD"), 6u);
  EXPECT_EQ(ifind("aaa", "aaaa"), std::string_view::npos);
  EXPECT_EQ(ifind("xXxY", "xy"), 2u);
  EXPECT_EQ(ifind("abcabc", "ABC", 1), 3u);
  EXPECT_EQ(path_basename("C:\\Windows\\System32\\wbem\\WMIC.exe"), "WMIC.exe");
  EXPECT_EQ(path_basename("/usr/bin/id"), "id");
  EXPECT_EQ(path_basename("plain"), "plain");
  EXPECT_TRUE(iends_with("x.EXE", ".exe"));
  long long v;
  EXPECT_TRUE(parse_int("0xf84", v));
  EXPECT_EQ(v, 3972);
  double d;
  EXPECT_FALSE(parse_number("0xf84", d));  // hex ids stay text in SPL comparisons
  EXPECT_TRUE(parse_number(" 12.5 ", d));
  // The quick paths (plain integers; texts that cannot start a number) and strtod's, by hand.
  auto num = [](std::string_view s) -> std::optional<double> {
    double v;
    return parse_number(s, v) ? std::optional<double>(v) : std::nullopt;
  };
  EXPECT_EQ(num("007"), 7.0);
  EXPECT_EQ(num("123456789012345"), 123456789012345.0);   // 15 digits: the integer path
  EXPECT_EQ(num("1234567890123456"), 1234567890123456.0);  // 16: strtod
  EXPECT_EQ(num("-42"), -42.0);
  ASSERT_TRUE(num("-0"));
  EXPECT_TRUE(std::signbit(*num("-0")));
  EXPECT_EQ(num("+5"), 5.0);
  EXPECT_EQ(num(".5"), 0.5);
  EXPECT_EQ(num("-.5e1"), -5.0);
  EXPECT_EQ(num("1e3"), 1000.0);
  for (const char* t : {"", "-", "12a", "abc", "C:\\x", "inf", "-inf", "nan", "0x1A", "1 2"}) EXPECT_EQ(num(t), std::nullopt) << t;
  EXPECT_EQ(format_number(25.0), "25");
  EXPECT_EQ(json_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(json_quote(std::string("\xff", 1)), "\"\\ufffd\"");  // invalid UTF-8 stays valid JSON
}

// json_escape_to copies runs of plain bytes whole: every kind of byte before, between and after
// runs (expected texts written by hand from RFC 8259 escaping and UTF-8's byte patterns).
TEST(Strings, JsonEscapeAroundPlainRuns) {
  auto esc = [](std::string_view s) {
    std::string out = "pre:";  // appends, never clears
    json_escape_to(out, s);
    return out;
  };
  EXPECT_EQ(esc(""), "pre:");
  EXPECT_EQ(esc("C:\\Windows\\cmd.exe /c \"x\""), "pre:C:\\\\Windows\\\\cmd.exe /c \\\"x\\\"");
  EXPECT_EQ(esc("a\x01" "b\x1f\tc\r\n"), "pre:a\\u0001b\\u001f\\tc\\r\\n");
  EXPECT_EQ(esc("\x7f"), "pre:\x7f");                         // DEL is not a JSON control character
  EXPECT_EQ(esc("caf\xc3\xa9 \xe2\x82\xac" "1 \xf0\x9f\x98\x80!"), "pre:caf\xc3\xa9 \xe2\x82\xac" "1 \xf0\x9f\x98\x80!");
  EXPECT_EQ(esc("ab\xc3"), "pre:ab\\ufffd");                   // a 2-byte sequence cut at the end
  EXPECT_EQ(esc("\xe2\x82x"), "pre:\\ufffd\\ufffdx");          // bad sequence: each of its bytes replaced, then x
  EXPECT_EQ(esc("\x80\x80z"), "pre:\\ufffd\\ufffdz");           // stray continuation bytes
  EXPECT_EQ(esc(std::string("\0", 1)), "pre:\\u0000");
}

// The same at every offset of a long plain run (the run is scanned eight bytes at a time): one
// byte or sequence put at offset 0..24 of 24 plain letters, escaped as RFC 8259 says (by hand).
// The neighbours of the special bytes (0x1f/0x20, '!'/'"'/'#', '['/'\\'/']', 0x7f/0x80) are in.
TEST(Strings, JsonEscapeAtEveryOffsetOfALongRun) {
  const std::string plain = "abcdefghijklmnopqrstuvwx";
  const std::pair<std::string, std::string> cases[] = {
      {"\"", "\\\""},  {"\\", "\\\\"},     {"\n", "\\n"},          {"\x01", "\\u0001"},
      {"\x1f", "\\u001f"}, {" ", " "},        {"!", "!"},              {"#", "#"},
      {"[", "["},        {"]", "]"},          {"\x7f", "\x7f"},         {"\x80", "\\ufffd"},
      {"\xc3\xa9", "\xc3\xa9"}, {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}};
  for (auto& [in, want] : cases)
    for (size_t at = 0; at <= plain.size(); ++at) {
      std::string out;
      json_escape_to(out, plain.substr(0, at) + in + plain.substr(at));
      EXPECT_EQ(out, plain.substr(0, at) + want + plain.substr(at)) << at << " " << want;
    }
}

// json_escape_raw writes into exactly kJsonEscapeMax bytes per input byte and reads no byte of a
// page the input does not reach. Texts of 0..40 bytes, each either ending at the last byte before
// a page that cannot be read or starting a page (its tail readable in one load, the bytes after it
// plain letters), are written into a room that ends where such a page begins. Each text is
// letters with a quote at one place (or none), or control bytes only (each escaped to six bytes:
// the room is full); the expected texts are written out here.
TEST(Strings, JsonEscapeRawStaysInItsRoomAndItsPage) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  struct Guarded {  // two pages, the second unreadable
    size_t page;
    char* map;
    explicit Guarded(size_t p)
        : page(p), map(static_cast<char*>(mmap(nullptr, 2 * p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))) {
      if (map != MAP_FAILED) mprotect(map + page, page, PROT_NONE);
    }
    ~Guarded() {
      if (map != MAP_FAILED) munmap(map, 2 * page);
    }
  };
  Guarded in_pages(page), out_pages(page);
  ASSERT_NE(in_pages.map, MAP_FAILED);
  ASSERT_NE(out_pages.map, MAP_FAILED);
  for (bool at_page_end : {true, false})
    for (size_t n = 0; n <= 40; ++n)
      for (size_t quote = 0; quote <= n + 1; ++quote) {  // quote == n: none; n + 1: controls only
        std::memset(in_pages.map, 'z', page);  // what follows a text at the page's start: plain
        char* in = at_page_end ? in_pages.map + page - n : in_pages.map;
        char* out = out_pages.map + page - kJsonEscapeMax * n;
        std::string want;
        for (size_t k = 0; k < n; ++k) {
          if (quote == n + 1) {
            in[k] = '\x01';
            want += "\\u0001";
          } else {
            in[k] = k == quote ? '"' : char('a' + k % 26);
            want += k == quote ? std::string("\\\"") : std::string(1, in[k]);
          }
        }
        char* end = json_escape_raw(out, std::string_view(in, n));
        EXPECT_EQ(std::string(out, size_t(end - out)), want) << n << " " << quote << " " << at_page_end;
      }
}

TEST(Time, ParseAndFormat) {
  // 2020-08-01T07:59:18Z = 1596268758 (date -u -d '2020-08-01 07:59:18' +%s).
  EXPECT_DOUBLE_EQ(*parse_time("2020-08-01T07:59:18Z"), 1596268758.0);
  EXPECT_DOUBLE_EQ(*parse_time("2020-08-01 07:59:18"), 1596268758.0);
  EXPECT_NEAR(*parse_time("2020-08-01T07:59:18.374000Z"), 1596268758.374, 1e-6);
  EXPECT_DOUBLE_EQ(*parse_time("2020-08-01T09:59:18+02:00"), 1596268758.0);
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_EQ(format_time(1596268758.0, "%Y-%m-%dT%H:%M:%S"), "2020-08-01T07:59:18");
  EXPECT_EQ(format_time(1596268758.0, "%m/%d/%Y %H:%M:%S"), "08/01/2020 07:59:18");
  EXPECT_EQ(format_time(0, "%a %b %e %j"), "Thu Jan  1 001");
  EXPECT_EQ(format_iso8601(1596268758.5, 3), "2020-08-01T07:59:18.500Z");
  // Whole seconds (findings' times): the digits are written by hand for years 0-9999. Expected
  // values from Python's datetime.fromtimestamp(e, timezone.utc) for years 1-9999; years 0 and -1
  // are 1970 minus 719,528 and 719,529 days (proleptic Gregorian), as snprintf's %04lld writes them.
  EXPECT_EQ(format_iso8601(0, 0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(1764771125.999, 0), "2025-12-03T14:12:05Z");
  EXPECT_EQ(format_iso8601(-315576000.0, 0), "1960-01-01T12:00:00Z");
  EXPECT_EQ(format_iso8601(951782400, 0), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_iso8601(253402300799, 0), "9999-12-31T23:59:59Z");
  EXPECT_EQ(format_iso8601(253402300800, 0), "10000-01-01T00:00:00Z");  // past the hand-written range
  EXPECT_EQ(format_iso8601(1764771125.25, 2), "2025-12-03T14:12:05.25Z");
  EXPECT_EQ(format_iso8601(-62167219200, 0), "0000-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(-62167219201, 0), "-001-12-31T23:59:59Z");
  EXPECT_EQ(format_iso8601(-0.5, 0), "1969-12-31T23:59:59Z");  // seconds round down
  // FILETIME 132407423583740000 = 2020-08-01T07:59:18.374Z.
  EXPECT_NEAR(filetime_to_epoch(132407423583740000ULL), 1596268758.374, 1e-6);
  EXPECT_DOUBLE_EQ(*parse_time_format("08/01/2020 07:59:18", "%m/%d/%Y %H:%M:%S"), 1596268758.0);
  EXPECT_FALSE(parse_time_format("2020-13-01", "%Y-%m-%d"));
}

TEST(Values, RowsAndMultivalues) {
  Row r;
  r.set("a", Value("1"));
  r.set("b", Value::multi({"x", "y"}));
  r.set("a", Value(2.0));  // replace keeps position
  ASSERT_EQ(r.entries().size(), 2u);
  EXPECT_EQ(r.entries()[0].first, "a");
  EXPECT_EQ(r.get("a")->to_string(), "2");
  EXPECT_EQ(r.get("b")->count(), 2u);
  EXPECT_EQ(r.get("b")->to_string(), "x\ny");
  r.set("a", Value());  // null removes
  EXPECT_FALSE(r.has("a"));
  EXPECT_EQ(*Value("3.5").to_number(), 3.5);
  EXPECT_FALSE(Value("abc").to_number());
}

TEST(Values, LookupsTellNamesApartByLengthLetterAndBytes) {
  // Names alike in length and first letter, a prefix, an empty name: each finds its own entry.
  Row r;
  for (auto [k, v] : {std::pair{"dest", "d"}, {"dvc", "v"}, {"desk", "k"}, {"destination", "n"}, {"", "e"}})
    r.entries().emplace_back(k, Value(v));
  EXPECT_EQ(r.get("dest")->text(), "d");
  EXPECT_EQ(r.get("desk")->text(), "k");
  EXPECT_EQ(r.get("destination")->text(), "n");
  EXPECT_EQ(r.get("")->text(), "e");
  EXPECT_EQ(r.get("dust"), nullptr);
  EXPECT_EQ(r.get("des"), nullptr);
  // get_from: a right hint is taken as is; a wrong or stale one is corrected to where the name is.
  uint32_t hint = 2;
  EXPECT_EQ(r.get_from("desk", hint)->text(), "k");
  EXPECT_EQ(hint, 2u);
  EXPECT_EQ(r.get_from("dvc", hint)->text(), "v");
  EXPECT_EQ(hint, 1u);
  hint = 99;
  EXPECT_EQ(r.get_from("destination", hint)->text(), "n");
  EXPECT_EQ(hint, 3u);
  EXPECT_EQ(r.get_from("dust", hint), nullptr);
  EXPECT_EQ(hint, 3u);  // left alone when the name is missing
  // A row of another layout with the same hint: found by the scan.
  Row other;
  other.entries().emplace_back("destination", Value("m"));
  EXPECT_EQ(other.get_from("destination", hint)->text(), "m");
  EXPECT_EQ(hint, 0u);
}

TEST(Regex, PcreSemanticsAndLimits) {
  auto r = Regex::compile("(?<user>\\w+)@(?P<dom>[\\w.]+)");
  ASSERT_TRUE(r.ok());
  Regex::Match m;
  ASSERT_TRUE(r->find("mail bob@corp.local now", 0, m));
  EXPECT_EQ(r->names().size(), 2u);
  EXPECT_EQ(m.groups[1].begin, 5u);
  EXPECT_FALSE(Regex::compile("(unclosed").ok());
  // Catastrophic backtracking hits the match limit and counts as no match instead of hanging.
  auto evil = Regex::compile("^(a+)+$");
  ASSERT_TRUE(evil.ok());
  EXPECT_FALSE(evil->search(std::string(40, 'a') + "!"));
  EXPECT_EQ(Regex::compile("(\\d+)-(\\d+)")->replace("10-20 x 3-4", "\\2-\\1", true), "20-10 x 4-3");
}

// A thread's match data is shared by every pattern it runs (grown to the most groups asked for):
// patterns with more, fewer and no groups, in turns, each see their own groups only.
TEST(Regex, PatternsInTurnsKeepTheirOwnGroups) {
  auto none = Regex::compile("b+");
  auto two = Regex::compile("(\\w)-(\\w)");
  auto five = Regex::compile("(a)(b)(c)(d)(e)?");
  ASSERT_TRUE(none.ok() && two.ok() && five.ok());
  for (int round = 0; round < 3; ++round) {
    Regex::Match m;
    ASSERT_TRUE(none->find("aabbbc", 0, m));
    ASSERT_EQ(m.groups.size(), 1u);
    EXPECT_EQ(m.groups[0].begin, 2u);
    EXPECT_EQ(m.groups[0].end, 5u);
    ASSERT_TRUE(five->find("xabcd", 0, m));
    ASSERT_EQ(m.groups.size(), 6u);
    EXPECT_EQ(m.groups[4].begin, 4u);
    EXPECT_EQ(m.groups[5].begin, SIZE_MAX);  // the optional group did not take part
    ASSERT_TRUE(two->find("1 x-y", 0, m));
    ASSERT_EQ(m.groups.size(), 3u);
    EXPECT_EQ(m.groups[2].begin, 4u);
    EXPECT_FALSE(two->find("x_y", 0, m));
  }
}

// Literal pieces joined by `.*` are searched for in order, in one pass (Regex::chained). Its answers
// are PCRE2's: every subject up to 5 bytes over a small alphabet (the pieces' characters, a letter,
// newline, CR, NUL, a non-ASCII byte), and random ones of 6-12 bytes, against find(), which always runs
// PCRE2 (short subjects: no limit). Chains need PCRE2's default newline to be LF (Debian's is).
TEST(Regex, LiteralPiecesInOrderAnswerAsPcreDoes) {
  struct Case {
    const char* pattern;
    Regex::Flags flags;
  };
  const Case chained[] = {{"\\+.*\\+.*\\+", {}},   {"\\{.*\\{", {}},          {"`.*`.*`", {}},
                          {"ab.*b.*?ab", {}},        {"(?i)\\+.*\\^", {}},       {"\\+.*\\+", {false, false, true}},
                          {"\\^.*\\^", {false, true, false}}, {".*\\+.*\\+.*", {}},
                          {"\\ .*#.*-/", {}},         {"\\+.*/", {true, false, false}}};
  const std::string alphabet("+{`^ab\n\r\0\xc3 #-/", 14);
  for (const Case& c : chained) {
    auto r = Regex::compile(c.pattern, c.flags);
    ASSERT_TRUE(r.ok()) << c.pattern;
    EXPECT_TRUE(r->chained()) << c.pattern;
    // Every string of length <= 5 over the alphabet, and random ones of 6-12.
    std::vector<std::string> subjects = {""};
    for (size_t len = 1, from = 0; len <= 5; ++len) {
      const size_t to = subjects.size();
      for (size_t i = from; i < to; ++i)
        for (char ch : alphabet) subjects.push_back(subjects[i] + ch);
      from = to;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 20000; ++i) {
      std::string s;
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      const size_t len = 6 + (seed >> 33) % 7;
      for (size_t k = 0; k < len; ++k) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        s.push_back(alphabet[(seed >> 33) % alphabet.size()]);
      }
      subjects.push_back(std::move(s));
    }
    for (auto& s : subjects) {
      Regex::Match m;
      ASSERT_EQ(r->search(s), r->find(s, 0, m)) << c.pattern << " on '" << s << "'";
    }
  }
  // Not chains: classes, anchors, groups, alternation, a caseless letter, a lone dot, escapes of letters.
  for (const char* p : {"a.*[bc]", "^a.*b", "(a).*b", "a.*b|c", "a.*b$", "a.b", "\\d.*x", "a.+b"})
    EXPECT_FALSE(Regex::compile(p)->chained()) << p;
  EXPECT_FALSE(Regex::compile("a.*b", Regex::Flags{true, false, false})->chained());
  // Sigma's `Potential PowerShell Command Line Obfuscation`: 14 pluses on one line. PCRE2 runs to its
  // limit on a long command line with 13 of them; the chain answers, and the same as the linear engine.
  std::string pieces;
  for (int i = 0; i < 14; ++i) pieces += i ? ".*\\+" : "\\+";
  auto obf = Regex::compile(pieces);
  ASSERT_TRUE(obf.ok());
  EXPECT_TRUE(obf->chained());
  std::string line = "powershell -c ";
  for (int i = 0; i < 13; ++i) line += std::string(150, 'x') + "+";
  EXPECT_FALSE(obf->search(line));
  EXPECT_TRUE(obf->search(line + "+"));
  EXPECT_FALSE(obf->search(line + "\n+"));  // the 14th on the next line
}

// required_literal: the runs worked out by hand from PCRE's grammar. A quantified character is
// not in the run (`s?` may be absent, `e+` may be `ee`); groups, classes and escapes end a run.
TEST(RequiredLiteral, LongestPlainRunOfTheTopLevel) {
  auto lit = [](std::string_view p) { return required_literal(p).value_or(RequiredLiteral{"<none>", false}); };
  EXPECT_EQ(lit("ipconfig\\s+/all").text, "ipconfig");
  EXPECT_EQ(lit("netsh\\s+interface show interface").text, "interface show interface");
  EXPECT_EQ(lit("\\$PSHome\\[\\s*\\d{1,3}\\s*\\]\\s*\\+\\s*\\$PSHome\\[").text, "$PSHome[");
  EXPECT_EQ(lit("\\[String\\]\\s*\\$VerbosePreference").text, "$VerbosePreference");
  EXPECT_EQ(lit("abcdex?yz").text, "abcde");      // x is optional: "abcde" then "yz"
  EXPECT_EQ(lit("abcde+fg").text, "abcd");        // e+ may be "ee"
  EXPECT_EQ(lit("ab{2}cdefg").text, "cdefg");     // b{2} is "bb"
  EXPECT_EQ(lit("xy(?:foo|bar)baz12").text, "baz12");
  EXPECT_EQ(lit("a[xyz]bcd.efgh$").text, "efgh");
  EXPECT_EQ(lit("(?#a|b)qrst").text, "qrst");     // a comment's `|` is no alternative
  EXPECT_EQ(lit("xabcd(?#c)?yz").text, "xabc");    // a quantifier after a comment may apply to the d
  EXPECT_EQ(lit("end\\.exe\\b").text, "end.exe");
  EXPECT_EQ(lit("caf\xC3\xA9?wxyz").text, "wxyz");  // é? drops both of é's bytes, not one
  EXPECT_EQ(lit("r\xC3\xA9sum\xC3\xA9").text, "r\xC3\xA9sum\xC3\xA9");
  // (?i): lower-cased, caseless; k, s and non-ASCII bytes end the run (PCRE2's UTF case folding
  // matches them with U+212A and U+017F, which an ASCII-caseless scan would not find).
  auto wsass = lit("(?i)\\.exe[\\\"\\']?\\s+[^\\\"]{0,64}werfaultsecure\\.exe[\\\"\\']?\\s+\\d{2,10}");
  EXPECT_EQ(wsass.text, "ecure.exe");
  EXPECT_TRUE(wsass.caseless);
  EXPECT_EQ(lit("(?i)MIMIKATZ").text, "mimi");  // k ends "mimi", "atz" is shorter
  EXPECT_FALSE(lit("MIMIKATZ").caseless);
  EXPECT_EQ(lit("(?is)DUMP.*LSASS").text, "dump");
  // No run any match must contain, or syntax this reading does not follow.
  for (std::string_view p : {"foo|barbaz", "ab", "a.c", "(?x)abc def", "abc(?i)def", "\\Qabc\\E", "abc\\x41def",
                             "(abc)\\1", "(?-i)abcd", "(*UTF)abcd", "abcd)", "abcd\\"})
    EXPECT_FALSE(required_literal(p).has_value()) << p;
  EXPECT_EQ(required_literal("ab", 2)->text, "ab");
  // Syntax that hides a `]` or a parenthesis from a character-by-character reading. Each pattern
  // matches the subject beside it (PCRE2 says so below), which lacks the run a naive reading takes.
  const std::pair<std::string_view, std::string_view> hidden[] = {
      {"[[:]|:]]abc", "["},                // `[:` without `:]` before the `]` is no POSIX class
      {"[\\E]abc]", "a"},                // \E is ignored: the `]` after it is a member
      {"[\\c]abc]", "a"},                // \c takes the `]`
      {"(\\c)abcdef(\\c())?", "x"},    // \c takes the `)`: one optional group
      {"(?C{)abcdef(})", "x"},             // a callout's string holds the parentheses
  };
  for (auto& [p, subject] : hidden) {
    auto re = Regex::compile(p);
    ASSERT_TRUE(re.ok()) << p;
    EXPECT_TRUE(re->search(subject)) << p;
    EXPECT_FALSE(required_literal(p).has_value()) << p;
  }
  EXPECT_TRUE(Regex::compile("whoami(?#x)?")->search("whoam"));  // the `?` applies to the i
  EXPECT_EQ(lit("whoami(?#x)?").text, "whoam");
}

// Random patterns over a few letters (k and s among them, and a two-byte é) and every construct the
// reading follows or gives up on; random subjects. Whenever PCRE2 finds a match, the run is in the
// subject (case-insensitively under (?i), byte for byte otherwise).
TEST(RequiredLiteral, EveryMatchContainsTheRun) {
  const std::vector<std::string> atoms = {"a", "b", "k", "s", "K", "S", "\xC3\xA9", "x", " ", "\\.", "."};
  const std::vector<std::string> tails = {"", "", "", "?", "*", "+", "{2}", "{0,1}", "??"};
  XorShift next{0x9e3779b97f4a7c15ull};
  auto piece = [&](auto& self, int depth) -> std::string {
    switch (next(depth > 1 ? 6 : 10)) {
      case 9: return atoms[next(atoms.size())] + "(?#c)" + tails[next(tails.size())];  // the tail may quantify the atom
      case 6: return "(?:" + self(self, depth + 1) + "|" + self(self, depth + 1) + ")" + tails[next(tails.size())];
      case 7: return "(" + self(self, depth + 1) + ")" + tails[next(tails.size())];
      case 8: return std::string(next(2) ? "[ak]" : "[^b]") + tails[next(tails.size())];
      default: return atoms[next(atoms.size())] + tails[next(tails.size())];
    }
  };
  const std::string letters[] = {"a", "b", "k", "s", "K", "S", "A", "\xC3\xA9", "\xC3\x89", "\xE2\x84\xAA", "\xC5\xBF", "x", " ", "."};
  size_t checked = 0, with_run = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string p = next(3) == 0 ? "(?i)" : "";
    for (int k = 0, len = 2 + int(next(6)); k < len; ++k) p += piece(piece, 0);
    if (next(5) == 0) p += "|" + piece(piece, 0);  // a top-level alternative
    auto re = Regex::compile(p);
    ASSERT_TRUE(re.ok()) << p;
    auto run = required_literal(p, 1);
    if (!run) continue;
    ++with_run;
    for (int s = 0; s < 200; ++s) {
      std::string subject;
      for (int k = 0, len = int(next(12)); k < len; ++k) subject += letters[next(std::size(letters))];
      if (!re->search(subject)) continue;
      ++checked;
      const std::string hay = run->caseless ? to_lower(subject) : subject;
      ASSERT_NE(hay.find(run->text), std::string::npos) << "pattern " << p << " run '" << run->text << "' subject '" << subject << "'";
    }
  }
  EXPECT_GT(with_run, 1000u);  // the property is tested, not skipped
  EXPECT_GT(checked, 10000u);
}

// search() answers long subjects with whichever engine its trial found faster (core/regex.h), so
// the two must give every answer alike. Random patterns over the constructs Sigma's and ESCU's
// regexes use (classes, \\s \\d \\w \\b, anchors, alternations, bounded repeats, (?i)) and random
// subjects over letters that fold in Unicode (K and KELVIN SIGN, s and LONG S, é and É), newlines
// and an invalid byte: wherever both engines answer, they agree, and search() gives that answer.
TEST(Regex, BothEnginesAnswerEverySearchAlike) {
  if (!Regex::compile("a")->linear()) GTEST_SKIP() << "built without the linear engine (Hyperscan)";
  const std::vector<std::string> atoms = {"a", "b", "k", "s", "K", "S", "\xC3\xA9", "x", " ", "\\.", ".", "\\s",
                                          "\\d", "\\w", "\\W", "[a-k]", "[^b\\s]", "\\b", "-", "\\\\"};
  const std::vector<std::string> tails = {"", "", "", "?", "*", "+", "{2}", "{0,3}", "{1,}", "*?"};
  XorShift next{0x2545f4914f6cdd1dull};
  auto piece = [&](auto& self, int depth) -> std::string {
    switch (next(depth > 1 ? 7 : 10)) {
      case 7: return "(?:" + self(self, depth + 1) + "|" + self(self, depth + 1) + ")" + tails[next(tails.size())];
      case 8: return "(" + self(self, depth + 1) + ")" + tails[next(tails.size())];
      case 9: return next(2) ? "^" : "$";
      default: return atoms[next(atoms.size())] + tails[next(tails.size())];
    }
  };
  // ASCII first: the linear engine answers ASCII subjects only (Regex::linear_search); the others
  // are asked of it too, and must come back unanswered or alike.
  const std::string letters[] = {"a", "b", "k", "s", "K", "S", "A", "1", "-", "\\", "x", " ", "\t", "\n", ".",
                                 "\xC3\xA9", "\xC3\x89", "\xE2\x84\xAA", "\xC5\xBF", "\xFF"};
  const size_t ascii_letters = 15;
  size_t compared = 0, matched = 0, linear_patterns = 0;
  for (int n = 0; n < 2000; ++n) {
    std::string p = next(3) == 0 ? "(?i)" : "";
    for (int k = 0, len = 1 + int(next(5)); k < len; ++k) p += piece(piece, 0);
    if (next(4) == 0) p += "|" + piece(piece, 0);
    auto re = Regex::compile(p);
    if (!re.ok()) continue;
    if (!re->linear()) continue;
    ++linear_patterns;
    for (int s = 0; s < 40; ++s) {
      std::string subject;
      const size_t alphabet = s % 8 ? ascii_letters : std::size(letters);
      for (int k = 0, len = int(next(2) ? next(16) : next(400)); k < len; ++k) subject += letters[next(alphabet)];
      const auto pcre = re->search_on(Regex::Engine::pcre2, subject);
      const auto lin = re->search_on(Regex::Engine::linear, subject);
      if (!pcre || !lin) continue;
      ++compared;
      matched += *pcre;
      ASSERT_EQ(*pcre, *lin) << "pattern " << p << " subject '" << subject << "'";
      ASSERT_EQ(re->search(subject), *pcre) << "pattern " << p << " subject '" << subject << "'";
    }
  }
  EXPECT_GT(linear_patterns, 1000u);  // the property is tested, not skipped
  EXPECT_GT(compared, 40000u);
  EXPECT_GT(matched, compared / 10);
  EXPECT_LT(matched, compared - compared / 10);
}

// A pattern PCRE2 must try at every position (an alternation of keywords, as ESCU's PowerShell 4104
// Hunting has) over 16 KB subjects: once PCRE2 has spent the compile's reckoned cost on them,
// search() moves it to the linear engine (10-30 times faster on it: bench/regex_bench), and then
// answers as PCRE2 does, on ASCII subjects with and without a keyword and on subjects with other
// bytes (which stay PCRE2's). Two threads search from the start, so a race in the shared trial shows
// (under TSan) or gives a wrong answer. A pattern that runs PCRE2 into its limit moves too, and its
// answers stay decided, as the linear engine gave them before.
TEST(Regex, LongSubjectsMovedToTheLinearEngineGetPcresAnswers) {
  if (!Regex::compile("a")->linear()) GTEST_SKIP() << "built without the linear engine (Hyperscan)";
  const std::string keywords =
      "(?i)(bitstransfer|mimik|metasp|AssemblyBuilderAccess|Reflection\\.Assembly|shellcode|injection|"
      "shell\\.application|start-process|Rc4ByteStream|lsass\\.exe|localadmin|hijack|BackupPrivilege|ngrok|"
      "comsvcs|backdoor|brute.?force|Port.?Scan|Exfiltration|exploit|DisableRealtimeMonitoring|beacon)";
  std::string text;
  while (text.size() < 16000) text += "Get-ChildItem -Path C:\\Users -Recurse | Where-Object { $_.Length -gt 1000 } ; ";
  std::vector<std::string> subjects = {text, text + "Invoke-Mimikatz", "MIMIK" + text, text + "lsass.exe",
                                       text + "lsass_exe", text.substr(0, 300) + " hijack",
                                       text + "\xC3\xA9 mimik \xC3\xA9", text + "\xFF" "beacon", text + "\xC3\xA9"};
  auto re = Regex::compile(keywords);
  ASSERT_TRUE(re.ok());
  std::vector<bool> expected;
  for (auto& v : subjects) {
    auto pcre = re->search_on(Regex::Engine::pcre2, v);
    ASSERT_TRUE(pcre.has_value());
    expected.push_back(*pcre);
  }
  // The keyword subjects match, but `lsass_exe` (no `lsass\.exe`); PCRE2 (MATCH_INVALID_UTF, the
  // reference here) finds the `beacon` right after an invalid byte, since a match may lie in any
  // valid stretch of the subject (pcre2unicode, "Matching in invalid UTF strings"). (The literal is
  // "\xFF" "beacon": as "\xFFbeacon" the escape took "beac" for hex digits, and no `beacon` was there.)
  EXPECT_EQ(expected, (std::vector<bool>{false, true, true, true, false, true, true, true, false}));
  std::atomic<int> wrong{0};
  auto hunt = [&] {
    for (int i = 0; i < 20000 && re->long_subject_engine() != Regex::Engine::linear; ++i)
      if (re->search(subjects[0]) != expected[0]) ++wrong;
    for (int round = 0; round < 50; ++round)
      for (size_t k = 0; k < subjects.size(); ++k)
        if (re->search(subjects[k]) != expected[k]) ++wrong;
  };
  std::thread other(hunt);
  hunt();
  other.join();
  EXPECT_EQ(wrong.load(), 0);
  ASSERT_EQ(re->long_subject_engine(), Regex::Engine::linear) << "PCRE2 kept a pattern the linear engine scans far faster";

  // `(a+)+$` on a run of a's and a `b`: PCRE2 gives up at its match limit on every call (the linear
  // engine answered those before too, never undecided).
  auto evil = Regex::compile("(a+)+$");
  const std::string as = std::string(300, 'a') + "b";
  Regex::take_undecided();
  for (int i = 0; i < 2000 && evil->long_subject_engine() != Regex::Engine::linear; ++i) ASSERT_FALSE(evil->search(as));
  EXPECT_EQ(evil->long_subject_engine(), Regex::Engine::linear);
  EXPECT_FALSE(evil->search(as));
  EXPECT_TRUE(evil->search(std::string(300, 'a')));
  EXPECT_TRUE(Regex::take_undecided().empty());
}

// field_id answers from a per-thread memo of 1,024 slots: 6,000 names (so slots are shared) in
// two orders on two threads, near-alike (one byte apart, prefixes of each other, case): each name
// one symbol, the same each time and on each thread, that names it back.
TEST(Intern, FieldIdsStayOnePerNameThroughTheMemo) {
  std::vector<std::string> names;
  for (int i = 0; i < 2000; ++i) {
    std::string n = "Intern.Field" + std::to_string(i);
    names.push_back(n);
    names.push_back(n + "x");
    names.push_back("intern.field" + std::to_string(i));
  }
  std::vector<Symbol> first(names.size());
  for (size_t i = 0; i < names.size(); ++i) first[i] = field_id(names[i]);
  EXPECT_EQ(std::set<Symbol>(first.begin(), first.end()).size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(field_name(first[i]), names[i]);
  auto again = [&](bool backwards, std::vector<Symbol>& out) {
    out.resize(names.size());
    for (int round = 0; round < 3; ++round)
      for (size_t k = 0; k < names.size(); ++k) {
        const size_t i = backwards ? names.size() - 1 - k : (k * 7919) % names.size();
        out[i] = field_id(std::string_view(names[i]));
      }
  };
  std::vector<Symbol> here, there;
  std::thread other([&] { again(true, there); });
  again(false, here);
  other.join();
  EXPECT_EQ(here, first);
  EXPECT_EQ(there, first);
}

// A sink that holds a batch's diagnostics (the engine's, replayed when the batch merges) keeps a
// warning told once per row as one copy with its count; replayed, the totals are those of every time.
TEST(DiagnosticSink, FoldedRepeatsKeepOneCopyAndEveryCount) {
  HoldingSink held;
  held.set_fold_repeats(true);
  for (int i = 0; i < 5; ++i) {
    held.warning({"rule.yml"}, "match(): bad pattern", "bad-regex");
    if (i == 1) held.warning({"log.json", 3}, "event undecided", "regex-undecided-event");
  }
  auto first = held.take_kept();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].reason, "bad-regex");
  EXPECT_EQ(first[0].repeats, 4u);
  EXPECT_EQ(first[1].reason, "regex-undecided-event");
  EXPECT_EQ(first[1].repeats, 0u);
  // After the copies were taken, the next repeat is a copy of its own again.
  held.warning({"rule.yml"}, "match(): bad pattern", "bad-regex");
  auto second = held.take_kept();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].repeats, 0u);

  DiagnosticSink run(nullptr);
  run.set_keep(false);
  for (auto& d : first) run.report(d);
  for (auto& d : second) run.report(d);
  EXPECT_EQ(run.warnings(), 7u);
  EXPECT_EQ(run.counts_by_reason()["bad-regex"], 6u);
  EXPECT_EQ(run.counts_by_reason()["regex-undecided-event"], 1u);
  // Without folding every repeat is a copy (what the run's own sink keeps in tests and lint).
  HoldingSink plain;
  for (int i = 0; i < 3; ++i) plain.warning({"rule.yml"}, "match(): bad pattern", "bad-regex");
  EXPECT_EQ(plain.kept().size(), 3u);
}

}  // namespace
}  // namespace vigil
