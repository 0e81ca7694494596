// Compiles the denylist policy with libseccomp and exports the BPF, once, in the host.
#include "sandbox/linux/seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "common/defer.h"
#include "common/unique_fd.h"

namespace gust::sandbox {
namespace {

// Generated from src/sandbox/policy/seccomp_denylist.txt by the build (kSeccompPolicy).
#include "seccomp_policy.inc"

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits off the next whitespace-separated word of `s`.
std::string_view nextWord(std::string_view& s) {
  s = trim(s);
  size_t end = s.find_first_of(" \t");
  std::string_view word = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  return word;
}

bool parseNumber(std::string_view text, uint64_t& value) {
  int base = 10;
  if (text.starts_with("0x")) {
    text.remove_prefix(2);
    base = 16;
  }
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty();
}

Result<uint32_t> parseAction(std::string_view action) {
  if (action == "EPERM") return SCMP_ACT_ERRNO(EPERM);
  if (action == "ENOSYS") return SCMP_ACT_ERRNO(ENOSYS);
  if (action == "EAFNOSUPPORT") return SCMP_ACT_ERRNO(EAFNOSUPPORT);
  if (action == "KILL") return SCMP_ACT_KILL_PROCESS;
  return Error::invalid(
      fmt::format("unknown action '{}' (use EPERM, ENOSYS, EAFNOSUPPORT or KILL)", action));
}

// "argN==VALUE" or "argN&MASK".
Result<scmp_arg_cmp> parseCondition(std::string_view cond) {
  auto bad = [&] {
    return Error::invalid(
        fmt::format("bad condition '{}' (use argN==VALUE or argN&MASK, N in 0..5)", cond));
  };
  if (cond.size() < 5 || !cond.starts_with("arg") || cond[3] < '0' || cond[3] > '5') return bad();
  unsigned arg = static_cast<unsigned>(cond[3] - '0');
  std::string_view rest = cond.substr(4);
  uint64_t value = 0;
  if (rest.starts_with("==") && parseNumber(rest.substr(2), value))
    return scmp_arg_cmp{arg, SCMP_CMP_EQ, value, 0};
  if (rest.starts_with("&") && parseNumber(rest.substr(1), value) && value != 0)
    return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, value, value};
  return bad();
}

Result<std::vector<sock_filter>> exportBpf(scmp_filter_ctx ctx) {
  // libseccomp 2.5 exports only to an fd; a memfd keeps it in memory.
  UniqueFd mem(::memfd_create("gust-seccomp", MFD_CLOEXEC));
  if (!mem) return Error::fromErrno("cannot create a memfd for the seccomp filter", errno);
  if (int rc = seccomp_export_bpf(ctx, mem.get()); rc != 0)
    return Error::fromErrno("cannot export the seccomp filter", -rc);
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    return Error::internal(fmt::format("seccomp filter export has a bad size {}", size));
  std::vector<sock_filter> code(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), code.data(), static_cast<size_t>(size), 0) != size)
    return Error::fromErrno("cannot read back the seccomp filter", errno);
  return code;
}

}  // namespace

SeccompProgram::SeccompProgram(std::vector<sock_filter> code) : code_(std::move(code)) {
  prog_.len = static_cast<unsigned short>(code_.size());
  prog_.filter = code_.data();
}

std::string_view defaultSeccompPolicy() { return kSeccompPolicy; }

Result<std::unique_ptr<SeccompProgram>> compileSeccompPolicy(std::string_view policy) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Error::internal("seccomp_init failed (out of memory?)");
  Defer release([&] { seccomp_release(ctx); });
  // Any other architecture (e.g. i386 via int 0x80) is killed: the rules name x86-64 numbers.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0)
    return Error::fromErrno("cannot set the seccomp bad-architecture action", -rc);

  int line_no = 0;
  while (!policy.empty()) {
    ++line_no;
    size_t nl = policy.find('\n');
    std::string_view line = policy.substr(0, nl);
    policy = nl == std::string_view::npos ? std::string_view() : policy.substr(nl + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto fail = [&](std::string_view why) {
      return Error::invalid(fmt::format("seccomp policy line {}: {}", line_no, why));
    };

    std::string name(nextWord(line));
    std::string_view action_text = nextWord(line);
    std::string_view cond_text = nextWord(line);
    if (!trim(line).empty())
      return fail("too many fields; the format is <syscall> <action> [cond]");
    if (action_text.empty()) return fail(fmt::format("'{}' has no action", name));
    auto action = parseAction(action_text);
    if (!action) return fail(action.error().message);
    int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str());
    if (nr == __NR_SCMP_ERROR) return fail(fmt::format("unknown x86-64 syscall '{}'", name));

    int rc = 0;
    if (cond_text.empty()) {
      rc = seccomp_rule_add_exact(ctx, *action, nr, 0);
    } else {
      auto cond = parseCondition(cond_text);
      if (!cond) return fail(cond.error().message);
      rc = seccomp_rule_add_exact_array(ctx, *action, nr, 1, &*cond);
    }
    if (rc != 0)
      return fail(
          fmt::format("libseccomp refused the rule for '{}': {}", name, std::strerror(-rc)));
  }

  GUST_ASSIGN_OR_RETURN(std::vector<sock_filter> body, exportBpf(ctx));
  // The x32 ABI shares x86-64's audit arch with syscall numbers offset by 0x40000000, so the
  // rules above would not match its numbers: kill it before anything else.
  std::vector<sock_filter> code = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  code.insert(code.end(), body.begin(), body.end());
  if (code.size() > BPF_MAXINSNS)
    return Error::invalid(
        fmt::format("seccomp policy compiles to {} instructions, over the "
                    "kernel's {}; shorten the policy",
                    code.size(), BPF_MAXINSNS));
  return std::make_unique<SeccompProgram>(std::move(code));
}

}  // namespace gust::sandbox
