// Block types and option codes of pcapng (draft-ietf-opsawg-pcapng) that flowaudit reads
// (capture/pcapng_reader.cc) and writes (capture/pcapng_writer.cc): one definition, so that what
// the writer stores (a flow's process in opt_comment, nanosecond if_tsresol) is what the reader
// looks for.
#pragma once

#include <cstdint>

namespace flowaudit::capture::pcapng {

constexpr std::uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr std::uint32_t kInterfaceDescription = 1;
constexpr std::uint32_t kObsoletePacket = 2;
constexpr std::uint32_t kSimplePacket = 3;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kDecryptionSecrets = 10;      // DSB
constexpr std::uint32_t kSecretsTlsKeyLog = 0x544c534b;  // DSB secrets type: NSS key log lines ("TLSK")
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;

constexpr std::uint16_t kOptEnd = 0;        // opt_endofopt
constexpr std::uint16_t kOptComment = 1;    // opt_comment, in every block
constexpr std::uint16_t kShbUserAppl = 4;   // section header: the writing application
constexpr std::uint16_t kIfName = 2;        // interface description: its name
constexpr std::uint16_t kIfTsresol = 9;     // interface description: timestamp resolution
constexpr std::uint16_t kIfTsoffset = 14;   // interface description: seconds added to timestamps

}  // namespace flowaudit::capture::pcapng
