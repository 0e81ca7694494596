#include "cli/completion.h"

#include <CLI/CLI.hpp>

#include <map>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/commands.h"

namespace gust::cli {
namespace {

// What the script knows about one command, keyed by its path ("gust alias create").
struct CommandWords {
  std::vector<std::string> subcommands;
  std::vector<std::string> flags;                           // every option name, with its dashes
  std::vector<std::string> value_options;                   // the options that take a value
  std::map<std::string, std::vector<std::string>> choices;  // option name -> its choices
  std::vector<std::string> argument_choices;                // choices of a positional argument
};

// The choices of an option with an IsMember check: CLI11 describes them as "{a,b,c}".
std::vector<std::string> choicesOf(CLI::Option& option) {
  std::vector<std::string> out;
  for (int i = 0;; ++i) {
    CLI::Validator* validator = nullptr;
    try {
      validator = option.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      break;
    }
    std::string desc = validator->get_description();
    if (desc.size() < 2 || desc.front() != '{' || desc.back() != '}') continue;
    std::string_view items(desc.data() + 1, desc.size() - 2);
    while (!items.empty()) {
      auto comma = items.find(',');
      out.emplace_back(items.substr(0, comma));
      if (comma == std::string_view::npos) break;
      items.remove_prefix(comma + 1);
    }
  }
  return out;
}

void collect(CLI::App& app, const std::string& path, std::map<std::string, CommandWords>& out) {
  CommandWords& words = out[path];
  for (CLI::Option* option : app.get_options({})) {
    if (!option->nonpositional()) {
      auto choices = choicesOf(*option);
      words.argument_choices.insert(words.argument_choices.end(), choices.begin(), choices.end());
      continue;
    }
    std::vector<std::string> names;
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    for (const auto& name : option->get_snames()) names.push_back("-" + name);
    bool takes_value = option->get_type_size_max() > 0;
    auto choices = choicesOf(*option);
    for (const auto& name : names) {
      words.flags.push_back(name);
      if (takes_value) words.value_options.push_back(name);
      if (!choices.empty()) words.choices[name] = choices;
    }
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App* a) { return !a->get_name().empty(); })) {
    words.subcommands.push_back(sub->get_name());
    collect(*sub, path + " " + sub->get_name(), out);
  }
}

std::string joined(const std::vector<std::string>& words) {
  return fmt::format("{}", fmt::join(words, " "));
}

}  // namespace

std::string bashCompletionScript(CLI::App& root) {
  std::map<std::string, CommandWords> commands;
  collect(root, "gust", commands);

  std::string subcommands, flags, value_options, choices, arguments;
  for (const auto& [path, words] : commands) {
    if (!words.subcommands.empty())
      subcommands += fmt::format("  [\"{}\"]=\"{}\"\n", path, joined(words.subcommands));
    flags += fmt::format("  [\"{}\"]=\"{}\"\n", path, joined(words.flags));
    if (!words.value_options.empty())
      value_options += fmt::format("  [\"{}\"]=\"{}\"\n", path, joined(words.value_options));
    for (const auto& [option, values] : words.choices)
      choices += fmt::format("  [\"{} {}\"]=\"{}\"\n", path, option, joined(values));
    if (!words.argument_choices.empty())
      arguments += fmt::format("  [\"{}\"]=\"{}\"\n", path, joined(words.argument_choices));
  }

  return fmt::format(
      R"(# bash completion for gust. Load it in this shell:
#   source <(gust completion bash)
# or for every shell:
#   gust completion bash > /etc/bash_completion.d/gust

declare -gA _gust_subcommands=(
{subcommands})
declare -gA _gust_flags=(
{flags})
declare -gA _gust_value_options=(
{value_options})
declare -gA _gust_choices=(
{choices})
declare -gA _gust_arguments=(
{arguments})

_gust() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
  local cmd=gust i word
  # The command path so far: each word that names a subcommand of the path before it.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${{COMP_WORDS[i]}}
    if [[ " ${{_gust_subcommands[$cmd]}} " == *" $word "* ]]; then
      cmd="$cmd $word"
    fi
  done
  if [[ -n ${{_gust_choices["$cmd $prev"]+set}} ]]; then
    COMPREPLY=($(compgen -W "${{_gust_choices["$cmd $prev"]}}" -- "$cur"))
    return
  fi
  if [[ " ${{_gust_value_options[$cmd]}} " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "${{_gust_flags[$cmd]}}" -- "$cur"))
    return
  fi
  local words="${{_gust_subcommands[$cmd]}} ${{_gust_arguments[$cmd]}}"
  if [[ -n ${{words// /}} ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}

complete -o filenames -F _gust gust
)",
      fmt::arg("subcommands", subcommands), fmt::arg("flags", flags),
      fmt::arg("value_options", value_options), fmt::arg("choices", choices),
      fmt::arg("arguments", arguments));
}

void addCompletionCommand(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("completion", "Print a shell completion script");
  cmd->add_option("shell", *shell, "The shell")->required()->check(CLI::IsMember({"bash"}));
  cmd->footer("Load it with: source <(gust completion bash)");
  CLI::App* root = &app;
  // `shell` can only be "bash" so far (the check above); the lambda keeps it alive for CLI11.
  onRun(*cmd, [root, shell] {
    fmt::print("{}", bashCompletionScript(*root));
    return kExitOk;
  });
}

}  // namespace gust::cli
