#include "rules/load/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "analysis/enrich/service_catalog.h"
#include "core/input_file.h"
#include "rules/lang/parser.h"
#include "rules/load/source_map.h"

namespace flowaudit::rules::load {
namespace {

namespace fs = std::filesystem;
using lang::Scope;

constexpr std::size_t kNone = static_cast<std::size_t>(-1);
constexpr std::size_t kMaxTitle = 200;
constexpr std::size_t kMaxText = 8192;        // description, remediation, reason
constexpr std::size_t kMaxCondition = 65536;  // the parser's own limit
constexpr std::size_t kMaxName = 128;         // ids and names
constexpr std::size_t kMaxItem = 4096;        // list items, references, tags, hosts
constexpr std::size_t kMaxTotalItems = 200000;

// A scalar with the file and offset it came from (for mapping positions inside it).
struct Scalar {
  std::string value;
  std::size_t file = kNone;
  std::size_t start = kNone;  // offset of the scalar's first character in the file text
};

struct Source {
  std::string display;  // as the user named it (or the built-in path)
  std::string text;
  std::string name;
  // Whether errors may quote the file's lines. An included file does only once it is seen to be a
  // policy (a mapping with a policy section): `include: /etc/shadow` or a binary file must not have
  // its lines printed into a CI log by the error saying it is not a policy.
  bool echo = true;
};

struct ListDef {
  std::vector<std::string> items;
  Scalar name;
};

struct MacroDef {
  Scalar name;
  Scalar condition;
  lang::NodePtr tree;  // set when parsed
  bool broken = false;
};

struct PendingRule {
  Rule rule;
  Scalar id;
  Scalar condition;
  Scalar message;
  bool has[5] = {};  // title, severity, scope, condition, message (for new definitions)
};

struct PendingWaiver {
  Waiver waiver;
  Scalar rule;
  Scalar condition;
};

bool valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxName) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  });
}

// Macro and list names are identifiers of the condition language (a dot or dash is allowed inside).
bool valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxName) return false;
  const char first = name.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

bool is_keyword(std::string_view name) noexcept {
  static constexpr std::string_view kKeywords[] = {"and",      "or",      "not",   "in",     "contains",
                                                   "startswith", "endswith", "glob", "matches", "exists",
                                                   "true",     "false"};
  return std::find(std::begin(kKeywords), std::end(kKeywords), name) != std::end(kKeywords);
}

