#include "sandbox/linux/child_steps.h"

#include <cstdlib>

#include "common/files.h"

namespace gust::sandbox {

int lastCapability() {
  auto text = readFile("/proc/sys/kernel/cap_last_cap");
  if (!text.ok()) return 63;  // PR_CAPBSET_DROP returns EINVAL past the last one; that is fine
  return std::atoi(text->c_str());
}

int waitStatusFromSiginfo(const siginfo_t& info) {
  switch (info.si_code) {
    case CLD_EXITED:
      return (info.si_status & 0xff) << 8;
    case CLD_KILLED:
      return info.si_status & 0x7f;
    case CLD_DUMPED:
      return (info.si_status & 0x7f) | 0x80;
    default:
      return 0;
  }
}

}  // namespace gust::sandbox
