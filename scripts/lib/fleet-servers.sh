# Sourced by scripts/fleet-demo and bench/fleet: starts Debian's nats-server (JetStream) and
# clickhouse-server on free loopback ports with their data in $FLEET_WORK, and stops them when the
# calling script exits. Sets NATS_PORT, CH_HTTP_PORT, CH_TCP_PORT. Nothing listens beyond 127.0.0.1.
# (tests/e2e/servers.h starts the same servers for the tests, from C++.)

fleet_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

fleet_wait_port() {
  for _ in $(seq 1 400); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

fleet_pids=()
fleet_stop() {
  for p in "${fleet_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

fleet_start_servers() {
  local w=${FLEET_WORK:?FLEET_WORK is not set}
  for p in nats-server clickhouse-server python3; do
    command -v "$p" >/dev/null || { echo "$p is missing: scripts/install-deps installs it" >&2; return 1; }
  done
  NATS_PORT=$(fleet_free_port)
  mkdir -p "$w/nats" "$w/clickhouse"
  nats-server -js -sd "$w/nats" -a 127.0.0.1 -p "$NATS_PORT" -l "$w/nats/server.log" &
  fleet_pids+=($!)
  CH_HTTP_PORT=$(fleet_free_port)
  CH_TCP_PORT=$(fleet_free_port)
  cat > "$w/clickhouse/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$w/clickhouse/server.log</log><errorlog>$w/clickhouse/error.log</errorlog><console>0</console></logger>
  <http_port>$CH_HTTP_PORT</http_port><tcp_port>$CH_TCP_PORT</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>$w/clickhouse/data/</path><tmp_path>$w/clickhouse/tmp/</tmp_path>
  <user_files_path>$w/clickhouse/user_files/</user_files_path><format_schema_path>$w/clickhouse/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size><timezone>UTC</timezone>
  <remote_servers><flowaudit><shard><replica><host>127.0.0.1</host><port>$CH_TCP_PORT</port></replica></shard></flowaudit></remote_servers>
</yandex>
XML
  cat > "$w/clickhouse/users.xml" <<XML
<yandex><profiles><default/></profiles><quotas><default/></quotas>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users></yandex>
XML
  clickhouse-server --config-file="$w/clickhouse/config.xml" >/dev/null 2>&1 &
  fleet_pids+=($!)
  fleet_wait_port "$NATS_PORT" && fleet_wait_port "$CH_HTTP_PORT" ||
    { echo "the servers did not start (logs in $w)" >&2; return 1; }
}
