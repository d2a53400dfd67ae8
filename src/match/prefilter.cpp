#include "match/prefilter.h"

#ifdef VIGIL_HAVE_HYPERSCAN
#include <fcntl.h>
#include <hs/hs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "core/files.h"
#endif

namespace vigil::match {

std::optional<PrefilterPattern> necessary_literal(const CompiledAtom& c) {
  using K = ir::AtomKind;
  const ir::Atom& a = c.atom();
  PrefilterPattern p;
  p.caseless = !a.case_sensitive;
  switch (a.kind) {
    case K::eq:
      p.literal = c.literal();
      p.at_start = p.at_end = true;
      break;
    case K::contains:
    case K::keyword: p.literal = c.literal(); break;
    case K::starts_with:
      p.literal = c.literal();
      p.at_start = true;
      break;
    case K::ends_with:
      p.literal = c.literal();
      p.at_end = true;
      break;
    case K::wildcard: {
      // Every literal piece of a glob must occur in a matching value, in order; one
      // piece is enough for a necessary condition, and the longest is the most selective.
      // The first piece is anchored at the start and the last at the end (whole-value glob).
      const auto& toks = c.glob().tokens();
      size_t best = SIZE_MAX;
      for (size_t i = 0; i < toks.size(); ++i) {
        if (toks[i].kind != WildcardPattern::Tok::lit) continue;
        bool anchored = i == 0 || i + 1 == toks.size();
        if (best == SIZE_MAX || toks[i].text.size() > toks[best].text.size() ||
            (toks[i].text.size() == toks[best].text.size() && anchored))
          best = i;
      }
      if (best == SIZE_MAX) return std::nullopt;
      p.literal = toks[best].text;
      p.at_start = best == 0;
      p.at_end = best + 1 == toks.size();
      break;
    }
    case K::regex: {
      // A run of plain characters every match contains (Sigma's `re`: `ipconfig\s+/all`), of 3
      // bytes or more: shorter ones would slow the group's scan more than they screen.
      auto r = required_literal(a.value);
      if (!r) return std::nullopt;
      p.literal = std::move(r->text);
      p.caseless = r->caseless;
      break;
    }
    default: return std::nullopt;
  }
  if (p.literal.empty()) return std::nullopt;  // matches everything: nothing to filter on
  return p;
}

bool may_have_literal(ir::AtomKind k) {
  using K = ir::AtomKind;
  return k == K::eq || k == K::contains || k == K::keyword || k == K::starts_with || k == K::ends_with ||
         k == K::wildcard || k == K::regex;
}

bool Prefilter::available() {
#ifdef VIGIL_HAVE_HYPERSCAN
  return true;
#else
  return false;
#endif
}

#ifdef VIGIL_HAVE_HYPERSCAN

PrefilterScratch::~PrefilterScratch() {
  if (impl_) hs_free_scratch(static_cast<hs_scratch_t*>(impl_));
}

PrefilterScratch& PrefilterScratch::operator=(PrefilterScratch&& o) noexcept {
  if (this != &o) {
    if (impl_) hs_free_scratch(static_cast<hs_scratch_t*>(impl_));
    impl_ = o.impl_;
    o.impl_ = nullptr;
  }
  return *this;
}

class HyperscanPrefilter final : public Prefilter {
 public:
  struct Info {
    uint32_t id;    // caller's pattern id
    uint32_t len;   // literal length: a match ending at `len` started at offset 0
    bool at_start, at_end;
  };
  HyperscanPrefilter(hs_database_t* db, std::vector<Info> info) : db_(db), info_(std::move(info)) {}
  ~HyperscanPrefilter() override { hs_free_database(db_); }

  bool prepare(PrefilterScratch& scratch) const override {
    auto* s = static_cast<hs_scratch_t*>(scratch.impl_);
    bool ok = hs_alloc_scratch(db_, &s) == HS_SUCCESS;
    scratch.impl_ = s;
    return ok;
  }

  bool scan(std::string_view value, PrefilterScratch& scratch, OnHit on_hit, void* ctx) const override {
    // Hyperscan block mode takes an unsigned int length; longer values are tested directly.
    if (value.size() > UINT32_MAX || !scratch.impl_) return false;
    Sink sink{this, value.size(), on_hit, ctx};
    return hs_scan(db_, value.data(), static_cast<unsigned int>(value.size()), 0,
                   static_cast<hs_scratch_t*>(scratch.impl_), on_match, &sink) == HS_SUCCESS;
  }

  size_t pattern_count() const override { return info_.size(); }

