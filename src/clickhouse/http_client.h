// A ClickHouse server over its HTTP interface (libcurl; no protocol of our own).
//
// Every request carries `wait_end_of_query=1`, so the server buffers the whole
// result before answering: an error on the server or on any shard behind a
// Distributed table comes back as an HTTP error status with ClickHouse's
// message, never as a 200 followed by a truncated body. A dead server is a
// transport error naming the URL. Nothing here throws.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace vigil::clickhouse {

class HttpClient {
 public:
  /// `url` like http://127.0.0.1:8123 (an optional trailing path or `?database=` is kept).
  explicit HttpClient(std::string url);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Runs `sql` (sent as the request body) and returns the response body.
  Result<std::string> query(std::string_view sql) const;
  /// Runs `INSERT … FORMAT X` given in `sql` (sent in the URL) with `data` as the body.
  Result<std::string> insert(std::string_view sql, std::string_view data) const;
  /// Extra URL settings for every request (e.g. max_query_size).
  void set_setting(std::string name, std::string value) { settings_.emplace_back(std::move(name), std::move(value)); }
  const std::string& url() const { return url_; }
  /// Seconds a request may take in total; 0 = no limit.
  void set_timeout(long seconds) { timeout_ = seconds; }

 private:
  Result<std::string> request(std::string_view url_query, std::string_view body) const;
  std::string url_;
  std::vector<std::pair<std::string, std::string>> settings_;
  long timeout_ = 0;
  void* curl_ = nullptr;  // CURL*, reused for keep-alive
};

/// Quotes a string as a ClickHouse SQL literal: '…' with \ and ' escaped, control bytes as \xNN.
std::string sql_quote(std::string_view s);
/// Quotes an identifier with backticks.
std::string sql_ident(std::string_view s);

}  // namespace vigil::clickhouse
