#include "capture/pcapng_writer.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "capture/pcapng_format.h"

namespace flowaudit::capture {
namespace {

using namespace pcapng;  // block types and option codes
constexpr std::size_t kMaxComment = 1024;

// Host byte order throughout: the section header's magic tells readers which one.
void u16(std::string& b, std::uint16_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
void u32(std::string& b, std::uint32_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
void pad4(std::string& b) {
  while (b.size() % 4 != 0) b.push_back('\0');
}
void option(std::string& b, std::uint16_t code, std::string_view value) {
  u16(b, code);
  u16(b, static_cast<std::uint16_t>(value.size()));
  b.append(value);
  pad4(b);
}
void end_options(std::string& b) {
  u16(b, kOptEnd);
  u16(b, 0);
}
// Block type, total length (placeholder), body, total length again (PcapngWriter::emit).
void begin(std::string& b, std::uint32_t type) {
  b.clear();
  u32(b, type);
  u32(b, 0);
}

}  // namespace

PcapngWriter::~PcapngWriter() { close(); }

bool PcapngWriter::open(const std::string& path, std::uint32_t link_type, std::uint32_t snaplen,
                        const std::string& if_name, std::string& error) {
  // Not through a planted symlink, not truncating a file a dangling one names (core/output_file.h);
  // written in place, not renamed at the end: a killed capture still leaves its packets.
  if (auto err = out_.open(path, core::OutputFile::Mode::kInPlace); !err.empty()) {
    error = fmt::format("--write {}: {}", path, err);
    return false;
  }
  file_ = out_.file();
  path_ = path;
  begin(buffer_, kSectionHeader);
  u32(buffer_, kByteOrderMagic);
  u16(buffer_, 1);  // version 1.0
  u16(buffer_, 0);
  u32(buffer_, 0xFFFFFFFF);  // section length unknown
  u32(buffer_, 0xFFFFFFFF);
  option(buffer_, kShbUserAppl, std::string("flowaudit ") + FLOWAUDIT_VERSION);
  end_options(buffer_);
  if (!emit()) {
    error = error_;
    return false;
  }
  begin(buffer_, kInterfaceDescription);
  u16(buffer_, static_cast<std::uint16_t>(link_type));
  u16(buffer_, 0);
  u32(buffer_, snaplen);
  option(buffer_, kIfName, if_name.substr(0, 256));
  option(buffer_, kIfTsresol, std::string_view("\x09", 1));  // 10^-9: nanoseconds
  end_options(buffer_);
  if (!emit()) {
    error = error_;
    return false;
  }
  return true;
}

bool PcapngWriter::write(core::TimestampNs ts, std::uint32_t orig_len, std::span<const std::uint8_t> data,
                         const std::string& comment) {
  if (file_ == nullptr) return false;
  begin(buffer_, kEnhancedPacket);
  u32(buffer_, 0);  // interface 0
  u32(buffer_, static_cast<std::uint32_t>(ts >> 32));
  u32(buffer_, static_cast<std::uint32_t>(ts & 0xFFFFFFFFu));
  u32(buffer_, static_cast<std::uint32_t>(data.size()));
  u32(buffer_, orig_len);
  buffer_.append(reinterpret_cast<const char*>(data.data()), data.size());
  pad4(buffer_);
  if (!comment.empty()) {
    option(buffer_, kOptComment, std::string_view(comment).substr(0, kMaxComment));
    end_options(buffer_);
  }
  if (!emit()) return false;
  ++packets_;
  return true;
}

bool PcapngWriter::write_tls_keys(std::string_view key_log_lines) {
  if (file_ == nullptr || key_log_lines.empty()) return file_ != nullptr;
  begin(buffer_, kDecryptionSecrets);
  u32(buffer_, kSecretsTlsKeyLog);
  u32(buffer_, static_cast<std::uint32_t>(key_log_lines.size()));
  buffer_.append(key_log_lines);
  pad4(buffer_);
  if (!emit()) return false;
  ++secrets_blocks_;
  return true;
}

bool PcapngWriter::emit() {
  // The block's total length, at its start (left as a placeholder by begin()) and at its end.
  const auto total = static_cast<std::uint32_t>(buffer_.size() + 4);
  std::memcpy(buffer_.data() + 4, &total, sizeof total);
  u32(buffer_, total);
  // fflush hands the block to the kernel: a killed process loses nothing that was written.
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size() || std::fflush(file_) != 0) {
    error_ = fmt::format("--write {}: {}", path_, std::strerror(errno));
    out_.abort();
    file_ = nullptr;
    return false;
  }
  bytes_ += buffer_.size();
  return true;
}

void PcapngWriter::close() {
  if (file_ == nullptr) return;
  file_ = nullptr;
  if (auto err = out_.commit(); !err.empty() && error_.empty()) error_ = fmt::format("--write {}: {}", path_, err);
}

}  // namespace flowaudit::capture
