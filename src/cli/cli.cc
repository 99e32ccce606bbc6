#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/usage.h"
#include "control/protocol.h"

namespace ztdns::cli {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool isHelpWord(const std::string& w) {
  std::string l = lower(w);
  return l == "help" || l == "?" || l == "-h" || l == "--help" || l == "/?";
}

// Verbs whose first word names an object ("show server"), for "<verb> <object> help".
bool takesObject(const std::string& verb) {
  return verb == "show" || verb == "add" || verb == "delete" || verb == "set" || verb == "log" ||
         verb == "suggest";
}

}  // namespace

Environment::Environment(std::ostream& o, std::ostream& e)
    : out(o),
      err(e),
      getenv([](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
      }),
      now([] { return std::chrono::system_clock::now(); }) {}

int runCli(const std::vector<std::string>& args, Environment& env) {
  CLI::App app{"ztdns: Zero Trust DNS control", "ztdns"};
  app.prefix_command();
  app.set_help_flag();  // help is ours: ztdns help, ztdns VERB help
  bool helpFlag = false, json = false, version = false;
  std::string socket;
  double timeoutSeconds = 0;
  app.add_flag("-h,--help", helpFlag);
  app.add_option("--socket", socket, "control socket path");
  app.add_flag("--json", json, "JSON output");
  app.add_option("--timeout", timeoutSeconds, "seconds to wait for the daemon")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_flag("--version", version);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    env.err << "ztdns: " << e.what() << "\nRun 'ztdns help' for usage.\n";
    return kExitUsage;
  }
  if (version) {
    env.out << "ztdns 0.1.0 (control protocol " << control::kProtocolVersion << ")\n";
    return kExitOk;
  }

  std::vector<std::string> words = app.remaining();
  // --json is also accepted after the verb.
  auto jsonFlag = std::find(words.begin(), words.end(), "--json");
  if (jsonFlag != words.end()) {
    json = true;
    words.erase(jsonFlag);
  }
  if (helpFlag || words.empty()) {
    (helpFlag ? env.out : env.err) << *usageFor("");
    return helpFlag ? kExitOk : kExitUsage;
  }

  std::string verb = lower(words.front());
  words.erase(words.begin());
  if (verb == "help" || isHelpWord(verb)) {
    std::string topic;
    for (const auto& w : words) topic += (topic.empty() ? "" : " ") + lower(w);
    auto text = usageFor(topic);
    if (!text) {
      env.err << "ztdns: no help for \"" << topic << "\"\nRun 'ztdns help' for usage.\n";
      return kExitUsage;
    }
    env.out << *text;
    return kExitOk;
  }
  if (std::any_of(words.begin(), words.end(), isHelpWord)) {
    std::string topic = verb;
    if (takesObject(verb) && !words.empty() && !isHelpWord(words.front()))
      topic += " " + lower(words.front());
    if (auto text = usageFor(topic)) {
      env.out << *text;
      return kExitOk;
    }
  }

  std::string socketPath = socket;
  if (socketPath.empty()) socketPath = env.getenv("ZTDNS_SOCKET").value_or("");
  if (socketPath.empty()) socketPath = control::socketPathForRunDir(control::kDefaultRunDir);
  std::optional<std::chrono::milliseconds> timeout;
  if (timeoutSeconds > 0)
    timeout = std::chrono::milliseconds(static_cast<int64_t>(timeoutSeconds * 1000));
  Context ctx(env, socketPath, json, timeout);

  static const std::map<std::string, std::function<int(Context&, const Words&)>> kVerbs = {
      {"show", runShow},         {"set", runSet},         {"add", runAdd},
      {"delete", runDelete},     {"log", runLog},         {"resolve", runResolve},
      {"diagnose", runDiagnose}, {"suggest", runSuggest}, {"reload", runReload},
  };
  auto it = kVerbs.find(verb);
  if (it == kVerbs.end()) {
    env.err << "ztdns: unknown verb \"" << verb
            << "\" (show, set, add, delete, log, resolve, diagnose, suggest, reload, help)\n"
               "Run 'ztdns help' for usage.\n";
    return kExitUsage;
  }
  return it->second(ctx, words);
}

}  // namespace ztdns::cli
