#include "engine/engine.h"

#include <chrono>
#include <map>

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
}

Engine::~Engine() = default;

const std::vector<EventRef>& Engine::matched_events(size_t i) const { return state_[i]->matched; }

void Engine::process(const Record& r) {
  ++evaluated_;
  normalizer_.normalize(r, event_);
  matcher_.begin(event_);
  for (size_t ri = 0; ri < rules_.size(); ++ri) {
    RuleState& rs = *state_[ri];
    for (size_t si = 0; si < rs.streams.size(); ++si) {
      StreamState& ss = rs.streams[si];
      const ir::Stream& s = *ss.stream;
      if (s.source.kind == ir::Source::Kind::none || ss.unknown_source) continue;
      if (s.source.kind == ir::Source::Kind::datamodel && !event_.in_dataset(static_cast<DatasetId>(ss.dataset)))
        continue;
      if (!matcher_.eval(s.filter)) continue;
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
        continue;
      }
      // Capture the event as a row of the stream's view.
      Row row;
      auto put = [&](std::string_view name, std::string_view value) {
        if (Value* cur = row.get_mut(name)) {
          auto vals = cur->all_texts();
          vals.emplace_back(value);
          *cur = Value::multi(std::move(vals));
        } else {
          row.entries().emplace_back(std::string(name), Value(value));
        }
      };
      for (auto& f : event_.fields()) {
        if (f.name == time_sym_) continue;
        if (s.source.kind == ir::Source::Kind::raw ? f.view == 0 : f.view == ss.view)
          put(field_names().name(f.name), f.value);
      }
      if (event_.has_time()) row.set("_time", Value(event_.time()));
      ss.rows.push_back(std::move(row));
    }
  }
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
