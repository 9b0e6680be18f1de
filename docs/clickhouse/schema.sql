-- flowaudit's event store in ClickHouse (docs/fleet.md): one flat table per OCSF class, filled by
-- `flowaudit sink` (its --create-tables runs this file, which is built into the binary).
--
-- Every table is a ReplacingMergeTree ordered by (sensor, time, event_id): an event delivered twice
-- (at-least-once delivery, a capture audited again) has the same event_id, sensor and time, and the
-- copies collapse into one row when ClickHouse merges the parts. Until then a query that must count
-- each event once says FINAL (or counts uniqExact(event_id)). Partitions are months of the event's
-- time, which the copies of one event share.
--
-- Only types ClickHouse 18.16 (Debian 12's clickhouse-server) supports: no DateTime64, Map,
-- LowCardinality or JSON. The same statements work on a current ClickHouse.
-- Times are seconds (UTC); "" and 0 stand for unknown.

CREATE TABLE IF NOT EXISTS network_activity (
    event_id UUID, time DateTime('UTC'), day Date MATERIALIZED toDate(time), logged DateTime('UTC'),
    sensor String, device String, app String, app_version String, labels Array(String),
    source String, flowaudit_version String, activity String, severity_id UInt8,
    src_ip String, src_port UInt16, dst_ip String, dst_port UInt16, dst_name String,
    service_id String, operator String, jurisdiction String, parent_jurisdiction String,
    country String, asn UInt32, as_org String,
    start_time DateTime('UTC'), end_time DateTime('UTC'), end_reason String,
    transport String, ip_version UInt8, direction String, proxy_ip String, proxy_port UInt16,
    bytes_out UInt64, bytes_in UInt64, packets_out UInt64, packets_in UInt64,
    hostname String, hostname_source String, unnamed_reason String, app_protocol String,
    encrypted String, blind_spot String, blind_spot_reason String,
    tls_version String, tls_sni String, tls_cipher String, ja3 String, ja4 String, quic_version String,
    cert_subject String, cert_issuer String, process String, pid UInt32, flow_id UInt64
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(time) ORDER BY (sensor, time, event_id);

CREATE TABLE IF NOT EXISTS http_activity (
    event_id UUID, time DateTime('UTC'), day Date MATERIALIZED toDate(time), logged DateTime('UTC'),
    sensor String, device String, app String, app_version String, labels Array(String),
    source String, flowaudit_version String, activity String, severity_id UInt8,
    src_ip String, src_port UInt16, dst_ip String, dst_port UInt16, dst_name String,
    service_id String, operator String, jurisdiction String, parent_jurisdiction String,
    country String, asn UInt32, as_org String,
    flow_id UInt64, request UInt32, method String, scheme String, authority String, path String, url String,
    status UInt16, response_seen UInt8, request_content_type String, response_content_type String,
    request_body_bytes UInt64, response_body_bytes UInt64, chat_service String, prompt_bytes UInt64,
    data_types Array(String), data_fields Array(String), data_values Array(String), data_detectors Array(String)
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(time) ORDER BY (sensor, time, event_id);

CREATE TABLE IF NOT EXISTS dns_activity (
    event_id UUID, time DateTime('UTC'), day Date MATERIALIZED toDate(time), logged DateTime('UTC'),
    sensor String, device String, app String, app_version String, labels Array(String),
    source String, flowaudit_version String, activity String, severity_id UInt8,
    src_ip String, src_port UInt16, dst_ip String, dst_port UInt16,
    flow_id UInt64, query String, qtype String, rcode String, answers Array(String), transport String,
    local String, name_error String, ech UInt8
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(time) ORDER BY (sensor, time, event_id);

CREATE TABLE IF NOT EXISTS findings (
    event_id UUID, time DateTime('UTC'), day Date MATERIALIZED toDate(time), logged DateTime('UTC'),
    sensor String, device String, app String, app_version String, labels Array(String),
    source String, flowaudit_version String, activity String, severity_id UInt8,
    dst_ip String, dst_port UInt16, dst_name String,
    service_id String, operator String, jurisdiction String, parent_jurisdiction String,
    country String, asn UInt32, as_org String, dns_query String,
    rule String, pack String, title String, message String, severity String, status String, waiver String,
    scope String, flows UInt64, flow_ids Array(UInt64), bytes_out UInt64, bytes_in UInt64,
    references Array(String), first_seen DateTime('UTC'), last_seen DateTime('UTC')
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(time) ORDER BY (sensor, time, event_id);
