// --threads N: one audit on N cores.
//
// Each worker is an Auditor that reads every packet of every input from its own source (a memory
// map: the pages are shared, reading them twice costs little), runs the decoder and the audit
// clock on all of them, and tracks only the flows whose key hashes to it (analysis::shard_of):
// flow table, TCP reassembly, protocol handlers and inspection. Nothing is handed from thread to
// thread on the packet path, so there are no rings and no copies; what the workers share is the
// DNS name cache, filled in packet order (app::ShardSync), the inspector, and the budgets.
//
// At the end each worker finishes its own flows (names, details, coverage) in its thread, and the
// merge renumbers the flows as one table would have (by the packet that opened each), interleaves
// rows and DNS records in that order, and completes the result once: destinations, names inspected,
// warnings. The report is the one-thread report, byte for byte, while no cap is reached; two
// numbers differ by design: flow_table.peak_live is the sum of the workers' peaks (the live flows
// of N tables at their own busiest moments), and which records are folded past --max-flow-records
// (each worker folds its own, within its share of the cap).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analysis/audit.h"
#include "capture/packet_source.h"

namespace flowaudit::analysis {

class ParallelAuditor {
 public:
  // `options` as for one Auditor; `per_worker(k, o)`, if set, adjusts worker k's copy (each worker
  // needs its own key log: a pcapng's secrets blocks are added to it as the worker reads them).
  ParallelAuditor(const AuditOptions& options, std::size_t workers,
                  const std::function<void(std::size_t, AuditOptions&)>& per_worker = {});
  ~ParallelAuditor();
  ParallelAuditor(const ParallelAuditor&) = delete;
  ParallelAuditor& operator=(const ParallelAuditor&) = delete;

  [[nodiscard]] std::size_t workers() const noexcept { return auditors_.size(); }

  // One input: `open(k, error)` opens worker k's own source of it (null, with `error` set, if it
  // cannot). `index` is its input number as in Auditor::run.
  struct Input {
    std::uint32_t index = 0;
    std::function<std::unique_ptr<capture::PacketSource>(std::size_t worker, std::string& error)> open;
    std::function<void()> before, after;  // called by worker 0 around its reading (progress)
  };
  // Reads the inputs, in order, with every worker in its own thread; returns, for each input,
  // worker 0's source info, with an error added if another worker could not read the input the
  // same way (its flows would be missing). `progress` as in Auditor::run, from worker 0.
  std::vector<capture::SourceInfo> run(const std::vector<Input>& inputs, const Auditor::Progress& progress = {});

  // Each worker's processor time in the last run(), in seconds (the balance between them).
  [[nodiscard]] const std::vector<double>& worker_cpu_seconds() const noexcept { return cpu_seconds_; }

  // Ends the audit: the one result of all workers (see the top of this file).
  AuditResult finish(std::vector<capture::SourceInfo> inputs, bool only_attributed = false);

 private:
  AuditOptions options_;  // as given: the caps whole
  std::shared_ptr<app::ShardSync> sync_;
  std::vector<std::unique_ptr<Auditor>> auditors_;
  std::vector<double> cpu_seconds_;
};

// The merge of finish(): the workers' parts and their rows (in id order) into one result, completed.
AuditResult merge_parts(std::vector<AuditPart> parts, std::vector<FlowRow> rows, const AuditOptions& options,
                        const dns::NameCache& names, std::vector<capture::SourceInfo> inputs);

}  // namespace flowaudit::analysis
