#include "ingest/evtx/render.h"

namespace vigil::evtx {
namespace {

void escape(std::string& out, std::string_view s) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char* rep;
    switch (s[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      default: continue;
    }
    out.append(s.data() + start, i - start);
    out += rep;
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

void text_element(std::string& out, const Record& r, std::string_view field, std::string_view elem) {
  const Field* f = r.find_system(field);
  if (!f) return;
  out += '<';
  out += elem;
  out += '>';
  escape(out, f->value);
  out += "</";
  out += elem;
  out += '>';
}

// <elem a1="…" a2="…"/>, written only when `always` or one attribute is present.
void attr_element(std::string& out, const Record& r, std::string_view elem,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> attrs, bool always) {
  bool any = false;
  for (auto& [field, attr] : attrs) any |= r.find_system(field) != nullptr;
  if (!any && !always) return;
  out += '<';
  out += elem;
  for (auto& [field, attr] : attrs) {
    if (const Field* f = r.find_system(field)) {
      out += ' ';
      out += attr;
      out += "=\"";
      escape(out, f->value);
      out += '"';
    }
  }
  out += "/>";
}

}  // namespace

void render_xml(const Record& r, std::string& out) {
  out += "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>";
  attr_element(out, r, "Provider", {{sys::Provider, "Name"}, {sys::ProviderGuid, "Guid"}}, true);
  text_element(out, r, sys::EventID, "EventID");
  text_element(out, r, sys::Version, "Version");
  text_element(out, r, sys::Level, "Level");
  text_element(out, r, sys::Task, "Task");
  text_element(out, r, sys::Opcode, "Opcode");
  text_element(out, r, sys::Keywords, "Keywords");
  attr_element(out, r, "TimeCreated", {{sys::TimeCreated, "SystemTime"}}, true);
  text_element(out, r, sys::EventRecordID, "EventRecordID");
  attr_element(out, r, "Correlation", {{sys::ActivityID, "ActivityID"}}, true);
  attr_element(out, r, "Execution", {{sys::ProcessID, "ProcessID"}, {sys::ThreadID, "ThreadID"}}, false);
  text_element(out, r, sys::Channel, "Channel");
  text_element(out, r, sys::Computer, "Computer");
  attr_element(out, r, "Security", {{sys::UserID, "UserID"}}, true);
  out += "</System>";
  if (!r.data.empty()) {
    out += "<EventData>";
    for (const Field& f : r.data) {
      if (f.name == "Data") {
        out += "<Data>";  // unnamed Data stays unnamed
      } else {
        out += "<Data Name=\"";
        escape(out, f.name);
        out += "\">";
      }
      escape(out, f.value);
      out += "</Data>";
    }
    out += "</EventData>";
  }
  out += "</Event>";
}

}  // namespace vigil::evtx
