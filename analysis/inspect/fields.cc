#include "analysis/inspect/fields.h"

#include <boost/json/basic_parser_impl.hpp>
#include <algorithm>
#include <charconv>
#include <functional>
#include <string>
#include <vector>

#include "analysis/app/http/http_request.h"
#include "core/utf8.h"

namespace flowaudit::analysis::inspect {
namespace {

constexpr std::size_t kMaxMultipartNesting = 1;  // multipart inside a multipart part, no deeper
constexpr std::size_t kMaxParts = 256;           // parts of one multipart body
constexpr std::size_t kExtraParserDepth = 64;    // levels the parser reads past WalkLimits::depth (skipped)
constexpr unsigned kMaxEmbedding = 1;             // JSON inside a JSON string or a query/form value, no deeper

char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

using http::iequals;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding (RFC 3986 §2.1), '+' as space where the place is form-encoded. A '%' not followed
// by two hex digits is kept as it is (browsers and the URL Standard do the same). Hand-written: a loop
// no library of the project offers on string_views. Returns whether anything was undone.
bool url_decode_append(std::string_view in, bool plus_is_space, std::string& out) {
  bool changed = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && in.size() - i >= 3) {
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        changed = true;
        continue;
      }
    }
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
      changed = true;
      continue;
    }
    out.push_back(c);
  }
  return changed;
}

// Text: valid UTF-8 and no control characters but TAB, LF, FF, CR. A sequence cut by the byte limit
// at the very end is not held against the text (`cut_end`): it is dropped from `len`.
bool is_text(std::string_view s, bool cut_end, std::size_t& len) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if ((b < 0x20 && b != '\t' && b != '\n' && b != '\f' && b != '\r') || b == 0x7f) return false;
      ++i;
      continue;
    }
    const std::size_t n = core::utf8_sequence_length(s, i);
    if (n == 0) {
      if (cut_end && s.size() - i < 4) break;  // possibly a sequence the limit cut
      return false;
    }
    i += n;
  }
  len = i;
  return true;
}

// The media type of a Content-Type, lower-cased, without parameters.
std::string media_type(std::string_view ct) {
  const std::size_t semi = ct.find(';');
  std::string out;
  for (char c : trim(ct.substr(0, semi))) out.push_back(lower_ascii(c));
  return out;
}

// A parameter of a header value "type; a=b; c="d\"e"" (RFC 9110 §5.6.6 quoted-string) into `out`;
// false when absent. Hand-written: a few lines, and no library of the project reads parameters.
bool header_param(std::string_view value, std::string_view name, std::string& out) {
  // One pass (the value may be a part's header line of a large body): ';' key '=' (token | quoted).
  std::size_t pos = value.find(';');
  if (pos == std::string_view::npos) return false;
  std::string val;
  while (pos < value.size()) {  // at a ';'
    ++pos;
    std::size_t k = pos;
    while (k < value.size() && value[k] != '=' && value[k] != ';') ++k;
    if (k >= value.size()) return false;
    if (value[k] == ';') {
      pos = k;
      continue;
    }
    const std::string_view key = trim(value.substr(pos, k - pos));
    std::size_t v = k + 1;
    while (v < value.size() && (value[v] == ' ' || value[v] == '\t')) ++v;
    val.clear();
    if (v < value.size() && value[v] == '"') {
      k = v + 1;
      for (; k < value.size() && value[k] != '"'; ++k) {
        if (value[k] == '\\' && k + 1 < value.size()) ++k;
        val.push_back(value[k]);
      }
      while (k < value.size() && value[k] != ';') ++k;
    } else {
      k = v;
      while (k < value.size() && value[k] != ';') ++k;
      val.assign(trim(value.substr(v, k - v)));
    }
    if (iequals(key, name)) {
      out = val;
      return true;
    }
    pos = k;
  }
  return false;
}

