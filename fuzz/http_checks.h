// The invariants every HTTP connection reader's exchanges keep (the http1 and http2 fuzz targets).
#pragma once

#include "analysis/app/http/content_decoder.h"
#include "analysis/app/http/http1_connection.h"
#include "fuzz_check.h"

namespace flowaudit::fuzz {

inline void check_exchange(const analysis::http::Exchange& e) {
  using analysis::http::ContentDecoder;
  using analysis::http::Exchange;
  FUZZ_CHECK(e.path.size() <= Exchange::kMaxField);
  FUZZ_CHECK(e.authority.size() <= Exchange::kMaxField);
  FUZZ_CHECK(e.request_body.size() <= Exchange::kMaxKeptBody);
  FUZZ_CHECK(e.request_body.size() <= e.request_body_decoded_bytes);
  // Cut: less was kept than was decoded (at the per-request, per-connection or per-run budget).
  if (e.request_body_cut) FUZZ_CHECK(e.request_body.size() < e.request_body_decoded_bytes);
  FUZZ_CHECK(e.request_body_decoded_bytes <= ContentDecoder::kMaxOutput);
  FUZZ_CHECK(e.response_body_decoded_bytes <= ContentDecoder::kMaxOutput);
}

}  // namespace flowaudit::fuzz
