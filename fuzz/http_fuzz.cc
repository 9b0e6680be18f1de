// Fuzz target: HTTP/1.x request heads (looks_like_request, parse_request).
//
// The input is the first bytes a client sent. It is parsed whole and cut in half, each from an
// exact-size heap copy; besides memory errors the target checks that the views handed back lie
// inside the input and that more bytes never undo a result: a prefix that parsed is parsed the
// same way with more bytes after it, and a prefix that was malformed stays malformed.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "analysis/app/http/http_request.h"
#include "fuzz_check.h"

namespace {

using namespace flowaudit;
using analysis::app::ParseStatus;
using analysis::http::Request;

void check_view(std::string_view v, const std::uint8_t* base, std::size_t size) {
  if (v.empty()) return;
  const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
  FUZZ_CHECK(p >= base && v.size() <= size && p - base <= static_cast<std::ptrdiff_t>(size - v.size()));
  flowaudit::fuzz::touch(p, v.size());
}

// `copy` receives the exact-size copy the views in `r` point into.
ParseStatus parse_checked(const std::uint8_t* data, std::size_t size, Request& r, bool& looks,
                          std::unique_ptr<std::uint8_t[]>& copy) {
  copy = std::make_unique<std::uint8_t[]>(size);
  if (size > 0) std::memcpy(copy.get(), data, size);
  const std::span<const std::uint8_t> bytes(copy.get(), size);
  looks = analysis::http::looks_like_request(bytes);
  const ParseStatus status = analysis::http::parse_request(bytes, r);
  if (status == ParseStatus::kOk || status == ParseStatus::kLimit) {  // kLimit keeps what it read
    FUZZ_CHECK(!r.method.empty());  // the target may be empty: `GET HTTP/1.1` is read (issue 13)
    FUZZ_CHECK(r.version_minor <= 9);
    FUZZ_CHECK(r.header_count <= analysis::http::kMaxHeaders);
    FUZZ_CHECK(r.content_length >= -1);
    for (const std::string_view v : {r.method, r.target, r.host, r.user_agent, r.content_type}) {
      check_view(v, copy.get(), size);
    }
  }
  if (status == ParseStatus::kNeedMore) FUZZ_CHECK(size < analysis::http::kMaxHeaderBytes);
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Request full;
  bool full_looks = false;
  std::unique_ptr<std::uint8_t[]> full_copy;
  const ParseStatus full_status = parse_checked(data, size, full, full_looks, full_copy);

  Request half;
  bool half_looks = false;
  std::unique_ptr<std::uint8_t[]> half_copy;
  const ParseStatus half_status = parse_checked(data, size / 2, half, half_looks, half_copy);
  if (half_looks) FUZZ_CHECK(full_looks);
  if (half_status == ParseStatus::kMalformed) FUZZ_CHECK(full_status == ParseStatus::kMalformed);
  if (half_status == ParseStatus::kLimit) FUZZ_CHECK(full_status == ParseStatus::kLimit);
  if (half_status == ParseStatus::kOk) {
    FUZZ_CHECK(full_status == ParseStatus::kOk);
    FUZZ_CHECK(full.method == half.method && full.target == half.target && full.host == half.host);
    FUZZ_CHECK(full.user_agent == half.user_agent && full.content_type == half.content_type);
    FUZZ_CHECK(full.content_length == half.content_length && full.header_count == half.header_count);
  }
  return 0;
}
