// The seccomp filter of sandboxed processes, compiled from the reviewed policy in
// src/sandbox/policy/seccomp_denylist.txt (embedded at build time). The filter is compiled to BPF
// once, in the host, before any fork: the child only hands the ready program to the kernel, so
// installing it needs no allocation and no library call between fork and exec.
#pragma once

#include <linux/filter.h>

#include <memory>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::sandbox {

// A compiled classic-BPF seccomp program. Immutable after construction; safe to share between
// threads and to read from a forked child.
class SeccompProgram {
 public:
  explicit SeccompProgram(std::vector<sock_filter> code);
  SeccompProgram(const SeccompProgram&) = delete;
  SeccompProgram& operator=(const SeccompProgram&) = delete;

  // For prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog()) in the child.
  const sock_fprog* prog() const { return &prog_; }
  size_t instructions() const { return code_.size(); }

 private:
  std::vector<sock_filter> code_;
  sock_fprog prog_{};
};

// The policy text compiled into the binary.
std::string_view defaultSeccompPolicy();

// Compiles a policy in the denylist format (see the policy file's header) for x86-64: other
// architectures and the x32 ABI are killed, listed calls get their action, everything else is
// allowed. kInvalidArgument names the line of a malformed or unknown entry.
Result<std::unique_ptr<SeccompProgram>> compileSeccompPolicy(std::string_view policy);

}  // namespace gust::sandbox
