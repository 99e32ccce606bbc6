// ztdns log show blocked|permitted|operational [...] | log set permitted enable=yes|no
#include <algorithm>

#include "cli/arg_specs.h"
#include "cli/commands.h"
#include "cli/connection_event.h"
#include "cli/key_value_args.h"
#include "cli/render.h"

namespace ztdns::cli {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<control::LogChannel> channelFromWord(const std::string& word) {
  std::string w = lower(word);
  if (w == "blocked" || w == "blockedconnections") return control::LogChannel::kBlocked;
  if (w == "permitted" || w == "permittedconnections") return control::LogChannel::kPermitted;
  if (w == "operational") return control::LogChannel::kOperational;
  return std::nullopt;
}

int logShow(Context& ctx, const Words& rest) {
  if (rest.empty() || !channelFromWord(rest.front())) {
    return ctx.usage("log show", rest.empty() ? "which channel? blocked, permitted or operational"
                                              : "unknown channel \"" + rest.front() +
                                                    "\" (blocked, permitted or operational)");
  }
  control::LogShowParams p;
  p.channel = *channelFromWord(rest.front());
  const ArgSpec& spec = argSpec("log show");
  auto args = parseArgs(spec, Words(rest.begin() + 1, rest.end()));
  if (!args) return ctx.usage("log show", args.error().message);
  ctx.setJson(args->keyword("json"));
  p.sinceSeconds = args->durationSeconds("since");
  p.process = args->text("process");
  p.dst = args->ipOrPrefix("dst");
  if (p.dst) p.dst = p.dst->normalized();
  if (auto limit = args->integer("limit")) p.limit = static_cast<uint32_t>(*limit);

  auto result = ctx.call<control::Method::kLogShow>(p);
  if (!result) return ctx.fail(result.error());
  // A line of a connection channel that is not a connection event (cut by a crash, edited
  // by hand) would show as a row of blanks: skip it, in both forms, and say so.
  size_t unreadable = 0;
  if (p.channel != control::LogChannel::kOperational) {
    auto bad = std::remove_if(result->events.begin(), result->events.end(),
                              [](const nlohmann::json& e) { return !parseConnectionEvent(e); });
    unreadable = static_cast<size_t>(result->events.end() - bad);
    result->events.erase(bad, result->events.end());
  }
  if (ctx.json()) {
    for (const auto& e : result->events) {
      ctx.out() << e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
  } else {
    renderLogEvents(ctx.out(), p.channel, result->events);
  }
  if (unreadable) ctx.err() << "note: " << unreadableNote(unreadable) << '\n';
  if (result->truncated) {
    ctx.err() << "note: only the newest "
              << (p.limit == 1 ? std::string("matching event is")
                               : std::to_string(p.limit) + " matching events are")
              << " shown; narrow with since=, process= or dst=, or raise limit=\n";
  }
  return kExitOk;
}

int logSet(Context& ctx, const Words& rest) {
  if (rest.empty() || lower(rest.front()) != "permitted") {
    return ctx.usage(
        "log set", "only the permitted channel can be switched (log set permitted enable=yes|no)");
  }
  const ArgSpec& spec = argSpec("log set");
  auto args = parseArgs(spec, Words(rest.begin() + 1, rest.end()));
  if (!args) return ctx.usage("log set", args.error().message);
  ctx.setJson(args->keyword("json"));
  control::LogSetParams p{control::LogChannel::kPermitted, *args->yesNo("enable")};
  auto result = ctx.call<control::Method::kLogSet>(p);
  if (!result) return ctx.fail(result.error());
  if (ctx.json())
    ctx.printJson(control::toJson(*result));
  else
    ctx.out() << "The PermittedConnections log is now " << (result->enabled ? "on" : "off")
              << ".\n";
  return kExitOk;
}

}  // namespace

int runLog(Context& ctx, const Words& words) {
  std::string sub = words.empty() ? "" : lower(words.front());
  Words rest = words.empty() ? Words{} : Words(words.begin() + 1, words.end());
  if (sub == "show") return logShow(ctx, rest);
  if (sub == "set") return logSet(ctx, rest);
  return ctx.usage("log", sub.empty() ? "show or set?"
                                      : "unknown action \"" + words.front() + "\" (show or set)");
}

}  // namespace ztdns::cli