bool is_json_type(std::string_view mt) noexcept {
  return mt == "application/json" || mt == "text/json" || mt == "application/x-ndjson" ||
         mt == "application/jsonl" || mt == "application/json-seq" ||
         (mt.size() > 5 && mt.substr(mt.size() - 5) == "+json");
}

// A string holding a JSON object or array ("{...}" or "[...]", spaces around allowed).
bool looks_like_json_container(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\r' || v.front() == '\n')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
  return v.size() >= 2 && ((v.front() == '{' && v.back() == '}') || (v.front() == '[' && v.back() == ']'));
}

// The decoding chain of a value read from JSON embedded in a value decoded by `outer`.
std::string_view chain(std::string_view outer, bool json_escaped) noexcept {
  if (outer.empty()) return json_escaped ? "json" : "";
  if (outer == "url") return json_escaped ? "url+json" : "url";
  return json_escaped ? "json+json" : "json";
}

struct MemberRef {
  std::size_t name_off, name_len, val_off, val_len;
};

// The state of one walk: the sink, the limits, the counts, the path being built, and one buffer
// (`store_`) holding decoded values and lower-cased names of the objects still open (stack
// discipline: an object's bytes are released when it ends).
class Walker {
 public:
  Walker(FieldSink& sink, const WalkLimits& limits) : sink_(sink), lim_(limits) {}

  WalkStats stats;
  std::string path;
  std::string store;
  std::vector<MemberRef> members;

  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  void stop() noexcept {
    stopped_ = true;
    stats.cut = true;
  }

