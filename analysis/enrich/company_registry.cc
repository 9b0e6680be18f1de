#include "analysis/enrich/company_registry.h"

#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace flowaudit::analysis::enrich::detail {
namespace {

bool read_company(const YAML::Node& entry, const std::string& file, Company& c, YAML::Mark& parent_mark,
                  Diagnostics& diag) {
  if (!entry.IsMap()) {
    diag.at(entry, "a company entry must be a mapping with id, name, jurisdiction and source");
    return false;
  }
  const std::size_t errors_before = diag.count();
  c.file = file;
  c.line = entry.Mark().line + 1;
  std::unordered_set<std::string> seen;
  for (const auto& kv : entry) {
    const YAML::Node k = kv.first;
    const YAML::Node v = kv.second;
    const std::string* key_of = entry_key(k, seen, diag);
    if (key_of == nullptr) continue;
    const std::string& key = *key_of;
    if (key == "id" || key == "parent") {
      if (auto x = read_scalar(v, key, kMaxIdLength, diag)) {
        if (!valid_id(*x)) {
          diag.at(v, key + " " + shown(*x) + " may only use a-z, 0-9, '-', '_' and '.'");
        } else if (key == "id") {
          c.id = std::move(*x);
        } else {
          c.parent = std::move(*x);
          parent_mark = v.Mark();
        }
      }
    } else if (key == "jurisdiction" || key == "incorporated") {
      if (auto x = read_country(v, key, kMaxTextLength, diag)) (key == "jurisdiction" ? c.jurisdiction : c.incorporated) = std::move(*x);
    } else if (key == "name") {
      if (auto x = read_scalar(v, key, kMaxTextLength, diag)) c.name = std::move(*x);
    } else if (key == "source") {
      if (auto x = read_scalar(v, key, kMaxTextLength, diag)) c.source = std::move(*x);
    } else {
      diag.at(k, "unknown key " + shown(key) + " in a company (expected id, name, jurisdiction, incorporated, parent, source)");
    }
  }
  std::string absent;
  for (std::string_view f : {"id", "name", "jurisdiction", "source"}) {
    if (seen.count(std::string(f)) == 0) absent += absent.empty() ? std::string(f) : ", " + std::string(f);
  }
  if (!absent.empty()) {
    diag.at(entry, "company" + (c.id.empty() ? std::string() : " " + shown(c.id)) + " is missing " + absent);
  }
  if (!c.id.empty() && c.parent == c.id) diag.at(parent_mark, "company " + shown(c.id) + " is its own parent");
  return diag.count() == errors_before;
}

}  // namespace

void read_companies(const YAML::Node& list, const std::string& file, const CompanyLookup& known,
                    std::size_t budget, std::vector<Company>& out, Diagnostics& diag) {
  if (list.IsNull()) return;
  if (!list.IsSequence()) {
    diag.at(list, "'companies' must be a list of entries");
    return;
  }
  std::vector<YAML::Mark> parent_marks;
  std::unordered_map<std::string, std::size_t> mine;
  for (const YAML::Node& entry : list) {
    if (out.size() >= budget) {
      diag.at(entry, "too many companies (limit " + std::to_string(kMaxCompanies) + ")");
      return;
    }
    Company c;
    YAML::Mark parent_mark = entry.Mark();
    if (read_company(entry, file, c, parent_mark, diag)) {
      if (const Company* before = known(c.id)) {
        diag.at(entry, "company " + shown(c.id) + " is already defined at " + before->file + ":" +
                           std::to_string(before->line));
      } else if (const auto it = mine.find(c.id); it != mine.end()) {
        diag.at(entry, "duplicate company " + shown(c.id) + " (first defined at line " +
                           std::to_string(out[it->second].line) + ")");
      } else {
        mine.emplace(c.id, out.size());
        out.push_back(std::move(c));
        parent_marks.push_back(parent_mark);
      }
    }
    if (diag.count() >= kMaxErrorsPerFile) return;
  }
  const auto lookup = [&](const std::string& id) -> const Company* {
    if (const auto it = mine.find(id); it != mine.end()) return &out[it->second];
    return known(id);
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    Company& c = out[i];
    if (c.parent.empty()) continue;
    const Company* top = &c;
    std::size_t depth = 0;
    while (!top->parent.empty()) {
      const Company* up = lookup(top->parent);
      if (up == nullptr) {
        // Only this company's own link is its error; a broken link higher up is reported there.
        if (top == &c) {
          diag.at(parent_marks[i], "company " + shown(c.id) + " names unknown parent " + shown(c.parent));
        }
        top = nullptr;
        break;
      }
      if (++depth > kMaxCompanyDepth) {
        diag.at(parent_marks[i], "company " + shown(c.id) + ": the parent chain is longer than " +
                                     std::to_string(kMaxCompanyDepth) + " links or loops");
        top = nullptr;
        break;
      }
      top = up;
    }
    if (top == nullptr) continue;
    c.group = top->name;
    c.group_jurisdiction = top->jurisdiction;
  }
}

bool resolve_company(Service& s, const YAML::Mark& mark, bool wrote_operator, bool wrote_jurisdiction,
                     bool wrote_parent, const CompanyLookup& known, Diagnostics& diag) {
  const Company* c = known(s.company);
  if (c == nullptr) {
    diag.at(mark, "entry " + shown(s.id) + " names unknown company " + shown(s.company) +
                      " (companies are defined in companies.yaml or a 'companies:' list)");
    return false;
  }
  bool ok = true;
  if (wrote_operator && s.operator_name != c->name) {
    diag.at(mark, "entry " + shown(s.id) + ": operator " + shown(s.operator_name) + " differs from company " +
                      shown(c->id) + " (" + shown(c->name) + ")");
    ok = false;
  }
  if (wrote_jurisdiction && s.jurisdiction != c->jurisdiction) {
    diag.at(mark, "entry " + shown(s.id) + ": jurisdiction " + shown(s.jurisdiction) + " differs from company " +
                      shown(c->id) + " (" + c->jurisdiction + ")");
    ok = false;
  }
  if (wrote_parent) {
    diag.at(mark, "entry " + shown(s.id) + ": parent and parent_jurisdiction come from company " + shown(c->id) +
                      "; remove them from the entry");
    ok = false;
  }
  s.operator_name = c->name;
  s.jurisdiction = c->jurisdiction;
  s.parent = c->group;
  s.parent_jurisdiction = c->group_jurisdiction;
  return ok;
}

}  // namespace flowaudit::analysis::enrich::detail
