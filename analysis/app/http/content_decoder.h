// Content-Encoding of HTTP bodies (RFC 9110 §8.4): gzip and deflate through zlib, br through
// libbrotli, zstd through libzstd (Debian zlib1g-dev, libbrotli-dev, libzstd-dev), streaming, with
// limits on what one body may expand to: a decompression bomb stops with kLimit, it never grows
// memory. Only the decoders' own state is allocated (zstd's window capped at 8 MiB as RFC 8878 §3
// asks of HTTP; brotli's at its standard 16 MiB), and the number of live decoders is capped per
// process so that many parallel streams cannot add those windows up.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace flowaudit::analysis::http {

enum class DecodeState : std::uint8_t {
  kIdentity,     // no content coding (or "identity")
  kDecoding,     // a coded body is being read
  kDone,         // decoded to the coding's own end
  kUnsupported,  // a coding this build does not decode, or more than one coding
  kMalformed,    // the bytes are not in the coding they claim
  kTruncated,    // the body ended before the coding's end
  kLimit,        // kMaxOutput, kMaxRatio or kMaxLiveDecoders crossed
};
// "", "decoding", "ok", "unsupported", "malformed", "truncated", "limit"
const char* to_string(DecodeState s) noexcept;

class ContentDecoder {
 public:
  static constexpr std::uint64_t kMaxOutput = 64ull << 20;  // decoded bytes of one body
  static constexpr std::uint64_t kMaxRatio = 1000;          // decoded / coded, once past kRatioGrace
  static constexpr std::uint64_t kRatioGrace = 1ull << 20;  // small bodies may compress better than that
  static constexpr int kMaxLiveDecoders = 256;

  using Sink = void (*)(void* ctx, std::span<const std::uint8_t> decoded);

  virtual ~ContentDecoder();

  // A decoder for the Content-Encoding value, or nullptr for no coding. An unknown or chained
  // coding gives a decoder whose state() is already kUnsupported (it passes nothing on).
  static std::unique_ptr<ContentDecoder> make(std::string_view content_encoding);

  // Decodes coded bytes, handing each decoded piece to sink; stops for good on error or limit.
  void feed(std::span<const std::uint8_t> coded, Sink sink, void* ctx);
  // The body ended: kDone when the coding ended too, else kTruncated.
  void finish();

  [[nodiscard]] DecodeState state() const noexcept { return state_; }
  [[nodiscard]] std::uint64_t decoded_bytes() const noexcept { return out_; }
  [[nodiscard]] static int live() noexcept;

 protected:
  ContentDecoder();
  // Decodes into out; sets used (input consumed) and produced; returns false on malformed input.
  // ended is set when the coded stream reached its end.
  virtual bool step(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t& used,
                    std::size_t& produced, bool& ended) = 0;
  // For codings whose stream may hold several frames (zstd): the body may end here.
  [[nodiscard]] virtual bool clean_end() const noexcept { return false; }

  DecodeState state_ = DecodeState::kDecoding;

 private:
  std::uint64_t in_ = 0;
  std::uint64_t out_ = 0;
  bool ended_ = false;
  bool counted_ = false;
};

}  // namespace flowaudit::analysis::http