std::string shown(std::string_view s) {
  std::string out = "'";
  for (const char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out + "'";
}

std::optional<Scope> parse_scope(std::string_view text) noexcept {
  for (const Scope s : {Scope::kDestination, Scope::kFlow, Scope::kDns, Scope::kCapture, Scope::kRequest}) {
    if (lang::scope_name(s) == text) return s;
  }
  return std::nullopt;
}

bool has_glob(std::string_view s) noexcept { return s.find_first_of("*?") != std::string_view::npos; }

class Loader {
 public:
  Loader(const LoadOptions& options, LoadResult& out) : options_(options), out_(out) {}

  void load_spec(const std::string& spec) { load_path(resolve(spec, kNone, kNone), spec, kNone, kNone, 0); }

  void load_text(std::string_view text, std::string_view name) {
    auto source = std::make_unique<Source>();
    source->display = std::string(name);
    source->text = std::string(text);
    source->name = fs::path(std::string(name)).stem().string();
    sources_.push_back(std::move(source));
    parse_file(sources_.size() - 1, fs::path(), 0);
  }

  void compile();

 private:
  // ---- errors ----
  bool too_many() const noexcept { return out_.errors.size() >= kMaxErrors; }
  void push(std::string rendered) {
    if (too_many()) return;
    if (out_.errors.size() == kMaxErrors - 1) {
      out_.errors.push_back("too many errors in the policy; fix the ones above first");
      return;
    }
    out_.errors.push_back(std::move(rendered));
  }
  void error_at(std::size_t file, std::size_t offset, std::string_view message) {
    if (file == kNone) return push(one_line(message));
    const Source& s = *sources_[file];
    const Location where = offset == kNone ? Location{} : location_at(s.text, offset);
    push(render(s, where, message));
  }
  void error_at(std::size_t file, const YAML::Node& node, std::string_view message) {
    const int pos = node.Mark().pos;
    error_at(file, pos < 0 ? kNone : static_cast<std::size_t>(pos), message);
  }
  void error_in(const Scalar& scalar, std::size_t offset, std::string_view message) {
    if (scalar.file == kNone || scalar.start == kNone) return error_at(scalar.file, scalar.start, message);
    const Source& s = *sources_[scalar.file];
    push(render(s, locate_in_scalar(s.text, scalar.start, scalar.value, offset), message));
  }
  static std::string render(const Source& s, const Location& where, std::string_view message) {
    if (s.echo || !where.known) return render_at(s.display, s.text, where, message);
    return one_line(s.display) + ':' + std::to_string(where.line + 1) + ':' + std::to_string(where.column + 1) +
           ": " + one_line(message);
  }

  // Where a definition is, for `rules explain` and reports: the file and the line of `scalar`.
  Origin origin_of(const Scalar& scalar) const {
    const Source& s = *sources_[scalar.file];
    return Origin{s.display, static_cast<std::uint32_t>(location_at(s.text, scalar.start).line + 1)};
  }

  // ---- reading ----
  fs::path resolve(const std::string& spec, std::size_t from, std::size_t) {
    const bool is_name = spec.find('/') == std::string::npos && !spec.ends_with(".yaml") && !spec.ends_with(".yml");
    if (is_name) {
      if (!options_.builtin_dir) return fs::path();
      return *options_.builtin_dir / (spec + ".yaml");
    }
    fs::path p(spec);
    if (p.is_relative() && from != kNone) p = base_dirs_[from] / p;
    return p;
  }

  void load_path(const fs::path& path, const std::string& spec, std::size_t from, std::size_t from_offset,
                 std::size_t depth) {
    if (too_many()) return;
    if (path.empty()) {
      std::string known;
      if (options_.builtin_dir) {
        for (const auto& n : builtin_pack_names(*options_.builtin_dir)) known += (known.empty() ? "" : ", ") + n;
      }
      error_at(from, from_offset,
               "unknown built-in policy " + shown(spec) +
                   (known.empty() ? std::string(" (no built-in policies found; set FLOWAUDIT_DATA_DIR)")
                                  : " (built-in: " + known + ")"));
      return;
    }
    if (depth > kMaxIncludeDepth) {
      error_at(from, from_offset, "includes nest deeper than " + std::to_string(kMaxIncludeDepth) + " files");
      return;
    }
    std::error_code ec;
    const fs::path key = fs::weakly_canonical(path, ec);
    const std::string key_text = ec ? path.string() : key.string();
    if (std::find(stack_.begin(), stack_.end(), key_text) != stack_.end()) {
      std::string cycle;
      for (const auto& s : stack_) cycle += fs::path(s).filename().string() + " > ";
      error_at(from, from_offset, "include cycle: " + cycle + path.filename().string());
      return;
    }
    if (!loaded_.insert(key_text).second) return;  // each file once
    if (sources_.size() >= kMaxPolicyFiles) {
      error_at(from, from_offset, "too many policy files (limit " + std::to_string(kMaxPolicyFiles) + ")");
      return;
    }
    auto source = std::make_unique<Source>();
    source->display = from == kNone && spec.find('/') != std::string::npos ? spec : path.string();
    if (from == kNone && spec.find('/') == std::string::npos && (spec.ends_with(".yaml") || spec.ends_with(".yml"))) {
      source->display = spec;
    }
    source->name = path.stem().string();
    source->echo = from == kNone;
    std::string problem;
    if (!read_file(path, source->text, problem)) {
      const std::string display = source->display;
      if (from == kNone) {
        error_at(kNone, 0, display + ": " + problem);
      } else {
        error_at(from, from_offset, "cannot include " + shown(spec) + ": " + problem);
      }
      return;
    }
    sources_.push_back(std::move(source));
    const std::size_t index = sources_.size() - 1;
    stack_.push_back(key_text);
    parse_file(index, path.parent_path(), depth);
    stack_.pop_back();
  }

  static bool read_file(const fs::path& path, std::string& text, std::string& problem) {
    problem = core::read_input_file(path, kMaxPolicyFileBytes, text);
    if (problem == "is a directory") problem = "is a directory, not a policy file";
    return problem.empty();
  }

  std::optional<Scalar> scalar(std::size_t file, const YAML::Node& node, std::string_view key, std::size_t max,
                               bool multiline = false) {
    if (!node.IsScalar()) {
      error_at(file, node, std::string(key) + " must be a string");
      return std::nullopt;
    }
    const std::string& s = node.Scalar();
    if (s.empty() || std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n' || c == '\t'; })) {
      error_at(file, node, std::string(key) + " is empty");
      return std::nullopt;
    }
    if (s.size() > max) {
      error_at(file, node, std::string(key) + " is longer than " + std::to_string(max) + " bytes");
      return std::nullopt;
    }
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (u == 0x7F || (u < 0x20 && !(multiline && (c == '\n' || c == '\t')))) {
        error_at(file, node, std::string(key) + (multiline ? " has a control character" : " must be one line"));
        return std::nullopt;
      }
    }
    const int pos = node.Mark().pos;
    return Scalar{s, file, pos < 0 ? kNone : static_cast<std::size_t>(pos)};
  }

  // A list of strings; `items` counts against the policy-wide budget.
  std::optional<std::vector<Scalar>> string_list(std::size_t file, const YAML::Node& node, std::string_view key,
                                                 std::size_t max_items) {
    std::vector<Scalar> out;
    if (node.IsNull()) return out;
    if (!node.IsSequence()) {
      error_at(file, node, std::string(key) + " must be a list, e.g. " + std::string(key) + ": [a, b]");
      return std::nullopt;
    }
    bool ok = true;
    for (const YAML::Node& item : node) {
      if (out.size() >= max_items || total_items_ >= kMaxTotalItems) {
        error_at(file, item, "too many items in " + std::string(key) + " (limit " + std::to_string(max_items) + ")");
        return std::nullopt;
      }
      ++total_items_;
      auto s = scalar(file, item, std::string(key) + " items", kMaxItem);
      if (!s) {
        ok = false;
        continue;
      }
      out.push_back(std::move(*s));
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<bool> boolean(std::size_t file, const YAML::Node& node, std::string_view key) {
    if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      if (s == "true" || s == "yes" || s == "on") return true;
      if (s == "false" || s == "no" || s == "off") return false;
    }
    error_at(file, node, std::string(key) + " must be true or false");
    return std::nullopt;
  }

  void unknown_key(std::size_t file, const YAML::Node& key, std::string_view where, std::string_view allowed) {
    error_at(file, key,
             "unknown key " + shown(key.IsScalar() ? key.Scalar() : std::string("?")) + " in " + std::string(where) +
                 " (allowed: " + std::string(allowed) + ")");
  }

  void parse_file(std::size_t file, const fs::path& base_dir, std::size_t depth) {
    base_dirs_.resize(sources_.size());
    base_dirs_[file] = base_dir;
    const std::string& text = sources_[file]->text;
    PolicyFile info;
    info.name = sources_[file]->name;
    info.path = sources_[file]->display;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      const std::size_t pos = e.mark.pos < 0 ? kNone : static_cast<std::size_t>(e.mark.pos);
      error_at(file, pos, e.msg.empty() ? std::string("invalid YAML") : "invalid YAML: " + e.msg);
      return;
    } catch (const std::exception& e) {
      error_at(file, kNone, std::string("cannot read YAML: ") + e.what());
      return;
    }
    if (root.IsNull()) {
      out_.policy.files.push_back(std::move(info));
      return;  // an empty policy file is allowed (e.g. a placeholder override file)
    }
    if (!root.IsMap()) {
      error_at(file, root, "a policy file must be a mapping with some of: policy, include, lists, macros, rules, "
                           "waivers, allowlists");
      return;
    }
    static constexpr std::string_view kSections[] = {"policy",  "include", "lists",     "macros",
                                                     "rules",   "waivers", "allowlists"};
    const auto is_section = [](const YAML::Node& key) {
      return key.IsScalar() &&
             std::find(std::begin(kSections), std::end(kSections), key.Scalar()) != std::end(kSections);
    };
    const bool some_section =
        std::any_of(root.begin(), root.end(), [&](const auto& kv) { return is_section(kv.first); });
    if (!sources_[file]->echo && root.size() != 0 && !some_section) {
      // An include of some other YAML file (a config, credentials...): one error that names no key
      // of it. A file named on the command line gets the usual error per key (typos like `rulez:`).
      error_at(file, root, "not a policy file: none of its keys is policy, include, lists, macros, rules, waivers "
                           "or allowlists");
      return;
    }
    sources_[file]->echo = true;
    std::map<std::string, YAML::Node, std::less<>> sections;
    for (const auto& kv : root) {
      const YAML::Node key = kv.first;
      const std::string name = key.IsScalar() ? key.Scalar() : std::string();
      if (std::find(std::begin(kSections), std::end(kSections), name) == std::end(kSections)) {
        unknown_key(file, key, "a policy file", "policy, include, lists, macros, rules, waivers, allowlists");
        continue;
      }
      if (sections.count(name) != 0) {
        error_at(file, key, "duplicate key " + shown(name));
        continue;
      }
      sections.emplace(name, kv.second);
    }
    if (auto it = sections.find("policy"); it != sections.end()) read_policy_info(file, it->second, info);
    if (auto it = sections.find("include"); it != sections.end()) {
      const YAML::Node& inc = it->second;
      if (!options_.allow_includes) {
        error_at(file, inc, "include is not available here");
      } else if (inc.IsScalar()) {
        include_one(file, inc, depth);
      } else if (inc.IsSequence()) {
        std::size_t count = 0;
        for (const YAML::Node& item : inc) {
          if (++count > kMaxPolicyFiles) {
            error_at(file, item, "too many includes");
            break;
          }
          include_one(file, item, depth);
        }
      } else if (!inc.IsNull()) {
        error_at(file, inc, "include must be a list of policy names or paths");
      }
    }
    const std::size_t rules_before = defined_rules_;
    if (auto it = sections.find("lists"); it != sections.end()) each_entry(file, it->second, "lists", &Loader::read_list);
    if (auto it = sections.find("macros"); it != sections.end()) {
      each_entry(file, it->second, "macros", &Loader::read_macro);
    }
    if (auto it = sections.find("rules"); it != sections.end()) each_entry(file, it->second, "rules", &Loader::read_rule);
    if (auto it = sections.find("waivers"); it != sections.end()) {
      each_entry(file, it->second, "waivers", &Loader::read_waiver);
    }
    if (auto it = sections.find("allowlists"); it != sections.end()) {
      each_entry(file, it->second, "allowlists", &Loader::read_allowlist);
    }
    info.rules = defined_rules_ - rules_before;
    out_.policy.files.push_back(std::move(info));
  }

  void include_one(std::size_t file, const YAML::Node& item, std::size_t depth) {
    auto spec = scalar(file, item, "an include", kMaxItem);
    if (!spec) return;
    load_path(resolve(spec->value, file, kNone), spec->value, file, spec->start, depth + 1);
  }

  void read_policy_info(std::size_t file, const YAML::Node& node, PolicyFile& info) {
    if (!node.IsMap()) {
      error_at(file, node, "policy must be a mapping with name and description");
      return;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (key == "name") {
        if (auto s = scalar(file, kv.second, "policy name", kMaxName)) {
          if (!valid_id(s->value)) {
            error_at(file, kv.second, "policy name " + shown(s->value) + " may only use a-z, 0-9, '.', '-' and '_'");
          } else {
            info.name = s->value;
          }
        }
      } else if (key == "description") {
        if (auto s = scalar(file, kv.second, "policy description", kMaxText, true)) info.description = s->value;
      } else {
        unknown_key(file, kv.first, "policy", "name, description");
      }
    }
    sources_[file]->name = info.name;
  }

  using EntryReader = void (Loader::*)(std::size_t, const YAML::Node&, std::set<std::string>&);

  void each_entry(std::size_t file, const YAML::Node& list, std::string_view section, EntryReader reader) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) {
      error_at(file, list, std::string(section) + " must be a list of entries");
      return;
    }
    std::set<std::string> seen;  // names defined in this section of this file
    for (const YAML::Node& entry : list) {
      if (too_many()) return;
      if (++entries_ > kMaxDefinitions * 5) {
        error_at(file, entry, "too many entries in the policy");
        return;
      }
      if (!entry.IsMap()) {
        error_at(file, entry, "each of " + std::string(section) + " must be a mapping");
        continue;
      }
      (this->*reader)(file, entry, seen);
    }
  }

  bool claim(std::size_t file, const Scalar& name, const YAML::Node& node, std::set<std::string>& seen,
             std::string_view what) {
    if (!seen.insert(name.value).second) {
      error_at(file, node, "duplicate " + std::string(what) + " " + shown(name.value) + " in this file");
      return false;
    }
    return true;
  }

  void read_list(std::size_t file, const YAML::Node& entry, std::set<std::string>& seen) {
    std::optional<Scalar> name;
    std::optional<std::vector<Scalar>> items;
    bool append = false;
    YAML::Node name_node;
    for (const auto& kv : entry) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (key == "list") {
        name = scalar(file, kv.second, "list", kMaxName);
        name_node = kv.second;
        if (name && (!valid_name(name->value) || is_keyword(name->value))) {
          error_at(file, kv.second, "list name " + shown(name->value) +
                                        " must be an identifier (letters, digits, '_', '-', '.'; not a keyword)");
          name.reset();
        }
      } else if (key == "items") {
        items = string_list(file, kv.second, "items", kMaxListItems);
      } else if (key == "append") {
        append = boolean(file, kv.second, "append").value_or(false);
      } else {
        unknown_key(file, kv.first, "a list", "list, items, append");
      }
    }
    if (!name) {
      if (!name_node) error_at(file, entry, "a list needs a name: list: NAME");
      return;
    }
    if (!items) {
      if (!entry["items"]) error_at(file, entry, "list " + shown(name->value) + " needs items: [...]");
      return;
    }
    if (!claim(file, *name, name_node, seen, "list")) return;
    auto it = lists_.find(name->value);
    if (append) {
      if (it == lists_.end()) {
        error_at(file, name_node, "append to list " + shown(name->value) + ", which no earlier file defines");
        return;
      }
      if (it->second.items.size() + items->size() > kMaxListItems) {
        error_at(file, name_node, "list " + shown(name->value) + " grows beyond " + std::to_string(kMaxListItems));
        return;
      }
      for (auto& s : *items) it->second.items.push_back(std::move(s.value));
      return;
    }
    if (it == lists_.end() && lists_.size() >= kMaxDefinitions) {
      error_at(file, name_node, "too many lists");
      return;
    }
    ListDef def;
    def.name = *name;
    for (auto& s : *items) def.items.push_back(std::move(s.value));
    lists_[name->value] = std::move(def);
  }

  void read_macro(std::size_t file, const YAML::Node& entry, std::set<std::string>& seen) {
    std::optional<Scalar> name;
    std::optional<Scalar> condition;
    YAML::Node name_node;
    for (const auto& kv : entry) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (key == "macro") {
        name = scalar(file, kv.second, "macro", kMaxName);
        name_node = kv.second;
        if (name && (!valid_name(name->value) || is_keyword(name->value) || lang::find_field(name->value))) {
          error_at(file, kv.second, "macro name " + shown(name->value) +
                                        " must be an identifier that is neither a keyword nor a field");
          name.reset();
        }
      } else if (key == "condition") {
        condition = scalar(file, kv.second, "condition", kMaxCondition, true);
      } else {
        unknown_key(file, kv.first, "a macro", "macro, condition");
      }
    }
    if (!name) {
      if (!name_node) error_at(file, entry, "a macro needs a name: macro: NAME");
      return;
    }
    if (!condition) {
      if (!entry["condition"]) error_at(file, entry, "macro " + shown(name->value) + " needs a condition");
      return;
    }
    if (!claim(file, *name, name_node, seen, "macro")) return;
    if (macros_.count(name->value) == 0 && macros_.size() >= kMaxDefinitions) {
      error_at(file, name_node, "too many macros");
      return;
    }
    MacroDef def;
    def.name = *name;
    def.condition = *condition;
    macros_[name->value] = std::move(def);
  }

  std::optional<std::vector<Reference>> references(std::size_t file, const YAML::Node& node) {
    std::vector<Reference> out;
    if (node.IsNull()) return out;
    if (!node.IsSequence()) {
      error_at(file, node, "references must be a list of URLs or {title, url} mappings");
      return std::nullopt;
    }
    for (const YAML::Node& item : node) {
      if (out.size() >= 64) {
        error_at(file, item, "too many references (limit 64)");
        return std::nullopt;
      }
      Reference ref;
      if (item.IsScalar()) {
        auto url = scalar(file, item, "a reference", kMaxItem);
        if (!url) return std::nullopt;
        ref.url = url->value;
      } else if (item.IsMap()) {
        for (const auto& kv : item) {
          const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
          if (key == "title") {
            if (auto s = scalar(file, kv.second, "reference title", kMaxItem)) ref.title = s->value;
          } else if (key == "url") {
            if (auto s = scalar(file, kv.second, "reference url", kMaxItem)) ref.url = s->value;
          } else {
            unknown_key(file, kv.first, "a reference", "title, url");
          }
        }
        if (ref.url.empty()) {
          error_at(file, item, "a reference needs a url");
          return std::nullopt;
        }
      } else {
        error_at(file, item, "a reference is a URL or a mapping with title and url");
        return std::nullopt;
      }
      if (ref.url.find("://") == std::string::npos) {
        error_at(file, item, "reference " + shown(ref.url) + " is not a URL (scheme://...)");
        return std::nullopt;
      }
      out.push_back(std::move(ref));
    }
    return out;
  }

  void read_rule(std::size_t file, const YAML::Node& entry, std::set<std::string>& seen);
  void read_waiver(std::size_t file, const YAML::Node& entry, std::set<std::string>& seen);
  void read_allowlist(std::size_t file, const YAML::Node& entry, std::set<std::string>& seen);

  // ---- compiling ----
  std::string chain_text(const std::string& rule, const std::vector<std::string>& macros) const {
    std::string out = " (in " + rule;
    for (const auto& m : macros) out += " > macro " + m;
    return out + ")";
  }
  void report(const lang::Error& e, const Scalar& condition, const std::string& context) {
    if (e.message.find("has no condition") != std::string::npos) return;  // a broken macro, reported already
    if (e.macro_chain.empty()) return error_in(condition, e.pos.offset, e.message + chain_text(context, {}));
    auto it = macros_.find(e.macro_chain.back());
    if (it == macros_.end() || it->second.broken) return;
    error_in(it->second.condition, e.pos.offset, e.message + chain_text(context, e.macro_chain));
  }
  std::optional<lang::Predicate> compile_condition(const Scalar& condition, Scope scope, const std::string& context);
  bool compile_message(PendingRule& p);
  void check_macros();

  const LoadOptions& options_;
  LoadResult& out_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<fs::path> base_dirs_;
  std::vector<std::string> stack_;
  std::set<std::string> loaded_;
  std::map<std::string, ListDef, std::less<>> lists_;
  std::map<std::string, MacroDef, std::less<>> macros_;
  std::vector<PendingRule> rules_;
  std::map<std::string, std::size_t, std::less<>> rule_index_;
  std::vector<PendingWaiver> waivers_;
  std::size_t defined_rules_ = 0;
  std::size_t entries_ = 0;
  std::size_t total_items_ = 0;
};

