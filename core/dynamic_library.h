// A shared library loaded when a command first needs it, instead of at every start.
//
// libcurl (for `flowaudit sink` alone) brings 25 more libraries (GnuTLS, Kerberos, LDAP, SSH, RTMP
// ...) and libnftables (for `flowaudit run` alone) five: linked normally, ld.so maps and relocates
// them on every start, about 15 ms of the 50 ms start-up budget (issue 18; a C program linked
// against libcurl alone starts in 17 ms against 2). The program still compiles against the
// library's header (types and constants); only its functions are looked up here, by name, with the
// type the header declares for them (decltype), so that a mismatch fails to compile.
//
// Written by hand: dlopen/dlsym are the whole interface; no library wraps them for C++.
#pragma once

#include <string>

namespace flowaudit::core {

class DynamicLibrary {
 public:
  DynamicLibrary() = default;
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  // Loads `soname` (e.g. "libcurl.so.4", the runtime package's file) with every symbol bound now;
  // `package` is the Debian package that has it, for the error. false, with error() saying which
  // library and why ("... cannot open shared object file"), if it cannot be loaded. The library
  // stays loaded for the life of the process (libcurl keeps global state past its last handle).
  bool open(const char* soname, const char* package);

  // Sets `f` to the library's function `name`, of the type F that the header declares for it
  // (decltype(&function)). Once one is missing (or the library was not loaded), error() says so
  // and the later binds do nothing.
  template <typename F>
  void bind(F& f, const char* name) {
    if (error_.empty()) f = reinterpret_cast<F>(symbol(name));
  }

  // "" while the library and every function bound so far are there.
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  [[nodiscard]] void* symbol(const char* name);
  void* handle_ = nullptr;
  std::string soname_;
  std::string error_;
};

}  // namespace flowaudit::core
