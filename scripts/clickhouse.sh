#!/usr/bin/env bash
# A two-shard ClickHouse cluster on loopback for `vigil load/hunt --clickhouse` and its tests.
#
#   scripts/clickhouse.sh start DIR   two clickhouse-server processes, own data folders under DIR,
#                                     127.0.0.1 only, a remote_servers config `vigil` of two shards
#   scripts/clickhouse.sh stop DIR    stops them (by the pids written at start)
#   scripts/clickhouse.sh status DIR  prints the HTTP URL of shard 1 when both answer
#
# Ports: VIGIL_CH_PORT_BASE (default 18120): shard k (1, 2) listens on HTTP base+k, native TCP
# base+10+k, interserver base+20+k. No systemd; works as root (the server drops nothing) or as a
# user. Needs the Debian package clickhouse-server (scripts/setup.sh installs it).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
base=${VIGIL_CH_PORT_BASE:-18120}
server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)

http_port() { echo $((base + $1)); }
tcp_port() { echo $((base + 10 + $1)); }

write_config() {
  local k=$1 d=$2
  mkdir -p "$d/data/" "$d/tmp/" "$d/user_files/" "$d/log" "$d/format_schemas/"
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/log/server.log</log><errorlog>$d/log/server.err.log</errorlog>
    <size>10M</size><count>2</count></logger>
  <http_port>$(http_port "$k")</http_port>
  <tcp_port>$(tcp_port "$k")</tcp_port>
  <interserver_http_port>$((base + 20 + k))</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>32</max_concurrent_queries>
  <uncompressed_cache_size>8589934592</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers>
    <vigil>
      <shard><replica><host>127.0.0.1</host><port>$(tcp_port 1)</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$(tcp_port 2)</port></replica></shard>
    </vigil>
  </remote_servers>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
}

write_users() {
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default>
    <max_memory_usage>4000000000</max_memory_usage>
    <load_balancing>in_order</load_balancing>
    <connect_timeout_with_failover_ms>1000</connect_timeout_with_failover_ms>
    <connections_with_failover_max_tries>1</connections_with_failover_max_tries>
  </default></profiles>
  <users><default>
    <password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota>
  </default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

ping() { curl -sf --max-time 2 "http://127.0.0.1:$(http_port "$1")/ping" >/dev/null 2>&1; }

case "$cmd" in
  start)
    [ -x "$server" ] || { echo "clickhouse.sh: clickhouse-server not installed (apt-get install clickhouse-server)" >&2; exit 3; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    write_users
    for k in 1 2; do
      d="$dir/shard$k"
      write_config "$k" "$d"
      if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then continue; fi
      # setsid: the servers outlive this script; their pids are what stop kills.
      setsid "$server" --config-file="$d/config.xml" >"$d/log/stdout.log" 2>&1 </dev/null &
      echo $! >"$d/pid"
    done
    for _ in $(seq 1 120); do
      if ping 1 && ping 2; then
        echo "http://127.0.0.1:$(http_port 1)"
        exit 0
      fi
      sleep 0.5
    done
    echo "clickhouse.sh: servers did not answer within 60 s; see $dir/shard*/log" >&2
    exit 1
    ;;
  stop)
    [ -d "$dir" ] || exit 0
    dir=$(cd "$dir" && pwd)
    for k in 1 2; do
      p="$dir/shard$k/pid"
      [ -f "$p" ] || continue
      pid=$(cat "$p")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$p"
    done
    ;;
  status)
    if ping 1 && ping 2; then echo "http://127.0.0.1:$(http_port 1)"; else exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status DIR" >&2; exit 2 ;;
esac
