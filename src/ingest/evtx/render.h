// Windows-style XML rendering of an EVTX Record, for `vigil dump --format xml`.
//
// Renders from the Record's fields (the hunt path keeps no XML tree), in the
// element order and attribute names of Windows' own rendering:
//   <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
//   <Provider Name=… Guid=…/><EventID>…</EventID>…<Security UserID=…/></System>
//   <EventData><Data Name="X">v</Data>…</EventData></Event>
// Text and attribute values are XML-escaped (&amp; &lt; &gt; &quot;).
// Limitations: UserData leaves are rendered as <Data Name="leaf"> inside
// <EventData> (their nesting is not kept); EventID Qualifiers are not kept.
#pragma once
#include <string>

#include "ingest/record.h"

namespace vigil::evtx {

/// Append the XML of `r` (one line, no trailing newline) to `out`.
void render_xml(const Record& r, std::string& out);

}  // namespace vigil::evtx
