// ztdns set state | add ... | delete ... | reload: the verbs that change the configuration.
// The daemon validates again, applies to the kernel, persists, logs an Operational event
// and only then answers; a refusal is printed as the daemon words it.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "cli/arg_specs.h"
#include "cli/commands.h"
#include "cli/exception_checks.h"
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
  const ArgSpec& spec = argSpec("set state");
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("set state", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::SetStateParams p{*args->yesNo("enable"), args->yesNo("audit")};
  return change<Method::kSetState>(ctx, p, [&](const control::StateInfo& s) {
    ctx.out() << "ZTDNS is now " << stateWords(s.enabled, s.audit) << ".\n";
  });
}

int addServer(Context& ctx, const Words& rest) {
  const ArgSpec& spec = argSpec("add server");
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
  const ArgSpec& spec = argSpec("delete server");
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

// The prefixes as given, one per comma (the spec checked that each parses).
std::vector<std::string> givenPrefixes(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

int addException(Context& ctx, const Words& rest) {
  const ArgSpec& spec = argSpec("add exception");
  auto args = parseArgs(spec, rest);
  if (!args) return ctx.usage("add exception", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::AddExceptionParams p{*args->text("name"), args->text("description").value_or(""),
                                *args->prefixes("subnets")};
  std::vector<std::string> given = givenPrefixes(*args->text("subnets"));
  if (p.subnets.size() > 500) {
    return ctx.usage("add exception", "subnets: " + std::to_string(p.subnets.size()) +
                                          " prefixes; at most 500 are allowed");
  }
  // A prefix given twice is a slip (a pasted list): refused, naming it, rather than stored once.
  std::map<IpPrefix, size_t> seen;
  for (size_t i = 0; i < p.subnets.size(); ++i) {
    auto [it, fresh] = seen.emplace(p.subnets[i].normalized(), i);
    if (fresh) continue;
    const std::string& first = given[it->second];
    if (first == given[i])
      return ctx.usage("add exception", "subnets: " + first + " is given twice");
    return ctx.usage("add exception", "subnets: " + first + " and " + given[i] +
                                          " are the same prefix (" + it->first.toString() + ")");
  }
  std::vector<std::string> notes, warnings;
  for (size_t i = 0; i < p.subnets.size(); ++i) {
    const IpPrefix& s = p.subnets[i];
    if (s.hasHostBits()) {
      notes.push_back(s.toString() + " has host bits set; it is stored as " +
                      s.normalized().toString());
    }
    if (s.address().isPrivate() || s.address().isLinkLocal()) {
      notes.push_back(s.toString() +
                      " is a private or link-local range: it means different hosts on every "
                      "network");
    }
    if (auto w = breadthWarning(s, given[i]); !w.empty()) warnings.push_back(w);
    for (size_t j = 0; j < p.subnets.size(); ++j) {
      if (j != i && p.subnets[j].normalized().contains(s.normalized()))
        notes.push_back(given[i] + " lies inside " + given[j] + ", given too");
    }
  }
  int rc = change<Method::kAddException>(ctx, p, [&](const control::ExceptionInfo& e) {
    ctx.out() << "Added exception " << e.name << " with " << e.subnets.size()
              << (e.subnets.size() == 1 ? " prefix" : " prefixes") << ".\n";
  });
  if (rc != kExitOk) return rc;  // refused: what it would have meant does not matter
  // Against the other exceptions: overlaps, and a name that differs only in case. Notes
  // only; a failed read leaves them out.
  std::string nameWarning;
  if (auto existing = ctx.call<control::Method::kShowException>({})) {
    size_t overlaps = 0;
    for (const auto& e : existing->exceptions) {
      if (e.name == p.name) continue;  // the one just added
      if (lower(e.name) == lower(p.name)) {
        nameWarning = "name: \"" + p.name + "\" differs from the existing exception \"" + e.name +
                      "\" only in case; ztdns keeps them apart, but Windows compares names "
                      "without case and people confuse them: prefer one spelling";
      }
      for (const auto& theirs : e.subnets) {
        for (size_t i = 0; i < p.subnets.size(); ++i) {
          IpPrefix mine = p.subnets[i].normalized(), other = theirs.normalized();
          if (!mine.overlaps(other)) continue;
          if (++overlaps > 10) continue;
          notes.push_back(given[i] + (other.contains(mine) ? " lies inside " : " covers ") +
                          "exception " + e.name + "'s " + other.toString());
        }
      }
    }
    if (overlaps > 10)
      notes.push_back(std::to_string(overlaps - 10) +
                      (overlaps == 11 ? " more overlap" : " more overlaps"));
  }
  for (const auto& n : notes) ctx.err() << "note: subnets: " << n << '\n';
  for (const auto& w : warnings) ctx.err() << "warning: subnets: " << w << '\n';
  if (!nameWarning.empty()) ctx.err() << "warning: " << nameWarning << '\n';
  return kExitOk;
}

int deleteException(Context& ctx, const Words& rest) {
  const ArgSpec& spec = argSpec("delete exception");
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
  const ArgSpec& spec = argSpec(verb);
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
  const ArgSpec& spec = argSpec("add clientcert");
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
  const ArgSpec& spec = argSpec("delete clientcert");
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
  const ArgSpec& spec = argSpec("reload");
  auto args = parseArgs(spec, words);
  if (!args) return ctx.usage("reload", args.error().message);
  ctx.setJson(args->keyword("json"));
  return change<Method::kReload>(
      ctx, {}, [&](const control::EmptyResult&) { ctx.out() << "Configuration reloaded.\n"; });
}

}  // namespace ztdns::cli