void Loader::read_rule(std::size_t file, const YAML::Node& entry, std::set<std::string>& seen) {
  PendingRule p;
  std::optional<Scalar> id;
  YAML::Node id_node;
  // The keys given, applied on top of the earlier definition when the id exists already.
  std::optional<Scalar> title, description, severity, scope, condition, message, remediation;
  std::optional<std::vector<Reference>> refs;
  std::optional<std::vector<Scalar>> tags;
  std::optional<bool> enabled;
  bool bad = false;
  for (const auto& kv : entry) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    const YAML::Node& v = kv.second;
    if (key == "id") {
      id = scalar(file, v, "id", kMaxName);
      id_node = v;
      if (id && !valid_id(id->value)) {
        error_at(file, v, "rule id " + shown(id->value) + " may only use a-z, 0-9, '.', '-' and '_'");
        id.reset();
      }
      if (!id) bad = true;
    } else if (key == "title") {
      bad |= !(title = scalar(file, v, "title", kMaxTitle));
    } else if (key == "description") {
      bad |= !(description = scalar(file, v, "description", kMaxText, true));
    } else if (key == "severity") {
      severity = scalar(file, v, "severity", kMaxName);
      if (severity && !parse_severity(severity->value)) {
        error_at(file, v, "severity " + shown(severity->value) + " is not one of info, low, medium, high, critical");
        severity.reset();
      }
      bad |= !severity;
    } else if (key == "scope") {
      scope = scalar(file, v, "scope", kMaxName);
      if (scope && !parse_scope(scope->value)) {
        error_at(file, v, "scope " + shown(scope->value) + " is not one of destination, flow, dns, capture, request");
        scope.reset();
      }
      bad |= !scope;
    } else if (key == "condition") {
      bad |= !(condition = scalar(file, v, "condition", kMaxCondition, true));
    } else if (key == "message") {
      bad |= !(message = scalar(file, v, "message", kMaxText, true));
    } else if (key == "remediation") {
      bad |= !(remediation = scalar(file, v, "remediation", kMaxText, true));
    } else if (key == "references") {
      bad |= !(refs = references(file, v));
    } else if (key == "tags") {
      bad |= !(tags = string_list(file, v, "tags", 64));
    } else if (key == "enabled") {
      bad |= !(enabled = boolean(file, v, "enabled"));
    } else {
      unknown_key(file, kv.first, "a rule",
                  "id, title, description, severity, scope, condition, message, references, tags, remediation, "
                  "enabled");
    }
  }
  if (!id) {
    if (!id_node) error_at(file, entry, "a rule needs an id");
    return;
  }
  if (!claim(file, *id, id_node, seen, "rule id")) return;
  auto existing = rule_index_.find(id->value);
  PendingRule* target = nullptr;
  if (existing != rule_index_.end()) {
    target = &rules_[existing->second];  // an override of the keys given
  } else {
    std::string missing;
    for (const auto& [present, name] : {std::pair{title.has_value() || bad, "title"},
                                        std::pair{severity.has_value() || bad, "severity"},
                                        std::pair{scope.has_value() || bad, "scope"},
                                        std::pair{condition.has_value() || bad, "condition"}}) {
      if (!present && !entry[name]) missing += missing.empty() ? name : std::string(", ") + name;
    }
    if (!missing.empty()) {
      const bool override_only = !condition && !entry["condition"];
      error_at(file, id_node,
               override_only ? "rule " + shown(id->value) + " is not defined by an earlier file, so it cannot be "
                                   "overridden here; a new rule needs " + missing
                             : "rule " + shown(id->value) + " needs " + missing);
      return;
    }
    if (bad) return;
    if (rules_.size() >= kMaxDefinitions) {
      error_at(file, id_node, "too many rules (limit " + std::to_string(kMaxDefinitions) + ")");
      return;
    }
    rules_.emplace_back();
    target = &rules_.back();
    rule_index_.emplace(id->value, rules_.size() - 1);
    target->rule.id = id->value;
    target->rule.pack = sources_[file]->name;
    target->id = *id;
    ++defined_rules_;
  }
  if (bad) return;
  Rule& r = target->rule;
  r.origin = origin_of(*id);
  if (title) r.title = title->value;
  if (description) r.description = description->value;
  if (severity) r.severity = *parse_severity(severity->value);
  if (scope) r.scope = *parse_scope(scope->value);
  if (condition) {
    r.condition = condition->value;
    target->condition = *condition;
  }
  if (message) {
    r.message = message->value;
    target->message = *message;
  }
  if (remediation) r.remediation = remediation->value;
  if (refs) r.references = std::move(*refs);
  if (tags) {
    r.tags.clear();
    for (auto& t : *tags) r.tags.push_back(std::move(t.value));
  }
  if (enabled) r.enabled = *enabled;
}

