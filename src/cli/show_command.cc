// ztdns show state|settings|server|exception|clientcert|trustedca|stats
#include <algorithm>
#include <sstream>

#include "cli/arg_specs.h"
#include "cli/commands.h"
#include "cli/key_value_args.h"
#include "cli/render.h"

namespace ztdns::cli {

namespace {

using control::Method;

// Calls M and prints the result: JSON, or `render` for people. `render` returns false for
// a failed check (an unusable certificate), which exits 1 in both forms.
template <Method M, class Render>
int show(Context& ctx, const typename control::MethodTraits<M>::Params& params, Render render) {
  auto result = ctx.call<M>(params);
  if (!result) return ctx.fail(result.error());
  if (ctx.json()) {
    ctx.printJson(control::toJson(*result));
    std::ostringstream discard;
    return render(discard, *result) ? kExitOk : kExitFailure;
  }
  return render(ctx.out(), *result) ? kExitOk : kExitFailure;
}

}  // namespace

int runShow(Context& ctx, const Words& words) {
  if (words.empty()) {
    return ctx.usage(
        "show", "what to show? state, settings, server, exception, clientcert, trustedca or stats");
  }
  std::string object = words.front();
  for (auto& c : object) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Words rest(words.begin() + 1, words.end());
  std::string verb = "show " + object;

  static const std::vector<std::string> kObjects = {
      "state", "settings", "server", "exception", "clientcert", "trustedca", "stats"};
  if (std::find(kObjects.begin(), kObjects.end(), object) == kObjects.end()) {
    return ctx.usage("show",
                     "unknown object \"" + words.front() +
                         "\" (state, settings, server, exception, clientcert, trustedca, stats)");
  }
  auto args = parseArgs(argSpec(verb), rest);
  if (!args) return ctx.usage(verb, args.error().message);
  ctx.setJson(args->keyword("json"));

  if (object == "state") {
    return show<Method::kShowState>(ctx, {}, [](std::ostream& out, const control::StateInfo& s) {
      renderState(out, s);
      return true;
    });
  }
  if (object == "settings") {
    // JSON either way: netsh prints the settings as JSON too.
    auto result = ctx.call<Method::kShowSettings>({});
    if (!result) return ctx.fail(result.error());
    ctx.printJson(*result);
    return kExitOk;
  }
  if (object == "server") {
    control::ShowServerParams p{args->ip("address")};
    return show<Method::kShowServer>(ctx, p, [](std::ostream& out, const control::ServerList& l) {
      renderServers(out, l);
      return true;
    });
  }
  if (object == "exception") {
    control::ShowExceptionParams p{args->text("name")};
    return show<Method::kShowException>(ctx, p,
                                        [](std::ostream& out, const control::ExceptionList& l) {
                                          renderExceptions(out, l);
                                          return true;
                                        });
  }
  if (object == "clientcert") {
    return show<Method::kShowClientCert>(ctx, {},
                                         [](std::ostream& out, const control::ClientCertInfo& c) {
                                           return renderClientCert(out, c);
                                         });
  }
  if (object == "trustedca") {
    return show<Method::kShowTrustedCa>(
        ctx, {},
        [](std::ostream& out, const control::TrustedCaInfo& t) { return renderTrustedCa(out, t); });
  }
  return show<Method::kShowStats>(ctx, {}, [](std::ostream& out, const control::Stats& s) {
    renderStats(out, s);
    return true;
  });
}

}  // namespace ztdns::cli
