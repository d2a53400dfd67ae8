#include "clickhouse/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace vigil::clickhouse {

namespace {
std::once_flag curl_init;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string url_escape(CURL* c, std::string_view s) {
  char* e = curl_easy_escape(c, s.data(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// ClickHouse's messages end with a newline and repeat the exception class; keep the first line.
std::string first_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  if (s.size() > 2000) s = s.substr(0, 2000) + "…";
  return s;
}
}  // namespace

HttpClient::HttpClient(std::string url) : url_(std::move(url)) {
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
  curl_ = curl_easy_init();
  // A batched hunt query holds every rule's filter: far past the default 256 KiB / 50,000 nodes.
  settings_ = {{"max_query_size", "1073741824"}, {"max_ast_elements", "100000000"},
               {"max_expanded_ast_elements", "100000000"}, {"max_ast_depth", "100000"},
               // Inserts into a Distributed table reach every shard before the INSERT answers, and a
               // shard that does not answer fails the query instead of being left out.
               {"insert_distributed_sync", "1"}, {"skip_unavailable_shards", "0"},
               // The fetch is sorted by load order: spill to disk rather than fail on a large answer.
               {"max_bytes_before_external_sort", "1000000000"}};
}

HttpClient::~HttpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<std::string> HttpClient::query(std::string_view sql) const { return request({}, sql); }

Result<std::string> HttpClient::insert(std::string_view sql, std::string_view data) const {
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return Error{"cannot initialise libcurl", {}};
  return request("query=" + url_escape(c, sql), data);
}

Result<std::string> HttpClient::request(std::string_view url_query, std::string_view body) const {
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return Error{"cannot initialise libcurl", {}};
  std::string url = url_;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  url += sep;
  url += "wait_end_of_query=1";
  for (auto& [k, v] : settings_) url += "&" + k + "=" + url_escape(c, v);
  if (!url_query.empty()) {
    url += '&';
    url += url_query;
  }
  std::string response;
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_);
  // Only plain HTTP(S) to the given server: no redirects, no proxies from the environment.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK)
    return Error{"ClickHouse server " + url_ + " unreachable: " + (errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc)), {}};
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200)
    return Error{"ClickHouse server " + url_ + " answered HTTP " + std::to_string(status) + ": " + first_line(response), {}};
  return response;
}

std::string sql_quote(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  for (unsigned char ch : s) {
    if (ch == '\\' || ch == '\'') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20 || ch == 0x7f) {
      out += "\\x";
      out += hex[ch >> 4];
      out += hex[ch & 15];
    } else {
      out += static_cast<char>(ch);
    }
  }
  out += '\'';
  return out;
}

std::string sql_ident(std::string_view s) {
  std::string out = "`";
  for (char ch : s) {
    if (ch == '`' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '`';
  return out;
}

}  // namespace vigil::clickhouse