 private:
  struct Sink {
    const HyperscanPrefilter* self;
    size_t size;
    OnHit fn;
    void* ctx;
  };
  // Literals are fixed-length, so the end offset alone decides the anchors.
  static int on_match(unsigned int local, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
    auto* s = static_cast<Sink*>(ctx);
    const Info& p = s->self->info_[local];
    if ((p.at_start && to != p.len) || (p.at_end && to != s->size)) return 0;
    s->fn(s->ctx, p.id);
    return 0;  // keep scanning: every pattern matters
  }
  hs_database_t* db_;
  std::vector<Info> info_;  // by Hyperscan's (dense, local) pattern id
};

namespace {

// Compiled databases kept between runs: compiling the corpus' literal groups is ~0.3-0.6 s of a
// hunt, loading them a few milliseconds. File: magic, second key hash, payload length, payload
// (hs_serialize_database), payload hash. Anything that does not check out is compiled again.
constexpr char kDbMagic[16] = "vigil-hsdb-1";
constexpr size_t kKeepDatabases = 4096;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
uint64_t std_hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

struct DbKey {
  uint64_t name = 0, check = 0;  // two independent hashes of everything compile() sees
};

DbKey db_key(const std::vector<const char*>& exprs, const std::vector<size_t>& lens, const std::vector<unsigned>& flags,
             const std::vector<unsigned>& ids) {
  std::string k = hs_version();
  // Databases are compiled for this CPU (the null platform): a cache shared with another CPU, or
  // seen under an emulator, keeps one file per platform instead of each recompiling over the other's.
  hs_platform_info_t cpu{};
  if (hs_populate_platform(&cpu) == HS_SUCCESS)
    k += " cpu " + std::to_string(cpu.tune) + ':' + std::to_string(cpu.cpu_features);
  for (size_t i = 0; i < exprs.size(); ++i) {
    k += '\0' + std::to_string(flags[i]) + ':' + std::to_string(ids[i]) + ':' + std::to_string(lens[i]) + ':';
    k.append(exprs[i], lens[i]);
  }
  return {fnv1a(k), std_hash(k)};
}

std::string db_path(const std::string& dir, const DbKey& key) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.db", static_cast<unsigned long long>(key.name));
  return dir + "/hyperscan/" + name;
}

hs_database_t* load_db(const std::string& path, const DbKey& key) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  std::string buf;
  bool read = read_all(fd, buf, 1 << 16);
  ::close(fd);
  if (!read || buf.size() < 40 || std::memcmp(buf.data(), kDbMagic, sizeof kDbMagic) != 0) return nullptr;
  uint64_t check = 0, len = 0, sum = 0;
  std::memcpy(&check, buf.data() + 16, 8);
  std::memcpy(&len, buf.data() + 24, 8);
  if (check != key.check || len != buf.size() - 40) return nullptr;
  std::string_view payload(buf.data() + 32, len);
  std::memcpy(&sum, buf.data() + 32 + len, 8);
  if (sum != std_hash(payload)) return nullptr;
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(payload.data(), payload.size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

void store_db(const std::string& path, const DbKey& key, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) return;
  std::string buf(kDbMagic, sizeof kDbMagic);
  uint64_t len64 = len, sum = std_hash(std::string_view(bytes, len));
  buf.append(reinterpret_cast<const char*>(&key.check), 8);
  buf.append(reinterpret_cast<const char*>(&len64), 8);
  buf.append(bytes, len);
  buf.append(reinterpret_cast<const char*>(&sum), 8);
  std::free(bytes);  // hs_serialize_database allocates with the default misc allocator (malloc)
  if (!write_file_atomically(path, buf).empty()) return;
  keep_newest(std::filesystem::path(path).parent_path().string(), "", ".db", kKeepDatabases);
}

}  // namespace

std::unique_ptr<Prefilter> Prefilter::build(const std::vector<PrefilterPattern>& patterns, std::string* error,
                                            const std::string& cache_dir) {
  if (patterns.empty()) {
    if (error) *error = "no patterns";
    return nullptr;
  }
  // The literal API (no regex parsing) compiles thousands of patterns in a fraction of the
  // regex path's time and takes bytes with explicit lengths, so NUL needs no escaping.
  // It has no anchors: they are checked on each reported match instead, which is why
  // anchored patterns report every occurrence (no HS_FLAG_SINGLEMATCH: the first
  // occurrence may not be the one at the end).
  std::vector<const char*> exprs;
  std::vector<size_t> lens;
  std::vector<unsigned> flags, ids;
  std::vector<HyperscanPrefilter::Info> info;
  for (const auto& p : patterns) {
    if (p.literal.empty() || p.literal.size() > UINT32_MAX) {
      if (error) *error = "empty or oversized literal";
      return nullptr;
    }
    exprs.push_back(p.literal.data());
    lens.push_back(p.literal.size());
    flags.push_back((p.caseless ? HS_FLAG_CASELESS : 0u) | (p.at_start || p.at_end ? 0u : HS_FLAG_SINGLEMATCH));
    ids.push_back(static_cast<unsigned>(info.size()));
    info.push_back({p.id, static_cast<uint32_t>(p.literal.size()), p.at_start, p.at_end});
  }
  DbKey key;
  std::string path;
  if (!cache_dir.empty()) {
    key = db_key(exprs, lens, flags, ids);
    path = db_path(cache_dir, key);
    if (hs_database_t* db = load_db(path, key)) return std::make_unique<HyperscanPrefilter>(db, std::move(info));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(), static_cast<unsigned>(exprs.size()),
                           HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    if (error) *error = std::string("hyperscan: ") + (err && err->message ? err->message : "compile failed");
    hs_free_compile_error(err);
    return nullptr;
  }
  if (!path.empty()) store_db(path, key, db);
  return std::make_unique<HyperscanPrefilter>(db, std::move(info));
}

#else  // no multi-pattern engine: callers test every atom directly

PrefilterScratch::~PrefilterScratch() = default;
PrefilterScratch& PrefilterScratch::operator=(PrefilterScratch&& o) noexcept {
  impl_ = o.impl_;
  o.impl_ = nullptr;
  return *this;
}

std::unique_ptr<Prefilter> Prefilter::build(const std::vector<PrefilterPattern>&, std::string* error,
                                            const std::string&) {
  if (error) *error = "built without Hyperscan";
  return nullptr;
}

#endif

}  // namespace vigil::match
