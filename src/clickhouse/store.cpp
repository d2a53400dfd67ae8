#include "clickhouse/store.h"

#include "core/strings.h"

namespace vigil::clickhouse {

namespace {
std::vector<std::vector<std::string>> tsv_rows(const std::string& body) {
  // Only for system-table answers in TabSeparated: identifiers and numbers, unescape \\ \t \n.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  for (size_t i = 0; i < body.size(); ++i) {
    char ch = body[i];
    if (ch == '\\' && i + 1 < body.size()) {
      char n = body[++i];
      cell += n == 't' ? '\t' : n == 'n' ? '\n' : n == '0' ? '\0' : n;
    } else if (ch == '\t') {
      row.push_back(std::move(cell));
      cell.clear();
    } else if (ch == '\n') {
      row.push_back(std::move(cell));
      cell.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      cell += ch;
    }
  }
  return rows;
}
}  // namespace

Result<Store> inspect(const HttpClient& client) {
  Store st;
  auto tables = client.query(
      "SELECT name, engine, engine_full FROM system.tables WHERE database = currentDatabase() AND name LIKE 'vigil\\\\_%' "
      "FORMAT TabSeparated");
  if (!tables) return tables.error();
  std::map<std::string, std::string> engines;
  for (auto& r : tsv_rows(*tables)) {
    if (r.size() < 3) continue;
    engines[r[0]] = r[1];
    if (r[0] == kRawTable && r[1] == "Distributed") {
      st.clustered = true;
      // engine_full: Distributed(vigil, currentDatabase(), vigil_raw_local, cityHash64(host))
      std::string_view e = r[2];
      auto open = e.find('(');
      auto comma = e.find(',', open);
      if (open != std::string_view::npos && comma != std::string_view::npos) {
        std::string_view name = trim(e.substr(open + 1, comma - open - 1));
        if (name.size() >= 2 && (name.front() == '\'' || name.front() == '`')) name = name.substr(1, name.size() - 2);
        st.cluster = std::string(name);
      }
    }
  }
  auto cols = client.query(
      "SELECT table, name FROM system.columns WHERE database = currentDatabase() AND table LIKE 'vigil\\\\_%' "
      "FORMAT TabSeparated");
  if (!cols) return cols.error();
  for (auto& r : tsv_rows(*cols)) {
    if (r.size() < 2) continue;
    const std::string& table = r[0];
    if ((table.size() > 6 && table.ends_with("_local")) || table == kShardsTable) continue;
    auto& list = st.columns[table];
    if (r[1].rfind("c_", 0) == 0) list.push_back(r[1].substr(2));
  }
  if (st.clustered && !st.cluster.empty()) {
    auto sh = client.query("SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = " +
                           sql_quote(st.cluster) + " ORDER BY shard_num, replica_num FORMAT TabSeparated");
    if (!sh) return sh.error();
    for (auto& r : tsv_rows(*sh)) {
      if (r.size() < 3) continue;
      long long n = 0, p = 0;
      parse_int(r[0], n);
      parse_int(r[2], p);
      st.shards.push_back({int(n), r[1], int(p)});
    }
    if (engines.count(kShardsTable) && !st.shards.empty()) {
      auto urls = client.query(std::string("SELECT url FROM ") + kShardsTable + " FORMAT TabSeparated");
      if (!urls) return urls.error();
      // Which shard each URL is, as that server says: a URL of another cluster, a replica or a
      // shard listed twice must not count a shard's rows twice or leave one out.
      std::vector<std::string> by_shard(st.shards.size());
      bool ok = true;
      for (auto& r : tsv_rows(*urls)) {
        if (r.empty() || r[0].empty()) continue;
        HttpClient shard(r[0]);
        auto me = shard.query("SELECT shard_num FROM system.clusters WHERE cluster = " + sql_quote(st.cluster) +
                              " AND is_local FORMAT TabSeparated");
        long long n = 0;
        size_t i = 0;
        if (me && parse_int(trim(*me), n))
          while (i < st.shards.size() && st.shards[i].number != n) ++i;
        if (!me || i == st.shards.size() || !by_shard[i].empty()) {
          ok = false;
          break;
        }
        by_shard[i] = r[0];
      }
      for (auto& u : by_shard) ok = ok && !u.empty();
      if (ok) st.shard_urls = std::move(by_shard);
    }
  }
  return st;
}

Result<bool> record_shard_urls(const HttpClient& client, const std::vector<std::string>& shard_urls) {
  for (const std::string& sql : {std::string("DROP TABLE IF EXISTS ") + kShardsTable,
                                std::string("CREATE TABLE ") + kShardsTable + " (url String) ENGINE = TinyLog"})
    if (auto r = client.query(sql); !r) return r.error();
  std::string rows;
  for (auto& u : shard_urls) rows += (rows.empty() ? "(" : ", (") + sql_quote(u) + ")";
  if (!rows.empty())
    if (auto r = client.query(std::string("INSERT INTO ") + kShardsTable + " VALUES " + rows); !r) return r.error();
  return true;
}

Result<bool> ensure_tables(const HttpClient& client, const std::vector<TableSchema>& schema, const std::string& cluster,
                           const std::vector<std::string>& shard_urls) {
  if (cluster.empty()) {
    for (auto& t : schema)
      if (auto r = client.query(create_local_sql(t, false)); !r) return r.error();
    return true;
  }
  auto known = client.query("SELECT count() FROM system.clusters WHERE cluster = " + sql_quote(cluster) +
                            " FORMAT TabSeparated");
  if (!known) return known.error();
  if (trim(*known) == "0") return Error{"the server " + client.url() + " has no cluster '" + cluster + "' in its remote_servers", {}};
  bool on_cluster = true;
  for (auto& t : schema) {
    std::string sql = create_local_sql(t, true);
    std::string with = sql;
    with.insert(with.find(" (seq"), " ON CLUSTER " + sql_ident(cluster));
    if (on_cluster) {
      auto r = client.query(with);
      if (r) continue;
      // Distributed DDL needs ZooKeeper; a cluster without it is set up shard by shard.
      on_cluster = false;
      if (shard_urls.empty())
        return Error{"cannot create tables ON CLUSTER " + cluster + " (" + r.error().message +
                     "); name each shard's HTTP URL with --shard URL", {}};
    }
    if (auto r = client.query(sql); !r) return r.error();
    for (auto& u : shard_urls) {
      HttpClient shard(u);
      if (auto r = shard.query(sql); !r) return r.error();
    }
  }
  for (auto& t : schema)
    if (auto r = client.query(create_distributed_sql(t, cluster)); !r) return r.error();
  return true;
}

std::vector<std::string> dead_shards(const HttpClient& client, const Store& store) {
  std::vector<std::string> dead;
  for (auto& s : store.shards) {
    auto r = client.query("SELECT 1 FROM remote(" + sql_quote(s.address()) + ", system.one) FORMAT TabSeparated");
    if (!r) {
      // The server itself is gone: no probe can tell about the others.
      if (r.error().message.find("unreachable") != std::string::npos) return {};
      dead.push_back("shard " + std::to_string(s.number) + " (" + s.address() + ")");
    }
  }
  return dead;
}

std::string explain_failure(const HttpClient& client, const Store& store, const std::string& message) {
  auto dead = dead_shards(client, store);
  if (dead.empty()) return message;
  std::string names;
  for (auto& d : dead) names += (names.empty() ? "" : ", ") + d;
  return names + " of cluster " + store.cluster + " does not answer; no results are reported (" + message + ")";
}

}  // namespace vigil::clickhouse
