// Every verb's arguments in one table. The commands parse with these specs and the help
// prints its usage lines from them, so what the help shows and what a command accepts
// cannot drift apart (tests/unit/cli/commands_test.cc checks every key of every spec
// against the help).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/key_value_args.h"

namespace ztdns::cli {

// "show server", "add exception", "log show", "resolve", ... Every verb, in help order.
const std::vector<ArgSpec>& allArgSpecs();
// The spec of one verb; the verbs are fixed, so an unknown one is a programming error
// (std::out_of_range).
const ArgSpec& argSpec(const std::string& verb);

struct SynopsisOptions {
  bool keywords = true;  // list the bare keywords ("[json]")
  // Replaces one key's text ("port" -> "[port=853]"); an empty text leaves the key out.
  std::map<std::string, std::string> overrides;
};

// The arguments as help writes them, after the verb:
// `name=NAME [description="TEXT"] subnets=CIDR[,CIDR...] [json]`.
std::string synopsis(const ArgSpec& spec, const SynopsisOptions& options = {});
// "ztdns add exception name=NAME ..." wrapped at `width` columns, continuation lines
// indented under the first argument.
std::string usageLine(const std::string& lead, const std::string& arguments, size_t width = 96);

}  // namespace ztdns::cli
