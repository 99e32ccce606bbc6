// jsonNestingWithin: a guard to run before a recursive JSON parser sees untrusted text.
//
// nlohmann::json parses recursively, and the config loader's duplicate-key check keeps a
// frame per open container: text of a million '[' would exhaust the stack or the memory
// before the parser reports anything. The control codec and the config loader both refuse
// text that nests deeper than their limit with this one scan, before parsing.
#pragma once

#include <string_view>

namespace ztdns {

// True when no '[' or '{' outside a JSON string opens a container deeper than maxDepth
// levels (the outermost container is level 1). Linear time, no allocation. It does not
// check syntax: the parser that runs afterwards does.
bool jsonNestingWithin(std::string_view text, int maxDepth);

}  // namespace ztdns