void Loader::read_waiver(std::size_t file, const YAML::Node& entry, std::set<std::string>&) {
  PendingWaiver p;
  std::optional<Scalar> rule, condition, reason, expires;
  YAML::Node expires_node;
  for (const auto& kv : entry) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    if (key == "rule") {
      rule = scalar(file, kv.second, "rule", kMaxName);
    } else if (key == "condition") {
      condition = scalar(file, kv.second, "condition", kMaxCondition, true);
    } else if (key == "reason") {
      reason = scalar(file, kv.second, "reason", kMaxText, true);
    } else if (key == "expires") {
      expires = scalar(file, kv.second, "expires", kMaxName);
      expires_node = kv.second;
    } else {
      unknown_key(file, kv.first, "a waiver", "rule, condition, reason, expires");
    }
  }
  bool ok = true;
  for (const auto& [value, name] : {std::pair{&rule, "rule"}, std::pair{&reason, "reason"},
                                    std::pair{&expires, "expires"}}) {
    if (!*value) {
      if (!entry[name]) error_at(file, entry, std::string("a waiver needs ") + name);
      ok = false;
    }
  }
  if (!ok) return;
  const auto date = parse_date(expires->value);
  if (!date) {
    error_at(file, expires_node, "expires " + shown(expires->value) + " is not a date YYYY-MM-DD");
    return;
  }
  if (waivers_.size() >= kMaxDefinitions) {
    error_at(file, entry, "too many waivers");
    return;
  }
  p.waiver.rule = rule->value;
  p.waiver.reason = reason->value;
  p.waiver.expires = *date;
  p.waiver.expired = *date < options_.today;
  p.waiver.origin = origin_of(*rule);
  p.rule = *rule;
  if (condition) {
    p.waiver.condition = condition->value;
    p.condition = *condition;
  }
  waivers_.push_back(std::move(p));
}

