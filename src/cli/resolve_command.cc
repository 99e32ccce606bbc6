// ztdns resolve NAME [type=...] [server=IP]: Resolve-DnsName -Server, through ztdnsd.
#include "cli/arg_specs.h"
#include "cli/commands.h"
#include "cli/key_value_args.h"
#include "cli/render.h"
#include "control/validation.h"

namespace ztdns::cli {

int runResolve(Context& ctx, const Words& words) {
  const ArgSpec& spec = argSpec("resolve");
  auto args = parseArgs(spec, words);
  if (!args) return ctx.usage("resolve", args.error().message);
  ctx.setJson(args->keyword("json"));
  std::string name;
  if (!args->positionals().empty()) name = args->positionals().front();
  if (auto n = args->text("name")) {
    if (!name.empty()) return ctx.usage("resolve", "name: given twice (as NAME and name=)");
    name = *n;
  }
  if (name.empty()) return ctx.usage("resolve", "name: required (ztdns resolve NAME)");
  if (auto why = control::checkQueryName(name); !why.empty())
    return ctx.usage("resolve", "name: " + why);

  control::ResolveParams p{name, args->text("type").value_or("A"), args->ip("server")};
  auto result = ctx.call<control::Method::kResolve>(p);
  if (!result) return ctx.fail(result.error());
  if (ctx.json())
    ctx.printJson(control::toJson(*result));
  else
    renderResolve(ctx.out(), *result);
  return result->rcode == "NOERROR" ? kExitOk : kExitFailure;
}

}  // namespace ztdns::cli
