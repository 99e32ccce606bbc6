// runConfigCheck: `ztdnsd --check`, in the manner of `nginx -t` and `unbound-checkconf`.
#pragma once

#include <ostream>
#include <string>

namespace ztdns::config {

// Loads and validates the file. Prints one line per problem on err, each prefixed by the
// file path ("FILE: error: ...", "FILE: warning: ...", "FILE: not mapped: ..."), then
// "ztdnsd: configuration file FILE test is successful" on out (returns 0) or
// "ztdnsd: configuration file FILE test failed" on err (returns 1). A missing file fails.
int runConfigCheck(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace ztdns::config