void Loader::read_allowlist(std::size_t file, const YAML::Node& entry, std::set<std::string>& seen) {
  Allowlist a;
  std::optional<Scalar> app;
  YAML::Node app_node;
  bool ok = true;
  for (const auto& kv : entry) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    const YAML::Node& v = kv.second;
    if (key == "app") {
      app = scalar(file, v, "app", kMaxName);
      app_node = v;
      if (app && !valid_id(app->value)) {
        error_at(file, v, "app " + shown(app->value) + " may only use a-z, 0-9, '.', '-' and '_'");
        app.reset();
      }
      ok &= app.has_value();
    } else if (key == "description") {
      if (auto s = scalar(file, v, "description", kMaxText, true)) a.description = s->value;
    } else if (key == "severity") {
      auto s = scalar(file, v, "severity", kMaxName);
      if (s && parse_severity(s->value)) {
        a.severity = *parse_severity(s->value);
      } else {
        if (s) error_at(file, v, "severity " + shown(s->value) + " is not one of info, low, medium, high, critical");
        ok = false;
      }
    } else if (key == "hosts" || key == "services") {
      auto items = string_list(file, v, key, kMaxListItems);
      if (!items) {
        ok = false;
        continue;
      }
      for (auto& s : *items) (key == "hosts" ? a.hosts : a.services).push_back(std::move(s.value));
    } else if (key == "networks") {
      auto items = string_list(file, v, key, kMaxListItems);
      if (!items) {
        ok = false;
        continue;
      }
      for (const Scalar& s : *items) {
        std::optional<core::Cidr> cidr;
        if (s.value.find('/') != std::string::npos) {
          cidr = core::Cidr::parse(s.value);
        } else if (auto ip = core::IpAddress::parse(s.value)) {
          cidr = core::Cidr::parse(s.value + (ip->is_v4() ? "/32" : "/128"));
        }
        if (!cidr) {
          error_at(file, s.start, "networks item " + shown(s.value) + " is not an IP address or CIDR prefix");
          ok = false;
          continue;
        }
        a.networks.push_back(*cidr);
      }
    } else {
      unknown_key(file, kv.first, "an allowlist", "app, description, severity, hosts, services, networks");
    }
  }
  if (!app) {
    if (!app_node) error_at(file, entry, "an allowlist needs app: NAME");
    return;
  }
  if (!ok || !claim(file, *app, app_node, seen, "allowlist for app")) return;
  if (a.hosts.empty() && a.services.empty() && a.networks.empty()) {
    error_at(file, entry, "allowlist " + shown(app->value) + " allows nothing: give hosts, services or networks");
    return;
  }
  a.app = app->value;
  a.origin = origin_of(*app);
  auto& list = out_.policy.allowlists;
  auto it = std::find_if(list.begin(), list.end(), [&](const Allowlist& x) { return x.app == a.app; });
  if (it != list.end()) {
    *it = std::move(a);  // a later file replaces an app's allowlist
  } else if (list.size() < kMaxDefinitions) {
    list.push_back(std::move(a));
  }
}

