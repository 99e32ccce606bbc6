#include "cli/arg_specs.h"

#include <stdexcept>

namespace ztdns::cli {

namespace {

KeySpec key(std::string name, ValueKind kind, bool required, std::string placeholder) {
  KeySpec k;
  k.key = std::move(name);
  k.kind = kind;
  k.required = required;
  k.placeholder = std::move(placeholder);
  return k;
}

KeySpec number(std::string name, int64_t min, int64_t max, std::string placeholder) {
  KeySpec k = key(std::move(name), ValueKind::kInt, false, std::move(placeholder));
  k.min = min;
  k.max = max;
  return k;
}

ArgSpec spec(std::string verb, std::vector<KeySpec> keys, std::string leading = "") {
  ArgSpec s;
  s.verb = std::move(verb);
  s.keys = std::move(keys);
  s.keywords = {"json"};
  s.leading = std::move(leading);
  return s;
}

std::vector<ArgSpec> makeSpecs() {
  using K = ValueKind;
  std::vector<ArgSpec> all;
  for (const char* object : {"state", "settings"})
    all.push_back(spec(std::string("show ") + object, {}));
  all.push_back(spec("show server", {key("address", K::kIp, false, "IP")}));
  all.push_back(spec("show exception", {key("name", K::kName, false, "NAME")}));
  for (const char* object : {"clientcert", "trustedca", "stats"})
    all.push_back(spec(std::string("show ") + object, {}));

  KeySpec type = key("type", K::kChoice, true, "dot|doh");
  type.choices = {"dot", "doh"};
  all.push_back(spec("set state", {key("enable", K::kYesNo, true, "yes|no"),
                                   key("audit", K::kYesNo, false, "yes|no")}));
  all.push_back(spec(
      "add server",
      {type, key("address", K::kIp, true, "IP"), key("port", K::kPort, false, "PORT"),
       key("hostname", K::kHostName, false, "NAME"), key("template", K::kUrl, false, "https://..."),
       number("priority", 1, 1000, "N"), key("name", K::kName, false, "NAME")}));
  all.push_back(spec("delete server", {key("address", K::kIp, false, "IP")}));
  all.push_back(spec("add exception", {key("name", K::kName, true, "NAME"),
                                       key("description", K::kDescription, false, "\"TEXT\""),
                                       key("subnets", K::kPrefixList, true, "CIDR[,CIDR...]")}));
  all.push_back(spec("delete exception", {key("name", K::kName, true, "NAME")}));
  all.push_back(spec("add trustedca", {key("file", K::kPath, true, "PEM")}));
  all.push_back(spec("delete trustedca", {key("file", K::kPath, true, "PEM")}));
  all.push_back(spec("add clientcert", {key("certfile", K::kPath, true, "PEM"),
                                        key("keyfile", K::kPath, true, "PEM")}));
  all.push_back(spec("delete clientcert", {}));
  all.push_back(spec("log set", {key("enable", K::kYesNo, true, "yes|no")}, "permitted"));
  all.push_back(spec("reload", {}));

  all.push_back(
      spec("log show",
           {key("since", K::kDuration, false, "DURATION"), key("process", K::kText, false, "NAME"),
            key("dst", K::kIpOrPrefix, false, "IP|PREFIX"), number("limit", 1, 1000000, "N")},
           "blocked|permitted|operational"));
  ArgSpec resolve =
      spec("resolve", {key("type", K::kRecordType, false, "TYPE"),
                       key("server", K::kIp, false, "IP"), key("name", K::kText, false, "NAME")});
  resolve.maxPositionals = 1;
  resolve.positionalName = "NAME";
  all.push_back(resolve);
  all.push_back(spec("diagnose",
                     {key("since", K::kDuration, false, "DURATION"),
                      key("name", K::kText, false, "NAME"), key("port", K::kPort, false, "PORT")}));
  all.push_back(spec("suggest exceptions",
                     {key("since", K::kDuration, false, "DURATION"),
                      number("min", 1, 1000000000, "COUNT"), number("v4prefix", 8, 32, "N"),
                      number("v6prefix", 16, 128, "N"), key("file", K::kPath, false, "JSONL")}));
  return all;
}

}  // namespace

const std::vector<ArgSpec>& allArgSpecs() {
  static const std::vector<ArgSpec> kSpecs = makeSpecs();
  return kSpecs;
}

const ArgSpec& argSpec(const std::string& verb) {
  for (const auto& s : allArgSpecs())
    if (s.verb == verb) return s;
  throw std::out_of_range("no argument spec for \"" + verb + "\"");
}

std::string synopsis(const ArgSpec& spec, const SynopsisOptions& options) {
  std::string out;
  auto add = [&](const std::string& word) {
    if (!word.empty()) out += (out.empty() ? "" : " ") + word;
  };
  add(spec.leading);
  if (spec.maxPositionals > 0) add(spec.positionalName);
  for (const auto& k : spec.keys) {
    if (auto it = options.overrides.find(k.key); it != options.overrides.end()) {
      add(it->second);
      continue;
    }
    std::string text = k.key + "=" + (k.placeholder.empty() ? "..." : k.placeholder);
    add(k.required ? text : "[" + text + "]");
  }
  if (options.keywords)
    for (const auto& w : spec.keywords) add("[" + w + "]");
  return out;
}

std::string usageLine(const std::string& lead, const std::string& arguments, size_t width) {
  std::string out = lead;
  size_t column = lead.size();
  const size_t indent = lead.size() + 1;
  size_t pos = 0;
  while (pos < arguments.size()) {
    size_t end = arguments.find(' ', pos);
    if (end == std::string::npos) end = arguments.size();
    std::string word = arguments.substr(pos, end - pos);
    if (column + 1 + word.size() > width && column > indent) {
      out += "\n" + std::string(indent, ' ') + word;
      column = indent + word.size();
    } else {
      out += " " + word;
      column += 1 + word.size();
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace ztdns::cli
