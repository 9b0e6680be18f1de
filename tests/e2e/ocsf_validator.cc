#include "e2e/ocsf_validator.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace flowaudit::e2e {

namespace {

constexpr int kMaxDepth = 16;

const boost::json::object* object_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

std::string str(const boost::json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  return boost::json::serialize(v);
}

bool in_profiles(const std::vector<std::string>& profiles, std::string_view p) {
  for (const auto& x : profiles) {
    if (x == p) return true;
  }
  return false;
}

}  // namespace

OcsfValidator::OcsfValidator(const std::string& fixture_path) {
  std::ifstream in(fixture_path, std::ios::binary);
  if (!in) throw std::runtime_error(fixture_path + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto v = boost::json::parse(text.str(), ec);
  if (ec || !v.is_object()) throw std::runtime_error(fixture_path + ": not a JSON object");
  schema_ = std::move(v.as_object());
}

std::string OcsfValidator::class_name(std::int64_t class_uid) const {
  for (const auto& [name, def] : schema_.at("classes").as_object()) {
    if (def.as_object().at("uid").to_number<std::int64_t>() == class_uid) return std::string(name);
  }
  return {};
}

std::vector<std::string> OcsfValidator::check(const boost::json::value& event) const {
  std::vector<std::string> problems;
  const auto* o = event.if_object();
  if (o == nullptr) return {"the event is not a JSON object"};
  const auto* uid = o->if_contains("class_uid");
  if (uid == nullptr || !uid->is_int64()) return {"class_uid: missing or not an integer"};
  const std::string name = class_name(uid->as_int64());
  if (name.empty()) return {"class_uid: " + str(*uid) + " is not one of the classes checked"};
  const auto& def = schema_.at("classes").as_object().at(name).as_object();
  std::vector<std::string> profiles;
  if (const auto* m = object_at(*o, "metadata")) {
    if (const auto* p = m->if_contains("profiles"); p != nullptr && p->is_array()) {
      for (const auto& x : p->as_array()) {
        if (x.is_string()) profiles.emplace_back(x.as_string());
      }
    }
  }
  check_attributes(*o, def.at("attributes").as_object(), object_at(def, "constraints"), name, profiles, problems, 0);
  if (const auto* cat = o->if_contains("category_uid");
      cat != nullptr && cat->is_int64() && cat->as_int64() != def.at("category_uid").to_number<std::int64_t>()) {
    problems.push_back(name + ".category_uid: " + str(*cat) + " is not the class's category");
  }
  const auto* activity = o->if_contains("activity_id");
  const auto* type = o->if_contains("type_uid");
  if (activity != nullptr && type != nullptr && activity->is_int64() && type->is_int64() &&
      type->as_int64() != uid->as_int64() * 100 + activity->as_int64()) {
    problems.push_back(name + ".type_uid: " + str(*type) + " is not class_uid * 100 + activity_id");
  }
  return problems;
}

void OcsfValidator::check_attributes(const boost::json::object& value, const boost::json::object& attributes,
                                     const boost::json::object* constraints, const std::string& path,
                                     const std::vector<std::string>& profiles, std::vector<std::string>& problems,
                                     int depth) const {
  for (const auto& [key, attr] : attributes) {
    const auto& a = attr.as_object();
    const auto* profile = a.if_contains("profile");
    const bool applies = profile == nullptr || !profile->is_string() || in_profiles(profiles, profile->as_string());
    if (applies && a.at("requirement").as_string() == "required" && !value.contains(key)) {
      problems.push_back(path + "." + std::string(key) + ": required, missing");
    }
  }
  for (const auto& [key, v] : value) {
    const auto* a = attributes.if_contains(key);
    if (a == nullptr) {
      problems.push_back(path + "." + std::string(key) + ": not an attribute of OCSF 1.1.0 here");
      continue;
    }
    check_value(v, a->as_object(), path + "." + std::string(key), profiles, problems, depth);
  }
  if (constraints == nullptr) return;
  if (const auto* list = constraints->if_contains("at_least_one"); list != nullptr && list->is_array()) {
    bool any = false;
    for (const auto& k : list->as_array()) any = any || value.contains(k.as_string());
    if (!any) problems.push_back(path + ": needs at least one of " + boost::json::serialize(*list));
  }
  if (const auto* list = constraints->if_contains("just_one"); list != nullptr && list->is_array()) {
    int n = 0;
    for (const auto& k : list->as_array()) n += value.contains(k.as_string()) ? 1 : 0;
    if (n != 1) problems.push_back(path + ": needs exactly one of " + boost::json::serialize(*list));
  }
}

void OcsfValidator::check_value(const boost::json::value& v, const boost::json::object& a, const std::string& path,
                                const std::vector<std::string>& profiles, std::vector<std::string>& problems,
                                int depth) const {
  if (depth > kMaxDepth) {
    problems.push_back(path + ": nested deeper than " + std::to_string(kMaxDepth));
    return;
  }
  if (a.at("is_array").as_bool()) {
    if (!v.is_array()) {
      problems.push_back(path + ": must be an array");
      return;
    }
    auto one = a;
    one["is_array"] = false;
    std::size_t i = 0;
    for (const auto& x : v.as_array()) check_value(x, one, path + "[" + std::to_string(i++) + "]", profiles, problems, depth);
    return;
  }
  if (v.is_null()) {
    problems.push_back(path + ": null (leave the attribute out instead)");
    return;
  }
  const std::string type(a.at("type").as_string());
  if (type == "object_t") {
    const std::string object_type(a.at("object_type").as_string());
    if (!v.is_object()) {
      problems.push_back(path + ": must be an object (" + object_type + ")");
      return;
    }
    const auto& def = schema_.at("objects").as_object().at(object_type).as_object();
    const auto& attrs = def.at("attributes").as_object();
    if (attrs.empty()) return;  // the generic `object` (unmapped): anything goes
    check_attributes(v.as_object(), attrs, object_at(def, "constraints"), path, profiles, problems, depth + 1);
    return;
  }
  const auto& t = schema_.at("types").as_object().at(type).as_object();
  const std::string base(t.at("base").as_string());
  if (base == "json") return;
  if (base == "string") {
    if (!v.is_string()) {
      problems.push_back(path + ": must be a string (" + type + ")");
      return;
    }
    const std::string s(v.as_string());
    if (const auto* max = t.if_contains("max_len"); max != nullptr && s.size() > max->to_number<std::uint64_t>()) {
      problems.push_back(path + ": longer than " + str(*max));
    }
    // hostname_t as flowaudit writes it: OCSF's pattern with underscores allowed (ocsf.cc says why).
    if (type == "hostname_t") {
      static const std::regex host("^(([a-zA-Z0-9_]|[a-zA-Z0-9_][a-zA-Z0-9_\\-]*[a-zA-Z0-9_])\\.)*"
                                   "([A-Za-z0-9_]|[A-Za-z0-9_][A-Za-z0-9_\\-]*[A-Za-z0-9_])$");
      if (!std::regex_match(s, host)) problems.push_back(path + ": '" + s + "' is not a hostname");
    } else if (type == "ip_t" || type == "datetime_t" || type == "email_t") {
      const std::regex re(std::string(t.at("regex").as_string()));
      if (!std::regex_search(s, re)) problems.push_back(path + ": '" + s + "' does not match " + type);
    }
    if (const auto* e = a.if_contains("enum"); e != nullptr && !e->as_object().contains(s)) {
      problems.push_back(path + ": '" + s + "' is not one of its values");
    }
    return;
  }
  if (base == "integer" || base == "long") {
    if (!v.is_int64() && !v.is_uint64()) {
      problems.push_back(path + ": must be an integer (" + type + ")");
      return;
    }
    if (v.is_uint64() && v.as_uint64() > static_cast<std::uint64_t>(INT64_MAX)) {
      problems.push_back(path + ": past a signed 64-bit integer");
      return;
    }
    const std::int64_t n = v.to_number<std::int64_t>();
    if (base == "integer" && (n < INT32_MIN || n > INT32_MAX)) problems.push_back(path + ": past a 32-bit integer");
    if (const auto* r = t.if_contains("range"); r != nullptr) {
      const auto& range = r->as_array();
      if (n < range[0].to_number<std::int64_t>() || n > range[1].to_number<std::int64_t>()) {
        problems.push_back(path + ": " + std::to_string(n) + " outside " + boost::json::serialize(range));
      }
    }
    if (const auto* e = a.if_contains("enum"); e != nullptr && !e->as_object().contains(std::to_string(n))) {
      problems.push_back(path + ": " + std::to_string(n) + " is not one of its values");
    }
    return;
  }
  if (base == "float") {
    if (!v.is_number()) problems.push_back(path + ": must be a number");
    return;
  }
  if (base == "boolean") {
    if (!v.is_bool()) problems.push_back(path + ": must be true or false");
    return;
  }
  problems.push_back(path + ": type " + type + " (" + base + ") is not checked");
}

}  // namespace flowaudit::e2e