  // Appends to `path` within the path limit.
  void path_append(std::string_view s) {
    const std::size_t room = lim_.max_path > path.size() ? lim_.max_path - path.size() : 0;
    if (s.size() > room) {
      stats.cut = true;
      s = s.substr(0, room);
    }
    path.append(s);
  }
  void path_index(std::uint64_t i) {
    char buf[24];
    buf[0] = '[';
    auto r = std::to_chars(buf + 1, buf + sizeof buf - 1, i);
    *r.ptr++ = ']';
    path_append(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  void path_reset(std::string_view p) {
    path.clear();
    path_append(p);
  }

  // Appends a lower-cased copy of `s` to store; returns its offset.
  std::size_t store_lower(std::string_view s) {
    const std::size_t off = store.size();
    for (char c : s) store.push_back(lower_ascii(c));
    return off;
  }
  std::string_view view(std::size_t off, std::size_t len) const noexcept {
    return std::string_view(store).substr(off, len);
  }

  // One leaf; false once the field limit is reached (the walk stops).
  bool emit(std::string_view name, std::string_view value, std::string_view decoding) {
    if (stopped_) return false;
    if (stats.fields >= lim_.max_fields) {
      stop();
      return false;
    }
    ++stats.fields;
    sink_.on_field(Field{path, name, value, decoding});
    return true;
  }

  // The members from `mark` on, as one object at `obj_path`; then released.
  void emit_object(std::string_view obj_path, std::size_t mark) {
    if (mark < members.size() && !stopped_) {
      named_.clear();
      for (std::size_t i = mark; i < members.size(); ++i)
        named_.push_back({view(members[i].name_off, members[i].name_len), view(members[i].val_off, members[i].val_len)});
      ++stats.objects;
      sink_.on_object(obj_path, named_);
    }
    members.resize(std::min(mark, members.size()));
  }

  // Bytes of the input this walk may still read.
  [[nodiscard]] std::size_t budget() const noexcept {
    return stats.bytes >= lim_.max_bytes ? 0 : lim_.max_bytes - stats.bytes;
  }
  // Takes at most the budget of `in`, counting it; sets cut when less than all of it.
  std::string_view take(std::string_view in) {
    const std::size_t n = std::min(in.size(), budget());
    if (n < in.size()) stats.cut = true;
    stats.bytes += n;
    return in.substr(0, n);
  }

  const WalkLimits& limits() const noexcept { return lim_; }

 private:
  FieldSink& sink_;
  WalkLimits lim_;
  std::vector<NamedScalar> named_;
  bool stopped_ = false;
};

// ---- JSON -----------------------------------------------------------------------------------------

// The handler Boost.JSON's basic_parser calls. Keeps a frame per open container: its path length, its
// name (in the walker's store), the next array index, and where its members start.
void walk_embedded(Walker& w, std::string_view prefix, std::string_view in, std::string_view outer,
                   std::size_t base_depth);

class JsonHandler {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  // `embed_level`: 0 for a body, 1 for JSON found inside a string value (whose decoding is `outer`
  // and which sits `base_depth` containers deep).
  JsonHandler(Walker& w, std::string_view in, unsigned embed_level, std::string_view outer, std::size_t base_depth)
      : w_(w), in_(in), embed_level_(embed_level), outer_(outer), base_depth_(base_depth) {}

  void begin_document(std::string_view prefix) {
    prefix_.assign(prefix);
    frames_.clear();
    have_key_ = false;
  }
  [[nodiscard]] bool stopped_by_us() const noexcept { return w_.stopped(); }

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }

  bool on_object_begin(boost::json::error_code& ec) { return open(true, ec); }
  bool on_array_begin(boost::json::error_code& ec) { return open(false, ec); }
  bool on_object_end(std::size_t, boost::json::error_code& ec) { return close(ec); }
  bool on_array_end(std::size_t, boost::json::error_code& ec) { return close(ec); }

  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (!have_key_part_) key_.clear();
    have_key_part_ = true;
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t n, boost::json::error_code& ec) {
    on_key_part(s, n, ec);
    have_key_part_ = false;
    have_key_ = true;
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (!have_str_part_) {
      str_.clear();
      escaped_ = false;
    }
    have_str_part_ = true;
    // Boost.JSON hands out pieces of the input as they are, and pieces of its own buffer once an
    // escape was undone: a piece outside the input means the string had escapes.
    if (!s.empty() && !inside_input(s.data())) escaped_ = true;
    str_.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t n, boost::json::error_code& ec) {
    on_string_part(s, n, ec);
    have_str_part_ = false;
    return scalar(str_, chain(outer_, escaped_), ec, true);
  }
  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    num_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, boost::json::string_view s, boost::json::error_code& ec) { return number(s, ec); }
  bool on_uint64(std::uint64_t, boost::json::string_view s, boost::json::error_code& ec) { return number(s, ec); }
  bool on_double(double, boost::json::string_view s, boost::json::error_code& ec) { return number(s, ec); }
  bool on_bool(bool b, boost::json::error_code& ec) { return scalar(b ? "true" : "false", chain(outer_, false), ec); }
  bool on_null(boost::json::error_code&) {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;  // keeps array indexes true
    have_key_ = false;
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 private:
  struct Frame {
    bool object;
    bool skipped;             // deeper than the limit: nothing inside is reported
    std::size_t path_len;     // the container's own path
    std::size_t store_mark;   // store size before the container's name
    std::size_t name_off, name_len;
    std::size_t members_mark;
    std::uint64_t index = 0;  // next element (arrays)
  };

  bool inside_input(const char* p) const noexcept {
    const std::less<const char*> less;  // a total order, also between unrelated buffers
    return !less(p, in_.data()) && less(p, in_.data() + in_.size());
  }

  // The path of the value starting now (into w_.path) and its name (offset/length in the store, the
  // name appended when it is a key); false when the value is inside a skipped container.
  bool value_path(std::size_t& name_off, std::size_t& name_len) {
    name_off = name_len = 0;
    if (frames_.empty()) {
      w_.path_reset(prefix_);
      have_key_ = false;
      return true;
    }
    Frame& parent = frames_.back();
    if (parent.skipped) {
      have_key_ = false;
      return false;
    }
    w_.path.resize(parent.path_len);
    if (parent.object) {
      w_.path_append(".");
      w_.path_append(have_key_ ? std::string_view(key_) : std::string_view());
      name_off = w_.store_lower(have_key_ ? std::string_view(key_) : std::string_view());
      name_len = w_.store.size() - name_off;
    } else {
      w_.path_index(parent.index++);
      name_off = parent.name_off;
      name_len = parent.name_len;
    }
    have_key_ = false;
    return true;
  }

  bool open(bool object, boost::json::error_code& ec) {
    const std::size_t store_mark = w_.store.size();
    std::size_t name_off = 0;
    std::size_t name_len = 0;
    const bool parent_skipped = !frames_.empty() && frames_.back().skipped;
    bool skipped = parent_skipped || !value_path(name_off, name_len);
    if (!skipped && frames_.size() + base_depth_ >= w_.limits().depth) {
      skipped = true;
      w_.stats.cut = true;
    }
    // An element of an array carries its array's name, which stays in the store while the array is
    // open (stack discipline).
    frames_.push_back(Frame{object, skipped, w_.path.size(), store_mark, name_off, name_len, w_.members.size()});
    return !fail_if_stopped(ec);
  }

  bool close(boost::json::error_code& ec) {
    if (frames_.empty()) return true;
    const Frame f = frames_.back();
    frames_.pop_back();
    if (!f.skipped) {
      if (f.object) {
        w_.path.resize(f.path_len);
        w_.emit_object(w_.path, f.members_mark);
      }
      w_.members.resize(std::min(f.members_mark, w_.members.size()));
      w_.store.resize(std::min(f.store_mark, w_.store.size()));
    }
    have_key_ = false;
    return !fail_if_stopped(ec);
  }

  bool number(boost::json::string_view last, boost::json::error_code& ec) {
    num_.append(last.data(), last.size());
    const std::string text = std::move(num_);
    num_.clear();
    return scalar(text, chain(outer_, false), ec);
  }

  bool scalar(std::string_view value, std::string_view decoding, boost::json::error_code& ec, bool string = false) {
    const std::size_t mark = w_.store.size();
    std::size_t name_off = 0;
    std::size_t name_len = 0;
    if (!value_path(name_off, name_len)) return true;
    const bool member = !frames_.empty() && frames_.back().object;
    const std::size_t val_off = w_.store.size();
    w_.store.append(value);
    w_.emit(w_.view(name_off, name_len), w_.view(val_off, value.size()), decoding);
    if (member) {
      w_.members.push_back(MemberRef{name_off, name_len, val_off, value.size()});
    }
    if (string && embed_level_ < kMaxEmbedding && !w_.stopped() && looks_like_json_container(value)) {
      // JSON sent as a string ("data": "{\"email\": ...}"): walked under the string's path. Copies:
      // the walk reuses the path and the store.
      const std::string inner(value);
      const std::string at(w_.path);
      walk_embedded(w_, at, inner, decoding, base_depth_ + frames_.size());
    }
    if (!member) w_.store.resize(mark);  // an element or the root: nothing keeps it
    return !fail_if_stopped(ec);
  }

  bool fail_if_stopped(boost::json::error_code& ec) {
    if (!w_.stopped()) return false;
    ec = boost::json::error::exception;  // any error: the parser stops and returns it
    return true;
  }

  Walker& w_;
  std::string_view in_;
  unsigned embed_level_;
  std::string_view outer_;
  std::size_t base_depth_;
  std::string prefix_;
  std::vector<Frame> frames_;
  std::string key_, str_, num_;
  bool have_key_ = false;
  bool have_key_part_ = false;
  bool have_str_part_ = false;
  bool escaped_ = false;
};

