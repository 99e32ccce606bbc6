// The verbs. Each takes the words after the verb (`show server address=1.2.3.4` ->
// {"server", "address=1.2.3.4"}) and returns the exit code.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"

namespace ztdns::cli {

using Words = std::vector<std::string>;

int runShow(Context& ctx, const Words& words);
int runSet(Context& ctx, const Words& words);
int runAdd(Context& ctx, const Words& words);
int runDelete(Context& ctx, const Words& words);
int runLog(Context& ctx, const Words& words);
int runResolve(Context& ctx, const Words& words);
int runDiagnose(Context& ctx, const Words& words);
int runSuggest(Context& ctx, const Words& words);
int runReload(Context& ctx, const Words& words);

}  // namespace ztdns::cli
