// Fuzz target: the structure walkers (analysis/inspect/fields.h). Input: one byte, then the bytes.
// Bits 0-2 of the first byte choose the walker: 0 request target, 1 header list (lines "name:value"),
// 2 JSON body, 3 form body, 4 multipart body (boundary "B"), 5 body without a content type,
// 6 DNS name, 7 text as a WebSocket message. Bit 3: small limits (depth 4, 16 fields, 300 bytes,
// path 24) instead of the defaults. Invariants: paths within the path limit, counts within the
// field limit and equal to what the sink saw, bytes within the byte limit and the input, names
// lower-cased, decodings from the documented set, every view readable.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/inspect/fields.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit::analysis::inspect;

bool lower(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return false;
  return true;
}

class CheckingSink final : public FieldSink {
 public:
  explicit CheckingSink(const WalkLimits& lim) : lim_(lim) {}
  std::uint64_t fields = 0;
  std::uint64_t objects = 0;
  void on_field(const Field& f) override {
    ++fields;
    FUZZ_CHECK(fields <= lim_.max_fields);
    FUZZ_CHECK(f.path.size() <= lim_.max_path);
    FUZZ_CHECK(lower(f.name));
    FUZZ_CHECK(f.decoding.empty() || f.decoding == "url" || f.decoding == "json" || f.decoding == "url+json" ||
               f.decoding == "json+json");
    touch(f.path);
    touch(f.name);
    touch(f.value);
  }
  void on_object(std::string_view path, std::span<const NamedScalar> members) override {
    ++objects;
    FUZZ_CHECK(path.size() <= lim_.max_path);
    FUZZ_CHECK(!members.empty());
    FUZZ_CHECK(members.size() <= lim_.max_fields);
    for (const auto& m : members) {
      FUZZ_CHECK(lower(m.name));
      touch(m.name);
      touch(m.value);
    }
  }

 private:
  static void touch(std::string_view s) {
    flowaudit::fuzz::touch(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  }
  WalkLimits lim_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t config = data[0];
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  WalkLimits lim;
  if (config & 8) lim = WalkLimits{.depth = 4, .max_fields = 16, .max_bytes = 300, .max_path = 24};
  CheckingSink sink(lim);
  WalkStats st;
  switch (config & 7) {
    case 0: st = walk_target(text, sink, lim); break;
    case 1: {
      std::vector<std::pair<std::string_view, std::string_view>> headers;
      std::size_t pos = 0;
      while (pos < text.size() && headers.size() < 1000) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const std::string_view line = text.substr(pos, nl - pos);
        const std::size_t colon = line.find(':', 1);
        if (colon == std::string_view::npos) headers.emplace_back(line, std::string_view());
        else headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
        pos = nl + 1;
      }
      st = walk_headers(headers, sink, lim);
      break;
    }
    case 2: st = walk_body("application/json", in, "body", sink, lim); break;
    case 3: st = walk_body("application/x-www-form-urlencoded", in, "body", sink, lim); break;
    case 4: st = walk_body("multipart/form-data; boundary=B", in, "body", sink, lim); break;
    case 5: st = walk_body("", in, "body", sink, lim); break;
    case 6: st = walk_dns_name(text, sink, lim); break;
    default: st = walk_body("text/plain", in, "ws[7]", sink, lim); break;
  }
  FUZZ_CHECK(st.fields == sink.fields);
  FUZZ_CHECK(st.objects == sink.objects);
  FUZZ_CHECK(st.fields <= lim.max_fields);
  FUZZ_CHECK(st.bytes <= lim.max_bytes);
  FUZZ_CHECK(st.bytes <= in.size());
  return 0;
}