void walk_text(Walker& w, std::string_view prefix, std::string_view text, bool cut_end);

// One or more JSON documents (NDJSON, JSON text sequences, concatenated JSON). Returns false when
// the input is malformed.
bool walk_json(Walker& w, std::string_view prefix, std::string_view in, bool cut_end, unsigned embed_level = 0,
               std::string_view outer = {}, std::size_t base_depth = 0) {
  boost::json::parse_options opt;
  opt.max_depth = w.limits().depth + kExtraParserDepth;
  opt.allow_comments = true;
  opt.allow_trailing_commas = true;
  opt.allow_invalid_utf8 = true;
  boost::json::basic_parser<JsonHandler> parser(opt, w, in, embed_level, outer, base_depth);
  std::size_t pos = 0;
  std::string doc_prefix;
  for (std::uint64_t doc = 0;; ++doc) {
    // Whitespace and RFC 7464 record separators between documents.
    while (pos < in.size() && (in[pos] == ' ' || in[pos] == '\t' || in[pos] == '\r' || in[pos] == '\n' || in[pos] == '\x1e'))
      ++pos;
    if (pos >= in.size() || w.stopped() || (embed_level > 0 && doc > 0)) return true;
    doc_prefix.assign(prefix);
    if (doc > 0) {
      doc_prefix.push_back('#');
      doc_prefix.append(std::to_string(doc));
    }
    parser.reset();
    parser.handler().begin_document(doc_prefix);
    boost::json::error_code ec;
    const std::size_t n = parser.write_some(false, in.data() + pos, in.size() - pos, ec);
    if (ec) {
      if (parser.handler().stopped_by_us()) return true;
      if (ec == boost::json::error::too_deep) {
        w.stats.cut = true;
        return true;
      }
      if (cut_end && (ec == boost::json::error::incomplete)) return true;  // the byte limit cut it
      return false;
    }
    if (n == 0) return false;
    pos += n;
  }
}

