#include "core/dynamic_library.h"

#include <dlfcn.h>

namespace flowaudit::core {

bool DynamicLibrary::open(const char* soname, const char* package) {
  soname_ = soname;
  ::dlerror();
  handle_ = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = ::dlerror();
    error_ = std::string("cannot load ") + soname + " (Debian package " + package +
             "): " + (why != nullptr ? why : "unknown error");
    return false;
  }
  return true;
}

void* DynamicLibrary::symbol(const char* name) {
  if (handle_ == nullptr) {
    error_ = std::string(name) + ": " + (soname_.empty() ? std::string("no library") : soname_) + " not loaded";
    return nullptr;
  }
  ::dlerror();
  void* p = ::dlsym(handle_, name);
  if (p == nullptr) error_ = soname_ + " has no function " + name;
  return p;
}

}  // namespace flowaudit::core
