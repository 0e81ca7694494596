#include "cli/scaffold.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/unique_fd.h"
#include "control/function_config.h"

namespace gust::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPythonHandler = R"py(import json


def handler(event, context):
    """Called once per invocation with the event (parsed JSON) and Lambda's context object."""
    # What a function prints goes to its logs: `gust logs NAME`.
    print(f"request {context.aws_request_id}: {json.dumps(event)}")
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"message": f"Hello, {name}!"}
)py";

constexpr std::string_view kNodeHandler =
    R"js(// Lambda's Node.js handler shape: an exported async function of (event, context).
export const handler = async (event, context) => {
  // What a function logs goes to its logs: `gust logs NAME`.
  console.log(`request ${context.awsRequestId}: ${JSON.stringify(event)}`);
  const name = event && typeof event === 'object' && event.name ? event.name : 'world';
  return { message: `Hello, ${name}!` };
};
)js";

constexpr std::string_view kProvidedBootstrap = R"sh(#!/bin/sh
# A custom runtime: this executable is the function. It speaks the Lambda Runtime API: fetch the
# next event, handle it, post the result, repeat. The first GET .../next also tells the host that
# init is done; a failed invocation would POST to .../invocation/$request_id/error instead.
set -eu
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
headers="$(mktemp)"
while true; do
  event="$(curl -sS -D "$headers" "$api/invocation/next")"
  request_id="$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | tr -d '\r' | cut -d' ' -f2)"
  # stderr and stdout go to the function's logs: `gust logs NAME`.
  echo "request $request_id: $event" >&2
  response="{\"message\": \"Hello from a custom runtime\", \"event\": $event}"
  curl -sS -o /dev/null -X POST "$api/invocation/$request_id/response" -d "$response"
done
)sh";

std::string manifest(std::string_view name, std::string_view runtime, std::string_view handler,
                     std::string_view handler_note) {
  return fmt::format(
      "# {name}: deploy with `gust deploy .`, then `gust invoke {name} --payload "
      "'{{\"name\": \"Gust\"}}'`.\n"
      "# Try it without a server first: `gust local invoke .`\n"
      "name: {name}\n"
      "runtime: {runtime}\n"
      "handler: {handler}  # {note}\n"
      "memory: 128  # MB, 128-10240\n"
      "timeout: 3   # seconds, 1-900\n"
      "# environment:\n"
      "#   GREETING: Hello\n",
      fmt::arg("name", name), fmt::arg("runtime", runtime), fmt::arg("handler", handler),
      fmt::arg("note", handler_note));
}

}  // namespace

const std::vector<std::string>& scaffoldRuntimes() {
  static const std::vector<std::string> kRuntimes = {"python3.11", "nodejs20.x", "provided"};
  return kRuntimes;
}

Result<std::vector<ScaffoldFile>> scaffoldFiles(std::string_view runtime, std::string_view name) {
  std::vector<ScaffoldFile> files;
  std::string handler;
  if (runtime == "python3.11") {
    handler = "app.handler";
    files.push_back(
        {"gust.yaml", manifest(name, runtime, handler, "app.py, function handler"), false});
    files.push_back({"app.py", std::string(kPythonHandler), false});
  } else if (runtime == "nodejs20.x") {
    handler = "index.handler";
    files.push_back(
        {"gust.yaml", manifest(name, runtime, handler, "index.mjs, export handler"), false});
    files.push_back({"index.mjs", std::string(kNodeHandler), false});
  } else if (runtime == "provided") {
    handler = "function.handler";
    files.push_back({"gust.yaml",
                     manifest(name, runtime, handler,
                              "given to ./bootstrap as $_HANDLER; the runtime runs ./bootstrap"),
                     false});
    files.push_back({"bootstrap", std::string(kProvidedBootstrap), true});
  } else {
    return Error::invalid(fmt::format("--runtime '{}' has no template; choose one of: {}", runtime,
                                      fmt::join(scaffoldRuntimes(), ", ")));
  }
  // The same checks as deploy's, so a scaffold always deploys.
  control::FunctionConfig config;
  config.name = std::string(name);
  config.runtime = std::string(runtime);
  config.handler = handler;
  if (auto st = control::validateConfig(config); !st) {
    return Error::invalid(fmt::format(
        "{}; pick a name with --name (by default it is the directory's name)", st.error().message));
  }
  return files;
}

Status writeScaffold(const fs::path& dir, const std::vector<ScaffoldFile>& files) {
  std::vector<std::string> existing;
  for (const auto& file : files) {
    std::error_code ec;
    if (fs::symlink_status(dir / file.path, ec).type() != fs::file_type::not_found)
      existing.push_back((dir / file.path).string());
  }
  if (!existing.empty()) {
    return Error{ErrorCode::kAlreadyExists,
                 fmt::format("{} already exist{}; gust init never overwrites files: choose another "
                             "directory or move them away",
                             fmt::join(existing, ", "), existing.size() == 1 ? "s" : "")};
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error::unavailable(fmt::format("cannot create {}: {}; choose a writable directory",
                                          dir.string(), ec.message()));
  }
  for (const auto& file : files) {
    fs::path path = dir / file.path;
    // O_EXCL: a file created since the check above is not overwritten either.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                       file.executable ? 0755 : 0644));
    if (!fd) return Error::fromErrno("cannot create " + path.string(), errno);
    std::string_view rest = file.content;
    while (!rest.empty()) {
      ssize_t n = ::write(fd.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::fromErrno("cannot write " + path.string(), errno);
      rest.remove_prefix(static_cast<size_t>(n));
    }
  }
  return okStatus();
}

}  // namespace gust::cli