// Embedded JSON: what parses is walked, what does not is left as the string it is (not malformed).
void walk_embedded(Walker& w, std::string_view prefix, std::string_view in, std::string_view outer,
                   std::size_t base_depth) {
  walk_json(w, prefix, in, false, 1, outer, base_depth);
}

// ---- forms and queries -----------------------------------------------------------------------------

// name=value pairs separated by '&' (URL Standard application/x-www-form-urlencoded parsing): fields
// `container.NAME` (or `container[i]` for a piece without '='), then one object `container`.
void walk_pairs(Walker& w, std::string_view container, std::string_view in, bool plus_is_space) {
  const std::size_t mark = w.members.size();
  const std::size_t store_mark = w.store.size();
  std::string name;
  std::string value;
  std::uint64_t index = 0;
  std::size_t pos = 0;
  while (pos <= in.size() && !w.stopped()) {
    std::size_t amp = in.find('&', pos);
    if (amp == std::string_view::npos) amp = in.size();
    const std::string_view piece = in.substr(pos, amp - pos);
    pos = amp + 1;
    if (piece.empty()) {
      if (amp >= in.size()) break;
      continue;
    }
    const std::size_t eq = piece.find('=');
    name.clear();
    value.clear();
    w.path_reset(container);
    std::size_t name_off = w.store.size();
    std::size_t name_len = 0;
    bool changed = false;
    if (eq == std::string_view::npos) {
      changed = url_decode_append(piece, plus_is_space, value);
      w.path_index(index);
    } else {
      url_decode_append(piece.substr(0, eq), plus_is_space, name);
      changed = url_decode_append(piece.substr(eq + 1), plus_is_space, value);
      w.path_append(".");
      w.path_append(name);
      name_off = w.store_lower(name);
      name_len = name.size();
    }
    ++index;
    const std::size_t val_off = w.store.size();
    w.store.append(value);
    w.emit(w.view(name_off, name_len), w.view(val_off, value.size()), changed ? "url" : "");
    w.members.push_back(MemberRef{name_off, name_len, val_off, value.size()});
    if (!w.stopped() && looks_like_json_container(value)) {
      // data={"email":...} in a query or a form: walked under the parameter's path.
      const std::string at(w.path);
      walk_embedded(w, at, value, changed ? "url" : "", 0);
    }
    if (amp >= in.size()) break;
  }
  w.emit_object(container, mark);
  w.store.resize(std::min(store_mark, w.store.size()));
}

