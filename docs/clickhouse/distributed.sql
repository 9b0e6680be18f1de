-- More than one ClickHouse node (docs/fleet.md): run schema.sql on every node, define the cluster
-- in each node's <remote_servers> (here `flowaudit`; replace it with yours), then create these
-- tables on every node. Sinks insert into the *_all tables (flowaudit sink --distributed), which
-- shard by event_id: every copy of an event lands on the same shard, where ReplacingMergeTree
-- collapses it. Queries read the *_all tables; FINAL applies on each shard.
CREATE TABLE IF NOT EXISTS network_activity_all AS network_activity
    ENGINE = Distributed(flowaudit, currentDatabase(), network_activity, sipHash64(toString(event_id)));
CREATE TABLE IF NOT EXISTS http_activity_all AS http_activity
    ENGINE = Distributed(flowaudit, currentDatabase(), http_activity, sipHash64(toString(event_id)));
CREATE TABLE IF NOT EXISTS dns_activity_all AS dns_activity
    ENGINE = Distributed(flowaudit, currentDatabase(), dns_activity, sipHash64(toString(event_id)));
CREATE TABLE IF NOT EXISTS findings_all AS findings
    ENGINE = Distributed(flowaudit, currentDatabase(), findings, sipHash64(toString(event_id)));
