#include "analysis/app/http/content_decoder.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <atomic>

#include "analysis/app/http/http_request.h"

namespace flowaudit::analysis::http {
namespace {

std::atomic<int> g_live{0};

class ZlibDecoder final : public ContentDecoder {
 public:
  // gzip: zlib's automatic gzip/zlib header detection, members concatenated (RFC 1952 §2.2).
  // deflate: the zlib format RFC 9110 §8.4.1.2 names; servers that send a raw deflate stream
  // instead are common enough that a zlib header error on the first bytes retries as raw.
  explicit ZlibDecoder(bool gzip) : gzip_(gzip) {
    if (state_ != DecodeState::kDecoding) return;
    if (inflateInit2(&z_, gzip ? 15 + 32 : 15) != Z_OK) state_ = DecodeState::kLimit;
    else init_ = true;
  }
  ~ZlibDecoder() override {
    if (init_) inflateEnd(&z_);
  }

 private:
  bool step(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t& used, std::size_t& produced,
            bool& ended) override {
    z_.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct; it only reads
    z_.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), 1u << 30));
    z_.next_out = out.data();
    z_.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z_, Z_NO_FLUSH);
    if (rc == Z_DATA_ERROR && !gzip_ && !raw_ && z_.total_out == 0 && started_ == 0) {
      raw_ = true;
      inflateEnd(&z_);
      init_ = inflateInit2(&z_, -15) == Z_OK;
      if (!init_) return false;
      return step(in, out, used, produced, ended);
    }
    used = in.size() - z_.avail_in;
    produced = out.size() - z_.avail_out;
    started_ += used;
    if (rc == Z_STREAM_END) {
      if (gzip_ && used < in.size()) {  // another gzip member follows
        inflateReset(&z_);
        return true;
      }
      ended = true;
      return true;
    }
    return rc == Z_OK || rc == Z_BUF_ERROR;
  }

  z_stream z_{};
  bool gzip_;
  bool raw_ = false;
  bool init_ = false;
  std::uint64_t started_ = 0;
};

class BrotliDecoder final : public ContentDecoder {
 public:
  BrotliDecoder() {
    if (state_ != DecodeState::kDecoding) return;
    s_ = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (s_ == nullptr) state_ = DecodeState::kLimit;
  }
  ~BrotliDecoder() override {
    if (s_ != nullptr) BrotliDecoderDestroyInstance(s_);
  }

 private:
  bool step(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t& used, std::size_t& produced,
            bool& ended) override {
    std::size_t avail_in = in.size();
    const std::uint8_t* next_in = in.data();
    std::size_t avail_out = out.size();
    std::uint8_t* next_out = out.data();
    const auto rc = BrotliDecoderDecompressStream(s_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    used = in.size() - avail_in;
    produced = out.size() - avail_out;
    if (rc == BROTLI_DECODER_RESULT_ERROR) return false;
    ended = rc == BROTLI_DECODER_RESULT_SUCCESS;
    return true;
  }

  BrotliDecoderState* s_ = nullptr;
};

class ZstdDecoder final : public ContentDecoder {
 public:
  ZstdDecoder() {
    if (state_ != DecodeState::kDecoding) return;
    d_ = ZSTD_createDCtx();
    // RFC 8878 §3: a zstd content coding's window is at most 8 MB; a larger one is refused.
    if (d_ == nullptr || ZSTD_isError(ZSTD_DCtx_setParameter(d_, ZSTD_d_windowLogMax, 23))) state_ = DecodeState::kLimit;
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(d_); }

 private:
  bool step(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t& used, std::size_t& produced,
            bool& ended) override {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(d_, &ob, &ib);
    used = ib.pos;
    produced = ob.pos;
    if (ZSTD_isError(rc)) return false;
    // 0: a frame ended; more frames may follow in the same body, and then it reads on.
    // A call with nothing to do answers with the next frame's header size: not an open frame.
    if (used > 0 || produced > 0) frame_open_ = rc != 0;
    seen_ = seen_ || used > 0;
    ended = false;
    return true;
  }
  bool clean_end() const noexcept override { return seen_ && !frame_open_; }

  ZSTD_DCtx* d_ = nullptr;
  bool frame_open_ = false;
  bool seen_ = false;
};

class UnsupportedDecoder final : public ContentDecoder {
 public:
  UnsupportedDecoder() {
    if (state_ == DecodeState::kDecoding) state_ = DecodeState::kUnsupported;
  }

 private:
  bool step(std::span<const std::uint8_t>, std::span<std::uint8_t>, std::size_t&, std::size_t&, bool&) override {
    return false;
  }
};

}  // namespace

const char* to_string(DecodeState s) noexcept {
  switch (s) {
    case DecodeState::kIdentity: return "";
    case DecodeState::kDecoding: return "decoding";
    case DecodeState::kDone: return "ok";
    case DecodeState::kUnsupported: return "unsupported";
    case DecodeState::kMalformed: return "malformed";
    case DecodeState::kTruncated: return "truncated";
    case DecodeState::kLimit: return "limit";
  }
  return "";
}

ContentDecoder::ContentDecoder() {
  if (g_live.fetch_add(1) >= kMaxLiveDecoders) {
    g_live.fetch_sub(1);
    state_ = DecodeState::kLimit;
  } else {
    counted_ = true;
  }
}

ContentDecoder::~ContentDecoder() {
  if (counted_) g_live.fetch_sub(1);
}

int ContentDecoder::live() noexcept { return g_live.load(); }

std::unique_ptr<ContentDecoder> ContentDecoder::make(std::string_view content_encoding) {
  const std::string_view c = trim_ows(content_encoding);
  if (c.empty() || iequals(c, "identity")) return nullptr;
  if (iequals(c, "gzip") || iequals(c, "x-gzip")) return std::make_unique<ZlibDecoder>(true);
  if (iequals(c, "deflate")) return std::make_unique<ZlibDecoder>(false);
  if (iequals(c, "br")) return std::make_unique<BrotliDecoder>();
  if (iequals(c, "zstd")) return std::make_unique<ZstdDecoder>();
  // Chained codings ("gzip, br") and others (compress, dcb, dcz) are not decoded: the body is
  // counted, and the report says why it was not read.
  return std::make_unique<UnsupportedDecoder>();
}

void ContentDecoder::feed(std::span<const std::uint8_t> coded, Sink sink, void* ctx) {
  std::array<std::uint8_t, 16 * 1024> buf;  // output scratch: written before it is read, not zeroed per call
  while (state_ == DecodeState::kDecoding) {
    std::size_t used = 0;
    std::size_t produced = 0;
    bool ended = false;
    if (!step(coded, buf, used, produced, ended)) {
      state_ = DecodeState::kMalformed;
      return;
    }
    coded = coded.subspan(used);
    in_ += used;
    if (produced > 0) {
      out_ += produced;
      if (out_ > kMaxOutput || (out_ > kRatioGrace && out_ / kMaxRatio > in_)) {
        state_ = DecodeState::kLimit;
        return;
      }
      sink(ctx, std::span<const std::uint8_t>(buf.data(), produced));
    }
    if (ended) {
      ended_ = true;
      state_ = DecodeState::kDone;  // bytes after the coding's end are not part of the body
      return;
    }
    if (used == 0 && produced == 0) return;  // needs more input
  }
}

void ContentDecoder::finish() {
  if (state_ != DecodeState::kDecoding) return;
  state_ = ended_ || clean_end() ? DecodeState::kDone : DecodeState::kTruncated;
}

}  // namespace flowaudit::analysis::http