// ---- bodies -----------------------------------------------------------------------------------------

void walk_text(Walker& w, std::string_view prefix, std::string_view text, bool cut_end) {
  std::size_t len = 0;
  if (!is_text(text, cut_end, len)) {
    ++w.stats.skipped;
    return;
  }
  if (len == 0) return;
  w.path_reset(prefix);
  // A text part or message is named by the last component of its path (a multipart part's name:
  // "multipart.idfa" -> "idfa"), so that name-based detectors see it; a whole body has no name.
  std::string name;
  const std::size_t dot = prefix.rfind('.');
  if (dot != std::string_view::npos && prefix.find('[', dot) == std::string_view::npos) {
    for (const char c : prefix.substr(dot + 1)) name += lower_ascii(c);
  }
  w.emit(name, text.substr(0, len), "");
}

void walk_content(Walker& w, std::string_view content_type, std::string_view in, std::string_view prefix,
                  std::size_t nesting, bool cut_end);

// multipart/form-data (RFC 7578) framed as RFC 2046 §5.1.1: "--boundary" lines, each part's header
// fields up to an empty line, the last delimiter "--boundary--". Lines may end in CRLF or LF
// (lenient). Hand-written: no Debian library reads multipart bodies from memory without I/O.
void walk_multipart(Walker& w, std::string_view boundary, std::string_view in, std::string_view prefix,
                    std::size_t nesting, bool cut_end) {
  if (boundary.empty() || boundary.size() > 200) {  // RFC 2046: 1 to 70 characters; lenient
    w.stats.malformed = true;
    return;
  }
  const std::string delim = "--" + std::string(boundary);
  // The first delimiter: at the start or after a line end.
  std::size_t pos = 0;
  if (in.substr(0, delim.size()) != delim) {
    const std::size_t f = in.find("\n" + delim);
    if (f == std::string_view::npos) {
      w.stats.malformed = !cut_end;
      return;
    }
    pos = f + 1;
  }
  const std::string next_delim = "\n" + delim;
  std::string part_prefix;
  std::string name;
  std::string filename;
  for (std::size_t part = 0; !w.stopped(); ++part) {
    pos += delim.size();
    if (in.substr(pos, 2) == "--") return;  // the close delimiter
    const std::size_t eol = in.find('\n', pos);
    if (eol == std::string_view::npos) {
      w.stats.malformed = w.stats.malformed || !cut_end;
      return;
    }
    if (part >= kMaxParts) {
      w.stats.cut = true;
      return;
    }
    const std::size_t start = eol + 1;
    std::size_t end = in.find(next_delim, start);
    const bool last = end == std::string_view::npos;
    std::string_view body = in.substr(start, last ? std::string_view::npos : end - start);
    if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
    // Header fields.
    std::string_view ctype;
    name.clear();
    filename.clear();
    bool have_name = false;
    while (!body.empty()) {
      const std::size_t nl = body.find('\n');
      std::string_view line = body.substr(0, nl);
      body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) break;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view hname = trim(line.substr(0, colon));
      const std::string_view hvalue = trim(line.substr(colon + 1));
      if (iequals(hname, "content-type")) {
        ctype = hvalue;
      } else if (iequals(hname, "content-disposition")) {
        have_name = header_param(hvalue, "name", name);
        header_param(hvalue, "filename", filename);
      }
    }
    part_prefix.assign(prefix);
    if (have_name && !name.empty()) {
      part_prefix.push_back('.');
      part_prefix.append(name);
    } else {
      part_prefix.push_back('[');
      part_prefix.append(std::to_string(part));
      part_prefix.push_back(']');
    }
    if (!filename.empty()) {
      w.path_reset(part_prefix);
      w.path_append(":filename");
      w.emit("filename", filename, "");
    }
    walk_content(w, ctype, body, part_prefix, nesting + 1, last && cut_end);
    if (last) {
      w.stats.malformed = w.stats.malformed || !cut_end;  // no close delimiter
      return;
    }
    pos = end + 1;
  }
}

