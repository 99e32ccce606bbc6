#include "cli/cli.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/usage.h"
#include "common/result.h"
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

// The global options, before the verb: --socket PATH, --json, --timeout SECONDS, --version,
// -h/--help; "--opt=value" works too. Returns the index of the verb, or an error message.
struct GlobalOptions {
  bool help = false, json = false, version = false;
  std::optional<std::string> socket;
  std::optional<double> timeoutSeconds;
};

Result<size_t> parseGlobalOptions(const std::vector<std::string>& args, GlobalOptions& o) {
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') break;  // the verb (or a netsh-style "/?")
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto takeValue = [&](const char* placeholder) -> Result<std::string> {
      if (value) return *value;
      if (i + 1 >= args.size())
        return Error{name + ": needs a value (" + name + " " + placeholder + ")"};
      return args[++i];
    };
    if ((name == "-h" || name == "--help") && !value) {
      o.help = true;
    } else if (name == "--json" && !value) {
      o.json = true;
    } else if (name == "--version" && !value) {
      o.version = true;
    } else if (name == "--socket") {
      if (o.socket) return Error{"--socket: given twice"};
      auto v = takeValue("PATH");
      if (!v) return v.error();
      if (v->empty())
        return Error{
            "--socket: the path must not be empty (--socket PATH names ztdnsd's control "
            "socket)"};
      o.socket = *v;
    } else if (name == "--timeout") {
      if (o.timeoutSeconds) return Error{"--timeout: given twice"};
      auto v = takeValue("SECONDS");
      if (!v) return v.error();
      // A plain decimal number: no hex, exponents, inf or nan, which strtod would take.
      bool plain = !v->empty() && v->find_first_not_of("0123456789.") == std::string::npos &&
                   std::count(v->begin(), v->end(), '.') <= 1 && *v != ".";
      double seconds = plain ? std::strtod(v->c_str(), nullptr) : 0;
      if (!plain || seconds < 0.1 || seconds > 3600) {
        std::string shown = v->substr(0, 40);
        for (auto& c : shown)
          if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
        return Error{"--timeout: \"" + shown + "\" is not a number of seconds (0.1 to 3600)"};
      }
      o.timeoutSeconds = seconds;
    } else {
      return Error{"unknown option \"" + name +
                   "\" (before the verb: --socket PATH, --json, --timeout SECONDS, --version, "
                   "--help)"};
    }
  }
  return i;
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
  GlobalOptions options;
  auto verbAt = parseGlobalOptions(args, options);
  if (!verbAt) {
    env.err << "ztdns: " << verbAt.error().message << "\nRun 'ztdns help' for usage.\n";
    return kExitUsage;
  }
  bool helpFlag = options.help, json = options.json;
  if (options.version) {
    env.out << "ztdns 0.1.0 (control protocol " << control::kProtocolVersion << ")\n";
    return kExitOk;
  }

  std::vector<std::string> words(args.begin() + static_cast<std::ptrdiff_t>(*verbAt), args.end());
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

  // An empty ZTDNS_SOCKET counts as unset (as for most variables); an empty --socket is an error.
  std::string socketPath = options.socket.value_or("");
  if (socketPath.empty()) socketPath = env.getenv("ZTDNS_SOCKET").value_or("");
  if (socketPath.empty()) socketPath = control::socketPathForRunDir(control::kDefaultRunDir);
  std::optional<std::chrono::milliseconds> timeout;
  if (options.timeoutSeconds)
    timeout = std::chrono::milliseconds(static_cast<int64_t>(*options.timeoutSeconds * 1000));
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
