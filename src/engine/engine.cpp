#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "core/strings.h"

namespace vigil {

struct Engine::StreamState {
  const ir::Stream* stream = nullptr;
  int dataset = -1;       // normalizer dataset id for datamodel sources
  uint16_t view = 0;      // Event::Field::view of that dataset
  std::string prefix;     // "Processes."
  bool unknown_source = false;
  Table rows;
  bool done = false;      // operators have run
};

struct Engine::RuleState {
  std::vector<StreamState> streams;
  std::vector<EventRef> matched;
};

namespace {

class RuleContext : public ir::ExecContext {
 public:
  RuleContext(std::vector<Engine::StreamState*>& s) : streams_(s) {}
  Table stream_result(size_t k) override;
  void run_stream(Engine::StreamState& s);

 private:
  std::vector<Engine::StreamState*>& streams_;
};

}  // namespace

// Defined outside the anonymous namespace's class for access to StreamState.
void RuleContext::run_stream(Engine::StreamState& s) {
  if (s.done) return;
  s.done = true;
  for (auto& op : s.stream->operators) op->run(s.rows, *this);
}

Table RuleContext::stream_result(size_t k) {
  if (k >= streams_.size()) return {};
  run_stream(*streams_[k]);
  return streams_[k]->rows;
}

namespace {

// The EventID values (lower-cased) an event must have for `p` to hold, when the predicate says so
// (an `EventCode=N` / `EventID=N` / `event_simpleName=X` conjunct, or an OR of them); nullopt = any.
// CrowdStrike records carry event_simpleName as their EventID (see ingest/record.h).
std::optional<std::set<std::string>> required_event_ids(const ir::Predicate& p, const ir::AtomTable& atoms,
                                                        const std::vector<Symbol>& id_fields) {
  using Op = ir::Predicate::Op;
  switch (p.op) {
    case Op::atom: {
      const ir::Atom& a = atoms.get(p.atom);
      if (a.kind == ir::AtomKind::eq && std::find(id_fields.begin(), id_fields.end(), a.field) != id_fields.end())
        return std::set<std::string>{to_lower(a.value)};
      return std::nullopt;
    }
    case Op::and_:
      for (auto& c : p.children)
        if (auto r = required_event_ids(c, atoms, id_fields)) return r;
      return std::nullopt;
    case Op::or_: {
      std::set<std::string> all;
      for (auto& c : p.children) {
        auto r = required_event_ids(c, atoms, id_fields);
        if (!r) return std::nullopt;
        all.insert(r->begin(), r->end());
      }
      return all;
    }
    default: return std::nullopt;
  }
}

}  // namespace

Engine::Engine(const Normalizer& normalizer, const ir::AtomTable& atoms, std::vector<const ir::CompiledRule*> rules,
               EngineOptions opts, DiagnosticSink& diags)
    : normalizer_(normalizer), rules_(std::move(rules)), opts_(std::move(opts)), diags_(diags), matcher_(atoms) {
  if (opts_.now == 0)
    opts_.now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  time_sym_ = field_id("_time");
  record_sym_ = field_id("EventRecordID");
  stats_.resize(rules_.size());
  for (auto* rule : rules_) {
    auto st = std::make_unique<RuleState>();
    for (auto& s : rule->plan.streams) {
      StreamState ss;
      ss.stream = &s;
      if (s.source.kind == ir::Source::Kind::datamodel) {
        std::string full = s.source.datamodel + "." + s.source.dataset;
        ss.dataset = normalizer_.dataset_id(full);
        if (ss.dataset < 0) {
          ss.unknown_source = true;
        } else {
          ss.view = static_cast<uint16_t>(ss.dataset + 1);
          ss.prefix = normalizer_.datasets()[ss.dataset].prefix + ".";
        }
      }
      st->streams.push_back(std::move(ss));
    }
    state_.push_back(std::move(st));
  }
  event_id_sym_ = field_id("EventID");
  const std::vector<Symbol> id_fields = {event_id_sym_, field_id("EventCode"), field_id("event_simpleName")};
  by_dataset_.resize(normalizer_.datasets().size());
  for (uint32_t ri = 0; ri < state_.size(); ++ri)
    for (uint32_t si = 0; si < state_[ri]->streams.size(); ++si) {
      StreamState& ss = state_[ri]->streams[si];
      const ir::Stream& s = *ss.stream;
      if (s.source.kind == ir::Source::Kind::none || ss.unknown_source) continue;
      StreamRef ref{ri, si};
      if (s.source.kind == ir::Source::Kind::datamodel) {
        by_dataset_[ss.dataset].push_back(ref);
      } else if (auto ids = required_event_ids(s.filter, atoms, id_fields)) {
        for (auto& v : *ids) by_event_id_[v].push_back(ref);
      } else {
        always_.push_back(ref);
      }
    }
}

Engine::~Engine() = default;

const std::vector<EventRef>& Engine::matched_events(size_t i) const { return state_[i]->matched; }

void Engine::process(const Record& r) {
  ++evaluated_;
  normalizer_.normalize(r, event_);
  matcher_.begin(event_);
  for (auto& ref : always_) visit(ref, r);
  std::string_view eid;
  if (event_.get(event_id_sym_, eid) && !by_event_id_.empty()) {
    eid_key_.assign(eid);
    for (auto& ch : eid_key_) ch = ascii_lower(ch);
    auto it = by_event_id_.find(eid_key_);
    if (it != by_event_id_.end())
      for (auto& ref : it->second) visit(ref, r);
  }
  for (DatasetId d : event_.datasets())
    if (d < by_dataset_.size())
      for (auto& ref : by_dataset_[d]) visit(ref, r);
}

void Engine::visit(const StreamRef& ref, const Record& r) {
  const size_t ri = ref.rule, si = ref.stream;
  RuleState& rs = *state_[ri];
  StreamState& ss = rs.streams[si];
  const ir::Stream& s = *ss.stream;
  if (!matcher_.eval(s.filter)) return;
  if (si == 0) {
    ++stats_[ri].events_matched;
    if (rs.matched.size() < 10000) {
      std::string_view rid;
      event_.get(record_sym_, rid);
      rs.matched.push_back({std::string(r.file), std::string(rid)});
    }
  }
  if (ss.rows.size() >= opts_.max_rows_per_stream) {
    if (stats_[ri].rows_dropped++ == 0)
      diags_.warning({rules_[ri]->info.file}, "rule '" + rules_[ri]->info.name + "' captured more than " +
                                                  std::to_string(opts_.max_rows_per_stream) +
                                                  " events; further events are not aggregated",
                     "row-limit");
    return;
  }
  // Capture the event as a row of the stream's view; a repeated field becomes a multivalue.
  Row row;
  for (auto& f : event_.fields()) {
    if (f.name == time_sym_) continue;
    if (s.source.kind == ir::Source::Kind::raw ? f.view != 0 : f.view != ss.view) continue;
    std::string_view name = field_names().name(f.name);
    if (Value* cur = row.get_mut(name)) {
      auto vals = cur->all_texts();
      vals.emplace_back(f.value);
      *cur = Value::multi(std::move(vals));
    } else {
      row.entries().emplace_back(std::string(name), Value(f.value));
    }
  }
  if (event_.has_time()) row.set("_time", Value(event_.time()));
  ss.rows.push_back(std::move(row));
}

std::vector<Finding> Engine::finish() {
  std::vector<Finding> out;
  for (size_t ri = 0; ri < rules_.size(); ++ri) {
    RuleState& rs = *state_[ri];
    if (rs.streams.empty()) continue;
    std::vector<StreamState*> ptrs;
    for (auto& s : rs.streams) ptrs.push_back(&s);
    RuleContext ctx(ptrs);
    ctx.now = opts_.now;
    ctx.diags = &diags_;
    ctx.where = {rules_[ri]->info.file};
    ctx.allow_writes = opts_.allow_writes;
    ctx.writes_dir = opts_.writes_dir;
    ctx.run_stream(rs.streams[0]);
    // A rule with no operators maps result rows to matched events one to one.
    bool one_to_one = rs.streams[0].stream->operators.empty() && rs.matched.size() == rs.streams[0].rows.size();
    for (size_t i = 0; i < rs.streams[0].rows.size(); ++i) {
      // `stats count` over no events yields one row with count 0 (Splunk does this); it is not a finding.
      if (const Value* c = rs.streams[0].rows[i].get("count"))
        if (auto n = c->to_number(); n && *n == 0) continue;
      Finding f;
      f.rule = rules_[ri];
      f.row = std::move(rs.streams[0].rows[i]);
      if (one_to_one) f.sources.push_back(rs.matched[i]);
      out.push_back(std::move(f));
    }
    rs.streams[0].rows.clear();
  }
  return out;
}

}  // namespace vigil