// `in` has been counted against the byte budget already; `cut_end`: the byte limit cut it.
void walk_content(Walker& w, std::string_view content_type, std::string_view in, std::string_view prefix,
                  std::size_t nesting, bool cut_end) {
  const std::string mt = media_type(content_type);
  std::size_t first = 0;
  while (first < in.size() && (in[first] == ' ' || in[first] == '\t' || in[first] == '\r' || in[first] == '\n'))
    ++first;
  const bool looks_json = first < in.size() && (in[first] == '{' || in[first] == '[');
  const bool at_body = prefix == "body";
  if (mt.rfind("multipart/", 0) == 0) {
    std::string boundary;
    if (nesting <= kMaxMultipartNesting && header_param(content_type, "boundary", boundary)) {
      walk_multipart(w, boundary, in, at_body ? std::string_view("multipart") : prefix, nesting, cut_end);
    } else if (nesting > kMaxMultipartNesting) {
      w.stats.cut = true;
    } else {
      w.stats.malformed = true;
    }
    return;
  }
  if (mt == "application/x-www-form-urlencoded") {
    walk_pairs(w, at_body ? std::string_view("form") : prefix, in, true);
    return;
  }
  if (is_json_type(mt) || looks_json) {
    const std::uint64_t before = w.stats.fields;
    if (!walk_json(w, prefix, in, cut_end)) {
      w.stats.malformed = true;
      // The rest of a broken document, and a body that only looked like JSON, are still read as text.
      if (!w.stopped()) {
        std::size_t len = 0;
        if (is_text(in, cut_end, len) && len > 0) {
          w.path_reset(prefix);
          w.emit("", in.substr(0, len), "");
        } else if (w.stats.fields == before) {
          ++w.stats.skipped;
        }
      }
    }
    return;
  }
  walk_text(w, prefix, in, cut_end);
}

template <typename F>
WalkStats guarded(FieldSink& sink, const WalkLimits& limits, F&& f) noexcept {
  Walker w(sink, limits);
  try {
    f(w);
  } catch (...) {  // allocation failure, or a sink that threw: the walk stops there
    w.stats.cut = true;
  }
  return w.stats;
}

}  // namespace

WalkStats walk_target(std::string_view target, FieldSink& sink, const WalkLimits& limits) {
  return guarded(sink, limits, [&](Walker& w) {
    std::string_view t = w.take(target);
    t = t.substr(0, t.find('#'));
    const std::size_t q = t.find('?');
    std::string_view path = t.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
    if (!path.empty() && path.front() != '/') {
      // Absolute form "scheme://authority/path": the path starts at the first '/' after "//";
      // authority and asterisk forms have no path.
      const std::size_t scheme = path.find("://");
      if (scheme == std::string_view::npos) {
        path = {};
      } else {
        const std::size_t slash = path.find('/', scheme + 3);
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
      }
    }
    std::string seg;
    std::uint64_t index = 0;
    std::size_t pos = 0;
    while (pos < path.size() && !w.stopped()) {
      std::size_t slash = path.find('/', pos);
      if (slash == std::string_view::npos) slash = path.size();
      const std::string_view raw = path.substr(pos, slash - pos);
      pos = slash + 1;
      if (raw.empty()) continue;
      seg.clear();
      const bool changed = url_decode_append(raw, false, seg);
      w.path_reset("path");
      w.path_index(index++);
      w.emit("", seg, changed ? "url" : "");
    }
    if (!query.empty() && !w.stopped()) walk_pairs(w, "query", query, true);
  });
}

