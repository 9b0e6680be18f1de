// SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the report GitHub code scanning
// and other CI dashboards import: one run, a reporting descriptor per policy rule that ran (with
// its help text and references), a result per finding. A result's physical location is the capture
// its first flow came from, with the byte range (region.byteOffset/byteLength) of that flow's first
// packet's captured bytes in the file, or in the pcapng a live capture kept with --write; standard
// input and a live capture kept nowhere get no region. Written so that Microsoft's SARIF Multitool
// finds nothing to warn about (tests/tools/validate-sarif --multitool). Streamed through
// JsonWriter, like the JSON report: no document is built in memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "report/input.h"
#include "report/output.h"

namespace flowaudit::report {

inline constexpr const char* kSarifSchemaUri = "https://json.schemastore.org/sarif-2.1.0.json";

// tool.driver.informationUri. flowaudit has no public home page; the default is in the .invalid
// top-level domain (RFC 2606: reserved, can never resolve or belong to anyone), like the $id of
// docs/report.schema.json. Whoever publishes flowaudit sets the real one at build time with
// -DFLOWAUDIT_INFORMATION_URI=... .
#ifdef FLOWAUDIT_INFORMATION_URI
inline constexpr const char* kSarifInformationUri = FLOWAUDIT_INFORMATION_URI;
#else
inline constexpr const char* kSarifInformationUri = "https://flowaudit.invalid/";
#endif

// Without a policy (input.outcome null) the run has no rules and no results, only the inventory's
// inputs as artifacts. Finding messages arrive redacted from the evaluation (unless --no-redact).
void write_sarif(const ReportInput& input, const ReportOptions& options, Output& out);

// partialFingerprints["flowaudit/v1"]: 64-bit FNV-1a over the rule id, the destination's address
// and port, and its host name, in hex. Stable across runs and versions, so that a dashboard can
// tell a finding it has seen before from a new one. DNS findings (one per name asked of the same
// resolver) mix in the name asked as well, or they would all be one result to the dashboard.
[[nodiscard]] std::string sarif_fingerprint(std::string_view rule_id, std::string_view endpoint,
                                            std::string_view hostname, std::string_view dns_query = {});

// reportingDescriptor.name for a rule id: PascalCase ("china-transfer.operator" ->
// "ChinaTransferOperator"); empty when that would equal the id, since SARIF wants the name left
// out then.
[[nodiscard]] std::string sarif_rule_name(std::string_view rule_id);

}  // namespace flowaudit::report
