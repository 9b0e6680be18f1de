// TLS fingerprints: JA3 / JA3S (Salesforce) and JA4 (FoxIO, the "JA4" part of JA4+ as its authors
// specify it). Hashes through OpenSSL's libcrypto.
#pragma once

#include <string>

#include "analysis/app/tls/client_hello.h"

namespace flowaudit::analysis::tls {

std::string ja3_string(const ClientHello& hello);   // "771,4865-4866,...,0-11-10,29-23,0"
std::string ja3(const ClientHello& hello);          // MD5 of ja3_string, 32 hex digits
std::string ja3s_string(const ServerHello& hello);
std::string ja3s(const ServerHello& hello);
std::string ja4(const ClientHello& hello, bool over_quic);  // e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1"

}  // namespace flowaudit::analysis::tls