WalkStats walk_headers(HeaderList headers, FieldSink& sink, const WalkLimits& limits) {
  return guarded(sink, limits, [&](Walker& w) {
    const std::size_t all_mark = w.members.size();
    std::string lname;
    for (const auto& [name_in, value_in] : headers) {
      if (w.stopped() || w.budget() == 0) {
        if (w.budget() == 0) w.stats.cut = true;
        break;
      }
      const std::string_view name = w.take(name_in);
      const std::string_view value = w.take(value_in);
      if (name.empty() || name.front() == ':') continue;  // pseudo-headers: the target is walked on its own
      lname.clear();
      for (char c : name) lname.push_back(lower_ascii(c));
      if (lname == "cookie") {
        // Cookie: a=b; c=d (RFC 6265 §5.4). Values as sent.
        const std::size_t mark = w.members.size();
        const std::size_t store_mark = w.store.size();
        std::size_t pos = 0;
        while (pos <= value.size() && !w.stopped()) {
          std::size_t semi = value.find(';', pos);
          if (semi == std::string_view::npos) semi = value.size();
          const std::string_view piece = trim(value.substr(pos, semi - pos));
          pos = semi + 1;
          if (!piece.empty()) {
            const std::size_t eq = piece.find('=');
            const std::string_view cname = eq == std::string_view::npos ? std::string_view() : trim(piece.substr(0, eq));
            const std::string_view cvalue = eq == std::string_view::npos ? piece : trim(piece.substr(eq + 1));
            w.path_reset("header.cookie:");
            w.path_append(cname);
            const std::size_t name_off = w.store_lower(cname);
            w.emit(w.view(name_off, cname.size()), cvalue, "");
            // The values stay in the input, but a member refers to the store: copy them.
            const std::size_t val_off = w.store.size();
            w.store.append(cvalue);
            w.members.push_back(MemberRef{name_off, cname.size(), val_off, cvalue.size()});
          }
          if (semi >= value.size()) break;
        }
        w.emit_object("header.cookie", mark);
        w.store.resize(std::min(store_mark, w.store.size()));
        continue;
      }
      w.path_reset("header.");
      w.path_append(lname);
      const std::size_t name_off = w.store_lower(name);
      const std::size_t val_off = w.store.size();
      w.store.append(value);
      w.emit(w.view(name_off, name.size()), w.view(val_off, value.size()), "");
      w.members.push_back(MemberRef{name_off, name.size(), val_off, value.size()});
    }
    w.emit_object("header", all_mark);
  });
}

WalkStats walk_body(std::string_view content_type, std::span<const std::uint8_t> body, std::string_view prefix,
                    FieldSink& sink, const WalkLimits& limits) {
  return guarded(sink, limits, [&](Walker& w) {
    const std::string_view all(reinterpret_cast<const char*>(body.data()), body.size());
    const std::string_view in = w.take(all);
    walk_content(w, content_type, in, prefix, 0, in.size() < all.size());
  });
}

WalkStats walk_dns_name(std::string_view name, FieldSink& sink, const WalkLimits& limits, std::string_view place) {
  const std::string label_path = std::string(place) + ".label";
  const std::string name_path = std::string(place) + ".name";
  return guarded(sink, limits, [&](Walker& w) {
    std::string_view n = w.take(name);
    if (!n.empty() && n.back() == '.') n.remove_suffix(1);
    std::uint64_t index = 0;
    std::size_t pos = 0;
    while (pos < n.size() && !w.stopped()) {
      std::size_t dot = n.find('.', pos);
      if (dot == std::string_view::npos) dot = n.size();
      const std::string_view label = n.substr(pos, dot - pos);
      pos = dot + 1;
      w.path_reset(label_path);
      w.path_index(index++);
      if (!label.empty()) w.emit("", label, "");
    }
    if (!n.empty() && !w.stopped()) {
      w.path_reset(name_path);
      w.emit("", n, "");
    }
  });
}

}  // namespace flowaudit::analysis::inspect