std::optional<lang::Predicate> Loader::compile_condition(const Scalar& condition, Scope scope,
                                                         const std::string& context) {
  auto parsed = lang::parse_condition(condition.value);
  if (auto* e = std::get_if<lang::Error>(&parsed)) {
    error_in(condition, e->pos.offset, e->message + chain_text(context, {}));
    return std::nullopt;
  }
  lang::MacroMap macro_map;
  for (const auto& [name, def] : macros_) macro_map.emplace(name, def.tree.get());
  lang::ListMap list_map;
  for (const auto& [name, def] : lists_) list_map.emplace(name, def.items);
  lang::CompileOptions opts;
  opts.macros = &macro_map;
  opts.lists = &list_map;
  opts.scope = scope;
  auto compiled = lang::compile(*std::get<lang::NodePtr>(parsed), opts);
  if (auto* e = std::get_if<lang::Error>(&compiled)) {
    report(*e, condition, context);
    return std::nullopt;
  }
  return std::get<lang::Predicate>(std::move(compiled));
}

// Message templates: "{field}" is a field of the record, "{{" and "}}" literal braces.
bool Loader::compile_message(PendingRule& p) {
  Rule& r = p.rule;
  const std::string& text = r.message.empty() ? r.title : r.message;
  const bool written = !r.message.empty();
  MessageTemplate out;
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal += c;
      ++i;
      continue;
    }
    if (c == '}') {
      if (written) error_in(p.message, i, "unmatched '}' in message (write '}}' for a brace)" +
                                              chain_text("rule " + r.id, {}));
      return false;
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    const std::size_t close = text.find('}', i + 1);
    if (close == std::string::npos) {
      if (written) error_in(p.message, i, "unclosed '{' in message (write '{{' for a brace)" +
                                              chain_text("rule " + r.id, {}));
      return false;
    }
    const std::string name = text.substr(i + 1, close - i - 1);
    const auto field = lang::find_field(name);
    if (!field) {
      if (written) error_in(p.message, i + 1, "unknown field " + shown(name) + " in message (flowaudit rules fields "
                                                  "lists them)" + chain_text("rule " + r.id, {}));
      return false;
    }
    if (!lang::field_visible(lang::field_info(*field).scope, r.scope)) {
      if (written) {
        error_in(p.message, i + 1,
                 "field " + shown(name) + " belongs to " + std::string(lang::scope_name(lang::field_info(*field).scope)) +
                     " records, not to a " + std::string(lang::scope_name(r.scope)) + " rule" +
                     chain_text("rule " + r.id, {}));
      }
      return false;
    }
    if (!literal.empty()) out.pieces.emplace_back(std::move(literal));
    literal.clear();
    out.pieces.emplace_back(*field);
    i = close;
  }
  if (!literal.empty()) out.pieces.emplace_back(std::move(literal));
  r.message_template = std::move(out);
  return true;
}

