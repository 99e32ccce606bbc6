// ztdns set state | add ... | delete ... | reload: the verbs that change the configuration.
// The daemon validates again, applies to the kernel, persists, logs an Operational event
// and only then answers; a refusal is printed as the daemon words it.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "cli/key_value_args.h"
#include "cli/render.h"

namespace ztdns::cli {

namespace {

using control::Method;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The daemon runs elsewhere: send absolute paths. A file that does not exist is caught
// here (a pure check); whether ztdnsd can read and parse it is for ztdnsd to say.
Result<std::string> absoluteExisting(const std::string& key, const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return Error{key + ": cannot make \"" + path + "\" absolute: " + ec.message()};
  std::string text = abs.lexically_normal().string();
  struct stat st {};
  if (::stat(text.c_str(), &st) != 0 && errno == ENOENT)
    return Error{key + ": " + text + " does not exist"};
  return text;
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

// A value only the daemon can check (a multicast server address, a CA file without a
// certificate) comes back as invalid-params naming the argument: a usage error, exit 2, like
// the values the CLI checks itself. Every other refusal is a failure, exit 1.
template <Method M, class Say>
int change(Context& ctx, const typename control::MethodTraits<M>::Params& params, Say say) {
  auto result = ctx.call<M>(params);
  if (!result) {
    if (control::errorCodeOf(result.error()) == control::ErrorCode::kInvalidParams) {
      std::string verb = control::methodName(M);  // "add.server" -> "add server"
      std::replace(verb.begin(), verb.end(), '.', ' ');
      return ctx.usage(verb, result.error().message);
    }
    return ctx.fail(result.error());
  }
  if (ctx.json())
    ctx.printJson(control::toJson(*result));
  else
    say(*result);
  return kExitOk;
}

int setState(Context& ctx, const Words& rest) {
  ArgSpec spec{"set state",
               {{"enable", ValueKind::kYesNo, true, {}, 0, 0, "yes|no"},
                {"audit", ValueKind::kYesNo, false, {}, 0, 0, "yes|no"}},
               {"json"},
               0,
               ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("set state", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::SetStateParams p{*args->yesNo("enable"), args->yesNo("audit")};
  return change<Method::kSetState>(ctx, p, [&](const control::StateInfo& s) {
    ctx.out() << "ZTDNS is now " << stateWords(s.enabled, s.audit) << ".\n";
  });
}

int addServer(Context& ctx, const Words& rest) {
  ArgSpec spec{"add server",
               {{"type", ValueKind::kChoice, true, {"dot", "doh"}, 0, 0, "dot|doh"},
                {"address", ValueKind::kIp, true, {}, 0, 0, "IP"},
                {"port", ValueKind::kPort, false, {}, 0, 0, "PORT"},
                {"hostname", ValueKind::kHostName, false, {}, 0, 0, "NAME"},
                {"template", ValueKind::kUrl, false, {}, 0, 0, "https://..."},
                {"priority", ValueKind::kInt, false, {}, 1, 1000, "N"},
                {"name", ValueKind::kName, false, {}, 0, 0, "NAME"}},
               {"json"},
               0,
               ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("add server", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::AddServerParams p;
  p.type = *args->text("type") == "dot" ? control::Protocol::kDoT : control::Protocol::kDoH;
  p.address = *args->ip("address");
  if (p.type == control::Protocol::kDoT) {
    if (args->has("template"))
      return ctx.usage("add server",
                       "template: not used with type=dot (a DoT server takes hostname=NAME)");
    if (!args->has("hostname"))
      return ctx.usage("add server", "hostname: required with type=dot (hostname=NAME)");
    p.hostname = *args->text("hostname");
    p.port = 853;
  } else {
    if (args->has("hostname"))
      return ctx.usage(
          "add server",
          "hostname: not used with type=doh (a DoH server takes template=https://...)");
    if (!args->has("template"))
      return ctx.usage("add server", "template: required with type=doh (template=https://...)");
    p.templateUrl = *args->text("template");
    p.port = 443;
  }
  if (auto port = args->integer("port")) p.port = static_cast<uint16_t>(*port);
  if (auto prio = args->integer("priority")) p.priority = static_cast<int>(*prio);
  p.name = args->text("name");
  return change<Method::kAddServer>(ctx, p, [&](const control::ServerInfo& s) {
    ctx.out() << "Server " << s.name << " (" << s.address.toString() << ") now has ";
    std::string list;
    for (const auto& t : s.transports) {
      list += (list.empty() ? "" : " and ") + std::string(control::protocolName(t.protocol)) +
              " on port " + std::to_string(t.port);
    }
    ctx.out() << list << ", priority " << s.priority << ".\n";
  });
}

int deleteServer(Context& ctx, const Words& rest) {
  ArgSpec spec{
      "delete server", {{"address", ValueKind::kIp, false, {}, 0, 0, "IP"}}, {"json"}, 0, ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("delete server", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::DeleteServerParams p{args->ip("address")};
  return change<Method::kDeleteServer>(ctx, p, [&](const control::DeleteServerResult& r) {
    if (r.deleted.empty()) {
      ctx.out() << "There was no server to delete.\n";
      return;
    }
    std::string list;
    for (const auto& a : r.deleted) list += (list.empty() ? "" : ", ") + a.toString();
    ctx.out() << "Deleted "
              << (r.deleted.size() == 1 ? "server "
                                        : std::to_string(r.deleted.size()) + " servers: ")
              << list << "; " << r.remaining
              << (r.remaining == 1 ? " server remains" : " servers remain") << ".\n";
  });
}

int addException(Context& ctx, const Words& rest) {
  ArgSpec spec{"add exception",
               {{"name", ValueKind::kName, true, {}, 0, 0, "NAME"},
                {"description", ValueKind::kDescription, false, {}, 0, 0, "\"TEXT\""},
                {"subnets", ValueKind::kPrefixList, true, {}, 0, 0, "CIDR[,CIDR...]"}},
               {"json"},
               0,
               ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("add exception", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::AddExceptionParams p{*args->text("name"), args->text("description").value_or(""),
                                *args->prefixes("subnets")};
  if (p.subnets.size() > 500) {
    return ctx.usage("add exception", "subnets: " + std::to_string(p.subnets.size()) +
                                          " prefixes; at most 500 are allowed");
  }
  for (const auto& s : p.subnets) {
    if (s.hasHostBits()) {
      ctx.err() << "note: subnets: " << s.toString() << " has host bits set; it is stored as "
                << s.normalized().toString() << '\n';
    }
    if (s.address().isPrivate() || s.address().isLinkLocal()) {
      ctx.err() << "note: subnets: " << s.toString()
                << " is a private or link-local range: it means different hosts on every network\n";
    }
  }
  return change<Method::kAddException>(ctx, p, [&](const control::ExceptionInfo& e) {
    ctx.out() << "Added exception " << e.name << " with " << e.subnets.size()
              << (e.subnets.size() == 1 ? " prefix" : " prefixes") << ".\n";
  });
}

int deleteException(Context& ctx, const Words& rest) {
  ArgSpec spec{
      "delete exception", {{"name", ValueKind::kName, true, {}, 0, 0, "NAME"}}, {"json"}, 0, ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("delete exception", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::DeleteExceptionParams p{*args->text("name")};
  return change<Method::kDeleteException>(ctx, p, [&](const control::EmptyResult&) {
    ctx.out() << "Deleted exception " << p.name << ".\n";
  });
}

int trustedCa(Context& ctx, const Words& rest, bool add) {
  std::string verb = add ? "add trustedca" : "delete trustedca";
  ArgSpec spec{verb, {{"file", ValueKind::kPath, true, {}, 0, 0, "PEM"}}, {"json"}, 0, ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage(verb, args.error().message);
  ctx.setJson(args->keyword("json"));
  control::TrustedCaParams p;
  if (add) {
    auto file = absoluteExisting("file", *args->text("file"));
    if (!file) return ctx.usage(verb, file.error().message);
    p.file = *file;
  } else {
    p.file = absolute(*args->text("file"));  // it may be gone already; delete it anyway
  }
  auto say = [&](const control::TrustedCaInfo& info) {
    ctx.out() << (add ? "Trusted CA file added: " : "Trusted CA file removed: ") << p.file << ".\n";
    if (info.files.empty())
      ctx.out() << "Server certificates are now checked against the system trust store.\n";
  };
  return add ? change<Method::kAddTrustedCa>(ctx, p, say)
             : change<Method::kDeleteTrustedCa>(ctx, p, say);
}

int addClientCert(Context& ctx, const Words& rest) {
  ArgSpec spec{"add clientcert",
               {{"certfile", ValueKind::kPath, true, {}, 0, 0, "PEM"},
                {"keyfile", ValueKind::kPath, true, {}, 0, 0, "PEM"}},
               {"json"},
               0,
               ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("add clientcert", args.error().message);
  ctx.setJson(args->keyword("json"));
  auto cert = absoluteExisting("certfile", *args->text("certfile"));
  if (!cert) return ctx.usage("add clientcert", cert.error().message);
  auto key = absoluteExisting("keyfile", *args->text("keyfile"));
  if (!key) return ctx.usage("add clientcert", key.error().message);
  control::AddClientCertParams p{*cert, *key};
  int rc = kExitOk;
  int changed = change<Method::kAddClientCert>(ctx, p, [&](const control::ClientCertInfo& info) {
    ctx.out() << "Client certificate set; the servers will be reached with mTLS.\n";
    if (!renderClientCert(ctx.out(), info)) rc = kExitFailure;
  });
  return changed != kExitOk ? changed : rc;
}

int deleteClientCert(Context& ctx, const Words& rest) {
  ArgSpec spec{"delete clientcert", {}, {"json"}, 0, ""};
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("delete clientcert", args.error().message);
  ctx.setJson(args->keyword("json"));
  return change<Method::kDeleteClientCert>(ctx, {}, [&](const control::EmptyResult&) {
    ctx.out() << "Client certificate removed; the servers are reached without mTLS.\n";
  });
}

}  // namespace

int runSet(Context& ctx, const Words& words) {
  if (words.empty() || lower(words.front()) != "state") {
    return ctx.usage(
        "set", words.empty() ? "what to set? (set state enable=yes|no [audit=yes|no])"
                             : "unknown object \"" + words.front() + "\" (only state can be set)");
  }
  return setState(ctx, Words(words.begin() + 1, words.end()));
}

int runAdd(Context& ctx, const Words& words) {
  std::string object = words.empty() ? "" : lower(words.front());
  Words rest = words.empty() ? Words{} : Words(words.begin() + 1, words.end());
  if (object == "server") return addServer(ctx, rest);
  if (object == "exception") return addException(ctx, rest);
  if (object == "trustedca") return trustedCa(ctx, rest, true);
  if (object == "clientcert") return addClientCert(ctx, rest);
  return ctx.usage("add", object.empty() ? "what to add? server, exception, trustedca or clientcert"
                                         : "unknown object \"" + words.front() +
                                               "\" (server, exception, trustedca, clientcert)");
}

int runDelete(Context& ctx, const Words& words) {
  std::string object = words.empty() ? "" : lower(words.front());
  Words rest = words.empty() ? Words{} : Words(words.begin() + 1, words.end());
  if (object == "server") return deleteServer(ctx, rest);
  if (object == "exception") return deleteException(ctx, rest);
  if (object == "trustedca") return trustedCa(ctx, rest, false);
  if (object == "clientcert") return deleteClientCert(ctx, rest);
  return ctx.usage("delete", object.empty()
                                 ? "what to delete? server, exception, trustedca or clientcert"
                                 : "unknown object \"" + words.front() +
                                       "\" (server, exception, trustedca, clientcert)");
}

int runReload(Context& ctx, const Words& words) {
  ArgSpec spec{"reload", {}, {"json"}, 0, ""};
  auto args = parseArgs(spec, words);
  if (!args) return ctx.usage("reload", args.error().message);
  ctx.setJson(args->keyword("json"));
  return change<Method::kReload>(
      ctx, {}, [&](const control::EmptyResult&) { ctx.out() << "Configuration reloaded.\n"; });
}

}  // namespace ztdns::cli
