#include "ir/atom.h"

#include <fmt/format.h>

#include "core/strings.h"
#include "ir/atom_table.h"
#include "ir/predicate.h"

namespace vigil::ir {

const char* atom_kind_name(AtomKind k) {
  switch (k) {
    case AtomKind::eq: return "eq";
    case AtomKind::wildcard: return "wildcard";
    case AtomKind::contains: return "contains";
    case AtomKind::starts_with: return "starts_with";
    case AtomKind::ends_with: return "ends_with";
    case AtomKind::regex: return "regex";
    case AtomKind::cidr: return "cidr";
    case AtomKind::lt: return "lt";
    case AtomKind::le: return "le";
    case AtomKind::gt: return "gt";
    case AtomKind::ge: return "ge";
    case AtomKind::exists: return "exists";
    case AtomKind::field_eq: return "field_eq";
    case AtomKind::keyword: return "keyword";
    case AtomKind::field_contains: return "field_contains";
    case AtomKind::field_starts_with: return "field_starts_with";
    case AtomKind::field_ends_with: return "field_ends_with";
  }
  return "?";
}

bool field_ref_matches(AtomKind k, std::string_view v, std::string_view o, bool cs) {
  auto eq = [cs](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    if (cs) return a == b;
    for (size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = char(x + 32);
      if (y >= 'A' && y <= 'Z') y = char(y + 32);
      if (x != y) return false;
    }
    return true;
  };
  switch (k) {
    case AtomKind::field_eq: return eq(v, o);
    case AtomKind::field_starts_with: return v.size() >= o.size() && eq(v.substr(0, o.size()), o);
    case AtomKind::field_ends_with: return v.size() >= o.size() && eq(v.substr(v.size() - o.size()), o);
    case AtomKind::field_contains:
      if (o.size() > v.size()) return false;
      for (size_t i = 0; i + o.size() <= v.size(); ++i)
        if (eq(v.substr(i, o.size()), o)) return true;
      return false;
    default: return false;
  }
}

std::string Atom::key() const {
  // Case-insensitive atoms compare values case-folded, so `Cmd.Exe` and `cmd.exe` are one atom.
  std::string v = value;
  if (!case_sensitive && kind != AtomKind::regex)
    for (auto& c : v) c = (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
  return fmt::format("{}\x1f{}\x1f{}\x1f{}", field, int(kind), case_sensitive ? 1 : 0, v);
}

// Case-insensitive atoms compare values case-folded (as Atom::key() does), so `Cmd.Exe` and
// `cmd.exe` are one atom; the first one interned keeps its spelling.
static bool folds(const Atom& a) { return !a.case_sensitive && a.kind != AtomKind::regex; }

size_t AtomTable::identity_hash(const Atom& a) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (int i = 0; i < 4; ++i) mix(static_cast<unsigned char>(a.field >> (8 * i)));
  mix(static_cast<unsigned char>(a.kind));
  mix(a.case_sensitive ? 1 : 0);
  const bool fold = folds(a);
  for (char c : a.value) mix(static_cast<unsigned char>(fold ? ascii_lower(c) : c));
  // FNV's low bits depend only on the low bits of each step; the index picks slots by them.
  h ^= h >> 32;
  h *= 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  return static_cast<size_t>(h);
}

bool AtomTable::same_identity(const Atom& a, const Atom& b) {
  if (a.field != b.field || a.kind != b.kind || a.case_sensitive != b.case_sensitive) return false;
  return folds(a) ? iequals(a.value, b.value) : a.value == b.value;
}

AtomId AtomTable::intern(const Atom& a) {
  std::lock_guard lock(mu_);
  return intern_hashed(a, identity_hash(a));
}

AtomId AtomTable::intern_from(const AtomTable& other, AtomId id) {
  std::lock_guard lock(mu_);
  return intern_hashed(other.atoms_[id], other.hashes_[id]);
}

AtomId AtomTable::intern_hashed(const Atom& a, size_t h) {
  const uint32_t at = index_.find(h, [&](uint32_t k) { return hashes_[k] == h && same_identity(a, atoms_[k]); });
  if (at != HashIndex::kNone) return at;
  AtomId id = static_cast<AtomId>(atoms_.size());
  atoms_.push_back(a);
  hashes_.push_back(h);
  counts_.emplace_back();
  last_rule_.push_back(0);
  index_.add(h, id, atoms_.size(), [&](size_t k) { return hashes_[k]; });
  return id;
}

void AtomTable::add_reference(AtomId id, Language lang, uint32_t rule_index) {
  std::lock_guard lock(mu_);
  if (last_rule_[id] == rule_index + 1) return;
  last_rule_[id] = rule_index + 1;
  (lang == Language::sigma ? counts_[id].sigma : counts_[id].escu)++;
}

AtomTable::Counts AtomTable::counts(AtomId id) const { return counts_[id]; }

std::string AtomTable::describe(AtomId id) const {
  const Atom& a = atoms_[id];
  std::string f(field_names().name(a.field));
  switch (a.kind) {
    case AtomKind::eq: return fmt::format("{} = {}", f, a.value);
    case AtomKind::wildcard: return fmt::format("{} = {}", f, a.value);
    case AtomKind::exists: return fmt::format("{} exists", f);
    case AtomKind::lt: return fmt::format("{} < {}", f, a.value);
    case AtomKind::le: return fmt::format("{} <= {}", f, a.value);
    case AtomKind::gt: return fmt::format("{} > {}", f, a.value);
    case AtomKind::ge: return fmt::format("{} >= {}", f, a.value);
    case AtomKind::keyword: return fmt::format("\"{}\"", a.value);
    default: return fmt::format("{} {} {}", f, atom_kind_name(a.kind), a.value);
  }
}

Predicate Predicate::make_and(std::vector<Predicate> c) {
  std::vector<Predicate> kept;
  for (auto& p : c) {
    if (p.op == Op::always) continue;
    if (p.op == Op::never) return always_false();
    if (p.op == Op::and_) {
      for (auto& g : p.children) kept.push_back(std::move(g));
    } else {
      kept.push_back(std::move(p));
    }
  }
  if (kept.empty()) return always_true();
  if (kept.size() == 1) return std::move(kept[0]);
  Predicate r;
  r.op = Op::and_;
  r.children = std::move(kept);
  return r;
}

Predicate Predicate::make_or(std::vector<Predicate> c) {
  std::vector<Predicate> kept;
  for (auto& p : c) {
    if (p.op == Op::never) continue;
    if (p.op == Op::always) return always_true();
    if (p.op == Op::or_) {
      for (auto& g : p.children) kept.push_back(std::move(g));
    } else {
      kept.push_back(std::move(p));
    }
  }
  if (kept.empty()) return always_false();
  if (kept.size() == 1) return std::move(kept[0]);
  Predicate r;
  r.op = Op::or_;
  r.children = std::move(kept);
  return r;
}

Predicate Predicate::make_not(Predicate c) {
  if (c.op == Op::always) return always_false();
  if (c.op == Op::never) return always_true();
  if (c.op == Op::not_) return std::move(c.children[0]);
  Predicate r;
  r.op = Op::not_;
  r.children.push_back(std::move(c));
  return r;
}

void Predicate::collect_atoms(std::vector<AtomId>& out) const {
  if (op == Op::atom) out.push_back(atom);
  for (auto& c : children) c.collect_atoms(out);
}

void Predicate::remap_atoms(const std::vector<AtomId>& to) {
  if (op == Op::atom) atom = to[atom];
  for (auto& c : children) c.remap_atoms(to);
}

uint32_t FlatPredicates::add(const Predicate& p) {
  const auto at = static_cast<uint32_t>(nodes.size());
  nodes.push_back({p.op, p.op == Predicate::Op::atom ? p.atom : static_cast<uint32_t>(p.children.size()), 0});
  for (auto& c : p.children) add(c);
  nodes[at].end = static_cast<uint32_t>(nodes.size());
  return at;
}

std::string Predicate::to_string(const AtomTable& atoms) const {
  switch (op) {
    case Op::always: return "true";
    case Op::never: return "false";
    case Op::atom: return atoms.describe(atom);
    case Op::not_: {
      // Appended, not `"NOT " + std::string&&`: GCC 12 at -O3 takes that insert for an overlapping copy (-Wrestrict).
      const bool paren = children[0].op != Op::atom;
      std::string s = paren ? "NOT (" : "NOT ";
      s += children[0].to_string(atoms);
      if (paren) s += ')';
      return s;
    }
    case Op::and_:
    case Op::or_: {
      std::string s;
      for (size_t i = 0; i < children.size(); ++i) {
        if (i) s += op == Op::and_ ? " AND " : " OR ";
        bool paren = children[i].op == Op::and_ || children[i].op == Op::or_;
        if (paren) s += '(';
        s += children[i].to_string(atoms);
        if (paren) s += ')';
      }
      return s;
    }
  }
  return "?";
}

}  // namespace vigil::ir