// Every macro is type-checked on its own, used or not, so that a mistake in a macro nobody uses yet
// is still reported (Falco only checks what rules reach). A macro found broken here is not reported
// again through every rule that uses it.
void Loader::check_macros() {
  lang::MacroMap macro_map;
  for (const auto& [name, def] : macros_) macro_map.emplace(name, def.tree.get());
  lang::ListMap list_map;
  for (const auto& [name, def] : lists_) list_map.emplace(name, def.items);
  lang::CompileOptions opts;
  opts.macros = &macro_map;
  opts.lists = &list_map;
  for (auto& [name, def] : macros_) {
    if (def.broken || too_many()) continue;
    lang::Node ref;
    ref.kind = lang::NodeKind::kMacroRef;
    ref.name = name;
    auto compiled = lang::compile(ref, opts);
    const auto* e = std::get_if<lang::Error>(&compiled);
    if (e == nullptr || e->macro_chain.empty()) continue;
    auto it = macros_.find(e->macro_chain.back());
    if (it == macros_.end() || it->second.broken) continue;
    if (e->message.find("has no condition") != std::string::npos) continue;
    std::string chain = " (in macro ";
    for (std::size_t i = 0; i < e->macro_chain.size(); ++i) chain += (i ? " > " : "") + e->macro_chain[i];
    error_in(it->second.condition, e->pos.offset, e->message + chain + ")");
    it->second.broken = true;
  }
}

