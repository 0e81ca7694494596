// control validates the `runtime` field against its own list; it must accept exactly what the
// runtime component can start.
#include <gtest/gtest.h>

#include "control/function_config.h"
#include "runtime/runtime.h"

namespace gust::control {
namespace {

TEST(RuntimeListTest, ControlAcceptsEveryRuntimeTheRuntimeComponentSupports) {
  for (const auto& name : runtime::supportedRuntimes()) {
    FunctionConfig config;
    config.name = "f";
    config.runtime = name;
    config.handler = "app.handler";
    auto st = validateConfig(config);
    EXPECT_TRUE(st.ok()) << name << ": " << st.error().message;
  }
}

TEST(RuntimeListTest, ControlRejectsWhatTheRuntimeComponentCannotStart) {
  for (const char* name : {"nodejs20.x", "provided", "exec", "python2.7", ""}) {
    if (runtime::isSupportedRuntime(name)) continue;  // added later: covered by the test above
    FunctionConfig config;
    config.name = "f";
    config.runtime = name;
    config.handler = "app.handler";
    EXPECT_FALSE(validateConfig(config).ok()) << name;
  }
}

}  // namespace
}  // namespace gust::control
