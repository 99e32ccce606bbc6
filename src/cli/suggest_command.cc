// ztdns suggest exceptions [since=] [min=] [v4prefix=] [v6prefix=] [file=] [json]
#include "cli/arg_specs.h"
#include "cli/commands.h"
#include "cli/event_source.h"
#include "cli/key_value_args.h"
#include "cli/render.h"
#include "cli/suggest.h"
#include "cli/table.h"
#include "control/time_text.h"

namespace ztdns::cli {

namespace {

void renderProposals(std::ostream& out, const SuggestResult& r,
                     const std::optional<uint64_t>& since, uint64_t min) {
  out << r.proposals.size() << (r.proposals.size() == 1 ? " proposal" : " proposals") << " from "
      << r.eventsSeen << (r.eventsSeen == 1 ? " blocked connection" : " blocked connections")
      << (since ? " in the last " + formatDuration(*since) : std::string());
  std::vector<std::string> left;
  if (r.alreadyExcepted)
    left.push_back(std::to_string(r.alreadyExcepted) + " to destinations already excepted");
  if (r.belowMin)
    left.push_back(std::to_string(r.belowMin) +
                   " to destinations blocked fewer than min=" + std::to_string(min) + " times");
  if (r.unspecified) left.push_back(std::to_string(r.unspecified) + " to unspecified addresses");
  if (!left.empty()) {
    out << " (left out: ";
    for (size_t i = 0; i < left.size(); ++i) out << (i ? "; " : "") << left[i];
    out << ")";
  }
  out << ".\n";
  int n = 0;
  for (const auto& p : r.proposals) {
    out << '\n' << ++n << ". " << p.name << "  (" << printable(p.process);
    // `unit` is the systemd unit, else the cgroup path; the root cgroup "/" tells nothing.
    for (const auto& u : p.units) {
      if (u == "/") continue;
      out << (u.front() == '/' ? ", cgroup " : ", unit ") << printable(u);
    }
    out << ")\n";
    KeyValueList kv;
    std::string counts =
        std::to_string(p.events) + (p.events == 1 ? " connection (" : " connections (") +
        std::to_string(p.auditEvents) + " audit, " + std::to_string(p.blockEvents) +
        " blocked) to " + std::to_string(p.addresses) +
        (p.addresses == 1 ? " address" : " addresses") + ", " + destinationKindName(p.kind);
    kv.add("   seen", counts);
    if (p.first && p.last)
      kv.add("   when",
             control::formatRfc3339(*p.first) + " to " + control::formatRfc3339(*p.last));
    std::string ports;
    for (size_t i = 0; i < p.ports.size() && i < 8; ++i) {
      ports += (i ? ", " : "") + p.ports[i].text() + " (" + std::to_string(p.ports[i].events) + ")";
    }
    if (p.ports.size() > 8) ports += ", ... " + std::to_string(p.ports.size() - 8) + " more";
    kv.add("   ports", ports);
    std::string prefixes;
    for (size_t i = 0; i < p.prefixes.size() && i < 12; ++i) {
      prefixes += (i ? ", " : "") + p.prefixes[i].prefix.toString() + " (" +
                  std::to_string(p.prefixes[i].events) + ")";
    }
    if (p.prefixes.size() > 12)
      prefixes += ", ... " + std::to_string(p.prefixes.size() - 12) + " more";
    kv.add("   prefixes", prefixes);
    for (size_t i = 0; i < p.flags.size(); ++i)
      kv.add(i == 0 ? "   flags" : "", p.flags[i] + ": " + p.notes[i]);
    kv.print(out);
    for (const auto& c : p.commands) out << "   " << c << '\n';
  }
}

}  // namespace

int runSuggest(Context& ctx, const Words& words) {
  if (words.empty() || (words.front() != "exceptions" && words.front() != "exception")) {
    return ctx.usage("suggest", "suggest what? (suggest exceptions [since=DURATION] [min=COUNT])");
  }
  const ArgSpec& spec = argSpec("suggest exceptions");
  auto args = parseArgs(spec, Words(words.begin() + 1, words.end()));
  if (!args) return ctx.usage("suggest exceptions", args.error().message);
  ctx.setJson(args->keyword("json"));

  SuggestOptions options;
  options.minCount = static_cast<uint64_t>(args->integer("min").value_or(1));
  options.v4MinPrefix = static_cast<int>(args->integer("v4prefix").value_or(24));
  options.v6MinPrefix = static_cast<int>(args->integer("v6prefix").value_or(48));
  auto since = args->durationSeconds("since");

  std::unique_ptr<EventSource> source;
  auto file = args->text("file");
  if (file)
    source = std::make_unique<JsonlFileEventSource>(*file, ctx.env().now);
  else
    source = std::make_unique<ControlEventSource>(ctx, 1000000);

  // Destinations already excepted are left out. Reading a file needs no daemon, so its
  // absence is not an error then.
  auto exceptions = ctx.call<control::Method::kShowException>({});
  if (exceptions) {
    for (const auto& e : exceptions->exceptions) {
      options.existingNames.push_back(e.name);
      for (const auto& s : e.subnets) options.existing.push_back(s.normalized());
    }
  } else if (!file) {
    return ctx.fail(exceptions.error());
  }

  auto batch = source->blocked(since);
  if (!batch) return ctx.fail(batch.error());
  SuggestResult result = suggestExceptions(batch->events, options);
  if (ctx.json()) {
    nlohmann::json j = toJson(result);
    j["unreadableLines"] = batch->unreadable;
    j["truncated"] = batch->truncated;
    ctx.printJson(j);
  } else {
    renderProposals(ctx.out(), result, since, options.minCount);
  }
  if (batch->unreadable) ctx.err() << "note: " << unreadableNote(batch->unreadable) << '\n';
  if (batch->truncated)
    ctx.err() << "note: the log held more events than were read; narrow with since=\n";
  return kExitOk;
}

}  // namespace ztdns::cli
