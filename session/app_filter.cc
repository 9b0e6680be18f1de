#include "session/app_filter.h"

#include <fmt/format.h>

namespace flowaudit::session {

AppFilter::AppFilter(std::vector<int> pids, std::vector<std::string> processes)
    : attribution_(std::move(pids), std::move(processes)) {}

bool AppFilter::start(Messages& messages) {
  std::string error;
  if (attribution_.refresh(error)) return true;
  messages.error(error);
  return false;
}

void AppFilter::attach(analysis::Auditor& auditor, Messages& messages) {
  auditor.set_new_flow_listener([this, &auditor, &messages](const analysis::flow::Flow& f) {
    std::string refresh_error;
    // The table is re-read when a flow is not in it yet.
    const auto a = attribution_.attribute_new_flow(f.key.protocol, f.key.addr[0], f.key.port[0], f.key.addr[1],
                                                   f.key.port[1], f.first_seen(), refresh_error);
    if (!refresh_error.empty() && !warned_) {
      warned_ = true;
      messages.error("per-app attribution: " + refresh_error);
    }
    if (a.owner != capture::Owner::kSelected) {
      ++unattributed_;
      return;
    }
    analysis::FlowProcess p{a.process.pid, a.process.name};
    comment_ = analysis::process_comment(p);
    app_flows_.insert(f.id);
    auditor.set_process(f.id, std::move(p));
  });
}

std::string AppFilter::summary() const {
  return fmt::format("per-app capture: {} flows of the selected app kept, {} flows of other processes "
                     "(or of sockets already closed) left out",
                     app_flows_.size(), unattributed_);
}

}  // namespace flowaudit::session
