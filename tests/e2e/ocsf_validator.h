// Checks an event against the OCSF 1.1.0 class and object definitions transcribed as facts into
// tests/data/ocsf/ocsf-1.1.0.json (scripts/gen/ocsf-fixture): required attributes (those of a
// profile only when the event lists the profile in metadata.profiles), no attribute the class or
// object does not define, base types (string, integer with its range, float, boolean, object,
// json), arrays, integer enums, the constraints of objects (at_least_one, just_one), and the
// class's numbers (category_uid, type_uid = class_uid * 100 + activity_id).
#pragma once

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace flowaudit::e2e {

class OcsfValidator {
 public:
  // Loads the fixture; throws std::runtime_error when it cannot.
  explicit OcsfValidator(const std::string& fixture_path);
  // The problems of one event ("path: what"), empty when it conforms.
  [[nodiscard]] std::vector<std::string> check(const boost::json::value& event) const;
  // The class name of a class_uid ("network_activity"), empty when unknown.
  [[nodiscard]] std::string class_name(std::int64_t class_uid) const;

 private:
  void check_attributes(const boost::json::object& value, const boost::json::object& attributes,
                        const boost::json::object* constraints, const std::string& path,
                        const std::vector<std::string>& profiles, std::vector<std::string>& problems,
                        int depth) const;
  void check_value(const boost::json::value& value, const boost::json::object& attribute, const std::string& path,
                   const std::vector<std::string>& profiles, std::vector<std::string>& problems, int depth) const;
  boost::json::object schema_;
};

}  // namespace flowaudit::e2e