void Loader::compile() {
  for (auto& [name, def] : macros_) {
    auto parsed = lang::parse_condition(def.condition.value);
    if (auto* e = std::get_if<lang::Error>(&parsed)) {
      error_in(def.condition, e->pos.offset, e->message + " (in macro " + name + ")");
      def.broken = true;
    } else {
      def.tree = std::move(std::get<lang::NodePtr>(parsed));
    }
  }
  check_macros();
  for (PendingRule& p : rules_) {
    Rule& r = p.rule;
    r.predicate = compile_condition(p.condition, r.scope, "rule " + r.id);
    compile_message(p);
    out_.policy.rules.push_back(std::move(r));
  }
  for (PendingWaiver& p : waivers_) {
    Waiver& w = p.waiver;
    std::vector<Scope> scopes;
    for (const Rule& r : out_.policy.rules) {
      const bool match = has_glob(w.rule) ? lang::glob_match(w.rule, r.id) : r.id == w.rule;
      if (match && std::find(scopes.begin(), scopes.end(), r.scope) == scopes.end()) scopes.push_back(r.scope);
    }
    if (scopes.empty()) {
      error_in(p.rule, 0, "waiver for " + shown(w.rule) + ", which names no rule of the policy");
      continue;
    }
    bool ok = true;
    if (!w.condition.empty()) {
      for (const Scope scope : scopes) {
        auto predicate = compile_condition(p.condition, scope, "waiver for " + w.rule);
        if (!predicate) {
          ok = false;
          break;
        }
        w.predicates.emplace_back(scope, std::move(*predicate));
      }
    }
    if (!ok) continue;
    if (w.expired) {
      out_.warnings.push_back(w.origin.file + ":" + std::to_string(w.origin.line) + ": the waiver for " + w.rule +
                              " expired on " + format_date(w.expires) + " and is not applied");
    }
    out_.policy.waivers.push_back(std::move(w));
  }
}

}  // namespace

LoadResult load_policy(const std::vector<std::string>& specs, const LoadOptions& options) {
  LoadResult out;
  Loader loader(options, out);
  for (const auto& spec : specs) loader.load_spec(spec);
  loader.compile();
  return out;
}

LoadResult load_policy_text(std::string_view text, std::string_view name, const LoadOptions& options) {
  LoadResult out;
  Loader loader(options, out);
  loader.load_text(text, name);
  loader.compile();
  return out;
}

std::optional<std::filesystem::path> find_builtin_policies() {
  const auto data = analysis::enrich::find_data_dir();
  if (!data) return std::nullopt;
  std::error_code ec;
  if (!fs::is_directory(*data / "policies", ec)) return std::nullopt;
  return *data / "policies";
}

std::vector<std::string> builtin_pack_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    if (p.extension() == ".yaml" && p.filename().string().front() != '.') names.push_back(p.stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace flowaudit::rules::load
