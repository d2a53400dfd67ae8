// Time as Splunk holds it: `_time` is epoch seconds (double, UTC).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

/// Parse ISO-8601 / Windows / NXLog forms: `2020-08-01T07:53:24.123456Z`,
/// `2020-08-01 07:53:24`, `2020-08-01 07:53:24.374`, optional `Z` or `+hh:mm`.
/// Times without a zone are taken as UTC.
std::optional<double> parse_time(std::string_view s);
/// Windows FILETIME (100 ns ticks since 1601) to epoch seconds.
double filetime_to_epoch(uint64_t filetime);
/// `2020-08-01T07:53:24.374000Z` (microseconds, as Windows renders SystemTime).
std::string format_iso8601(double epoch, int fraction_digits = 6);
/// strftime-style formatting in UTC; supports %Y %m %d %H %M %S %y %b %B %a %A %j %p %I %e %T %F %z %Z %s %N/%3N/%6N %%.
std::string format_time(double epoch, std::string_view fmt);
/// strptime-style parsing in UTC for the same directives; nullopt on mismatch.
std::optional<double> parse_time_format(std::string_view text, std::string_view fmt);
/// Days since 1970-01-01 for a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

}  // namespace vigil
