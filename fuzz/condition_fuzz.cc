// Fuzz target: condition text -> lex -> parse -> compile (against the field registry, with a few
// macros and lists) -> evaluate on fixed records. Checks: nothing throws or crashes, every error has
// a position inside the text and renders, and evaluation gives the same answer twice.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.h"
#include "rules/lang/compiler.h"
#include "rules/lang/parser.h"

namespace {

using namespace flowaudit::rules::lang;
using flowaudit::core::IpAddress;

class FixedRecord : public Record {
 public:
  explicit FixedRecord(bool full) : full_(full) {}
  std::optional<Value> get(FieldId field) const override {
    if (!full_ && static_cast<int>(field) % 2 == 0) return std::nullopt;
    switch (field_info(field).type) {
      case FieldType::kString: return Value(std::string_view("chat.deepseek.com"));
      case FieldType::kInteger: return Value(std::int64_t{443});
      case FieldType::kBoolean: return Value(true);
      case FieldType::kAddress: return Value(*IpAddress::parse("160.79.104.10"));
      case FieldType::kCountry: return Value(std::string_view("CN"));
      case FieldType::kList: return Value(std::string_view("h2\0http/1.1\0\0x", 15));
    }
    return std::nullopt;
  }

 private:
  bool full_;
};

struct Policy {
  std::map<std::string, NodePtr> trees;
  MacroMap macros;
  ListMap lists;

  Policy() {
    add("china", "service.jurisdiction in china_codes or geo.country in china_codes");
    add("web", "port in (80, 443) and not app_protocol = dns");
    add("loop_a", "loop_b");
    add("loop_b", "web and loop_a");
    lists["china_codes"] = {"CN", "HK", "MO"};
    lists["ports"] = {"80", "443"};
    lists["hosts"] = {"chat.deepseek.com", "api.openai.com"};
  }

  void add(const std::string& name, std::string_view text) {
    auto parsed = parse_condition(text);
    FUZZ_CHECK(std::holds_alternative<NodePtr>(parsed));
    trees[name] = std::get<NodePtr>(std::move(parsed));
    macros[name] = trees[name].get();
  }
};

void check_error(const Error& e, std::string_view text) {
  FUZZ_CHECK(!e.message.empty());
  FUZZ_CHECK(e.pos.line >= 1 && e.pos.column >= 1);
  if (e.macro_chain.empty()) FUZZ_CHECK(e.pos.offset <= text.size());
  const std::string rendered = render_error(e, "fuzz", text);
  FUZZ_CHECK(rendered.rfind("fuzz:", 0) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Policy policy;
  static const FixedRecord full(true);
  static const FixedRecord sparse(false);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto parsed = parse_condition(text);
    if (auto* e = std::get_if<Error>(&parsed)) {
      check_error(*e, text);
      return 0;
    }
    const NodePtr& root = std::get<NodePtr>(parsed);
    FUZZ_CHECK(root != nullptr);
    for (const std::optional<Scope>& scope : {std::optional<Scope>{}, std::optional<Scope>{Scope::kFlow}}) {
      auto compiled = compile(*root, {&policy.macros, &policy.lists, scope});
      if (auto* e = std::get_if<Error>(&compiled)) {
        check_error(*e, text);
        continue;
      }
      const Predicate& predicate = std::get<Predicate>(compiled);
      for (const Record* record : {static_cast<const Record*>(&full), static_cast<const Record*>(&sparse)}) {
        const bool first = predicate.evaluate(*record);
        FUZZ_CHECK(first == predicate.evaluate(*record));
      }
    }
  } catch (const std::bad_alloc&) {
    throw;  // let the fuzzer report memory exhaustion as such
  } catch (...) {
    FUZZ_CHECK(false);  // the condition language threw
  }
  return 0;
}
