#include "analysis/app/app_context.h"

namespace flowaudit::analysis::app {

AppContext::AppContext(AppConfig c)
    : config(c),
      names(c.max_dns_records),
      message(std::make_unique<dns::Message>()),
      strings(std::make_shared<core::StringPool>()) {
  if (config.shard) strings->share_budget(config.shard->string_bytes());
}

void AppContext::inspection_limit(const flow::Flow& f, InspectionLimit which) {
  FlowDetails& d = details_for(f);
  mark_blind_spot(d, BlindSpot::kInspectionLimit);
  if (d.limit == InspectionLimit::kNone) d.limit = which;
  ++stats.inspection_limits;
}

}  // namespace flowaudit::analysis::app
